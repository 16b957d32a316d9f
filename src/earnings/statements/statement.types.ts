/**
 * The two signed statements and their canonical form.
 *
 * Both are plain JSON whose money is integer minor units written as decimal
 * strings (never JSON numbers), so the RFC 8785 bytes are exact and stable.
 * The document handed out is shaped like an attestation:
 * `{payload, signature, keyId, statement}` — payload is the canonical JSON
 * that was signed (Ed25519, base64url signature), statement the same parsed.
 *
 * Pure: no Nest, no database (the offline verifier loads this file).
 */
export const EARNINGS_STATEMENT_TYPE = 'beiming.earnings-statement/v1';
export const USAGE_STATEMENT_TYPE = 'beiming.usage-statement/v1';

export type StatementKind = 'EARNINGS' | 'USAGE';

/**
 * Where a vendor's money came from or went, as the statement groups it.
 * Amounts are from the vendor's side: positive = the platform owes the vendor
 * more (a credit to its payable or held account), negative = less.
 */
export enum EarningsSource {
  /** Upfront licence fees (UPFRONT_FEE invoice lines), gross. */
  LICENCE_FEES = 'LICENCE_FEES',
  /** Metered usage and late-usage adjustments (USAGE_* / ADJUSTMENT_* lines), gross. */
  USAGE = 'USAGE',
  /** Minimum-commitment true-ups (may be negative). */
  MINIMUM_COMMITMENT = 'MINIMUM_COMMITMENT',
  /** Royalty lines billed on downstream revenue reports (ROYALTY invoice lines), gross. */
  DOWNSTREAM_ROYALTY_LINES = 'DOWNSTREAM_ROYALTY_LINES',
  /** The platform's fee taken from the gross above (negative). */
  PLATFORM_FEE = 'PLATFORM_FEE',
  /** Royalties received from descendants' revenue (the cascade). */
  ROYALTIES_RECEIVED = 'ROYALTIES_RECEIVED',
  /** Royalties paid on to ancestors out of this vendor's revenue (negative). */
  ROYALTIES_PAID = 'ROYALTIES_PAID',
  /** Refunds reversing earlier payments (negative). */
  REFUNDS = 'REFUNDS',
  /** A dispute opened: moved from payable to held (two lines that net to zero). */
  DISPUTE_HELD = 'DISPUTE_HELD',
  /** A dispute won: moved back from held to payable (nets to zero). */
  DISPUTE_RELEASED = 'DISPUTE_RELEASED',
  /** A dispute lost: the held share leaves (negative). */
  DISPUTE_LOST = 'DISPUTE_LOST',
  /** Payment-processing costs charged to the vendor. */
  PROCESSING = 'PROCESSING',
  /** A pool plan's distribution: the vendor's teachers' pool earnings (their royalty flows included), held ones, and releases after review. */
  POOL = 'POOL',
  /** Any other movement of the vendor's payable / held accounts (e.g. payouts), named by its ledger kind. */
  OTHER = 'OTHER',
}

export type EarningsAccount = 'PAYABLE' | 'HELD';

export interface EarningsLine {
  /** 1-based, in ledger order (occurred_at, transaction id, then the breakdown's order). */
  seq: number;
  source: EarningsSource;
  account: EarningsAccount;
  /** Signed, vendor's side, minor units. */
  amountMinor: string;
  occurredAt: string;
  ledgerTransactionId: string;
  ledgerKind: string;
  invoiceId: string | null;
  invoiceNumber: string | null;
  modelId: string | null;
  agreementId: string | null;
  /** Royalties: the other vendor (payer when received, ancestor when paid). */
  counterpartyOrganizationId: string | null;
  /** For people: what the line is. */
  description: string;
}

export interface AccountTotals {
  payableMinor: string;
  heldMinor: string;
  netMinor: string;
}

export interface EarningsStatement {
  type: typeof EARNINGS_STATEMENT_TYPE;
  organizationId: string;
  period: string;
  currency: string;
  periodStart: string;
  periodEnd: string;
  billingPeriodClosedAt: string;
  lines: EarningsLine[];
  /** Sum of the lines per source (every source listed, zero included). */
  totalsBySource: Record<EarningsSource, string>;
  /** Sum of the lines per account and in all. */
  totals: AccountTotals;
  /**
   * The ledger's own figures for the vendor's payable + held accounts (vendor's
   * side): balances before the period, the change in it (equal to `totals`,
   * checked before signing) and after it.
   */
  ledger: { opening: AccountTotals; change: AccountTotals; closing: AccountTotals };
  issuedAt: string;
  keyId: string;
}

export interface UsageChargeLine {
  invoiceId: string;
  invoiceNumber: string;
  invoiceKind: string;
  position: number;
  kind: string;
  currency: string;
  usagePeriod: string | null;
  quantity: string | null;
  unitPricePerMillionMinor: string | null;
  amountMinor: string;
}

export interface CurrencyTotal {
  currency: string;
  amountMinor: string;
}

export interface UsageAgreementEntry {
  agreementId: string;
  modelId: string;
  vendorOrganizationId: string;
  usage: {
    eventCount: number;
    inputTokens: string;
    outputTokens: string;
    /** RFC 6962 root (lowercase hex) over the events billed in the period, ordered by event id (bytes). */
    merkleRoot: string;
  };
  charges: UsageChargeLine[];
  chargeTotals: CurrencyTotal[];
}

export interface UsageStatement {
  type: typeof USAGE_STATEMENT_TYPE;
  organizationId: string;
  period: string;
  periodStart: string;
  periodEnd: string;
  billingPeriodClosedAt: string;
  /** How the roots are computed, for an auditor. */
  merkle: { hashing: 'RFC6962-SHA256'; leaf: string; order: string };
  agreements: UsageAgreementEntry[];
  totals: CurrencyTotal[];
  issuedAt: string;
  keyId: string;
}

export type AnyStatement = EarningsStatement | UsageStatement;

export interface StatementDocument<S extends AnyStatement = AnyStatement> {
  payload: string;
  signature: string;
  keyId: string;
  statement: S;
}

export const USAGE_LEAF_DESCRIPTION =
  'SHA-256(0x00 || UTF-8 RFC 8785 JSON of {agreementId, eventId, occurredAt (ISO-8601 UTC, ms), inputTokens (decimal string), outputTokens (decimal string), source})';
export const USAGE_LEAF_ORDER = 'event id, byte order';

export const EARNINGS_SOURCES: readonly EarningsSource[] = Object.values(EarningsSource);
