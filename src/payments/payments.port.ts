/**
 * The payments port: what billing needs from a payment
 * processor, behind one interface with two adapters — `stripe` (the official
 * SDK) and `sandbox` (in-process, deterministic, the default without a key).
 * Amounts cross this port in OUR minor units (bigint); adapters convert to the
 * processor's units with platform/money/stripe-units.ts. Idempotency keys are
 * always given by the caller, derived from our own ids, so a retry after a
 * crash reuses them. Never call the port inside an open database transaction.
 */
export type PaymentsMode = 'stripe' | 'sandbox';

export const PAYMENTS_PORT = Symbol('PAYMENTS_PORT');

export type PaymentIntentStatus =
  | 'succeeded'
  | 'processing'
  | 'requires_payment_method'
  | 'requires_action'
  | 'requires_confirmation'
  | 'requires_capture'
  | 'canceled';

export interface PaymentIntentResult {
  id: string;
  status: PaymentIntentStatus;
  amountMinor: bigint;
  currency: string;
  /** The charge that moved money (for fees, refunds, disputes); null until there is one. */
  latestChargeId: string | null;
  /** Why the last attempt failed (card_declined, insufficient_funds, …); null when it did not. */
  failureCode: string | null;
  failureMessage: string | null;
  metadata: Record<string, string>;
}

export interface ChargeOffSessionInput {
  customerId: string;
  /** The saved payment method; null → the customer's default. */
  paymentMethodId: string | null;
  amountMinor: bigint;
  currency: string;
  /** Derived from our ids (e.g. `invoice:<id>:attempt:<n>`); reused on retry. */
  idempotencyKey: string;
  description: string;
  metadata: Record<string, string>;
}

export interface RefundInput {
  paymentIntentId: string;
  amountMinor: bigint;
  currency: string;
  idempotencyKey: string;
  reason: 'requested_by_customer' | 'duplicate' | 'fraudulent' | null;
  metadata: Record<string, string>;
}

export interface RefundResult {
  id: string;
  status: 'succeeded' | 'pending' | 'failed' | 'canceled' | 'requires_action';
  amountMinor: bigint;
  currency: string;
}

/** A connected account (Stripe Connect v1 Account) as the port reports it. */
export interface ConnectedAccount {
  id: string;
  chargesEnabled: boolean;
  payoutsEnabled: boolean;
  detailsSubmitted: boolean;
  /** The `transfers` capability's status; null when it was not requested. */
  transfersCapability: 'active' | 'inactive' | 'pending' | null;
  currentlyDue: string[];
  pastDue: string[];
  /** Why the account cannot take charges or payouts (requirements.past_due, rejected.fraud, …); null when nothing is wrong. */
  disabledReason: string | null;
  livemode: boolean;
  metadata: Record<string, string>;
}

export interface CreateConnectedAccountInput {
  organizationId: string;
  /** ISO 3166-1 alpha-2, when the organization has one (else the processor asks during onboarding). */
  country: string | null;
  /** Derived from the organization id, so every attempt names the same account. */
  idempotencyKey: string;
}

export interface AccountLinkInput {
  accountId: string;
  /** Where the processor sends the user when the link expired or was already used: it must make a new link. */
  refreshUrl: string;
  /** Where the user lands after leaving the onboarding flow (done or not: read the account to know). */
  returnUrl: string;
}

export interface PaymentsPort extends TransfersPort {
  readonly mode: PaymentsMode;
  ensureCustomer(input: { organizationId: string; name: string; idempotencyKey: string }): Promise<{ customerId: string }>;
  createSetupIntent(input: { customerId: string; organizationId: string; idempotencyKey: string }): Promise<{ setupIntentId: string; clientSecret: string }>;
  /**
   * Creates and confirms an off-session PaymentIntent. A decline is a result
   * (status requires_payment_method with failureCode), not an exception; an
   * exception means the outcome is unknown (network, 5xx) and the caller
   * retries with the same idempotency key.
   */
  chargeOffSession(input: ChargeOffSessionInput): Promise<PaymentIntentResult>;
  retrievePaymentIntent(id: string): Promise<PaymentIntentResult>;
  /** Stripe's processing fee on a charge (from its balance transaction), in our minor units; null while unknown. */
  processingFee(chargeId: string): Promise<{ feeMinor: bigint; currency: string } | null>;
  refund(input: RefundInput): Promise<RefundResult>;

  // ---- Connect: vendors' connected accounts (payout onboarding)

  /**
   * A connected account controlled by the platform: the platform pays the
   * processor's fees and bears negative-balance losses, the vendor gets the
   * Express dashboard, the processor collects the requirements, and the
   * `transfers` capability is requested.
   */
  createConnectedAccount(input: CreateConnectedAccountInput): Promise<ConnectedAccount>;
  /** The account's current state (what handlers of account events read instead of trusting the event). */
  retrieveConnectedAccount(accountId: string): Promise<ConnectedAccount>;
  /** A single-use onboarding link (type account_onboarding); it expires within minutes. */
  createAccountLink(input: AccountLinkInput): Promise<{ url: string; expiresAt: Date }>;
  /** A single-use link into the account's Express dashboard. */
  createLoginLink(accountId: string): Promise<{ url: string }>;
}

// ---- Connect: transfers to connected accounts, reversals, the platform's balance

export interface CreateTransferInput {
  /** The vendor's connected account (acct_…). */
  destinationAccountId: string;
  amountMinor: bigint;
  currency: string;
  /** Groups a batch's transfers at the processor (`payout_batch:<batch id>`); recovery looks transfers up by it. */
  transferGroup: string;
  /** The payout's stored key; reused by every attempt. */
  idempotencyKey: string;
  description: string;
  /** At least payout_id, batch_id and idempotency_key (recovery matches on them). */
  metadata: Record<string, string>;
  /** A charge (ch_…) the transfer is funded from, when the payout can be tied to one; null → the available balance. */
  sourceTransaction: string | null;
}

export interface TransferReversalResult {
  id: string;
  transferId: string;
  amountMinor: bigint;
  currency: string;
  createdAt: Date;
  metadata: Record<string, string>;
}

export interface TransferResult {
  id: string;
  destinationAccountId: string;
  amountMinor: bigint;
  currency: string;
  transferGroup: string | null;
  metadata: Record<string, string>;
  createdAt: Date;
  /** Σ of the reversals so far. */
  reversedMinor: bigint;
  reversals: TransferReversalResult[];
  livemode: boolean;
}

export interface ReverseTransferInput {
  transferId: string;
  /** Part of the transfer, in the transfer's own currency. */
  amountMinor: bigint;
  idempotencyKey: string;
  metadata: Record<string, string>;
}

export interface PlatformBalance {
  /** Per currency, in our minor units. */
  available: { currency: string; amountMinor: bigint }[];
  pending: { currency: string; amountMinor: bigint }[];
}

/** One movement of the platform's balance at the processor (Stripe's balance transaction). */
export interface BalanceTransaction {
  id: string;
  /** Gross, signed: positive into the balance (charge), negative out of it (refund, transfer). */
  amountMinor: bigint;
  /** The processor's fee on it (≥ 0). */
  feeMinor: bigint;
  netMinor: bigint;
  currency: string;
  /** Stripe's `reporting_category`: charge, refund, dispute, dispute_reversal, transfer, transfer_reversal, fee, … */
  reportingCategory: string;
  type: string;
  /** The object that caused it (ch_…, re_…, du_…, tr_…, trr_…); null for some platform fees. */
  sourceId: string | null;
  createdAt: Date;
}

export interface TransfersPort {
  /**
   * Creates (or, with the same idempotency key, replays) a transfer. A refusal
   * that cannot succeed as sent is a TransferRefusedError (its `retryLater`
   * says whether the same request may succeed later: balance_insufficient);
   * a 429 is a PaymentsRateLimitedError; anything else unknown is a
   * PaymentsUnavailableError (outcome unknown: retry with the same key).
   */
  createTransfer(input: CreateTransferInput): Promise<TransferResult>;
  retrieveTransfer(transferId: string): Promise<TransferResult>;
  /** Every transfer of a transfer group (all pages), oldest first. */
  listTransfersByGroup(transferGroup: string): Promise<TransferResult[]>;
  reverseTransfer(input: ReverseTransferInput): Promise<TransferReversalResult>;
  retrieveBalance(): Promise<PlatformBalance>;
  /** The platform balance's movements created in [from, to) (all pages), oldest first. */
  listBalanceTransactions(range: { from: Date; to: Date }): Promise<BalanceTransaction[]>;
}
