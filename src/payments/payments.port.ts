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

export interface PaymentsPort {
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
