import { Field, ID, ObjectType } from '@nestjs/graphql';
import GraphQLJSON from '../../../platform/graphql/json.scalar';
import { TeacherModelOutput } from '../../../catalog/dto/model.output';
import { ModelLineageOutput } from '../../student/dto/lineage.output';

@ObjectType('Attestation', {
  description:
    'A signed statement about a model: RFC 8785 canonical JSON of {model, weightsDigest, lineage edges with agreement ids and terms hashes, royalty stack, certification, issuedAt, keyId}, signed with Ed25519. Verify offline against GET /.well-known/beiming-keys.json (npm run verify-attestation).',
})
export class AttestationOutput {
  @Field(() => ID)
  id: string;

  @Field(() => ID)
  modelId: string;

  @Field(() => String, { description: 'The JWKS `kid` of the signing key.' })
  keyId: string;

  @Field(() => Date)
  issuedAt: Date;

  @Field(() => String, { description: 'The exact signed bytes (UTF-8).' })
  payload: string;

  @Field(() => String, { description: 'Ed25519 signature over `payload`, base64url.' })
  signature: string;

  @Field(() => GraphQLJSON, { description: 'The statement, parsed from `payload` (for reading).' })
  statement: Record<string, unknown>;

  @Field(() => GraphQLJSON, { description: 'The whole attestation document {payload, signature, keyId, statement}: save it as attestation.json.' })
  document: Record<string, unknown>;
}

@ObjectType('ModelVerification', { description: 'What the platform knows about the model with these weights.' })
export class ModelVerificationOutput {
  @Field(() => TeacherModelOutput)
  model: TeacherModelOutput;

  @Field(() => ModelLineageOutput)
  lineage: ModelLineageOutput;

  @Field(() => AttestationOutput, { nullable: true, description: 'The latest attestation issued for the model, if any.' })
  latestAttestation: AttestationOutput | null;
}
