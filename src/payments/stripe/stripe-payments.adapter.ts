/**
 * The `stripe` adapter: the official SDK, pinned to one API version. Every
 * POST carries the caller's idempotency key in the SDK's request options (the
 * SECOND argument — in the first it would be sent as a parameter), so the
 * SDK's own network retries and ours after a crash replay the first outcome.
 * Amounts cross the boundary only through toStripeAmount / fromStripeAmount.
 */
import { Logger } from '@nestjs/common';
import Stripe from 'stripe';
import { feeFromStripeUnits, fromStripeAmount, toStripeAmount } from '../../platform/money/stripe-units';
import { NoPaymentMethodError, PaymentsRateLimitedError, PaymentsUnavailableError, TransferRefusedError } from '../payments.errors';
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
import { BalanceShape, platformBalance, TRANSFER_REFUSED_CODES, transferResult, TransferShape } from '../transfer-shapes';

export const STRIPE_API_VERSION = '2026-10-28.endive' as const;

export interface StripeAdapterOptions {
  secretKey: string;
  /** e.g. http://127.0.0.1:12111 — a Stripe-compatible server (tests). */
  apiBase?: string;
  /** The SDK's automatic retries of connection errors, 409, 429 and 5xx (same key each time). */
  maxNetworkRetries?: number;
  timeoutMs?: number;
}

export function stripeClient(options: StripeAdapterOptions): Stripe {
  const config: Stripe.StripeConfig = {
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 30_000,
    telemetry: false,
    appInfo: { name: 'beiming' },
  };
  if (options.apiBase) {
    const url = new URL(options.apiBase);
    config.protocol = url.protocol === 'https:' ? 'https' : 'http';
    config.host = url.hostname;
    config.port = url.port || (url.protocol === 'https:' ? 443 : 80);
  }
  return new Stripe(options.secretKey, config);
}

export class StripePaymentsAdapter implements PaymentsPort {
  readonly mode = 'stripe' as const;
  private readonly log = new Logger('StripePayments');
  private readonly stripe: Stripe;

  constructor(options: StripeAdapterOptions) {
    this.stripe = stripeClient(options);
  }

  async ensureCustomer(input: { organizationId: string; name: string; idempotencyKey: string }): Promise<{ customerId: string }> {
    const customer = await this.call(() =>
      this.stripe.customers.create({ name: input.name, metadata: { organization_id: input.organizationId } }, { idempotencyKey: input.idempotencyKey }),
    );
    return { customerId: customer.id };
  }

  async createSetupIntent(input: { customerId: string; organizationId: string; idempotencyKey: string }): Promise<{ setupIntentId: string; clientSecret: string }> {
    const intent = await this.call(() =>
      this.stripe.setupIntents.create(
        {
          customer: input.customerId,
          usage: 'off_session',
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          metadata: { organization_id: input.organizationId },
        },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
    if (!intent.client_secret) throw new PaymentsUnavailableError(`SetupIntent ${intent.id} came back without a client secret`, 'api_error', true);
    return { setupIntentId: intent.id, clientSecret: intent.client_secret };
  }

  async chargeOffSession(input: ChargeOffSessionInput): Promise<PaymentIntentResult> {
    const amount = toStripeAmount(input.amountMinor, input.currency.toUpperCase());
    const paymentMethod = input.paymentMethodId ?? (await this.defaultPaymentMethodOf(input.customerId));
    try {
      const intent = await this.stripe.paymentIntents.create(
        {
          amount,
          currency: input.currency.toLowerCase(),
          customer: input.customerId,
          payment_method: paymentMethod,
          confirm: true,
          off_session: true,
          // Saved methods that would need a redirect cannot work off session: fail them instead.
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          description: input.description,
          metadata: input.metadata,
        },
        { idempotencyKey: input.idempotencyKey },
      );
      return toResult(intent);
    } catch (err) {
      // A decline is an answer about the payment, not a failure to reach Stripe.
      if (err instanceof Stripe.errors.StripeCardError && err.payment_intent) return toResult(err.payment_intent);
      throw this.unavailable(err);
    }
  }

  async retrievePaymentIntent(id: string): Promise<PaymentIntentResult> {
    return toResult(await this.call(() => this.stripe.paymentIntents.retrieve(id)));
  }

  async processingFee(chargeId: string): Promise<{ feeMinor: bigint; currency: string } | null> {
    const charge = await this.call(() => this.stripe.charges.retrieve(chargeId, { expand: ['balance_transaction'] }));
    let bt = charge.balance_transaction;
    if (bt === null) return null;
    if (typeof bt === 'string') {
      const id = bt;
      bt = await this.call(() => this.stripe.balanceTransactions.retrieve(id));
    }
    // The fee is in the settlement currency, which may differ from the charge's.
    return { feeMinor: feeFromStripeUnits(bt.fee, bt.currency), currency: bt.currency.toUpperCase() };
  }

  async refund(input: RefundInput): Promise<RefundResult> {
    const amount = toStripeAmount(input.amountMinor, input.currency.toUpperCase());
    const refund = await this.call(() =>
      this.stripe.refunds.create(
        {
          payment_intent: input.paymentIntentId,
          amount,
          ...(input.reason ? { reason: input.reason } : {}),
          metadata: input.metadata,
        },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
    return {
      id: refund.id,
      status: refund.status as RefundResult['status'],
      amountMinor: fromStripeAmount(refund.amount, refund.currency),
      currency: refund.currency.toUpperCase(),
    };
  }

  async createConnectedAccount(input: CreateConnectedAccountInput): Promise<ConnectedAccount> {
    const account = await this.call(() =>
      this.stripe.accounts.create(
        {
          controller: {
            fees: { payer: 'application' },
            losses: { payments: 'application' },
            stripe_dashboard: { type: 'express' },
            requirement_collection: 'stripe',
          },
          capabilities: { transfers: { requested: true } },
          ...(input.country ? { country: input.country } : {}),
          metadata: { organization_id: input.organizationId },
        },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
    return connectedAccount(account as unknown as AccountShape);
  }

  async retrieveConnectedAccount(accountId: string): Promise<ConnectedAccount> {
    return connectedAccount((await this.call(() => this.stripe.accounts.retrieve(accountId))) as unknown as AccountShape);
  }

  async createAccountLink(input: AccountLinkInput): Promise<{ url: string; expiresAt: Date }> {
    // Each link is single-use and short-lived: a new one per request, so no idempotency key of ours (the SDK adds one for its retries).
    const link = await this.call(() =>
      this.stripe.accountLinks.create({ account: input.accountId, type: 'account_onboarding', refresh_url: input.refreshUrl, return_url: input.returnUrl }),
    );
    return { url: link.url, expiresAt: new Date(link.expires_at * 1000) };
  }

  async createLoginLink(accountId: string): Promise<{ url: string }> {
    const link = await this.call(() => this.stripe.accounts.createLoginLink(accountId));
    return { url: link.url };
  }

  // ---- transfers (payout execution)
  //
  // No automatic retries of the SDK here (maxNetworkRetries: 0): the executor
  // paces its requests and answers 429s itself (Retry-After, Stripe-Should-Retry),
  // and a hidden retry would spend a request the rate budget did not count.

  async createTransfer(input: CreateTransferInput): Promise<TransferResult> {
    const amount = toStripeAmount(input.amountMinor, input.currency.toUpperCase());
    try {
      const transfer = await this.stripe.transfers.create(
        {
          amount,
          currency: input.currency.toLowerCase(),
          destination: input.destinationAccountId,
          transfer_group: input.transferGroup,
          description: input.description,
          metadata: input.metadata,
          ...(input.sourceTransaction ? { source_transaction: input.sourceTransaction } : {}),
        },
        { idempotencyKey: input.idempotencyKey, maxNetworkRetries: 0 },
      );
      return transferResult(transfer as unknown as TransferShape);
    } catch (err) {
      throw this.transferError(err);
    }
  }

  async retrieveTransfer(transferId: string): Promise<TransferResult> {
    const transfer = await this.call(() => this.stripe.transfers.retrieve(transferId));
    // The transfer carries its 10 most recent reversals; more are read from the list (all pages).
    const reversals = transfer.reversals?.has_more
      ? await this.call(() => this.stripe.transfers.listReversals(transferId, { limit: 100 }).autoPagingToArray({ limit: 10_000 })) // a transfer has far fewer
      : (transfer.reversals?.data ?? []);
    return toTransferResult(transfer, reversals);
  }

  async listTransfersByGroup(transferGroup: string): Promise<TransferResult[]> {
    const out: TransferResult[] = [];
    let startingAfter: string | undefined;
    try {
      for (;;) {
        const page = await this.stripe.transfers.list(
          { transfer_group: transferGroup, limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) },
          { maxNetworkRetries: 0 },
        );
        for (const t of page.data) out.push(transferResult(t as unknown as TransferShape));
        if (!page.has_more || page.data.length === 0) break;
        startingAfter = page.data[page.data.length - 1].id;
      }
    } catch (err) {
      throw this.transferError(err);
    }
    // Stripe lists newest first; the port promises oldest first.
    return out.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async retrieveBalance(): Promise<PlatformBalance> {
    try {
      return platformBalance((await this.stripe.balance.retrieve({}, { maxNetworkRetries: 0 })) as unknown as BalanceShape);
    } catch (err) {
      throw this.transferError(err);
    }
  }

  /** 429 → PaymentsRateLimitedError; a refusal of the transfer → TransferRefusedError; anything else → PaymentsUnavailableError. */
  private transferError(err: unknown): Error {
    if (err instanceof Stripe.errors.StripeError) {
      const headers = lowerCaseKeys(err.headers);
      if (err.statusCode === 429 || err.type === 'StripeRateLimitError') {
        const should = headers['stripe-should-retry'];
        this.log.warn({ requestId: err.requestId, shouldRetry: should ?? null, retryAfter: headers['retry-after'] ?? null }, 'Stripe rate limit (429)');
        return new PaymentsRateLimitedError(`Stripe: ${err.message}`, should === 'true' ? true : should === 'false' ? false : null, retryAfterMs(headers['retry-after']));
      }
      const code = err.code ?? '';
      if (err.statusCode === 400 && code === 'balance_insufficient') return new TransferRefusedError(`Stripe: ${err.message}`, code, true);
      if (err.statusCode === 400 && (TRANSFER_REFUSED_CODES.has(code) || (code === 'resource_missing' && err.param === 'destination'))) {
        return new TransferRefusedError(`Stripe: ${err.message}`, code, false);
      }
    }
    return this.unavailable(err);
  }

  // ---- reversals and balance transactions (after a payout, reconciliation)

  /**
   * transfers.createReversal with the caller's key (a retry replays the first
   * reversal). Stripe's refusal of the request (more than is left, transfer
   * unknown, …) is a TransferRefusedError; an unknown outcome stays a
   * PaymentsUnavailableError (retry with the same key).
   */
  async reverseTransfer(input: ReverseTransferInput): Promise<TransferReversalResult> {
    try {
      const transfer = await this.stripe.transfers.retrieve(input.transferId);
      const reversal = await this.stripe.transfers.createReversal(
        input.transferId,
        { amount: toStripeAmount(input.amountMinor, transfer.currency.toUpperCase()), metadata: input.metadata },
        { idempotencyKey: input.idempotencyKey },
      );
      return toReversalResult(reversal);
    } catch (err) {
      if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 && err.statusCode !== 409 && err.statusCode !== 429) {
        throw new TransferRefusedError(`Stripe: ${err.message}`, err.code ?? 'invalid_request_error', false);
      }
      throw this.unavailable(err);
    }
  }

  /** balanceTransactions.list with created[gte] / created[lt], every page (auto-pagination), oldest first. */
  async listBalanceTransactions(range: { from: Date; to: Date }): Promise<BalanceTransaction[]> {
    const created = { gte: Math.ceil(range.from.getTime() / 1000), lt: Math.ceil(range.to.getTime() / 1000) };
    const all: Stripe.BalanceTransaction[] = [];
    // autoPagingEach: a day may hold more than the 10,000 items autoPagingToArray allows.
    await this.call(() =>
      this.stripe.balanceTransactions.list({ created, limit: 100 }).autoPagingEach((b) => {
        all.push(b);
      }),
    );
    return all
      .map(toBalanceTransaction)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private async defaultPaymentMethodOf(customerId: string): Promise<string> {
    const customer = await this.call(() => this.stripe.customers.retrieve(customerId));
    const pm = 'deleted' in customer && customer.deleted ? null : (customer as Stripe.Customer).invoice_settings?.default_payment_method;
    const id = typeof pm === 'string' ? pm : (pm?.id ?? null);
    if (!id) throw new NoPaymentMethodError(customerId);
    return id;
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private unavailable(err: unknown): Error {
    if (err instanceof PaymentsUnavailableError) return err;
    if (err instanceof Stripe.errors.StripeError) {
      const status = err.statusCode ?? null;
      // Invalid requests (4xx other than 409 / 429) replay the same answer however often they are retried.
      const retryable = status === null || status === 409 || status === 429 || status >= 500 || err.type === 'StripeAuthenticationError';
      const code = err.code ?? err.rawType ?? err.type;
      this.log.warn({ type: err.type, code, status, requestId: err.requestId }, 'Stripe request failed');
      return new PaymentsUnavailableError(`Stripe: ${err.message}`, code, retryable, status);
    }
    return new PaymentsUnavailableError(`Stripe request failed: ${err instanceof Error ? err.message : String(err)}`, 'connection_error', true);
  }
}

function lowerCaseKeys(h: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k.toLowerCase()] = String(v);
  return out;
}

/** Retry-After in seconds (or an HTTP date), as milliseconds; null when absent or unreadable. */
export function retryAfterMs(value: string | undefined, nowMs = Date.now()): number | null {
  if (value === undefined || value.trim() === '') return null;
  const s = Number(value);
  if (Number.isFinite(s) && s >= 0) return Math.round(s * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

function toResult(intent: Stripe.PaymentIntent): PaymentIntentResult {
  return paymentIntentResult(intent as unknown as PaymentIntentShape);
}

function toReversalResult(r: Stripe.TransferReversal): TransferReversalResult {
  const currency = r.currency.toUpperCase();
  return {
    id: r.id,
    transferId: typeof r.transfer === 'string' ? r.transfer : r.transfer.id,
    amountMinor: fromStripeAmount(r.amount, currency),
    currency,
    createdAt: new Date(r.created * 1000),
    metadata: { ...(r.metadata ?? {}) },
  };
}

function toTransferResult(t: Stripe.Transfer, reversals: Stripe.TransferReversal[]): TransferResult {
  const currency = t.currency.toUpperCase();
  return {
    id: t.id,
    destinationAccountId: typeof t.destination === 'string' ? t.destination : (t.destination?.id ?? ''),
    amountMinor: fromStripeAmount(t.amount, currency),
    currency,
    transferGroup: t.transfer_group ?? null,
    metadata: { ...(t.metadata ?? {}) },
    createdAt: new Date(t.created * 1000),
    reversedMinor: fromStripeAmount(t.amount_reversed, currency),
    reversals: reversals.map(toReversalResult),
    livemode: t.livemode,
  };
}

function toBalanceTransaction(b: Stripe.BalanceTransaction): BalanceTransaction {
  const currency = b.currency.toUpperCase();
  return {
    id: b.id,
    amountMinor: fromStripeAmount(b.amount, currency),
    feeMinor: feeFromStripeUnits(b.fee, currency),
    netMinor: fromStripeAmount(b.net, currency),
    currency,
    reportingCategory: b.reporting_category,
    type: b.type,
    sourceId: b.source === null ? null : typeof b.source === 'string' ? b.source : b.source.id,
    createdAt: new Date(b.created * 1000),
  };
}
