import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import GraphQLJSON from '../../../platform/graphql/json.scalar';
import { WatermarkSchemeEntity, WatermarkSchemeKind } from '../../provenance.entity';

registerEnumType(WatermarkSchemeKind, {
  name: 'WatermarkSchemeKind',
  description: 'SYNTHID_TEXT (SynthID Text tournament sampling), GREEN_LIST (Kirchenbauer et al. green/red token lists), OTHER.',
});

@ObjectType('WatermarkScheme', {
  description: "A watermark scheme registered for a model. The secret key material is stored encrypted and never returned; secretFingerprint tells which one is registered.",
})
export class WatermarkSchemeOutput {
  @Field(() => ID)
  id: string;

  @Field(() => ID)
  modelId: string;

  @Field(() => WatermarkSchemeKind)
  scheme: WatermarkSchemeKind;

  @Field(() => GraphQLJSON, { description: 'The public parameters, as registered.' })
  parameters: Record<string, unknown>;

  @Field(() => String, {
    description: "A keyed, non-reversible label of the secret (`sha256:` + 12 hex); the same secret gives the same label while the platform's sealing key is unchanged.",
  })
  secretFingerprint: string;

  @Field(() => Date)
  createdAt: Date;
}

/** Entity → API: every field listed, so the sealed secret can never leak by accident. */
export function toWatermarkSchemeOutput(s: WatermarkSchemeEntity): WatermarkSchemeOutput {
  return {
    id: s.id,
    modelId: s.modelId,
    scheme: s.scheme,
    parameters: s.parameters,
    secretFingerprint: s.secretFingerprint,
    createdAt: s.createdAt,
  };
}
