import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import type { TeacherUpstreamEntity } from '../teacher-upstream.entity';

@ObjectType('TeacherUpstream', {
  description: "Where the gateway forwards a teacher model's requests. The credential is stored encrypted and never returned; its fingerprint tells which one is configured.",
})
export class TeacherUpstreamOutput {
  @Field(() => ID)
  modelId: string;

  @Field(() => String, { description: 'Normalised base URL (no trailing slash).' })
  baseUrl: string;

  @Field(() => String)
  upstreamModel: string;

  @Field(() => Int)
  timeoutMs: number;

  @Field(() => String, {
    description: "A keyed, non-reversible label of the configured credential (`sha256:` + 12 hex); the same credential gives the same label while the platform's sealing key is unchanged.",
  })
  credentialFingerprint: string;

  @Field(() => Date, { description: 'When the upstream was last configured.' })
  configuredAt: Date;

  @Field(() => Date, { description: 'When an upstream was first configured for the model.' })
  createdAt: Date;
}

/** Entity → API: every field listed, so the sealed credential can never leak by accident. */
export function toTeacherUpstreamOutput(u: TeacherUpstreamEntity): TeacherUpstreamOutput {
  return {
    modelId: u.modelId,
    baseUrl: u.baseUrl,
    upstreamModel: u.upstreamModel,
    timeoutMs: u.timeoutMs,
    credentialFingerprint: u.credentialFingerprint,
    configuredAt: u.updatedAt,
    createdAt: u.createdAt,
  };
}
