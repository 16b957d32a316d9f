import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Where the gateway forwards a teacher model's requests: the vendor's
 * OpenAI-compatible endpoint and its credential, sealed with SecretBox
 * (context `teacher_upstream:<modelId>`). One per model; configuring again
 * replaces it.
 */
@Entity({ name: 'teacher_upstreams' })
export class TeacherUpstreamEntity {
  @PrimaryColumn({ type: 'uuid', name: 'model_id' })
  modelId: string;

  /** The model's vendor, denormalised for scoping. */
  @Column({ type: 'uuid', name: 'organization_id' })
  organizationId: string;

  /** Normalised absolute http(s) URL without credentials, query, fragment or trailing slash. */
  @Column({ type: 'text', name: 'base_url' })
  baseUrl: string;

  /** The model name sent upstream (`model` of the chat-completions request). */
  @Column({ type: 'text', name: 'upstream_model' })
  upstreamModel: string;

  @Column({ type: 'integer', name: 'timeout_ms' })
  timeoutMs: number;

  /** SecretBox output: version | iv | tag | ciphertext. */
  @Column({ type: 'bytea', name: 'credential_sealed' })
  credentialSealed: Buffer;

  /** Which SECRETS_KEY sealed the credential. */
  @Column({ type: 'text', name: 'credential_key_id' })
  credentialKeyId: string;

  /** SecretBox.fingerprint of the credential: shows which one is configured, reveals nothing. */
  @Column({ type: 'text', name: 'credential_fingerprint' })
  credentialFingerprint: string;

  @Column({ type: 'uuid', name: 'configured_by_user_id', nullable: true })
  configuredByUserId: string | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  /** When it was last configured. */
  @Column({ type: 'timestamptz', name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}
