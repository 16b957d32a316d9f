import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { RoyaltyPolicy } from '../licensing/terms/terms.types';

export enum LineageRelation {
  DISTILLED = 'DISTILLED',
  FINETUNED = 'FINETUNED',
  MERGED = 'MERGED',
  QUANTIZED = 'QUANTIZED',
}

export enum DistillationMethod {
  LOGITS = 'LOGITS',
  SEQUENCES = 'SEQUENCES',
  SYNTHETIC_DATA = 'SYNTHETIC_DATA',
}

/**
 * "child derives from parent under this agreement": immutable (trigger). The
 * agreement's terms hash and royalty are copied so lineage and royalty stacks
 * are computed from this table alone.
 */
@Entity({ name: 'model_lineage_edges' })
export class LineageEdgeEntity {
  @PrimaryColumn({ type: 'uuid', name: 'child_model_id' })
  childModelId: string;

  @PrimaryColumn({ type: 'uuid', name: 'parent_model_id' })
  parentModelId: string;

  @Column({ type: 'uuid', name: 'agreement_id' })
  agreementId: string;

  @Column({ type: 'text' })
  relation: LineageRelation;

  @Column({ type: 'text', nullable: true })
  method: DistillationMethod | null;

  @Column({ type: 'integer', name: 'data_share_bps', nullable: true })
  dataShareBps: number | null;

  @Column({ type: 'char', length: 64, name: 'terms_hash' })
  termsHash: string;

  @Column({ type: 'text', name: 'royalty_policy' })
  royaltyPolicy: RoyaltyPolicy;

  @Column({ type: 'integer', name: 'royalty_share_bps' })
  royaltyShareBps: number;

  @Column({ type: 'uuid', name: 'registered_by_user_id', nullable: true })
  registeredByUserId: string | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}

@Entity({ name: 'model_certifications' })
export class CertificationEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid', name: 'model_id' })
  modelId: string;

  @Column({ type: 'jsonb' })
  evidence: Array<{ benchmark: string; metric: string; value: string; datasetDigest: string }>;

  @Column({ type: 'jsonb', name: 'safety_review' })
  safetyReview: Record<string, unknown>;

  @Column({ type: 'uuid', name: 'certified_by_user_id', nullable: true })
  certifiedByUserId: string | null;

  @Column({ type: 'timestamptz', name: 'certified_at', default: () => 'now()' })
  certifiedAt: Date;

  @Column({ type: 'timestamptz', name: 'expires_at' })
  expiresAt: Date;

  @Column({ type: 'timestamptz', name: 'revoked_at', nullable: true })
  revokedAt: Date | null;

  @Column({ type: 'uuid', name: 'revoked_by_user_id', nullable: true })
  revokedByUserId: string | null;

  @Column({ type: 'text', name: 'revocation_reason', nullable: true })
  revocationReason: string | null;
}

/** Public keys that ever signed attestations: kept after rotation so old attestations still verify. */
@Entity({ name: 'attestation_keys' })
export class AttestationKeyEntity {
  @PrimaryColumn({ type: 'text', name: 'key_id' })
  keyId: string;

  @Column({ type: 'text' })
  algorithm: 'Ed25519';

  /** Raw 32-byte Ed25519 public key, base64url (the JWK `x`). */
  @Column({ type: 'text', name: 'public_key' })
  publicKey: string;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column({ type: 'timestamptz', name: 'retired_at', nullable: true })
  retiredAt: Date | null;
}

@Entity({ name: 'model_attestations' })
export class AttestationEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid', name: 'model_id' })
  modelId: string;

  @Column({ type: 'text', name: 'key_id' })
  keyId: string;

  @Column({ type: 'jsonb' })
  statement: Record<string, unknown>;

  /** The exact signed bytes: RFC 8785 canonical JSON of the statement. */
  @Column({ type: 'text' })
  payload: string;

  /** Ed25519 signature over `payload`, base64url. */
  @Column({ type: 'text' })
  signature: string;

  @Column({ type: 'timestamptz', name: 'issued_at' })
  issuedAt: Date;

  @Column({ type: 'uuid', name: 'issued_by_user_id', nullable: true })
  issuedByUserId: string | null;
}

export enum WatermarkSchemeKind {
  SYNTHID_TEXT = 'SYNTHID_TEXT',
  GREEN_LIST = 'GREEN_LIST',
  OTHER = 'OTHER',
}

@Entity({ name: 'watermark_schemes' })
export class WatermarkSchemeEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid', name: 'model_id' })
  modelId: string;

  @Column({ type: 'uuid', name: 'organization_id' })
  organizationId: string;

  @Column({ type: 'text' })
  scheme: WatermarkSchemeKind;

  @Column({ type: 'jsonb' })
  parameters: Record<string, unknown>;

  @Column({ type: 'bytea', name: 'secret_sealed' })
  secretSealed: Buffer;

  @Column({ type: 'text', name: 'secret_key_id' })
  secretKeyId: string;

  @Column({ type: 'text', name: 'secret_fingerprint' })
  secretFingerprint: string;

  @Column({ type: 'uuid', name: 'registered_by_user_id', nullable: true })
  registeredByUserId: string | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}

export const PROVENANCE_ENTITIES = [LineageEdgeEntity, CertificationEntity, AttestationKeyEntity, AttestationEntity, WatermarkSchemeEntity];
