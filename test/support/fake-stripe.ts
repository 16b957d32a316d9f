/**
 * A Stripe-compatible HTTP server for tests (stripe-mock is not obtainable
 * here): node:http on 127.0.0.1 and a random port, serving Stripe-shaped JSON
 * for the endpoints the payments adapter uses, and RECORDING every request
 * (method, path, headers with the idempotency key, the form body parsed into
 * bracket keys such as `metadata[invoice_id]`).
 *
 * Stripe semantics reproduced:
 *  - idempotency: the same key with the same parameters replays the first
 *    response (status and body, with `idempotent-replayed: true`); the same key
 *    with other parameters (or another endpoint) → 400 idempotency_error;
 *  - payment methods: `pm_card_visa` succeeds; `pm_card_chargeDeclined` and
 *    `pm_card_chargeDeclinedInsufficientFunds` → 402 card_error carrying the
 *    PaymentIntent (requires_payment_method, last_payment_error);
 *  - charges have a balance transaction whose fee is `feeFor(amount, currency)`
 *    (default 2.9 % + 30 units, in Stripe's units) in `settlementCurrency`
 *    (default: the charge's currency).
 *  - transfers (`seedTransfer`), reversals (POST /v1/transfers/:id/reversals,
 *    at most what is left), and the platform's balance transactions (one per
 *    charge, refund, transfer and reversal, with Stripe's reporting_category
 *    and source) listed with created[…] filters and pagination;
 *  - Connect: v1 accounts (create with controller properties, retrieve,
 *    update), account links and login links; an account's state is scripted
 *    with `updateAccount(id, patch)` (what Stripe's review would change), and
 *    `connectEvent` builds an event of a connected account (with `account`).
 *  - Transfers (payouts): POST/GET /v1/transfers (list by transfer_group, newest
 *    first, `limit` / `starting_after` pagination), GET /v1/transfers/:id and
 *    GET /v1/balance. A transfer needs a destination account whose `transfers`
 *    capability is active (else 400 insufficient_capabilities_for_transfer);
 *    without source_transaction it spends the platform balance
 *    (`setAvailableBalance`; over it → 400 balance_insufficient). Each writes a
 *    balance transaction (reporting_category transfer, source tr_…).
 *    `transfersPerPayout()` counts transfers by metadata payout_id.
 *  - Idempotency keys live `idempotencyWindowMs` (24 h) on the fake's clock
 *    (`advanceClock(ms)`): an older key is forgotten, as Stripe's are.
 *  - 429s: `rateLimitNext({ shouldRetry, retryAfterSeconds })` scripts one
 *    (with or without `Stripe-Should-Retry`), and `limitRate(n)` answers 429
 *    to any request beyond n in the last second (sliding window); 429s are
 *    never saved under an idempotency key (the request did not run).
 * Scripted failures: `failNext({ kind: 'status500' | 'drop-before' | 'drop-after' })`
 * — a 500 or a dropped connection before the endpoint runs (nothing saved),
 * or a dropped connection AFTER it ran (the object exists and the key is
 * saved: the "crash between creating and recording" case).
 * Plus helpers to build a Stripe-shaped event, sign it, and POST it to the app.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import type { TestApp } from './app';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Query string parameters (GET), bracket keys kept: `expand[0]`. */
  query: Record<string, string>;
  /** Lower-case header names. */
  headers: Record<string, string>;
  idempotencyKey: string | null;
  /** The form body parsed into bracket keys: `{ amount: '1234', 'metadata[invoice_id]': '…' }`. */
  form: Record<string, string>;
  rawBody: string;
  outcome: 'ok' | 'replayed' | 'failed-500' | 'dropped-before' | 'dropped-after';
  status: number | null;
}

export type FailureKind = 'status500' | 'drop-before' | 'drop-after';

interface SavedResponse {
  /** The fake clock's time (ms) when the key was first used. */
  at: number;
  signature: string;
  status: number;
  body: unknown;
}

type StripeObject = Record<string, any> & { id: string };

const STRIPE_TEST_METHODS: Record<string, { code: string; decline_code: string; message: string } | null> = {
  pm_card_visa: null,
  pm_card_mastercard: null,
  pm_card_chargeDeclined: { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
  pm_card_chargeDeclinedInsufficientFunds: { code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
};

class HttpFailure {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

const err = (status: number, type: string, message: string, extra: Record<string, unknown> = {}) => new HttpFailure(status, { error: { type, message, ...extra } });

export class FakeStripe {
  readonly requests: RecordedRequest[] = [];
  /** Every object created, by id. */
  readonly objects = new Map<string, StripeObject>();
  /** The fee of a charge in Stripe's units (default 2.9 % rounded down, + 30). */
  feeFor: (amount: number, currency: string) => number = (amount) => Math.floor((amount * 29) / 1000) + 30;
  /** The currency balance transactions settle in (lower-case); null: the charge's. */
  settlementCurrency: string | null = null;
  /** The largest page a list endpoint answers, whatever `limit` asks (small values exercise pagination). */
  maxPageSize = 100;
  url = '';

  /** How long an idempotency key is remembered (Stripe: 24 hours). */
  idempotencyWindowMs = 24 * 3600 * 1000;
  /** Requests answered 429 (scripted or by the rate limit). */
  rateLimited = 0;

  private server: Server | null = null;
  private readonly idempotency = new Map<string, SavedResponse>();
  private clockOffsetMs = 0;
  private readonly scripted429: { shouldRetry: boolean | null; retryAfterSeconds: number | null; match: RegExp | null }[] = [];
  private rateWindow: { perSecond: number; arrivals: number[] } | null = null;
  private readonly balance = new Map<string, number>();
  private readonly failures: { kind: FailureKind; match: RegExp | null }[] = [];
  private seq = 0;

  static async start(): Promise<FakeStripe> {
    const fake = new FakeStripe();
    fake.server = createServer((req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => fake.server!.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server!.address() as AddressInfo).port}`;
    return fake;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The next request (whose `METHOD path` matches, if given) fails this way; call several times to queue failures. */
  failNext(kind: FailureKind, match: RegExp | null = null): void {
    this.failures.push({ kind, match });
  }

  requestsTo(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  ofType(object: string): StripeObject[] {
    return [...this.objects.values()].filter((o) => o.object === object);
  }

  reset(): void {
    this.requests.length = 0;
  }

  /** A Stripe-shaped event around an object (a copy). */
  event(type: string, object: StripeObject, opts: { id?: string; created?: number } = {}): StripeObject {
    return {
      id: opts.id ?? this.id('evt'),
      object: 'event',
      api_version: '2026-10-28.endive',
      created: opts.created ?? Math.floor(Date.now() / 1000),
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
  }

  /** An event of a connected account (Connect): the `account` field names it. */
  connectEvent(type: string, object: StripeObject, account: string, opts: { id?: string; created?: number; livemode?: boolean } = {}): StripeObject {
    return { ...this.event(type, object, opts), account, livemode: opts.livemode ?? false };
  }

  /** Changes a connected account as Stripe would after onboarding or review (requirements, capabilities, flags). */
  updateAccount(accountId: string, patch: { charges_enabled?: boolean; payouts_enabled?: boolean; details_submitted?: boolean; transfers?: 'active' | 'inactive' | 'pending'; currently_due?: string[]; past_due?: string[]; disabled_reason?: string | null }): StripeObject {
    const a = this.objects.get(accountId);
    if (!a || a.object !== 'account') throw new Error(`no account ${accountId}`);
    if (patch.charges_enabled !== undefined) a.charges_enabled = patch.charges_enabled;
    if (patch.payouts_enabled !== undefined) a.payouts_enabled = patch.payouts_enabled;
    if (patch.details_submitted !== undefined) a.details_submitted = patch.details_submitted;
    if (patch.transfers !== undefined) a.capabilities = { ...a.capabilities, transfers: patch.transfers };
    if (patch.currently_due !== undefined) a.requirements.currently_due = [...patch.currently_due];
    if (patch.past_due !== undefined) a.requirements.past_due = [...patch.past_due];
    if (patch.disabled_reason !== undefined) a.requirements.disabled_reason = patch.disabled_reason;
    return structuredClone(a);
  }

  /**
   * A transfer to a connected account as Stripe keeps it, with its balance
   * transaction (type transfer, reporting category transfer, negative): what
   * POST /v1/transfers makes, for specs that need a sent transfer.
   */
  seedTransfer(t: { amount: number; currency: string; destination: string; metadata?: Record<string, string>; transfer_group?: string | null; created?: number }): StripeObject {
    const id = this.id('tr');
    const created = t.created ?? now();
    const txn = this.balanceTransaction({ amount: -t.amount, fee: 0, currency: t.currency, source: id, type: 'transfer', reporting_category: 'transfer', created });
    return structuredClone(
      this.put({
        id,
        object: 'transfer',
        amount: t.amount,
        amount_reversed: 0,
        balance_transaction: txn.id,
        created,
        currency: t.currency,
        description: null,
        destination: t.destination,
        destination_payment: `py_fake${id.slice(-8)}`,
        livemode: false,
        metadata: { ...(t.metadata ?? {}) },
        reversals: { object: 'list', data: [] as StripeObject[], has_more: false, total_count: 0, url: `/v1/transfers/${id}/reversals` },
        reversed: false,
        source_transaction: null,
        source_type: 'card',
        transfer_group: t.transfer_group ?? null,
      }),
    );
  }

  /** A balance transaction of the platform's balance (what the endpoints above record for each movement). */
  balanceTransaction(b: { amount: number; fee: number; currency: string; source: string | null; type: string; reporting_category: string; created?: number }): StripeObject {
    return this.put({
      id: this.id('txn'),
      object: 'balance_transaction',
      created: b.created ?? now(),
      amount: b.amount,
      currency: b.currency,
      fee: b.fee,
      net: b.amount - b.fee,
      fee_details: b.fee === 0 ? [] : [{ amount: b.fee, currency: b.currency, type: 'stripe_fee', description: 'Stripe fees' }],
      source: b.source,
      status: 'available',
      type: b.type,
      reporting_category: b.reporting_category,
    });
  }

  /** What Stripe.js would do after confirmSetup: the SetupIntent succeeds with a payment method attached. */
  succeedSetupIntent(setupIntentId: string, paymentMethod: string): StripeObject {
    const intent = this.objects.get(setupIntentId);
    if (!intent) throw new Error(`no SetupIntent ${setupIntentId}`);
    intent.status = 'succeeded';
    intent.payment_method = paymentMethod;
    return intent;
  }

  // ------------------------------------------------------------------ transfers, balance, rate limits

  /** The fake clock (ms): real time plus what `advanceClock` added. */
  nowMs(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Moves the fake's clock (idempotency keys expire, transfers' `created`). */
  advanceClock(ms: number): void {
    this.clockOffsetMs += ms;
  }

  /** The next request (matching `METHOD path`, if given) is answered 429, with these headers. */
  rateLimitNext(opts: { shouldRetry?: boolean | null; retryAfterSeconds?: number | null; match?: RegExp | null } = {}): void {
    this.scripted429.push({ shouldRetry: opts.shouldRetry ?? null, retryAfterSeconds: opts.retryAfterSeconds ?? null, match: opts.match ?? null });
  }

  /** At most `perSecond` requests in any second (sliding window); 429 beyond. null: no limit. */
  limitRate(perSecond: number | null): void {
    this.rateWindow = perSecond === null ? null : { perSecond, arrivals: [] };
  }

  /** The platform's available balance in a currency (Stripe's units); transfers spend it. */
  setAvailableBalance(currency: string, amount: number): void {
    this.balance.set(currency.toLowerCase(), amount);
  }

  availableBalance(currency: string): number {
    return this.balance.get(currency.toLowerCase()) ?? 0;
  }

  /** A connected account as Stripe would hold it after onboarding (transfers active by default): fast seeding. */
  seedAccount(id: string, transfers: 'active' | 'inactive' = 'active'): StripeObject {
    return this.put({
      id,
      object: 'account',
      created: now(),
      livemode: false,
      country: 'US',
      type: 'none',
      capabilities: { transfers },
      charges_enabled: transfers === 'active',
      payouts_enabled: transfers === 'active',
      details_submitted: true,
      requirements: { currently_due: [], eventually_due: [], past_due: [], disabled_reason: null },
      metadata: {},
    });
  }

  /** Transfers created, by their metadata payout_id. */
  transfersPerPayout(): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of this.transfers()) {
      const p = t.metadata?.payout_id as string | undefined;
      if (p) out.set(p, (out.get(p) ?? 0) + 1);
    }
    return out;
  }

  transfers(): StripeObject[] {
    // Objects are kept in creation order (a Map iterates in insertion order).
    return this.ofType('transfer');
  }

  private takeRateLimit(target: string): { shouldRetry: boolean | null; retryAfterSeconds: number | null } | null {
    const i = this.scripted429.findIndex((f) => f.match === null || f.match.test(target));
    if (i >= 0) return this.scripted429.splice(i, 1)[0];
    const w = this.rateWindow;
    if (!w) return null;
    const t = Date.now();
    while (w.arrivals.length > 0 && w.arrivals[0] <= t - 1000) w.arrivals.shift();
    if (w.arrivals.length >= w.perSecond) return { shouldRetry: true, retryAfterSeconds: null };
    w.arrivals.push(t);
    return null;
  }

  private createTransfer(form: Record<string, string>): StripeObject {
    const amount = Number(form.amount);
    if (!Number.isSafeInteger(amount) || amount < 1) throw err(400, 'invalid_request_error', 'Invalid integer: amount', { code: 'parameter_invalid_integer', param: 'amount' });
    if (!form.currency || form.currency !== form.currency.toLowerCase()) throw err(400, 'invalid_request_error', 'Invalid currency', { code: 'parameter_invalid', param: 'currency' });
    const dest = this.objects.get(form.destination ?? '');
    if (!dest || dest.object !== 'account') throw err(400, 'invalid_request_error', `No such destination: '${form.destination}'`, { code: 'resource_missing', param: 'destination' });
    if (dest.capabilities?.transfers !== 'active') {
      throw err(400, 'invalid_request_error', 'Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments', {
        code: 'insufficient_capabilities_for_transfer',
        param: 'destination',
      });
    }
    if (form.source_transaction) {
      const charge = this.get(form.source_transaction, 'charge');
      if (charge.currency !== form.currency) throw err(400, 'invalid_request_error', 'The currency of source_transaction must match the transfer', { param: 'source_transaction' });
    } else {
      const available = this.availableBalance(form.currency);
      if (amount > available) {
        throw err(400, 'invalid_request_error', 'You have insufficient funds in your Stripe account. One likely reason you have insufficient funds is that your funds are automatically being paid out; try enabling manual payouts by going to https://dashboard.stripe.com/account/payouts.', {
          code: 'balance_insufficient',
        });
      }
      this.balance.set(form.currency, available - amount);
    }
    const created = Math.floor(this.nowMs() / 1000);
    const id = this.id('tr');
    const txn = this.put({
      id: this.id('txn'),
      object: 'balance_transaction',
      created,
      amount: -amount,
      currency: form.currency,
      fee: 0,
      net: -amount,
      fee_details: [],
      reporting_category: 'transfer',
      source: id,
      status: 'available',
      type: 'transfer',
    });
    const transfer = this.put({
      id,
      object: 'transfer',
      amount,
      amount_reversed: 0,
      balance_transaction: txn.id,
      created,
      currency: form.currency,
      description: form.description ?? null,
      destination: dest.id,
      livemode: false,
      metadata: metadataOf(form),
      reversals: { object: 'list', data: [], has_more: false, total_count: 0, url: `/v1/transfers/${id}/reversals` },
      reversed: false,
      source_transaction: form.source_transaction ?? null,
      transfer_group: form.transfer_group ?? null,
    });
    return transfer;
  }

  private listTransfers(query: Record<string, string>): unknown {
    const limit = query.limit === undefined ? 10 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw err(400, 'invalid_request_error', 'Invalid limit', { param: 'limit' });
    let all = this.transfers().reverse();
    if (query.transfer_group !== undefined) all = all.filter((t) => t.transfer_group === query.transfer_group);
    if (query.destination !== undefined) all = all.filter((t) => t.destination === query.destination);
    let start = 0;
    if (query.starting_after) {
      const i = all.findIndex((t) => t.id === query.starting_after);
      if (i < 0) throw err(400, 'invalid_request_error', `No such transfer: '${query.starting_after}'`, { code: 'resource_missing', param: 'starting_after' });
      start = i + 1;
    }
    const data = all.slice(start, start + limit);
    return { object: 'list', data, has_more: start + limit < all.length, url: '/v1/transfers' };
  }

  private balanceObject(): unknown {
    const available = [...this.balance.entries()].map(([currency, amount]) => ({ amount, currency, source_types: { card: amount } }));
    return { object: 'balance', available, pending: [], livemode: false };
  }

  // ------------------------------------------------------------------ HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v ?? '');
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams.entries()),
      headers,
      idempotencyKey: headers['idempotency-key'] ?? null,
      form: Object.fromEntries(new URLSearchParams(rawBody).entries()),
      rawBody,
      outcome: 'ok',
      status: null,
    };
    this.requests.push(record);

    const failure = this.takeFailure(`${record.method} ${record.path}`);
    if (failure === 'drop-before') {
      record.outcome = 'dropped-before';
      req.socket.destroy();
      return;
    }
    if (failure === 'status500') {
      record.outcome = 'failed-500';
      return this.send(res, record, 500, { error: { type: 'api_error', message: 'Simulated Stripe failure (fake)' } });
    }

    const limited = this.takeRateLimit(`${record.method} ${record.path}`);
    if (limited) {
      this.rateLimited++;
      const extra: Record<string, string> = {};
      if (limited.shouldRetry !== null) extra['stripe-should-retry'] = String(limited.shouldRetry);
      if (limited.retryAfterSeconds !== null) extra['retry-after'] = String(limited.retryAfterSeconds);
      return this.send(
        res,
        record,
        429,
        { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly. (fake)' } },
        extra,
      );
    }

    if (!/^Bearer (sk|rk)_test_\w+$/.test(headers.authorization ?? '')) {
      return this.send(res, record, 401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
    }

    const key = record.method === 'POST' ? record.idempotencyKey : null;
    const signature = `${record.method} ${record.path} ${canonical(record.form)}`;
    if (key) {
      let saved = this.idempotency.get(key);
      if (saved && this.nowMs() - saved.at > this.idempotencyWindowMs) {
        this.idempotency.delete(key);
        saved = undefined;
      }
      if (saved) {
        if (saved.signature !== signature) {
          return this.send(res, record, 400, {
            error: {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            },
          });
        }
        record.outcome = 'replayed';
        return this.send(res, record, saved.status, saved.body, { 'idempotent-replayed': 'true' });
      }
    }

    let status = 200;
    let body: unknown;
    try {
      body = this.route(record);
    } catch (e) {
      if (!(e instanceof HttpFailure)) throw e;
      status = e.status;
      body = e.body;
    }
    if (key) this.idempotency.set(key, { at: this.nowMs(), signature, status, body });
    if (failure === 'drop-after') {
      record.outcome = 'dropped-after';
      record.status = status;
      req.socket.destroy();
      return;
    }
    return this.send(res, record, status, body);
  }

  private send(res: ServerResponse, record: RecordedRequest, status: number, body: unknown, extra: Record<string, string> = {}): void {
    record.status = status;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_fake${++this.seq}`, 'content-length': Buffer.byteLength(text), ...extra });
    res.end(text);
  }

  private takeFailure(target: string): FailureKind | null {
    const i = this.failures.findIndex((f) => f.match === null || f.match.test(target));
    if (i < 0) return null;
    return this.failures.splice(i, 1)[0].kind;
  }

  private route(r: RecordedRequest): unknown {
    const parts = r.path.split('/').filter(Boolean); // ['v1', 'payment_intents', 'pi_…']
    if (parts[0] !== 'v1') throw err(404, 'invalid_request_error', `Unrecognized request URL (${r.method}: ${r.path})`);
    const [, resource, id, sub] = parts;
    if (resource === 'accounts' && id && sub === 'login_links' && r.method === 'POST') return this.createLoginLink(id);
    if (resource === 'transfers' && id && sub === 'reversals' && r.method === 'POST') return this.createTransferReversal(id, r.form);
    if (resource === 'transfers' && id && sub === 'reversals' && r.method === 'GET') return this.list(this.get(id, 'transfer').reversals.data, r.query, `/v1/transfers/${id}/reversals`);
    if (sub !== undefined) throw err(404, 'invalid_request_error', `Unrecognized request URL (${r.method}: ${r.path})`);
    const expand = Object.entries(r.query)
      .filter(([k]) => k.startsWith('expand'))
      .map(([, v]) => v);
    switch (`${r.method} ${resource}${id ? '/:id' : ''}`) {
      case 'POST customers':
        return this.createCustomer(r.form);
      case 'GET customers/:id':
        return this.get(id, 'customer');
      case 'POST setup_intents':
        return this.createSetupIntent(r.form);
      case 'GET setup_intents/:id':
        return this.get(id, 'setup_intent');
      case 'POST payment_intents':
        return this.createPaymentIntent(r.form);
      case 'GET payment_intents/:id':
        return this.get(id, 'payment_intent');
      case 'GET charges/:id': {
        const charge = { ...this.get(id, 'charge') };
        if (expand.includes('balance_transaction') && typeof charge.balance_transaction === 'string') charge.balance_transaction = this.get(charge.balance_transaction, 'balance_transaction');
        return charge;
      }
      case 'GET balance_transactions/:id':
        return this.get(id, 'balance_transaction');
      case 'GET balance_transactions':
        return this.listBalanceTransactions(r.query);
      case 'GET transfers/:id':
        return this.get(id, 'transfer');
      case 'POST refunds':
        return this.createRefund(r.form);
      case 'POST accounts':
        return this.createAccount(r.form);
      case 'GET accounts/:id':
        return this.get(id, 'account');
      case 'POST accounts/:id':
        return this.updateAccountFromForm(id, r.form);
      case 'POST account_links':
        return this.createAccountLink(r.form);
      case 'POST transfers':
        return this.createTransfer(r.form);
      case 'GET transfers':
        return this.listTransfers(r.query);
      case 'GET balance':
        return this.balanceObject();
      default:
        throw err(404, 'invalid_request_error', `Unrecognized request URL (${r.method}: ${r.path})`);
    }
  }

  // ------------------------------------------------------------------ resources

  private id(prefix: string): string {
    return `${prefix}_fake${String(++this.seq).padStart(8, '0')}`;
  }

  private put<T extends StripeObject>(o: T): T {
    this.objects.set(o.id, o);
    return o;
  }

  private get(id: string, object: string): StripeObject {
    const o = this.objects.get(id);
    if (!o || o.object !== object) throw err(404, 'invalid_request_error', `No such ${object}: '${id}'`, { code: 'resource_missing', param: 'id' });
    return o;
  }

  private createCustomer(form: Record<string, string>): StripeObject {
    return this.put({
      id: this.id('cus'),
      object: 'customer',
      created: now(),
      livemode: false,
      name: form.name ?? null,
      metadata: metadataOf(form),
      invoice_settings: { default_payment_method: form['invoice_settings[default_payment_method]'] ?? null },
    });
  }

  private createSetupIntent(form: Record<string, string>): StripeObject {
    if (form.customer) this.get(form.customer, 'customer');
    const id = this.id('seti');
    return this.put({
      id,
      object: 'setup_intent',
      created: now(),
      livemode: false,
      customer: form.customer ?? null,
      usage: form.usage ?? 'off_session',
      status: 'requires_payment_method',
      payment_method: null,
      client_secret: `${id}_secret_fake`,
      metadata: metadataOf(form),
    });
  }

  private createPaymentIntent(form: Record<string, string>): StripeObject {
    const amount = Number(form.amount);
    if (!Number.isSafeInteger(amount) || amount < 1) throw err(400, 'invalid_request_error', 'Invalid integer: amount', { code: 'parameter_invalid_integer', param: 'amount' });
    if (!form.currency || form.currency !== form.currency.toLowerCase()) throw err(400, 'invalid_request_error', 'Invalid currency', { code: 'parameter_invalid', param: 'currency' });
    if (form.customer) this.get(form.customer, 'customer');
    const pm = form.payment_method;
    if (form.confirm === 'true' && !pm) throw err(400, 'invalid_request_error', 'You must provide a payment method to confirm', { code: 'parameter_missing', param: 'payment_method' });
    if (pm && !(pm in STRIPE_TEST_METHODS)) throw err(400, 'invalid_request_error', `No such PaymentMethod: '${pm}'`, { code: 'resource_missing', param: 'payment_method' });
    const intent = this.put({
      id: this.id('pi'),
      object: 'payment_intent',
      created: now(),
      livemode: false,
      amount,
      amount_received: 0,
      currency: form.currency,
      customer: form.customer ?? null,
      description: form.description ?? null,
      metadata: metadataOf(form),
      payment_method: pm ?? null,
      status: 'requires_payment_method' as string,
      latest_charge: null as string | null,
      last_payment_error: null as unknown,
      off_session: form.off_session === 'true',
    });
    if (form.confirm !== 'true') return intent;
    const decline = STRIPE_TEST_METHODS[pm];
    const charge = this.put({
      id: this.id('ch'),
      object: 'charge',
      created: now(),
      livemode: false,
      amount,
      amount_captured: decline ? 0 : amount,
      amount_refunded: 0,
      balance_transaction: null as string | null,
      currency: form.currency,
      customer: intent.customer,
      disputed: false,
      metadata: { ...intent.metadata },
      paid: !decline,
      payment_intent: intent.id,
      payment_method: pm,
      refunded: false,
      status: decline ? 'failed' : 'succeeded',
      failure_code: decline?.code ?? null,
    });
    intent.latest_charge = charge.id;
    if (decline) {
      intent.last_payment_error = { type: 'card_error', charge: charge.id, code: decline.code, decline_code: decline.decline_code, message: decline.message, payment_method: { id: pm, object: 'payment_method' } };
      throw new HttpFailure(402, {
        error: {
          type: 'card_error',
          code: decline.code,
          decline_code: decline.decline_code,
          message: decline.message,
          charge: charge.id,
          payment_intent: structuredClone(intent),
          payment_method: { id: pm, object: 'payment_method' },
          doc_url: `https://stripe.com/docs/error-codes/${decline.code.replace(/_/g, '-')}`,
        },
      });
    }
    const fee = this.feeFor(amount, form.currency);
    const txn = this.put({
      id: this.id('txn'),
      object: 'balance_transaction',
      created: now(),
      amount,
      currency: this.settlementCurrency ?? form.currency,
      fee,
      net: amount - fee,
      fee_details: [{ amount: fee, currency: this.settlementCurrency ?? form.currency, type: 'stripe_fee', description: 'Stripe processing fees' }],
      source: charge.id,
      status: 'pending',
      type: 'charge',
      reporting_category: 'charge',
    });
    charge.balance_transaction = txn.id;
    intent.status = 'succeeded';
    intent.amount_received = amount;
    return intent;
  }

  private createAccount(form: Record<string, string>): StripeObject {
    if (form.type !== undefined && form['controller[fees][payer]'] !== undefined) {
      throw err(400, 'invalid_request_error', 'You cannot specify both `type` and `controller`', { param: 'type' });
    }
    const due = ['business_type', 'external_account', 'tos_acceptance.date', 'tos_acceptance.ip'];
    const requested = Object.entries(form)
      .filter(([k, v]) => /^capabilities\[\w+\]\[requested\]$/.test(k) && v === 'true')
      .map(([k]) => /^capabilities\[(\w+)\]/.exec(k)![1]);
    return this.put({
      id: this.id('acct'),
      object: 'account',
      created: now(),
      livemode: false,
      country: form.country ?? 'US',
      type: 'none',
      controller: {
        type: 'application',
        is_controller: true,
        fees: { payer: form['controller[fees][payer]'] ?? 'account' },
        losses: { payments: form['controller[losses][payments]'] ?? 'stripe' },
        stripe_dashboard: { type: form['controller[stripe_dashboard][type]'] ?? 'full' },
        requirement_collection: form['controller[requirement_collection]'] ?? 'stripe',
      },
      capabilities: Object.fromEntries(requested.map((c) => [c, 'inactive'])),
      charges_enabled: false,
      payouts_enabled: false,
      details_submitted: false,
      requirements: { currently_due: [...due], eventually_due: [...due], past_due: [...due], disabled_reason: 'requirements.past_due' },
      metadata: metadataOf(form),
    });
  }

  private updateAccountFromForm(id: string, form: Record<string, string>): StripeObject {
    const a = this.get(id, 'account');
    a.metadata = { ...a.metadata, ...metadataOf(form) };
    return a;
  }

  private createAccountLink(form: Record<string, string>): StripeObject {
    this.get(form.account, 'account');
    if (form.type !== 'account_onboarding' && form.type !== 'account_update') throw err(400, 'invalid_request_error', 'Invalid type', { param: 'type' });
    for (const p of ['refresh_url', 'return_url']) {
      if (!form[p] || !/^https?:\/\//.test(form[p])) throw err(400, 'invalid_request_error', `Missing or invalid ${p}`, { param: p });
    }
    const created = now();
    return {
      object: 'account_link',
      created,
      expires_at: created + 300,
      url: `https://connect.stripe.test/setup/e/${form.account}/${this.id('link')}`,
    } as unknown as StripeObject;
  }

  private createLoginLink(accountId: string): StripeObject {
    const a = this.get(accountId, 'account');
    if (!a.details_submitted) throw err(400, 'invalid_request_error', 'Cannot create a login link for an account that has not completed onboarding.', { code: 'account_invalid' });
    return { object: 'login_link', created: now(), url: `https://connect.stripe.test/express/${this.id('login')}` } as unknown as StripeObject;
  }

  /** POST /v1/transfers/:id/reversals: part of what is left of the transfer comes back (a transfer_refund balance transaction). */
  private createTransferReversal(transferId: string, form: Record<string, string>): StripeObject {
    const transfer = this.get(transferId, 'transfer');
    const left = transfer.amount - transfer.amount_reversed;
    const amount = form.amount === undefined ? left : Number(form.amount);
    if (!Number.isSafeInteger(amount) || amount < 1) throw err(400, 'invalid_request_error', 'Invalid integer: amount', { code: 'parameter_invalid_integer', param: 'amount' });
    if (amount > left) {
      throw err(400, 'invalid_request_error', `Amount (${amount}) is greater than the transfer's unreversed amount (${left}).`, { code: 'amount_too_large', param: 'amount' });
    }
    const id = this.id('trr');
    const txn = this.balanceTransaction({ amount, fee: 0, currency: transfer.currency, source: id, type: 'transfer_refund', reporting_category: 'transfer_reversal' });
    const reversal = this.put({
      id,
      object: 'transfer_reversal',
      amount,
      balance_transaction: txn.id,
      created: now(),
      currency: transfer.currency,
      destination_payment_refund: null,
      metadata: metadataOf(form),
      source_refund: null,
      transfer: transfer.id,
    });
    transfer.amount_reversed += amount;
    transfer.reversed = transfer.amount_reversed === transfer.amount;
    transfer.reversals.data.unshift(reversal);
    transfer.reversals.total_count += 1;
    return reversal;
  }

  /** GET /v1/balance_transactions: created[gte|gt|lte|lt] filters, newest first, `limit` and `starting_after` pagination. */
  private listBalanceTransactions(q: Record<string, string>): StripeObject {
    const bound = (k: string) => (q[`created[${k}]`] === undefined ? null : Number(q[`created[${k}]`]));
    const [gte, gt, lte, lt] = [bound('gte'), bound('gt'), bound('lte'), bound('lt')];
    const all = this.ofType('balance_transaction').filter(
      (b) => (gte === null || b.created >= gte) && (gt === null || b.created > gt) && (lte === null || b.created <= lte) && (lt === null || b.created < lt),
    );
    return this.list(all, q, '/v1/balance_transactions');
  }

  /** One page of a Stripe list, newest first (objects are created in id order). */
  private list(items: StripeObject[], q: Record<string, string>, url: string): StripeObject {
    const sorted = [...items].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const limit = Math.min(Number(q.limit ?? 10), 100, this.maxPageSize);
    let start = 0;
    if (q.starting_after) {
      const i = sorted.findIndex((o) => o.id === q.starting_after);
      if (i < 0) throw err(400, 'invalid_request_error', `No such object: '${q.starting_after}'`, { code: 'resource_missing', param: 'starting_after' });
      start = i + 1;
    }
    const data = sorted.slice(start, start + limit);
    return { object: 'list', data: structuredClone(data), has_more: start + limit < sorted.length, url } as unknown as StripeObject;
  }

  private createRefund(form: Record<string, string>): StripeObject {
    const intent = this.get(form.payment_intent, 'payment_intent');
    if (intent.status !== 'succeeded') throw err(400, 'invalid_request_error', `PaymentIntent ${intent.id} has no successful charge`, { code: 'charge_not_refundable' });
    const charge = this.get(intent.latest_charge, 'charge');
    const remaining = charge.amount - charge.amount_refunded;
    const amount = form.amount === undefined ? remaining : Number(form.amount);
    if (remaining === 0) throw err(400, 'invalid_request_error', `Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' });
    if (amount > remaining) {
      throw err(400, 'invalid_request_error', `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`, { code: 'amount_too_large', param: 'amount' });
    }
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    const refundId = this.id('re');
    const txn = this.balanceTransaction({ amount: -amount, fee: 0, currency: charge.currency, source: refundId, type: 'refund', reporting_category: 'refund' });
    return this.put({
      id: refundId,
      balance_transaction: txn.id,
      object: 'refund',
      created: now(),
      amount,
      currency: charge.currency,
      charge: charge.id,
      payment_intent: intent.id,
      reason: form.reason ?? null,
      metadata: metadataOf(form),
      status: 'succeeded',
    });
  }
}

const now = () => Math.floor(Date.now() / 1000);

function metadataOf(form: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(form)) {
    const m = /^metadata\[(.+)\]$/.exec(k);
    if (m) out[m[1]] = v;
  }
  return out;
}

function canonical(form: Record<string, string>): string {
  return JSON.stringify(Object.entries(form).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// ------------------------------------------------------------------ webhooks

/** The Stripe-Signature header for a payload, as Stripe computes it (timestamp in seconds). */
export function signStripePayload(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

/** POSTs a raw payload to the app's webhook endpoint; `signature: null` sends no signature header. */
export async function postWebhook(t: TestApp, payload: string, signature: string | null) {
  return t.request({
    method: 'POST',
    url: '/v1/stripe/webhooks',
    body: payload,
    headers: signature === null ? {} : { 'stripe-signature': signature },
  });
}

/** Signs an event with the app's Connect webhook secret (or `secret`) and delivers it to the Connect endpoint. */
export async function deliverConnectEvent(t: TestApp, event: object, opts: { secret?: string; timestamp?: number } = {}) {
  const payload = JSON.stringify(event);
  const secret = opts.secret ?? t.config.stripeConnectWebhookSecret;
  if (!secret) throw new Error('the app has no STRIPE_CONNECT_WEBHOOK_SECRET');
  return t.request({ method: 'POST', url: '/v1/stripe/connect-webhooks', body: payload, headers: { 'stripe-signature': signStripePayload(payload, secret, opts.timestamp) } });
}

/** Signs an event with the app's webhook secret and delivers it. */
export async function deliverEvent(t: TestApp, event: object, opts: { secret?: string; timestamp?: number } = {}) {
  const payload = JSON.stringify(event);
  const secret = opts.secret ?? t.config.stripeWebhookSecret;
  if (!secret) throw new Error('the app has no STRIPE_WEBHOOK_SECRET');
  return postWebhook(t, payload, signStripePayload(payload, secret, opts.timestamp));
}
