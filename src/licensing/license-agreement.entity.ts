import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export enum AgreementStatus {
  PENDING_PAYMENT = 'PENDING_PAYMENT',
  ACTIVE = 'ACTIVE',
  SUSPENDED = 'SUSPENDED',
  TERMINATED = 'TERMINATED',
  EXPIRED = 'EXPIRED',
}

/**
 * A distiller's acceptance of one offer version: a snapshot of the exact terms
 * and pricing and their hash, who accepted and when, the term, and a status.
 * At most one live (PENDING_PAYMENT / ACTIVE / SUSPENDED) agreement per
 * (offer, distiller) — a partial unique index.
 */
@Entity({ name: 'license_agreements' })
export class LicenseAgreementEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid', name: 'offer_id' })
  offerId: string;

  @Column({ type: 'uuid', name: 'model_id' })
  modelId: string;

  @Column({ type: 'uuid', name: 'vendor_organization_id' })
  vendorOrganizationId: string;

  @Column({ type: 'uuid', name: 'distiller_organization_id' })
  distillerOrganizationId: string;

  @Column({ type: 'uuid', name: 'accepted_by_user_id', nullable: true })
  acceptedByUserId: string | null;

  @Column({ type: 'timestamptz', name: 'accepted_at' })
  acceptedAt: Date;

  @Column({ type: 'jsonb', name: 'terms_snapshot' })
  termsSnapshot: Record<string, unknown>;

  @Column({ type: 'jsonb', name: 'pricing_snapshot' })
  pricingSnapshot: Record<string, unknown>;

  @Column({ type: 'char', length: 64, name: 'terms_hash' })
  termsHash: string;

  @Column({ type: 'text' })
  status: AgreementStatus;

  @Column({ type: 'text', name: 'status_reason', nullable: true })
  statusReason: string | null;

  /** NON_PAYMENT when billing suspended it for an uncollectible invoice (a payment reinstates it); else null. */
  @Column({ type: 'text', name: 'suspension_cause', nullable: true })
  suspensionCause: 'NON_PAYMENT' | null;

  @Column({ type: 'timestamptz', name: 'status_changed_at' })
  statusChangedAt: Date;

  @Column({ type: 'timestamptz', name: 'starts_at' })
  startsAt: Date;

  /** Null when the terms set no term (perpetual). */
  @Column({ type: 'timestamptz', name: 'ends_at', nullable: true })
  endsAt: Date | null;

  /** A pool agreement: accepted under this pool-plan subscription (no per-token charge; the plan's allowance applies). */
  @Column({ type: 'uuid', name: 'pool_subscription_id', nullable: true })
  poolSubscriptionId: string | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}
