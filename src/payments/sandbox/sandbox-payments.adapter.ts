/**
 * The `sandbox` adapter: an in-process, deterministic stand-in for Stripe,
 * the default when no STRIPE_SECRET_KEY is set. No money moves. Its objects
 * are Stripe-shaped and persisted (sandbox_payment_objects), ids are derived
 * from the idempotency key (`pi_sandbox_…`, `cus_sandbox_…`), and the same key
 * replays the first response, as Stripe does. It emits Stripe-shaped events
 * (source 'sandbox') into the same inbox as Stripe's webhooks, in the same
 * transaction as the state change, so the same handlers process them.
 *
 * Test payment methods (documented in the API through `testPaymentMethods`):
 *   pm_sandbox_visa                 succeeds
 *   pm_sandbox_declined             declines: card_declined
 *   pm_sandbox_insufficient_funds   declines: card_declined / insufficient_funds
 * Processing fee: SANDBOX_FEE_BPS (2.90 %) of the amount, split with splitBps
 * (the one allocation rule), nothing fixed.
 * Disputes do not happen by themselves: `simulateDispute` / `closeDispute`
 * (admin mutations and tests) emit charge.dispute.created / closed.
 */
import { Injectable, Optional } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../../platform/clock/clock';
import { AppConfig } from '../../platform/config/app-config';
import { splitBps } from '../../platform/money/allocation';
import { feeFromStripeUnits, feeToStripeUnits, fromStripeAmount, toStripeAmount } from '../../platform/money/stripe-units';
import { Database, Tx } from '../../platform/database/transaction';
import { NoPaymentMethodError, TransferRefusedError } from '../payments.errors';
import type {
  AccountLinkInput,
  BalanceTransaction,
  ChargeOffSessionInput,
  ConnectedAccount,
  CreateConnectedAccountInput,
  CreateTransferInput,
  PaymentIntentResult,
  PaymentsPort,
  PlatformBalance,
  RefundInput,
  RefundResult,
  ReverseTransferInput,
  TransferResult,
  TransferReversalResult,
} from '../payments.port';
import { AccountShape, connectedAccount, PaymentIntentShape, paymentIntentResult } from '../stripe-shapes';
import { transferResult, TransferShape } from '../transfer-shapes';
import { STRIPE_API_VERSION } from '../stripe/stripe-payments.adapter';
import { WebhookInboxService } from '../webhooks/webhook-inbox.service';
import type { StripeEventLike } from '../webhooks/webhook-handlers';
import { invalidRequest, requestHash, SandboxStore, sandboxId, sha256, StripeObject } from './sandbox-store';
import { SandboxRepository } from './sandbox.repository';

interface Decline {
  code: string;
  declineCode: string;
  message: string;
}

/** The sandbox's payment methods and what charging them does (null: succeeds). */
export const SANDBOX_PAYMENT_METHODS: Readonly<Record<string, Decline | null>> = {
  pm_sandbox_visa: null,
  pm_sandbox_declined: { code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined. (sandbox)' },
  pm_sandbox_insufficient_funds: { code: 'card_declined', declineCode: 'insufficient_funds', message: 'Your card has insufficient funds. (sandbox)' },
};
export const SANDBOX_TEST_PAYMENT_METHODS = Object.keys(SANDBOX_PAYMENT_METHODS);
export const SANDBOX_FEE_BPS = 290;
/** The sandbox's dispute fee, in the processor's units of the charge's currency (taken when a dispute opens, returned when it is won). */
export const SANDBOX_DISPUTE_FEE = 1500;

export type SandboxDisputeOutcome = 'won' | 'lost';

export interface SandboxDispute {
  id: string;
  paymentIntentId: string;
  chargeId: string;
  amountMinor: bigint;
  currency: string;
  reason: string;
  status: string;
}

/** `account`: set on events about a connected account (Connect events carry it, as Stripe's do). */
type Emit = (type: string, object: StripeObject, seed?: string, account?: string) => void;

/** What the sandbox's onboarding page can do to a connected account. */
export type SandboxOnboardingOutcome = 'complete' | 'requirements_due' | 'disable';
export const SANDBOX_ONBOARDING_OUTCOMES: readonly SandboxOnboardingOutcome[] = ['complete', 'requirements_due', 'disable'];

/** What a new Express account must provide before it can receive transfers (a plausible subset of Stripe's list). */
const SANDBOX_INITIAL_REQUIREMENTS = ['business_type', 'external_account', 'tos_acceptance.date', 'tos_acceptance.ip'];
/** Stripe's account links live for a few minutes. */
const SANDBOX_LINK_TTL_SECONDS = 300;

const nowSeconds = () => Math.floor(Date.now() / 1000);

function sandboxEvent(type: string, object: StripeObject, seed: string, account?: string): StripeEventLike & Record<string, unknown> {
  return {
    ...(account ? { account } : {}),
    id: `evt_sandbox_${sha256(`${type}\u0000${seed}`).slice(0, 24)}`,
    object: 'event',
    api_version: STRIPE_API_VERSION,
    created: nowSeconds(),
    livemode: false,
    pending_webhooks: 0,
    request: { id: null, idempotency_key: null },
    type,
    data: { object: structuredClone(object) },
  };
}

@Injectable()
export class SandboxPaymentsAdapter implements PaymentsPort {
  readonly mode = 'sandbox' as const;
  private readonly objects = new SandboxRepository();
  private readonly store = new SandboxStore(this.objects);

  constructor(
    private readonly db: Database,
    private readonly inbox: WebhookInboxService,
    /** For the URLs of the sandbox's onboarding and dashboard pages; without it, this server's default address. */
    @Optional() private readonly config?: AppConfig,
    /**
     * Balance transactions are dated on the platform Clock, so the simulated
     * processor's balance follows the sandbox test clock as the ledger does
     * (reconciliation compares the two by day); without it, real time.
     */
    @Optional() private readonly clock?: Clock,
  ) {}

  /** When a movement of the balance happens, in Unix seconds of business time. */
  private balanceSeconds(): number {
    return this.clock ? Math.floor(this.clock.now().getTime() / 1000) : nowSeconds();
  }

  private get publicUrl(): string {
    return this.config?.publicUrl ?? 'http://127.0.0.1:3000';
  }

  async ensureCustomer(input: { organizationId: string; name: string; idempotencyKey: string }): Promise<{ customerId: string }> {
    const params = { op: 'customers.create', name: input.name, metadata: { organization_id: input.organizationId } };
    return this.run(async (tx) => {
      const hash = requestHash(params);
      const prior = await this.store.replay(tx, 'customer', input.idempotencyKey, hash);
      if (prior) return { customerId: prior.id };
      const customer: StripeObject = {
        id: sandboxId('customer', input.idempotencyKey),
        object: 'customer',
        created: nowSeconds(),
        livemode: false,
        name: input.name,
        metadata: params.metadata,
        invoice_settings: { default_payment_method: null },
      };
      await this.store.saveIdempotent(tx, 'customer', input.idempotencyKey, hash, customer);
      return { customerId: customer.id };
    });
  }

  async createSetupIntent(input: { customerId: string; organizationId: string; idempotencyKey: string }): Promise<{ setupIntentId: string; clientSecret: string }> {
    const params = { op: 'setup_intents.create', customer: input.customerId, usage: 'off_session', metadata: { organization_id: input.organizationId } };
    const intent = await this.run(async (tx) => {
      const hash = requestHash(params);
      const prior = await this.store.replay(tx, 'setup_intent', input.idempotencyKey, hash);
      if (prior) return prior;
      await this.store.require(tx, 'customer', input.customerId);
      const id = sandboxId('setup_intent', input.idempotencyKey);
      const created: StripeObject = {
        id,
        object: 'setup_intent',
        created: nowSeconds(),
        livemode: false,
        customer: input.customerId,
        usage: 'off_session',
        status: 'requires_payment_method',
        payment_method: null,
        client_secret: `${id}_secret_${sha256(`secret\u0000${id}`).slice(0, 16)}`,
        metadata: params.metadata,
      };
      await this.store.saveIdempotent(tx, 'setup_intent', input.idempotencyKey, hash, created);
      return created;
    });
    return { setupIntentId: intent.id, clientSecret: intent.client_secret as string };
  }

  /** The current state of a SetupIntent, or null. */
  async setupIntent(id: string): Promise<StripeObject | null> {
    return this.store.get(this.db.reader, 'setup_intent', id);
  }

  /**
   * What the browser would do with the client secret: attach a test payment
   * method and succeed, emitting setup_intent.succeeded. Confirming again with
   * the same method changes nothing; with another one is refused.
   */
  async confirmSetupIntent(setupIntentId: string, paymentMethodId: string): Promise<StripeObject> {
    return this.run(async (tx, emit) => {
      const intent = await this.store.require(tx, 'setup_intent', setupIntentId, true);
      if (!(paymentMethodId in SANDBOX_PAYMENT_METHODS)) throw invalidRequest(`No such PaymentMethod: '${paymentMethodId}'`, 'resource_missing');
      if (intent.status === 'succeeded') {
        if (intent.payment_method === paymentMethodId) return intent;
        throw invalidRequest(`SetupIntent ${setupIntentId} has already succeeded with another payment method`, 'setup_intent_unexpected_state');
      }
      intent.status = 'succeeded';
      intent.payment_method = paymentMethodId;
      await this.store.update(tx, intent);
      emit('setup_intent.succeeded', intent);
      return intent;
    });
  }

  async chargeOffSession(input: ChargeOffSessionInput): Promise<PaymentIntentResult> {
    const currency = input.currency.toUpperCase();
    if (input.amountMinor <= 0n) throw invalidRequest('amount must be a positive integer', 'parameter_invalid_integer');
    const amount = toStripeAmount(input.amountMinor, currency);
    const params = {
      op: 'payment_intents.create',
      amount,
      currency: currency.toLowerCase(),
      customer: input.customerId,
      payment_method: input.paymentMethodId,
      confirm: true,
      off_session: true,
      description: input.description,
      metadata: input.metadata,
    };
    const intent = await this.run(async (tx, emit) => {
      const hash = requestHash(params);
      const prior = await this.store.replay(tx, 'payment_intent', input.idempotencyKey, hash);
      if (prior) return prior;
      const customer = await this.store.require(tx, 'customer', input.customerId);
      const paymentMethod = input.paymentMethodId ?? (await this.defaultPaymentMethod(tx, customer));
      if (!(paymentMethod in SANDBOX_PAYMENT_METHODS)) throw invalidRequest(`No such PaymentMethod: '${paymentMethod}'`, 'resource_missing');
      const decline = SANDBOX_PAYMENT_METHODS[paymentMethod];
      const id = sandboxId('payment_intent', input.idempotencyKey);
      const created = nowSeconds();
      const base = {
        id,
        object: 'payment_intent',
        created,
        livemode: false,
        amount,
        currency: params.currency,
        customer: input.customerId,
        payment_method: paymentMethod,
        description: input.description,
        metadata: { ...input.metadata },
        capture_method: 'automatic',
        confirmation_method: 'automatic',
      };
      if (decline) {
        const failed: StripeObject = {
          ...base,
          status: 'requires_payment_method',
          amount_received: 0,
          latest_charge: null,
          last_payment_error: {
            type: 'card_error',
            code: decline.code,
            decline_code: decline.declineCode,
            message: decline.message,
            payment_method: { id: paymentMethod, object: 'payment_method' },
          },
        };
        await this.store.saveIdempotent(tx, 'payment_intent', input.idempotencyKey, hash, failed);
        emit('payment_intent.payment_failed', failed);
        return failed;
      }
      const chargeId = sandboxId('charge', id);
      const txnId = sandboxId('balance_transaction', id);
      const fee = feeToStripeUnits(splitBps(input.amountMinor, SANDBOX_FEE_BPS)[0], currency);
      await this.store.insert(tx, 'balance_transaction', {
        id: txnId,
        object: 'balance_transaction',
        created: this.balanceSeconds(),
        amount,
        currency: params.currency,
        fee,
        net: amount - fee,
        fee_details: [{ amount: fee, currency: params.currency, type: 'stripe_fee', description: `Sandbox processing fee (${SANDBOX_FEE_BPS} bps)` }],
        source: chargeId,
        status: 'available',
        type: 'charge',
        reporting_category: 'charge',
      });
      await this.store.insert(tx, 'charge', {
        id: chargeId,
        object: 'charge',
        created,
        livemode: false,
        amount,
        amount_captured: amount,
        amount_refunded: 0,
        balance_transaction: txnId,
        captured: true,
        currency: params.currency,
        customer: input.customerId,
        description: input.description,
        disputed: false,
        metadata: { ...input.metadata },
        paid: true,
        payment_intent: id,
        payment_method: paymentMethod,
        refunded: false,
        status: 'succeeded',
      });
      const succeeded: StripeObject = { ...base, status: 'succeeded', amount_received: amount, latest_charge: chargeId, last_payment_error: null };
      await this.store.saveIdempotent(tx, 'payment_intent', input.idempotencyKey, hash, succeeded);
      emit('payment_intent.succeeded', succeeded);
      return succeeded;
    });
    return paymentIntentResult(intent as unknown as PaymentIntentShape);
  }

  async retrievePaymentIntent(id: string): Promise<PaymentIntentResult> {
    const intent = await this.store.require(this.db.reader, 'payment_intent', id);
    return paymentIntentResult(intent as unknown as PaymentIntentShape);
  }

  async processingFee(chargeId: string): Promise<{ feeMinor: bigint; currency: string } | null> {
    const charge = await this.store.require(this.db.reader, 'charge', chargeId);
    if (!charge.balance_transaction) return null;
    const txn = await this.store.require(this.db.reader, 'balance_transaction', charge.balance_transaction as string);
    return { feeMinor: feeFromStripeUnits(txn.fee as number, txn.currency as string), currency: (txn.currency as string).toUpperCase() };
  }

  async refund(input: RefundInput): Promise<RefundResult> {
    const currency = input.currency.toUpperCase();
    if (input.amountMinor <= 0n) throw invalidRequest('amount must be a positive integer', 'parameter_invalid_integer');
    const amount = toStripeAmount(input.amountMinor, currency);
    const params = { op: 'refunds.create', payment_intent: input.paymentIntentId, amount, reason: input.reason, metadata: input.metadata };
    const refund = await this.run(async (tx, emit) => {
      const hash = requestHash(params);
      const prior = await this.store.replay(tx, 'refund', input.idempotencyKey, hash);
      if (prior) return prior;
      const intent = await this.store.require(tx, 'payment_intent', input.paymentIntentId);
      if (intent.status !== 'succeeded' || !intent.latest_charge) {
        throw invalidRequest(`PaymentIntent ${intent.id} has no successful charge to refund`, 'charge_not_refundable');
      }
      if (intent.currency !== currency.toLowerCase()) throw invalidRequest(`PaymentIntent ${intent.id} is in ${intent.currency}, not ${currency}`, 'parameter_invalid');
      const charge = await this.store.require(tx, 'charge', intent.latest_charge as string, true);
      if (charge.disputed) throw invalidRequest(`Charge ${charge.id} has been disputed and cannot be refunded`, 'charge_disputed');
      const remaining = (charge.amount as number) - (charge.amount_refunded as number);
      if (remaining === 0) throw invalidRequest(`Charge ${charge.id} has already been refunded`, 'charge_already_refunded');
      if (amount > remaining) throw invalidRequest(`Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`, 'amount_too_large');
      const created: StripeObject = {
        id: sandboxId('refund', input.idempotencyKey),
        object: 'refund',
        created: nowSeconds(),
        amount,
        currency: intent.currency,
        charge: charge.id,
        payment_intent: intent.id,
        reason: input.reason,
        metadata: { ...input.metadata },
        status: 'succeeded',
      };
      created.balance_transaction = await this.balanceTransaction(tx, {
        source: created.id,
        amount: -amount,
        fee: 0,
        currency: intent.currency as string,
        type: 'refund',
        reportingCategory: 'refund',
        created: this.balanceSeconds(),
      });
      charge.amount_refunded = (charge.amount_refunded as number) + amount;
      charge.refunded = charge.amount_refunded === charge.amount;
      await this.store.update(tx, charge);
      await this.store.saveIdempotent(tx, 'refund', input.idempotencyKey, hash, created);
      emit('charge.refunded', charge, created.id);
      return created;
    });
    return {
      id: refund.id,
      status: refund.status as RefundResult['status'],
      amountMinor: fromStripeAmount(refund.amount as number, refund.currency as string),
      currency: (refund.currency as string).toUpperCase(),
    };
  }

  /**
   * Opens a dispute on a succeeded payment's charge (one per charge, as at
   * Stripe; asking again returns the open one and emits nothing).
   * `within` runs in the same transaction when something changed (the
   * caller's audit entry).
   */
  async simulateDispute(
    input: { paymentIntentId: string; amountMinor?: bigint | null; reason?: string | null },
    within?: (tx: Tx, dispute: SandboxDispute) => Promise<void>,
  ): Promise<SandboxDispute> {
    const dispute = await this.run(
      async (tx, emit) => {
        const intent = await this.store.require(tx, 'payment_intent', input.paymentIntentId);
        if (intent.status !== 'succeeded' || !intent.latest_charge) {
          throw invalidRequest(`PaymentIntent ${intent.id} has no successful charge to dispute`, 'charge_not_disputable');
        }
        const charge = await this.store.require(tx, 'charge', intent.latest_charge as string, true);
        const id = sandboxId('dispute', charge.id);
        const existing = await this.store.get(tx, 'dispute', id);
        if (existing) return existing;
        const amount = input.amountMinor != null ? toStripeAmount(input.amountMinor, (charge.currency as string).toUpperCase()) : (charge.amount as number);
        if (amount <= 0 || amount > (charge.amount as number)) throw invalidRequest(`A dispute amount must be between 1 and ${charge.amount}`, 'parameter_invalid_integer');
        const created: StripeObject = {
          id,
          object: 'dispute',
          created: nowSeconds(),
          livemode: false,
          amount,
          currency: charge.currency,
          charge: charge.id,
          payment_intent: intent.id,
          reason: input.reason ?? 'fraudulent',
          status: 'needs_response',
          is_charge_refundable: false,
          balance_transactions: [],
          metadata: {},
        };
        // The processor takes the disputed amount and its dispute fee from the balance when the dispute opens.
        const withdrawal = await this.balanceTransaction(tx, {
          source: id,
          amount: -amount,
          fee: SANDBOX_DISPUTE_FEE,
          currency: charge.currency as string,
          type: 'adjustment',
          reportingCategory: 'dispute',
          created: this.balanceSeconds(),
          seed: `${id}:withdrawal`,
        });
        created.balance_transactions = [await this.store.require(tx, 'balance_transaction', withdrawal)];
        charge.disputed = true;
        await this.store.update(tx, charge);
        await this.store.insert(tx, 'dispute', created);
        emit('charge.dispute.created', created);
        return created;
      },
      within && ((tx, d) => within(tx, toDispute(d))),
    );
    return toDispute(dispute);
  }

  /** Closes a dispute as won or lost (closing again the same way changes nothing). */
  async closeDispute(disputeId: string, outcome: SandboxDisputeOutcome, within?: (tx: Tx, dispute: SandboxDispute) => Promise<void>): Promise<SandboxDispute> {
    const dispute = await this.run(
      async (tx, emit) => {
        const d = await this.store.require(tx, 'dispute', disputeId, true);
        if (d.status === 'won' || d.status === 'lost') {
          if (d.status === outcome) return d;
          throw invalidRequest(`Dispute ${disputeId} is already closed (${d.status})`, 'dispute_already_closed');
        }
        d.status = outcome;
        if (outcome === 'won') {
          // Won: the disputed amount and the dispute fee come back.
          const fee = ((d.balance_transactions ?? []) as StripeObject[]).reduce((sum, b) => sum + (b.fee as number), 0);
          const reinstated = await this.balanceTransaction(tx, {
            source: d.id,
            amount: d.amount as number,
            fee: -fee,
            currency: d.currency as string,
            type: 'adjustment',
            reportingCategory: 'dispute_reversal',
            created: this.balanceSeconds(),
            seed: `${d.id}:reinstatement`,
          });
          d.balance_transactions = [...((d.balance_transactions ?? []) as StripeObject[]), await this.store.require(tx, 'balance_transaction', reinstated)];
        }
        await this.store.update(tx, d);
        emit('charge.dispute.closed', d);
        return d;
      },
      within && ((tx, d) => within(tx, toDispute(d))),
    );
    return toDispute(dispute);
  }

  // ------------------------------------------------------------------ Connect

  async createConnectedAccount(input: CreateConnectedAccountInput): Promise<ConnectedAccount> {
    const params = {
      op: 'accounts.create',
      controller: { fees: { payer: 'application' }, losses: { payments: 'application' }, stripe_dashboard: { type: 'express' }, requirement_collection: 'stripe' },
      capabilities: { transfers: { requested: true } },
      country: input.country,
      metadata: { organization_id: input.organizationId },
    };
    const account = await this.run(async (tx) => {
      const hash = requestHash(params);
      const prior = await this.store.replay(tx, 'account', input.idempotencyKey, hash);
      if (prior) return prior;
      const created: StripeObject = {
        id: sandboxId('account', input.idempotencyKey),
        object: 'account',
        created: nowSeconds(),
        livemode: false,
        country: input.country,
        controller: { ...params.controller, is_controller: true, type: 'application' },
        capabilities: { transfers: 'inactive' },
        charges_enabled: false,
        payouts_enabled: false,
        details_submitted: false,
        requirements: { currently_due: [...SANDBOX_INITIAL_REQUIREMENTS], past_due: [...SANDBOX_INITIAL_REQUIREMENTS], eventually_due: [...SANDBOX_INITIAL_REQUIREMENTS], disabled_reason: 'requirements.past_due' },
        metadata: params.metadata,
      };
      await this.store.saveIdempotent(tx, 'account', input.idempotencyKey, hash, created);
      return created;
    });
    return connectedAccount(account as AccountShape);
  }

  async retrieveConnectedAccount(accountId: string): Promise<ConnectedAccount> {
    const account = await this.store.get(this.db.reader, 'account', accountId);
    if (!account) throw invalidRequest(`No such account: '${accountId}'`, 'resource_missing');
    return connectedAccount(account as AccountShape);
  }

  /** A single-use link to the sandbox's onboarding page (served by this server), valid for five minutes. */
  async createAccountLink(input: AccountLinkInput): Promise<{ url: string; expiresAt: Date }> {
    const link = await this.run(async (tx) => {
      await this.store.require(tx, 'account', input.accountId);
      const id = `acctlink_sandbox_${randomBytes(16).toString('hex')}`;
      const created: StripeObject = {
        id,
        object: 'account_link',
        account: input.accountId,
        type: 'account_onboarding',
        created: nowSeconds(),
        expires_at: nowSeconds() + SANDBOX_LINK_TTL_SECONDS,
        refresh_url: input.refreshUrl,
        return_url: input.returnUrl,
        used: false,
        url: `${this.publicUrl}/v1/sandbox/connect/onboarding/${id}`,
      };
      await this.store.insert(tx, 'account_link', created);
      return created;
    });
    return { url: link.url as string, expiresAt: new Date((link.expires_at as number) * 1000) };
  }

  /** A link to the sandbox's stand-in for the Express dashboard (a read-only page), valid for five minutes. */
  async createLoginLink(accountId: string): Promise<{ url: string }> {
    const link = await this.run(async (tx) => {
      await this.store.require(tx, 'account', accountId);
      const id = `loginlink_sandbox_${randomBytes(16).toString('hex')}`;
      const created: StripeObject = {
        id,
        object: 'login_link',
        account: accountId,
        created: nowSeconds(),
        expires_at: nowSeconds() + SANDBOX_LINK_TTL_SECONDS,
        url: `${this.publicUrl}/v1/sandbox/connect/dashboard/${id}`,
      };
      await this.store.insert(tx, 'login_link', created);
      return created;
    });
    return { url: link.url as string };
  }

  // ---- transfers (payout execution)
  //
  // Transfers are sandbox objects (tr_sandbox_…, id derived from the key) with
  // Stripe's replay semantics; each writes a balance transaction (reporting
  // category `transfer`, source the transfer) that lowers the platform's
  // sandbox balance: Σ net of its balance transactions per currency (charges
  // in, transfers out, top-ups in). A transfer without source_transaction
  // larger than the available balance is refused with balance_insufficient
  // (retry later) — nothing is saved under the key then, so the same key may
  // succeed once the balance is there. `topUpBalance` funds the balance.

  async createTransfer(input: CreateTransferInput): Promise<TransferResult> {
    const currency = input.currency.toUpperCase();
    if (input.amountMinor <= 0n) throw invalidRequest('amount must be a positive integer', 'parameter_invalid_integer');
    const amount = toStripeAmount(input.amountMinor, currency);
    const params = {
      op: 'transfers.create',
      amount,
      currency: currency.toLowerCase(),
      destination: input.destinationAccountId,
      transfer_group: input.transferGroup,
      description: input.description,
      metadata: input.metadata,
      source_transaction: input.sourceTransaction,
    };
    const transfer = await this.run(async (tx, emit) => {
      const hash = requestHash(params);
      const prior = await this.store.replay(tx, 'transfer', input.idempotencyKey, hash);
      if (prior) return prior;
      const account = await this.store.get(tx, 'account', input.destinationAccountId);
      if (!account) throw new TransferRefusedError(`Sandbox: No such destination: '${input.destinationAccountId}'`, 'resource_missing', false);
      if ((account.capabilities as Record<string, string> | undefined)?.transfers !== 'active') {
        throw new TransferRefusedError(
          `Sandbox: the destination account ${account.id} needs the transfers capability enabled to receive transfers`,
          'insufficient_capabilities_for_transfer',
          false,
        );
      }
      if (input.sourceTransaction) {
        const charge = await this.store.require(tx, 'charge', input.sourceTransaction);
        if (charge.currency !== params.currency) throw invalidRequest(`Charge ${charge.id} is in ${charge.currency}, not ${params.currency}`, 'transfer_source_balance_parameters_mismatch');
        if (amount > (charge.amount as number)) throw invalidRequest(`The transfer amount exceeds the source transaction ${charge.id}`, 'amount_too_large');
      } else {
        await this.objects.lockBalance(tx, params.currency);
        const available = await this.objects.balanceNet(tx, params.currency, 'available');
        if (BigInt(amount) > available) {
          throw new TransferRefusedError(
            `Sandbox: You have insufficient funds in your Stripe account (available ${available} ${params.currency}, transfer ${amount})`,
            'balance_insufficient',
            true,
          );
        }
      }
      const id = sandboxId('transfer', input.idempotencyKey);
      const txnId = sandboxId('balance_transaction', id);
      // Business time, like the ledger's PAYOUT posting: reconciliation matches the two by day.
      const created = this.balanceSeconds();
      await this.store.insert(tx, 'balance_transaction', {
        id: txnId,
        object: 'balance_transaction',
        created,
        amount: -amount,
        currency: params.currency,
        fee: 0,
        net: -amount,
        fee_details: [],
        reporting_category: 'transfer',
        source: id,
        status: 'available',
        type: 'transfer',
      });
      const object: StripeObject = {
        id,
        object: 'transfer',
        amount,
        amount_reversed: 0,
        balance_transaction: txnId,
        created,
        currency: params.currency,
        description: input.description,
        destination: input.destinationAccountId,
        livemode: false,
        metadata: { ...input.metadata },
        reversals: { object: 'list', data: [], has_more: false, total_count: 0, url: `/v1/transfers/${id}/reversals` },
        reversed: false,
        source_transaction: input.sourceTransaction,
        transfer_group: input.transferGroup,
      };
      await this.store.saveIdempotent(tx, 'transfer', input.idempotencyKey, hash, object);
      emit('transfer.created', object);
      return object;
    });
    return transferResult(transfer as unknown as TransferShape);
  }

  async retrieveTransfer(transferId: string): Promise<TransferResult> {
    return sandboxTransferResult(await this.store.require(this.db.reader, 'transfer', transferId));
  }

  async listTransfersByGroup(transferGroup: string): Promise<TransferResult[]> {
    const rows = await this.objects.transfersByGroup(this.db.reader, transferGroup);
    return rows.map((t) => transferResult(t as unknown as TransferShape));
  }

  async retrieveBalance(): Promise<PlatformBalance> {
    const rows = await this.objects.balanceByCurrency(this.db.reader);
    return {
      available: rows.filter((r) => r.status === 'available').map((r) => ({ currency: r.currency.toUpperCase(), amountMinor: fromStripeAmount(Number(r.net), r.currency) })),
      pending: rows.filter((r) => r.status === 'pending').map((r) => ({ currency: r.currency.toUpperCase(), amountMinor: fromStripeAmount(Number(r.net), r.currency) })),
    };
  }

  /**
   * Adds funds to the sandbox platform balance (what a top-up from a bank
   * account does at Stripe): a balance transaction of type `topup`. The same
   * key adds nothing twice.
   */
  async topUpBalance(input: { currency: string; amountMinor: bigint; idempotencyKey: string }): Promise<void> {
    const currency = input.currency.toUpperCase();
    if (input.amountMinor <= 0n) throw invalidRequest('amount must be a positive integer', 'parameter_invalid_integer');
    const amount = toStripeAmount(input.amountMinor, currency);
    const params = { op: 'topups.create', amount, currency: currency.toLowerCase() };
    await this.run(async (tx) => {
      const hash = requestHash(params);
      if (await this.store.replay(tx, 'balance_transaction', input.idempotencyKey, hash)) return;
      const txn: StripeObject = {
        id: sandboxId('balance_transaction', `topup:${input.idempotencyKey}`),
        object: 'balance_transaction',
        created: this.balanceSeconds(),
        amount,
        currency: params.currency,
        fee: 0,
        net: amount,
        fee_details: [],
        reporting_category: 'topup',
        source: null,
        status: 'available',
        type: 'topup',
      };
      await this.store.saveIdempotent(tx, 'balance_transaction', input.idempotencyKey, hash, txn);
    });
  }

  // ---- reversals and balance transactions (after a payout, reconciliation)

  /**
   * Reverses part of a transfer (in the transfer's currency), as Stripe's
   * transfers.createReversal: the same key replays the first reversal; more
   * than what is left of the transfer is refused (TransferRefusedError
   * amount_too_large). The reversal brings the money back to the platform's
   * balance (a `transfer_refund` balance transaction, reporting category
   * transfer_reversal) and emits `transfer.reversed` with the transfer.
   */
  async reverseTransfer(input: ReverseTransferInput): Promise<TransferReversalResult> {
    if (input.amountMinor <= 0n) throw new TransferRefusedError('Sandbox: a reversal amount must be a positive integer', 'parameter_invalid_integer', false);
    const params = { op: 'transfers.createReversal', transfer: input.transferId, amount: input.amountMinor, metadata: input.metadata };
    const reversal = await this.run(async (tx, emit) => {
      const hash = requestHash(params);
      const prior = await this.store.replay(tx, 'transfer_reversal', input.idempotencyKey, hash);
      if (prior) return prior;
      const transfer = await this.store.require(tx, 'transfer', input.transferId, true);
      const currency = (transfer.currency as string).toUpperCase();
      const amount = toStripeAmount(input.amountMinor, currency);
      const left = (transfer.amount as number) - ((transfer.amount_reversed as number) ?? 0);
      if (amount > left) {
        throw new TransferRefusedError(`Sandbox: the reversal amount (${amount}) is greater than what is left of transfer ${transfer.id} (${left})`, 'amount_too_large', false);
      }
      const id = sandboxId('transfer_reversal', input.idempotencyKey);
      const created = nowSeconds();
      const txn = await this.balanceTransaction(tx, {
        source: id,
        amount,
        fee: 0,
        currency: transfer.currency as string,
        type: 'transfer_refund',
        reportingCategory: 'transfer_reversal',
        created: this.balanceSeconds(),
      });
      const made: StripeObject = {
        id,
        object: 'transfer_reversal',
        amount,
        balance_transaction: txn,
        created,
        currency: transfer.currency,
        destination_payment_refund: null,
        metadata: { ...input.metadata },
        source_refund: null,
        transfer: transfer.id,
      };
      const earlier = ((transfer.reversals?.data ?? []) as StripeObject[]).filter((r) => r.id !== id);
      transfer.amount_reversed = ((transfer.amount_reversed as number) ?? 0) + amount;
      transfer.reversed = transfer.amount_reversed === transfer.amount;
      // Lists are newest first, as Stripe's.
      transfer.reversals = { object: 'list', data: [made, ...earlier], has_more: false, total_count: earlier.length + 1, url: `/v1/transfers/${transfer.id}/reversals` };
      await this.store.update(tx, transfer);
      await this.store.saveIdempotent(tx, 'transfer_reversal', input.idempotencyKey, hash, made);
      emit('transfer.reversed', transfer, id);
      return made;
    });
    return sandboxReversalResult(reversal);
  }

  /** The platform balance's movements created in [from, to), oldest first (every kind the sandbox makes). */
  async listBalanceTransactions(range: { from: Date; to: Date }): Promise<BalanceTransaction[]> {
    const rows = await this.objects.balanceTransactionsCreated(this.db.reader, Math.ceil(range.from.getTime() / 1000), Math.ceil(range.to.getTime() / 1000));
    return rows.map(sandboxBalanceTransaction);
  }

  /**
   * Records a movement of the platform's balance (Stripe's balance
   * transaction): `amount` signed in the processor's units (negative out of
   * the balance), `fee` the processor's fee on it, `created` on the platform
   * Clock (balanceSeconds). Its id is derived from the source object (or
   * `seed`), so a repeat names the same transaction. Transfers record theirs
   * the same way: type `transfer`, reporting category `transfer`, source the
   * tr_ id, amount negative, fee 0.
   */
  async balanceTransaction(
    tx: Tx,
    b: { source: string; amount: number; fee: number; currency: string; type: string; reportingCategory: string; created: number; seed?: string },
  ): Promise<string> {
    const id = sandboxId('balance_transaction', b.seed ?? b.source);
    const currency = b.currency.toLowerCase();
    await this.store.insert(tx, 'balance_transaction', {
      id,
      object: 'balance_transaction',
      created: b.created,
      amount: b.amount,
      currency,
      fee: b.fee,
      net: b.amount - b.fee,
      fee_details: b.fee === 0 ? [] : [{ amount: b.fee, currency, type: 'stripe_fee', description: `Sandbox ${b.reportingCategory} fee` }],
      source: b.source,
      status: 'available',
      type: b.type,
      reporting_category: b.reportingCategory,
    });
    return id;
  }

  /** An account link by id (null: no such link), with whether it can still be used. */
  async accountLink(linkId: string): Promise<{ link: StripeObject; account: StripeObject; usable: boolean } | null> {
    const link = await this.store.get(this.db.reader, 'account_link', linkId);
    if (!link) return null;
    const account = await this.store.get(this.db.reader, 'account', link.account as string);
    if (!account) return null;
    return { link, account, usable: !link.used && (link.expires_at as number) > nowSeconds() };
  }

  /** The account a still-valid login link opens (null: unknown or expired link). */
  async loginLinkAccount(linkId: string): Promise<StripeObject | null> {
    const link = await this.store.get(this.db.reader, 'login_link', linkId);
    if (!link || (link.expires_at as number) <= nowSeconds()) return null;
    return this.store.get(this.db.reader, 'account', link.account as string);
  }

  /**
   * What a person does on the onboarding page: the link is used up and the
   * account completed, left with requirements due, or disabled; account.updated
   * is emitted (with the event's `account` field) through the inbox. null when
   * the link is unknown; 'expired' when it was used or has expired.
   */
  async completeOnboarding(linkId: string, outcome: SandboxOnboardingOutcome): Promise<{ returnUrl: string; refreshUrl: string } | 'expired' | null> {
    return this.run(async (tx, emit) => {
      const link = await this.store.get(tx, 'account_link', linkId, true);
      if (!link) return null;
      if (link.used || (link.expires_at as number) <= nowSeconds()) return 'expired' as const;
      const account = await this.store.require(tx, 'account', link.account as string, true);
      link.used = true;
      await this.store.update(tx, link);
      Object.assign(account, onboardedState(outcome));
      await this.store.update(tx, account);
      emit('account.updated', account, `${linkId}:${outcome}`, account.id);
      return { returnUrl: link.return_url as string, refreshUrl: link.refresh_url as string };
    });
  }

  private async defaultPaymentMethod(tx: Tx, customer: StripeObject): Promise<string> {
    const saved = await this.objects.savedDefaultPaymentMethod(tx, customer.id);
    const id = saved ?? (customer.invoice_settings?.default_payment_method as string | null) ?? null;
    if (!id) throw new NoPaymentMethodError(customer.id);
    return id;
  }

  /** One transaction for the objects and their events; processing is kicked once it has committed. */
  private async run<T>(work: (tx: Tx, emit: Emit) => Promise<T>, within?: (tx: Tx, value: T) => Promise<void>): Promise<T> {
    const events: StripeEventLike[] = [];
    const value = await this.db.transaction(async (tx) => {
      events.length = 0;
      const v = await work(tx, (type, object, seed, account) => events.push(sandboxEvent(type, object, seed ?? object.id, account)));
      for (const e of events) await this.inbox.store(tx, e, 'sandbox');
      // Only a change is worth recording: a repeated request emits nothing and writes nothing.
      if (within && events.length > 0) await within(tx, v);
      return v;
    });
    if (events.length > 0) void this.inbox.kick();
    return value;
  }
}

/** The account fields each onboarding outcome sets. */
function onboardedState(outcome: SandboxOnboardingOutcome): Record<string, unknown> {
  switch (outcome) {
    case 'complete':
      return {
        details_submitted: true,
        charges_enabled: true,
        payouts_enabled: true,
        capabilities: { transfers: 'active' },
        requirements: { currently_due: [], past_due: [], eventually_due: [], disabled_reason: null },
      };
    case 'requirements_due':
      return {
        details_submitted: true,
        charges_enabled: false,
        payouts_enabled: false,
        capabilities: { transfers: 'inactive' },
        requirements: {
          currently_due: ['external_account', 'individual.verification.document'],
          past_due: ['external_account'],
          eventually_due: ['external_account', 'individual.verification.document'],
          disabled_reason: 'requirements.past_due',
        },
      };
    case 'disable':
      return {
        charges_enabled: false,
        payouts_enabled: false,
        capabilities: { transfers: 'inactive' },
        requirements: { currently_due: [], past_due: [], eventually_due: [], disabled_reason: 'rejected.other' },
      };
  }
}

function toDispute(d: StripeObject): SandboxDispute {
  return {
    id: d.id,
    paymentIntentId: d.payment_intent as string,
    chargeId: d.charge as string,
    amountMinor: fromStripeAmount(d.amount as number, d.currency as string),
    currency: (d.currency as string).toUpperCase(),
    reason: d.reason as string,
    status: d.status as string,
  };
}

/** Stripe's reporting category of a balance transaction type, for sandbox objects written before categories were recorded. */
const CATEGORY_OF_TYPE: Record<string, string> = { charge: 'charge', payment: 'charge', refund: 'refund', transfer: 'transfer', transfer_refund: 'transfer_reversal', stripe_fee: 'fee' };

export function sandboxBalanceTransaction(b: StripeObject): BalanceTransaction {
  const currency = (b.currency as string).toUpperCase();
  return {
    id: b.id,
    amountMinor: fromStripeAmount(b.amount as number, currency),
    feeMinor: feeFromStripeUnits(b.fee as number, currency),
    netMinor: fromStripeAmount(b.net as number, currency),
    currency,
    reportingCategory: (b.reporting_category as string | undefined) ?? CATEGORY_OF_TYPE[b.type as string] ?? 'other_adjustment',
    type: b.type as string,
    sourceId: (b.source as string | null) ?? null,
    createdAt: new Date((b.created as number) * 1000),
  };
}

function sandboxReversalResult(r: StripeObject): TransferReversalResult {
  const currency = (r.currency as string).toUpperCase();
  return {
    id: r.id,
    transferId: r.transfer as string,
    amountMinor: fromStripeAmount(r.amount as number, currency),
    currency,
    createdAt: new Date((r.created as number) * 1000),
    metadata: { ...((r.metadata as Record<string, string>) ?? {}) },
  };
}

export function sandboxTransferResult(t: StripeObject): TransferResult {
  const currency = (t.currency as string).toUpperCase();
  const reversals = ((t.reversals?.data ?? []) as StripeObject[]).map(sandboxReversalResult);
  return {
    id: t.id,
    destinationAccountId: t.destination as string,
    amountMinor: fromStripeAmount(t.amount as number, currency),
    currency,
    transferGroup: (t.transfer_group as string | null) ?? null,
    metadata: { ...((t.metadata as Record<string, string>) ?? {}) },
    createdAt: new Date((t.created as number) * 1000),
    reversedMinor: fromStripeAmount((t.amount_reversed as number) ?? 0, currency),
    reversals,
    livemode: false,
  };
}
