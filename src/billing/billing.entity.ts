import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { bigintTransformer } from '../platform/database/bigint.transformer';

export enum BillingPeriodStatus {
  OPEN = 'OPEN',
  CLOSED = 'CLOSED',
}

export enum InvoiceKind {
  /** The upfront fee of one agreement, issued when the offer is accepted. */
  UPFRONT = 'UPFRONT',
  /** A distiller's usage (and true-ups, adjustments) of one period in one currency. */
  PERIOD = 'PERIOD',
  /** One period of a pool-plan subscription (the fee, prorated by days for the first; overage of the previous period). */
  POOL = 'POOL',
}

export enum InvoiceStatus {
  DRAFT = 'DRAFT',
  OPEN = 'OPEN',
  PAID = 'PAID',
  VOID = 'VOID',
  UNCOLLECTIBLE = 'UNCOLLECTIBLE',
}

export enum InvoiceLineKind {
  UPFRONT_FEE = 'UPFRONT_FEE',
  USAGE_INPUT = 'USAGE_INPUT',
  USAGE_OUTPUT = 'USAGE_OUTPUT',
  MINIMUM_COMMITMENT_TRUE_UP = 'MINIMUM_COMMITMENT_TRUE_UP',
  ADJUSTMENT_INPUT = 'ADJUSTMENT_INPUT',
  ADJUSTMENT_OUTPUT = 'ADJUSTMENT_OUTPUT',
  /** A share of a student model's reported outside revenue owed to an ancestor (negative: a correction's credit). */
  ROYALTY = 'ROYALTY',
  /** A pool-plan subscription's fee for a period (no agreement, model or vendor: the pool's distribution decides who earns). */
  POOL_FEE = 'POOL_FEE',
  /** Tokens beyond a BILL pool plan's shared allowance in the previous period, at the plan's overage price. */
  POOL_OVERAGE = 'POOL_OVERAGE',
}

/** A calendar month in UTC ('YYYY-MM'); CLOSED once every distiller's invoices for it are written. */
@Entity({ name: 'billing_periods' })
export class BillingPeriodEntity {
  @PrimaryColumn({ type: 'text' })
  period: string;

  @Column({ type: 'timestamptz', name: 'period_start' })
  periodStart: Date;

  @Column({ type: 'timestamptz', name: 'period_end' })
  periodEnd: Date;

  @Column({ type: 'text', default: BillingPeriodStatus.OPEN })
  status: BillingPeriodStatus;

  @Column({ type: 'timestamptz', name: 'close_started_at', nullable: true })
  closeStartedAt: Date | null;

  @Column({ type: 'timestamptz', name: 'closed_at', nullable: true })
  closedAt: Date | null;

  /** Null when the scheduled job closed it. */
  @Column({ type: 'uuid', name: 'closed_by_user_id', nullable: true })
  closedByUserId: string | null;

  @Column({ type: 'integer', name: 'invoice_count', default: 0 })
  invoiceCount: number;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column({ type: 'timestamptz', name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}

/**
 * An invoice to a distiller organization in one currency. Amounts are bigint
 * minor units. State changes are guarded by a trigger (see the Billing migration).
 */
@Entity({ name: 'invoices' })
export class InvoiceEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** e.g. BM-202611-000042 (issue month, then a sequence). */
  @Column({ type: 'text' })
  number: string;

  @Column({ type: 'uuid', name: 'distiller_organization_id' })
  distillerOrganizationId: string;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'text' })
  kind: InvoiceKind;

  /** PERIOD invoices: the billed period ('YYYY-MM'). */
  @Column({ type: 'text', nullable: true })
  period: string | null;

  /** UPFRONT invoices: the agreement whose fee it is. */
  @Column({ type: 'uuid', name: 'agreement_id', nullable: true })
  agreementId: string | null;

  /** POOL invoices: the subscription whose period it is. */
  @Column({ type: 'uuid', name: 'pool_subscription_id', nullable: true })
  poolSubscriptionId: string | null;

  @Column({ type: 'text', default: InvoiceStatus.DRAFT })
  status: InvoiceStatus;

  @Column({ type: 'bigint', name: 'total_minor', default: 0, transformer: bigintTransformer })
  totalMinor: bigint;

  @Column({ type: 'bigint', name: 'amount_paid_minor', default: 0, transformer: bigintTransformer })
  amountPaidMinor: bigint;

  @Column({ type: 'bigint', name: 'amount_refunded_minor', default: 0, transformer: bigintTransformer })
  amountRefundedMinor: bigint;

  @Column({ type: 'timestamptz', name: 'issued_at', nullable: true })
  issuedAt: Date | null;

  @Column({ type: 'timestamptz', name: 'due_at', nullable: true })
  dueAt: Date | null;

  @Column({ type: 'timestamptz', name: 'paid_at', nullable: true })
  paidAt: Date | null;

  @Column({ type: 'timestamptz', name: 'voided_at', nullable: true })
  voidedAt: Date | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column({ type: 'timestamptz', name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}

/**
 * One line of an invoice: what was billed, for which agreement (and so which
 * vendor earns it), how many tokens at which unit price (minor units per
 * million tokens), the amount, and the overage tokens among them.
 */
@Entity({ name: 'invoice_lines' })
export class InvoiceLineEntity {
  @PrimaryColumn({ type: 'uuid', name: 'invoice_id' })
  invoiceId: string;

  @PrimaryColumn({ type: 'integer' })
  position: number;

  @Column({ type: 'text' })
  kind: InvoiceLineKind;

  /** Null on pool lines (POOL_FEE, POOL_OVERAGE). */
  @Column({ type: 'uuid', name: 'agreement_id', nullable: true })
  agreementId: string | null;

  @Column({ type: 'uuid', name: 'vendor_organization_id', nullable: true })
  vendorOrganizationId: string | null;

  @Column({ type: 'uuid', name: 'model_id', nullable: true })
  modelId: string | null;

  /** The period the tokens belong to (for adjustments: the earlier period); null for the upfront fee. */
  @Column({ type: 'text', name: 'usage_period', nullable: true })
  usagePeriod: string | null;

  /** Tokens (token lines only). */
  @Column({ type: 'bigint', nullable: true, transformer: bigintTransformer })
  quantity: bigint | null;

  /** Minor units per million tokens (token lines only). */
  @Column({ type: 'bigint', name: 'unit_price_minor', nullable: true, transformer: bigintTransformer })
  unitPriceMinor: bigint | null;

  @Column({ type: 'bigint', name: 'amount_minor', transformer: bigintTransformer })
  amountMinor: bigint;

  @Column({ type: 'bigint', name: 'overage_tokens', default: 0, transformer: bigintTransformer })
  overageTokens: bigint;

  @Column({ type: 'text' })
  description: string;

  /** ROYALTY lines: the revenue report revision the royalty is computed from. */
  @Column({ type: 'uuid', name: 'revenue_report_id', nullable: true })
  revenueReportId: string | null;

  /** ROYALTY lines: the student model whose revenue it is (model_id is the ancestor paid). */
  @Column({ type: 'uuid', name: 'student_model_id', nullable: true })
  studentModelId: string | null;

  /** ROYALTY lines: LAP or LRP. */
  @Column({ type: 'text', name: 'royalty_policy', nullable: true })
  royaltyPolicy: string | null;

  /** ROYALTY lines: the licence's share in basis points. */
  @Column({ type: 'integer', name: 'royalty_share_bps', nullable: true })
  royaltyShareBps: number | null;
}

/** An admin's platform-fee override for one vendor (otherwise config.platformFeeBps applies). */
@Entity({ name: 'vendor_fee_overrides' })
export class VendorFeeOverrideEntity {
  @PrimaryColumn({ type: 'uuid', name: 'vendor_organization_id' })
  vendorOrganizationId: string;

  @Column({ type: 'integer', name: 'fee_bps' })
  feeBps: number;

  @Column({ type: 'uuid', name: 'set_by_user_id', nullable: true })
  setByUserId: string | null;

  @Column({ type: 'timestamptz', name: 'set_at', default: () => 'now()' })
  setAt: Date;
}
