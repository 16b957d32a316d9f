import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { toTeacherModelOutput } from '../../catalog/catalog.mapper';
import { OrganizationService } from '../../identity/organization.service';
import { CurrentPrincipal, Public } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { BadInputError } from '../../platform/errors/app-error';
import { UuidPipe } from '../../platform/errors/validation';
import { AttestationEntity } from '../provenance.entity';
import { WEIGHTS_DIGEST } from '../student/dto/student.input';
import { toLineageOutput } from '../student/student-model.resolver';
import { AttestationService } from './attestation.service';
import { AttestationOutput, ModelVerificationOutput } from './dto/attestation.output';

function toAttestationOutput(row: AttestationEntity): AttestationOutput {
  return Object.assign(new AttestationOutput(), {
    id: row.id,
    modelId: row.modelId,
    keyId: row.keyId,
    issuedAt: row.issuedAt,
    payload: row.payload,
    signature: row.signature,
    statement: row.statement,
    document: { payload: row.payload, signature: row.signature, keyId: row.keyId, statement: row.statement },
  });
}

@Resolver()
export class AttestationResolver {
  constructor(
    private readonly service: AttestationService,
    private readonly organizations: OrganizationService,
  ) {}

  @Mutation(() => AttestationOutput, {
    description: "Signs an attestation of the model's weights digest, lineage, royalty stack and certification (the model's organization, or an admin).",
  })
  async issueAttestation(@CurrentPrincipal() principal: Principal, @Args('modelId', { type: () => ID }, new UuidPipe('modelId')) modelId: string): Promise<AttestationOutput> {
    const { row } = await this.service.issue(principal, modelId);
    return toAttestationOutput(row);
  }

  @Public()
  @Query(() => ModelVerificationOutput, {
    nullable: true,
    description: 'Public: the model whose released weights have this digest, with its licensed lineage and latest attestation; null when no model claims it.',
  })
  async verifyModel(@Args('weightsDigest') weightsDigest: string): Promise<ModelVerificationOutput | null> {
    if (!WEIGHTS_DIGEST.test(weightsDigest)) {
      throw new BadInputError([{ field: 'weightsDigest', message: 'weightsDigest must look like sha256:<64 lowercase hex> (or sha512:<128 hex>, blake3:<64 hex>)' }]);
    }
    const found = await this.service.verify(weightsDigest);
    if (!found) return null;
    const org = await this.organizations.findById(found.model.organizationId);
    return Object.assign(new ModelVerificationOutput(), {
      model: toTeacherModelOutput(found.model, { id: found.model.organizationId, name: org?.name ?? '', country: org?.country ?? null }),
      lineage: toLineageOutput(found.lineage),
      latestAttestation: found.latest ? toAttestationOutput(found.latest) : null,
    });
  }
}
