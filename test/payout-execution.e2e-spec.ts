/**
 * Executing approved payouts, against the Stripe adapter + the fake Stripe
 * (the real SDK over HTTP) and against the sandbox: one transfer per payout,
 * the ledger's PAYOUT postings, SENT with the transfer id, the batch
 * COMPLETED; 429s (with and without Stripe-Should-Retry, Retry-After),
 * balance_insufficient retried later, a refusal → FAILED with the amount owed
 * again, a lost lease taken over, recovery past the key window through the
 * transfer group, and transfer.created recording a payout idempotently.
 */
import { EarningsBalanceService } from '../src/earnings/earnings-balance.service';
import { PAYMENTS_PORT, PaymentsPort } from '../src/payments/payments.port';
import { SandboxPaymentsAdapter } from '../src/payments/sandbox/sandbox-payments.adapter';
import { Clock } from '../src/platform/clock/clock';
import { Database } from '../src/platform/database/transaction';
import { PayoutExecutionRepository } from '../src/payouts/payout-execution.repository';
import { PayoutExecutionService, transferGroupOf } from '../src/payouts/payout-execution.service';
import { ClaimOutcome, PayoutExecutionTransitions } from '../src/payouts/payout-execution.transitions';
import { PayoutTransferHandlers } from '../src/payouts/payout-transfer.handlers';
import { startTestApp, TestApp } from './support/app';
import { FakeStripe } from './support/fake-stripe';
import { ledgerChecks, payoutsOf, seedApprovedBatch, topUpSandbox } from './support/payout-fixtures';

const HOUR = 3600_000;

/** The transfer is made but its answer is lost (and the SDK's one automatic retry of a closed connection too). */
function lostAnswer(fake: FakeStripe): void {
  fake.failNext('drop-after', /^POST \/v1\/transfers$/);
  fake.failNext('drop-before', /^POST \/v1\/transfers$/);
}

function moveClock(t: TestApp, ms: number): void {
  const clock = t.app.get(Clock);
  const base = clock.now();
  jest.spyOn(clock, 'now').mockImplementation(() => new Date(base.getTime() + ms + (Date.now() - base.getTime())));
}

describe('payout execution — Stripe adapter against the fake Stripe', () => {
  let fake: FakeStripe;
  let t: TestApp;
  let exec: PayoutExecutionService;

  beforeAll(async () => {
    fake = await FakeStripe.start();
    t = await startTestApp({
      stripeSecretKey: 'sk_test_exec123',
      stripeWebhookSecret: 'whsec_exec_platform',
      stripeApiBase: fake.url,
      payoutMaxRequestsPerSecond: 200,
      payoutConcurrency: 4,
      payoutLeaseSeconds: 30,
    });
    exec = t.app.get(PayoutExecutionService);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });
  afterEach(() => jest.restoreAllMocks());

  it('sends one transfer per payout with the stored key, group and metadata; SENT; PAYOUT posted; batch COMPLETED', async () => {
    fake.setAvailableBalance('usd', 10_000_000);
    const b = await seedApprovedBatch(t.dataSource, { vendors: 5, mode: 'stripe', fake });
    const r = await exec.run({ batchId: b.batchId });
    expect(r).toMatchObject({ sent: 5, failed: 0, deferred: 0 });
    const rows = await payoutsOf(t.dataSource, b.batchId);
    expect(rows.every((p) => p.status === 'SENT' && p.transfer_id?.startsWith('tr_') && p.attempts === 1)).toBe(true);
    const per = fake.transfersPerPayout();
    for (const p of b.payouts) expect(per.get(p.id)).toBe(1);
    const posts = fake.requestsTo('POST', '/v1/transfers').filter((q) => b.payouts.some((p) => p.id === q.form['metadata[payout_id]']));
    expect(posts).toHaveLength(5);
    for (const q of posts) {
      const p = b.payouts.find((x) => x.id === q.form['metadata[payout_id]'])!;
      expect(q.idempotencyKey).toBe(`payout:${p.id}`);
      expect(q.form).toMatchObject({
        amount: String(p.amountMinor),
        currency: 'usd',
        destination: p.accountId,
        transfer_group: transferGroupOf(b.batchId),
        'metadata[batch_id]': b.batchId,
        'metadata[idempotency_key]': `payout:${p.id}`,
      });
      expect(q.form.source_transaction).toBeUndefined();
    }
    // one balance request for the run, not one per payout
    expect(fake.requestsTo('GET', '/v1/balance').length).toBe(1);
    const checks = await ledgerChecks(t.dataSource, b.batchId);
    expect(checks.ledgerSum).toBe(0n);
    expect(checks.postings.every((x) => x.payout_postings === 1 && x.failed_postings === 0)).toBe(true);
    expect(checks.overpaid).toEqual([]);
    const [batch] = await t.dataSource.query(`SELECT status, completed_at FROM payout_batches WHERE id = $1`, [b.batchId]);
    expect(batch.status).toBe('COMPLETED');
    expect((await exec.progress(b.batchId))?.byStatus.SENT).toBe(5);
    // available earnings are now zero
    const bal = await t.app.get(EarningsBalanceService).availableFor(t.dataSource.manager, b.payouts[0].organizationId, 'USD');
    expect(bal.available).toBe(0n);
    // a second run finds nothing
    expect((await exec.run({ batchId: b.batchId })).picked).toBe(0);
  });

  it('429 with Stripe-Should-Retry true and Retry-After: waits and retries the same request with the same key', async () => {
    fake.setAvailableBalance('usd', 10_000_000);
    const b = await seedApprovedBatch(t.dataSource, { vendors: 1, mode: 'stripe', fake });
    fake.rateLimitNext({ shouldRetry: true, retryAfterSeconds: 1, match: /^POST \/v1\/transfers$/ });
    fake.rateLimitNext({ match: /^POST \/v1\/transfers$/ }); // no Stripe-Should-Retry header at all
    const started = Date.now();
    const r = await exec.run({ batchId: b.batchId });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(r).toMatchObject({ sent: 1, rateLimited: 2 });
    const posts = fake.requestsTo('POST', '/v1/transfers').filter((q) => q.form['metadata[payout_id]'] === b.payouts[0].id);
    expect(posts.map((q) => q.status)).toEqual([429, 429, 200]);
    expect(new Set(posts.map((q) => q.idempotencyKey)).size).toBe(1);
    expect(fake.transfersPerPayout().get(b.payouts[0].id)).toBe(1);
  });

  it('429 with Stripe-Should-Retry false: not retried now, given back; a later run sends it once', async () => {
    fake.setAvailableBalance('usd', 10_000_000);
    const b = await seedApprovedBatch(t.dataSource, { vendors: 1, mode: 'stripe', fake });
    fake.rateLimitNext({ shouldRetry: false, match: /^POST \/v1\/transfers$/ });
    const r = await exec.run({ batchId: b.batchId });
    expect(r).toMatchObject({ sent: 0, deferred: 1 });
    let [p] = await payoutsOf(t.dataSource, b.batchId);
    expect(p.status).toBe('SENDING');
    expect(p.last_error).toMatch(/rate limited/);
    expect((await exec.run({ batchId: b.batchId })).picked).toBe(0); // not due yet
    moveClock(t, 2 * HOUR);
    expect((await exec.run({ batchId: b.batchId })).sent).toBe(1);
    [p] = await payoutsOf(t.dataSource, b.batchId);
    expect(p.status).toBe('SENT');
    expect(fake.transfersPerPayout().get(b.payouts[0].id)).toBe(1);
    const checks = await ledgerChecks(t.dataSource, b.batchId);
    expect(checks.postings[0]).toMatchObject({ payout_postings: 1, failed_postings: 0 });
  });

  it('balance too low: nothing is requested, the payout waits (SENDING) and goes once the balance is there', async () => {
    const b = await seedApprovedBatch(t.dataSource, { vendors: 2, mode: 'stripe', fake, amountOf: () => 5000n });
    fake.setAvailableBalance('usd', 6000); // enough for one of the two
    const before = fake.requestsTo('POST', '/v1/transfers').length;
    const r = await exec.run({ batchId: b.batchId });
    expect(r).toMatchObject({ sent: 1, deferred: 1 });
    expect(fake.requestsTo('POST', '/v1/transfers').length - before).toBe(1);
    const waiting = (await payoutsOf(t.dataSource, b.batchId)).find((p) => p.status === 'SENDING')!;
    expect(waiting.last_error).toMatch(/balance_insufficient/);
    fake.setAvailableBalance('usd', 100_000);
    moveClock(t, 2 * HOUR);
    expect((await exec.run({ batchId: b.batchId })).sent).toBe(1);
    expect((await payoutsOf(t.dataSource, b.batchId)).every((p) => p.status === 'SENT')).toBe(true);
  });

  it('balance_insufficient from the processor (the check passed): retried later, never FAILED', async () => {
    const b = await seedApprovedBatch(t.dataSource, { vendors: 1, mode: 'stripe', fake, amountOf: () => 5000n });
    fake.setAvailableBalance('usd', 1_000_000);
    // the balance is spent between our check and the transfer
    const port = t.app.get<PaymentsPort>(PAYMENTS_PORT);
    const original = port.retrieveBalance.bind(port);
    jest.spyOn(port, 'retrieveBalance').mockImplementation(async () => {
      const bal = await original();
      fake.setAvailableBalance('usd', 10);
      return bal;
    });
    const r = await exec.run({ batchId: b.batchId });
    expect(r).toMatchObject({ deferred: 1, failed: 0 });
    const [p] = await payoutsOf(t.dataSource, b.batchId);
    expect(p.status).toBe('SENDING');
    expect(p.last_error).toMatch(/balance_insufficient/);
    jest.restoreAllMocks();
    fake.setAvailableBalance('usd', 1_000_000);
    // Stripe replays the saved refusal for the key's lifetime: past the window the group lookup finds nothing and the request goes again.
    fake.advanceClock(25 * HOUR);
    moveClock(t, 25 * HOUR);
    expect((await exec.run({ batchId: b.batchId })).sent).toBe(1);
    expect(fake.transfersPerPayout().get(b.payouts[0].id)).toBe(1);
  });

  it('a refused transfer (capability inactive): PAYOUT_FAILED posted, FAILED with the code, the amount owed again; batch PARTIALLY_FAILED', async () => {
    fake.setAvailableBalance('usd', 10_000_000);
    const b = await seedApprovedBatch(t.dataSource, { vendors: 2, mode: 'stripe', fake, inactiveAtProcessor: [1] });
    const r = await exec.run({ batchId: b.batchId });
    expect(r).toMatchObject({ sent: 1, failed: 1 });
    const refused = (await payoutsOf(t.dataSource, b.batchId)).find((p) => p.organization_id === b.payouts[1].organizationId)!;
    expect(refused).toMatchObject({ status: 'FAILED', failure_code: 'insufficient_capabilities_for_transfer', transfer_id: null });
    expect(refused.failure_message).toMatch(/refused/);
    const checks = await ledgerChecks(t.dataSource, b.batchId);
    expect(checks.postings.find((x) => x.id === refused.id)).toMatchObject({ payout_postings: 1, failed_postings: 1 });
    expect(checks.ledgerSum).toBe(0n);
    const bal = await t.app.get(EarningsBalanceService).availableFor(t.dataSource.manager, b.payouts[1].organizationId, 'USD');
    expect(bal.available).toBe(b.payouts[1].amountMinor);
    const [batch] = await t.dataSource.query(`SELECT status FROM payout_batches WHERE id = $1`, [b.batchId]);
    expect(batch.status).toBe('PARTIALLY_FAILED');
  });

  it('checks before sending: an account that cannot receive transfers, or an amount above available → FAILED, nothing posted, nothing sent', async () => {
    fake.setAvailableBalance('usd', 10_000_000);
    const b = await seedApprovedBatch(t.dataSource, { vendors: 2, mode: 'stripe', fake });
    await t.dataSource.query(`UPDATE payout_accounts SET transfers_capability = 'inactive', disabled_reason = 'requirements.past_due' WHERE organization_id = $1`, [b.payouts[0].organizationId]);
    // a refund took part of the second vendor's earnings back since the batch
    await t.dataSource.query(`SELECT 1`);
    const { LedgerService } = await import('../src/ledger/ledger.service');
    const { Accounts } = await import('../src/ledger/accounts');
    await t.dataSource.transaction((tx) =>
      new LedgerService().post(tx, {
        reference: `test:refund:${b.batchId}`,
        kind: 'REFUND',
        description: 'test refund',
        lines: [
          { account: Accounts.vendorPayable(b.payouts[1].organizationId), currency: 'USD', amountMinor: 100n },
          { account: Accounts.platformCash, currency: 'USD', amountMinor: -100n },
        ],
      }),
    );
    const before = fake.requestsTo('POST', '/v1/transfers').length;
    const r = await exec.run({ batchId: b.batchId });
    expect(r).toMatchObject({ failed: 2, sent: 0 });
    expect(fake.requestsTo('POST', '/v1/transfers').length).toBe(before);
    const rows = await payoutsOf(t.dataSource, b.batchId);
    expect(rows.find((p) => p.organization_id === b.payouts[0].organizationId)?.failure_code).toBe('ACCOUNT_CANNOT_RECEIVE_TRANSFERS');
    expect(rows.find((p) => p.organization_id === b.payouts[1].organizationId)?.failure_code).toBe('AMOUNT_ABOVE_AVAILABLE');
    const checks = await ledgerChecks(t.dataSource, b.batchId);
    expect(checks.postings.every((x) => x.payout_postings === 0 && x.failed_postings === 0)).toBe(true);
  });

  it('lease expiry: a SENDING payout whose process died is taken over and resent with the same key (replayed, one transfer)', async () => {
    fake.setAvailableBalance('usd', 10_000_000);
    const b = await seedApprovedBatch(t.dataSource, { vendors: 1, mode: 'stripe', fake });
    const p = b.payouts[0];
    // the dead process: claimed + posted, sent the transfer, never recorded it
    // (the SDK retries a closed connection once even with retries off: drop that retry too)
    lostAnswer(fake);
    const r1 = await exec.run({ batchId: b.batchId });
    expect(r1.deferred).toBe(1);
    await t.dataSource.query(`UPDATE payouts SET lease_owner = 'dead-process', lease_until = now() + interval '30 seconds', next_attempt_at = NULL WHERE id = $1`, [p.id]);
    expect((await exec.run({ batchId: b.batchId })).picked).toBe(0); // the lease still runs
    moveClock(t, 60_000);
    const r2 = await exec.run({ batchId: b.batchId });
    expect(r2.sent).toBe(1);
    const posts = fake.requestsTo('POST', '/v1/transfers').filter((q) => q.form['metadata[payout_id]'] === p.id);
    expect(posts.map((q) => q.outcome)).toEqual(['dropped-after', 'dropped-before', 'replayed']);
    expect(fake.transfersPerPayout().get(p.id)).toBe(1);
    const [row] = await payoutsOf(t.dataSource, b.batchId);
    expect(row).toMatchObject({ status: 'SENT', attempts: 2 });
  });

  it('past the 24 h key window: the transfer is found through its batch group and recorded, no second transfer', async () => {
    fake.setAvailableBalance('usd', 10_000_000);
    const b = await seedApprovedBatch(t.dataSource, { vendors: 3, mode: 'stripe', fake });
    const p = b.payouts[1];
    // p first, alone (its answer lost), then the others
    await t.dataSource.query(`UPDATE payouts SET next_attempt_at = now() + interval '1 hour' WHERE batch_id = $1 AND id <> $2`, [b.batchId, p.id]);
    lostAnswer(fake);
    expect(await exec.run({ batchId: b.batchId })).toMatchObject({ sent: 0, deferred: 1 });
    await t.dataSource.query(`UPDATE payouts SET next_attempt_at = NULL WHERE batch_id = $1 AND status = 'APPROVED'`, [b.batchId]);
    expect(await exec.run({ batchId: b.batchId })).toMatchObject({ sent: 2, deferred: 0 });
    const lost = (await payoutsOf(t.dataSource, b.batchId)).find((x) => x.status === 'SENDING')!;
    // a day later: Stripe has forgotten the key
    fake.advanceClock(25 * HOUR);
    moveClock(t, 25 * HOUR);
    const listsBefore = fake.requestsTo('GET', '/v1/transfers').length;
    const r2 = await exec.run({ batchId: b.batchId });
    expect(r2.sent).toBe(1);
    expect(fake.transfersPerPayout().get(lost.id)).toBe(1);
    expect(fake.requestsTo('GET', '/v1/transfers').length).toBe(listsBefore + 1);
    expect(fake.requestsTo('GET', '/v1/transfers').at(-1)!.query.transfer_group).toBe(transferGroupOf(b.batchId));
    expect(lost.id).toBe(p.id);
    expect(fake.transfersPerPayout().get(lost.id)).toBe(1);
    expect(fake.requestsTo('POST', '/v1/transfers').filter((q) => q.form['metadata[payout_id]'] === lost.id && q.outcome !== 'dropped-before')).toHaveLength(1);
    expect((await payoutsOf(t.dataSource, b.batchId)).every((x) => x.status === 'SENT')).toBe(true);
  });

  it('past the key window with no transfer at the processor: the lookup finds nothing and the transfer is created once', async () => {
    fake.setAvailableBalance('usd', 10_000_000);
    const b = await seedApprovedBatch(t.dataSource, { vendors: 1, mode: 'stripe', fake });
    fake.failNext('drop-before', /^POST \/v1\/transfers$/);
    fake.failNext('drop-before', /^POST \/v1\/transfers$/);
    expect((await exec.run({ batchId: b.batchId })).deferred).toBe(1);
    fake.advanceClock(25 * HOUR);
    moveClock(t, 25 * HOUR);
    expect((await exec.run({ batchId: b.batchId })).sent).toBe(1);
    expect(fake.transfersPerPayout().get(b.payouts[0].id)).toBe(1);
  });

  it('transfer.created records a SENDING payout by its metadata; again (and then the executor) is a no-op; a different id is an alarm', async () => {
    fake.setAvailableBalance('usd', 10_000_000);
    const b = await seedApprovedBatch(t.dataSource, { vendors: 1, mode: 'stripe', fake });
    const p = b.payouts[0];
    lostAnswer(fake);
    await exec.run({ batchId: b.batchId });
    const transfer = fake.transfers().find((x) => x.metadata.payout_id === p.id)!;
    const handlers = t.app.get(PayoutTransferHandlers);
    const event = fake.event('transfer.created', transfer);
    await t.dataSource.transaction((tx) => handlers.transferCreated(tx, event as never));
    await t.dataSource.transaction((tx) => handlers.transferCreated(tx, event as never));
    let [row] = await payoutsOf(t.dataSource, b.batchId);
    expect(row).toMatchObject({ status: 'SENT', transfer_id: transfer.id });
    // a transfer with another id for the same payout is never recorded
    await t.dataSource.transaction((tx) => handlers.transferCreated(tx, fake.event('transfer.created', { ...transfer, id: 'tr_other' }) as never));
    [row] = await payoutsOf(t.dataSource, b.batchId);
    expect(row.transfer_id).toBe(transfer.id);
    // a transfer whose amount does not match the payout is ignored
    const b2 = await seedApprovedBatch(t.dataSource, { vendors: 1, mode: 'stripe', fake });
    await t.dataSource.query(`UPDATE payouts SET status = 'SENDING', lease_until = now() + interval '1 hour' WHERE id = $1`, [b2.payouts[0].id]);
    const forged = { ...transfer, id: 'tr_forged', amount: 1, metadata: { payout_id: b2.payouts[0].id, idempotency_key: b2.payouts[0].idempotencyKey } };
    await t.dataSource.transaction((tx) => handlers.transferCreated(tx, fake.event('transfer.created', forged) as never));
    expect((await payoutsOf(t.dataSource, b2.batchId))[0].status).toBe('SENDING');
  });
});

describe('payout execution — two claims of the same payouts at the same moment', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it('both read the payouts as APPROVED, then wait on the vendor locks: only the first claims, the second claims nothing', async () => {
    const b = await seedApprovedBatch(t.dataSource, { vendors: 3, mode: 'sandbox' });
    const ids = b.payouts.map((p) => p.id);
    const repo = t.app.get(PayoutExecutionRepository);
    const transitions = t.app.get(PayoutExecutionTransitions);
    const db = t.app.get(Database);
    // A third transaction holds the vendors' locks, so both claims read first and then queue behind it.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const blocker = db.transaction(async (tx) => {
      await repo.lockVendors(tx, b.payouts.map((p) => ({ organizationId: p.organizationId, currency: 'USD' })));
      await held;
    });
    await new Promise((r) => setTimeout(r, 100));
    const claims = [db.transaction((tx) => transitions.claimMany(tx, ids, 'process-a')), db.transaction((tx) => transitions.claimMany(tx, ids, 'process-b'))];
    for (let i = 0; i < 100; i++) {
      const [w] = await t.dataSource.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
      if (w.n >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    release();
    await blocker;
    const outcomes: ClaimOutcome[][] = await Promise.all(claims);
    const claimed = outcomes.flat().filter((o) => o.kind === 'claimed');
    expect(claimed).toHaveLength(3);
    expect(new Set(outcomes.map((o) => o.length))).toEqual(new Set([0, 3]));
    const rows = await payoutsOf(t.dataSource, b.batchId);
    expect(rows.every((r) => r.status === 'SENDING' && r.attempts === 1)).toBe(true);
  });
});

describe('payout execution — sandbox', () => {
  let t: TestApp;
  let exec: PayoutExecutionService;

  beforeAll(async () => {
    t = await startTestApp({ payoutMaxRequestsPerSecond: 500, payoutConcurrency: 4 });
    exec = t.app.get(PayoutExecutionService);
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => jest.restoreAllMocks());

  it('sends sandbox transfers with balance transactions, then a second run sends nothing', async () => {
    const b = await seedApprovedBatch(t.dataSource, { vendors: 4, mode: 'sandbox' });
    await topUpSandbox(t.dataSource, 'USD', b.totalMinor);
    const r = await exec.run({ batchId: b.batchId });
    expect(r).toMatchObject({ sent: 4, failed: 0 });
    const sandbox = t.app.get(SandboxPaymentsAdapter);
    const group = await sandbox.listTransfersByGroup(transferGroupOf(b.batchId));
    expect(group).toHaveLength(4);
    expect(new Set(group.map((g) => g.metadata.payout_id))).toEqual(new Set(b.payouts.map((p) => p.id)));
    const txns = await t.dataSource.query(`SELECT data FROM sandbox_payment_objects WHERE kind = 'balance_transaction' AND data->>'reporting_category' = 'transfer'`);
    expect(txns.length).toBe(4);
    expect(txns.every((x: { data: { source: string } }) => group.some((g) => g.id === x.data.source))).toBe(true);
    const bal = await sandbox.retrieveBalance();
    expect(bal.available.find((x) => x.currency === 'USD')?.amountMinor).toBe(0n);
    expect((await exec.run({ batchId: b.batchId })).picked).toBe(0);
    const checks = await ledgerChecks(t.dataSource, b.batchId);
    expect(checks.ledgerSum).toBe(0n);
    // transfer.created events went through the inbox: recording again is a no-op
    const [batch] = await t.dataSource.query(`SELECT status FROM payout_batches WHERE id = $1`, [b.batchId]);
    expect(batch.status).toBe('COMPLETED');
  });

  it('a payout still held when the rest of its batch is done is CANCELLED and never sent; the batch is COMPLETED', async () => {
    const b = await seedApprovedBatch(t.dataSource, { vendors: 2, mode: 'sandbox' });
    await topUpSandbox(t.dataSource, 'USD', b.payouts[0].amountMinor);
    await t.dataSource.query(`UPDATE payouts SET status = 'HELD', hold_reason = 'KYC review', held_by = $2, held_at = now() WHERE id = $1`, [b.payouts[1].id, b.creatorId]);
    expect(await exec.run({ batchId: b.batchId })).toMatchObject({ sent: 1 });
    const rows = await payoutsOf(t.dataSource, b.batchId);
    expect(rows.find((r) => r.id === b.payouts[1].id)).toMatchObject({ status: 'CANCELLED', transfer_id: null });
    expect((await ledgerChecks(t.dataSource, b.batchId)).postings.find((x) => x.id === b.payouts[1].id)).toMatchObject({ payout_postings: 0 });
    const [batch] = await t.dataSource.query(`SELECT status FROM payout_batches WHERE id = $1`, [b.batchId]);
    expect(batch.status).toBe('COMPLETED');
  });

  it('sandbox balance short: balance_insufficient → retried later, sent after a top-up', async () => {
    const b = await seedApprovedBatch(t.dataSource, { vendors: 1, mode: 'sandbox' });
    expect((await exec.run({ batchId: b.batchId })).deferred).toBe(1);
    await topUpSandbox(t.dataSource, 'USD', b.totalMinor);
    moveClock(t, 2 * HOUR);
    expect((await exec.run({ batchId: b.batchId })).sent).toBe(1);
  });
});
