import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintTransformer } from '../platform/database/bigint.transformer';

export enum OfferStatus {
  ACTIVE = 'ACTIVE',
  RETIRED = 'RETIRED',
}

/**
 * A published licence offer: immutable terms + pricing (a trigger refuses any
 * change to them), identified by `termsHash` = SHA-256 of the RFC 8785 JSON of
 * {terms, pricing}. Publishing again under the same (model, name) creates the
 * next version and retires the previous one.
 */
@Entity({ name: 'license_offers' })
export class LicenseOfferEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid', name: 'model_id' })
  modelId: string;

  /** The vendor (owner of the model), denormalised for scoping. */
  @Column({ type: 'uuid', name: 'organization_id' })
  organizationId: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'int' })
  version: number;

  /** Canonical terms as published (see licensing/terms). */
  @Column({ type: 'jsonb' })
  terms: Record<string, unknown>;

  /** Canonical pricing as published; amounts are decimal strings of integer minor units. */
  @Column({ type: 'jsonb' })
  pricing: Record<string, unknown>;

  @Column({ type: 'char', length: 64, name: 'terms_hash' })
  termsHash: string;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'bigint', name: 'upfront_fee_minor', transformer: bigintTransformer })
  upfrontFeeMinor: bigint;

  @Column({ type: 'bigint', name: 'input_per_million_minor', transformer: bigintTransformer })
  inputPerMillionMinor: bigint;

  @Column({ type: 'bigint', name: 'output_per_million_minor', transformer: bigintTransformer })
  outputPerMillionMinor: bigint;

  @Column({ type: 'bigint', name: 'minimum_commitment_minor', transformer: bigintTransformer })
  minimumCommitmentMinor: bigint;

  @Column({ type: 'boolean', name: 'pool_eligible' })
  poolEligible: boolean;

  @Column({ type: 'text' })
  status: OfferStatus;

  @Column({ type: 'uuid', name: 'published_by_user_id', nullable: true })
  publishedByUserId: string | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column({ type: 'timestamptz', name: 'retired_at', nullable: true })
  retiredAt: Date | null;

  /**
   * When the offer first became public (ACTIVE while its model is LISTED); null
   * = never public. Set by database triggers (see the CatalogLicensing migration).
   */
  @Column({ type: 'timestamptz', name: 'public_at', nullable: true, insert: false, update: false })
  publicAt: Date | null;
}
