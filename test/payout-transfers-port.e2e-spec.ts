/**
 * The transfers port: the Stripe adapter (the real SDK) against the fake
 * Stripe, and the sandbox adapter. Create with the caller's key (replayed:
 * same key + same parameters → the same transfer; other parameters → 400
 * idempotency_error; the key forgotten after 24 h on the fake's clock),
 * retrieve, list by transfer_group across pages, the balance, and the error
 * mapping: 429 with Stripe-Should-Retry / Retry-After → PaymentsRateLimitedError,
 * balance_insufficient → TransferRefusedError(retryLater), a capability
 * refusal → TransferRefusedError(not retryLater), a 500 → PaymentsUnavailableError.
 */
import { PaymentsRateLimitedError, PaymentsUnavailableError, TransferRefusedError } from '../src/payments/payments.errors';
import type { CreateTransferInput } from '../src/payments/payments.port';
import { SandboxPaymentsAdapter } from '../src/payments/sandbox/sandbox-payments.adapter';
import { retryAfterMs, StripePaymentsAdapter } from '../src/payments/stripe/stripe-payments.adapter';
import { startTestApp, TestApp } from './support/app';
import { FakeStripe } from './support/fake-stripe';
import { seedApprovedBatch, topUpSandbox } from './support/payout-fixtures';

const input = (over: Partial<CreateTransferInput> = {}): CreateTransferInput => ({
  destinationAccountId: 'acct_port_dest',
  amountMinor: 1234n,
  currency: 'USD',
  transferGroup: 'payout_batch:port',
  idempotencyKey: 'payout:port-1',
  description: 'Payout port-1',
  metadata: { payout_id: 'port-1', batch_id: 'port', idempotency_key: 'payout:port-1' },
  sourceTransaction: null,
  ...over,
});

describe('transfers port — Stripe adapter against the fake Stripe (real SDK)', () => {
  let fake: FakeStripe;
  let stripe: StripePaymentsAdapter;

  beforeAll(async () => {
    fake = await FakeStripe.start();
    stripe = new StripePaymentsAdapter({ secretKey: 'sk_test_port', apiBase: fake.url });
    fake.seedAccount('acct_port_dest');
    fake.seedAccount('acct_port_inactive', 'inactive');
  });
  afterAll(async () => fake?.close());

  it('creates a transfer with the key in the Idempotency-Key header; the same request replays it; other parameters → idempotency_error', async () => {
    fake.setAvailableBalance('usd', 100_000);
    const t = await stripe.createTransfer(input());
    expect(t).toMatchObject({ destinationAccountId: 'acct_port_dest', amountMinor: 1234n, currency: 'USD', transferGroup: 'payout_batch:port', reversedMinor: 0n });
    expect(t.metadata).toEqual({ payout_id: 'port-1', batch_id: 'port', idempotency_key: 'payout:port-1' });
    const again = await stripe.createTransfer(input());
    expect(again.id).toBe(t.id);
    const posts = fake.requestsTo('POST', '/v1/transfers');
    expect(posts.map((r) => r.idempotencyKey)).toEqual(['payout:port-1', 'payout:port-1']);
    expect(posts.map((r) => r.outcome)).toEqual(['ok', 'replayed']);
    expect(posts[0].form).toMatchObject({ amount: '1234', currency: 'usd', destination: 'acct_port_dest', transfer_group: 'payout_batch:port' });
    expect(fake.availableBalance('usd')).toBe(100_000 - 1234);
    const other = await stripe.createTransfer(input({ amountMinor: 999n })).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(PaymentsUnavailableError);
    expect(other).toMatchObject({ retryable: false, statusCode: 400 });
    expect((await stripe.retrieveTransfer(t.id)).id).toBe(t.id);
    // the balance transaction of the transfer
    const txn = fake.ofType('balance_transaction').find((b) => b.source === t.id)!;
    expect(txn).toMatchObject({ amount: -1234, reporting_category: 'transfer', type: 'transfer' });
  });

  it('forgets a key after 24 hours (the fake clock): the same request then makes a second transfer', async () => {
    fake.setAvailableBalance('usd', 100_000);
    const first = await stripe.createTransfer(input({ idempotencyKey: 'payout:port-window', metadata: { payout_id: 'port-window' } }));
    fake.advanceClock(23 * 3600_000);
    expect((await stripe.createTransfer(input({ idempotencyKey: 'payout:port-window', metadata: { payout_id: 'port-window' } }))).id).toBe(first.id);
    fake.advanceClock(2 * 3600_000);
    const second = await stripe.createTransfer(input({ idempotencyKey: 'payout:port-window', metadata: { payout_id: 'port-window' } }));
    expect(second.id).not.toBe(first.id);
    expect(fake.transfersPerPayout().get('port-window')).toBe(2);
  });

  it('lists a transfer group across pages, oldest first', async () => {
    fake.setAvailableBalance('usd', 10_000_000);
    const ids: string[] = [];
    for (let i = 0; i < 105; i++) {
      ids.push((await stripe.createTransfer(input({ transferGroup: 'payout_batch:paged', idempotencyKey: `payout:paged-${i}`, metadata: { payout_id: `paged-${i}` } }))).id);
    }
    const before = fake.requestsTo('GET', '/v1/transfers').length;
    const listed = await stripe.listTransfersByGroup('payout_batch:paged');
    expect(listed.map((t) => t.id)).toEqual(ids);
    const lists = fake.requestsTo('GET', '/v1/transfers').slice(before);
    expect(lists).toHaveLength(2);
    expect(lists[0].query).toMatchObject({ transfer_group: 'payout_batch:paged', limit: '100' });
    expect(lists[1].query.starting_after).toBeDefined();
    expect(await stripe.listTransfersByGroup('payout_batch:none')).toEqual([]);
  });

  it('reads the balance in our minor units', async () => {
    fake.setAvailableBalance('usd', 4321);
    fake.setAvailableBalance('jpy', 500);
    const b = await stripe.retrieveBalance();
    expect(b.available).toEqual(expect.arrayContaining([{ currency: 'USD', amountMinor: 4321n }, { currency: 'JPY', amountMinor: 500n }]));
  });

  it('maps refusals: balance_insufficient → retry later; an inactive transfers capability → refused for good; unknown destination → refused', async () => {
    fake.setAvailableBalance('usd', 10);
    const low = await stripe.createTransfer(input({ idempotencyKey: 'payout:port-low' })).catch((e: unknown) => e);
    expect(low).toBeInstanceOf(TransferRefusedError);
    expect(low).toMatchObject({ code: 'balance_insufficient', retryLater: true });
    fake.setAvailableBalance('usd', 100_000);
    const inactive = await stripe.createTransfer(input({ idempotencyKey: 'payout:port-inactive', destinationAccountId: 'acct_port_inactive' })).catch((e: unknown) => e);
    expect(inactive).toMatchObject({ code: 'insufficient_capabilities_for_transfer', retryLater: false });
    const missing = await stripe.createTransfer(input({ idempotencyKey: 'payout:port-missing', destinationAccountId: 'acct_nobody' })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TransferRefusedError);
    expect(missing).toMatchObject({ code: 'resource_missing', retryLater: false });
  });

  it('maps 429s (Stripe-Should-Retry, Retry-After) without the SDK retrying them; a 500 is unavailable (retryable)', async () => {
    fake.setAvailableBalance('usd', 100_000);
    const before = fake.requestsTo('POST', '/v1/transfers').length;
    fake.rateLimitNext({ shouldRetry: false, retryAfterSeconds: 2 });
    const no = await stripe.createTransfer(input({ idempotencyKey: 'payout:port-429' })).catch((e: unknown) => e);
    expect(no).toBeInstanceOf(PaymentsRateLimitedError);
    expect(no).toMatchObject({ shouldRetry: false, retryAfterMs: 2000, retryable: false });
    fake.rateLimitNext({ shouldRetry: true });
    expect(await stripe.createTransfer(input({ idempotencyKey: 'payout:port-429' })).catch((e: unknown) => e)).toMatchObject({ shouldRetry: true, retryAfterMs: null });
    fake.rateLimitNext();
    expect(await stripe.retrieveBalance().catch((e: unknown) => e)).toMatchObject({ shouldRetry: null });
    // one request per call: the SDK did not retry the 429s
    expect(fake.requestsTo('POST', '/v1/transfers').length - before).toBe(2);
    fake.failNext('status500', /^POST \/v1\/transfers$/);
    const down = await stripe.createTransfer(input({ idempotencyKey: 'payout:port-500' })).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(PaymentsUnavailableError);
    expect(down).toMatchObject({ retryable: true, statusCode: 500 });
    // the 429 was not saved under the key: the same request now succeeds
    expect((await stripe.createTransfer(input({ idempotencyKey: 'payout:port-429' }))).amountMinor).toBe(1234n);
  });

  it('the fake limits the request rate (sliding second): 429 beyond N', async () => {
    fake.limitRate(5);
    const results = await Promise.all(Array.from({ length: 8 }, () => stripe.retrieveBalance().then(() => 'ok', (e: unknown) => (e instanceof PaymentsRateLimitedError ? '429' : 'other'))));
    fake.limitRate(null);
    expect(results.filter((r) => r === 'ok')).toHaveLength(5);
    expect(results.filter((r) => r === '429')).toHaveLength(3);
  });

  it('Retry-After in seconds or as an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(undefined)).toBeNull();
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs('soon')).toBeNull();
  });
});

describe('transfers port — sandbox', () => {
  let t: TestApp;
  let sandbox: SandboxPaymentsAdapter;
  let dest: string;
  let inactive: string;

  beforeAll(async () => {
    t = await startTestApp();
    sandbox = t.app.get(SandboxPaymentsAdapter);
    const b = await seedApprovedBatch(t.dataSource, { vendors: 2, mode: 'sandbox', inactiveAtProcessor: [1] });
    dest = b.payouts[0].accountId;
    inactive = b.payouts[1].accountId;
  });
  afterAll(async () => t?.close());

  it('refuses a transfer above the sandbox balance (retry later) and saves nothing under the key; after a top-up the same key succeeds once', async () => {
    const low = await sandbox.createTransfer(input({ destinationAccountId: dest, idempotencyKey: 'payout:sb-1' })).catch((e: unknown) => e);
    expect(low).toMatchObject({ code: 'balance_insufficient', retryLater: true });
    await topUpSandbox(t.dataSource, 'USD', 10_000n);
    const tr = await sandbox.createTransfer(input({ destinationAccountId: dest, idempotencyKey: 'payout:sb-1' }));
    expect(tr.id).toMatch(/^tr_sandbox_[0-9a-f]{24}$/);
    expect((await sandbox.createTransfer(input({ destinationAccountId: dest, idempotencyKey: 'payout:sb-1' }))).id).toBe(tr.id);
    const other = await sandbox.createTransfer(input({ destinationAccountId: dest, idempotencyKey: 'payout:sb-1', amountMinor: 1n })).catch((e: unknown) => e);
    expect(other).toMatchObject({ code: 'idempotency_error', retryable: false });
    expect((await sandbox.retrieveBalance()).available).toEqual([{ currency: 'USD', amountMinor: 10_000n - 1234n }]);
    expect((await sandbox.retrieveTransfer(tr.id)).amountMinor).toBe(1234n);
    expect((await sandbox.listTransfersByGroup('payout_batch:port')).map((x) => x.id)).toEqual([tr.id]);
    const [txn] = await t.dataSource.query(`SELECT data FROM sandbox_payment_objects WHERE kind = 'balance_transaction' AND data->>'source' = $1`, [tr.id]);
    expect(txn.data).toMatchObject({ amount: -1234, net: -1234, reporting_category: 'transfer', type: 'transfer' });
    // transfer.created went into the inbox (once: the replay emitted nothing)
    const events = await t.dataSource.query(`SELECT type, source FROM payment_webhook_events WHERE payload->'data'->'object'->>'id' = $1`, [tr.id]);
    expect(events).toEqual([{ type: 'transfer.created', source: 'sandbox' }]);
  });

  it('refuses an account whose transfers capability is not active, and an unknown account, for good', async () => {
    await topUpSandbox(t.dataSource, 'USD', 10_000n);
    expect(await sandbox.createTransfer(input({ destinationAccountId: inactive, idempotencyKey: 'payout:sb-2' })).catch((e: unknown) => e)).toMatchObject({
      code: 'insufficient_capabilities_for_transfer',
      retryLater: false,
    });
    expect(await sandbox.createTransfer(input({ destinationAccountId: 'acct_nobody', idempotencyKey: 'payout:sb-3' })).catch((e: unknown) => e)).toMatchObject({ retryLater: false });
  });
});
