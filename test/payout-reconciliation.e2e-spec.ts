/**
 * Reconciliation in the sandbox: collections, processing fees, a refund, a
 * dispute lost and one won (with their dispute fees), a payout's transfer and
 * a reversal reconcile to zero with the sandbox's balance transactions, day
 * after day; planted differences both ways (a transfer the processor has and
 * the ledger not, and the reverse) are reported with their amounts, audited
 * and counted in the metrics; a movement booked across midnight is a timing
 * difference, not an error; runs are stored and listed per day; the daily job
 * reconciles the previous day on the platform clock; admins only.
 */
import { randomUUID } from 'node:crypto';
import { sandboxId } from '../src/payments/sandbox/sandbox-store';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { Clock } from '../src/platform/clock/clock';
import { MetricsService } from '../src/platform/metrics/metrics.service';
import { ReconciliationService } from '../src/payouts/reconciliation/reconciliation.service';
import { startTestApp, TestApp } from './support/app';
import { paidUpfrontInvoice } from './support/billing';
import { useLedgerInvariant } from './support/ledger-invariant';
import { REVERSE, sentPayout } from './support/payout-sent-fixtures';
import { errorCode } from './support/payouts';
import { waitFor } from './support/race';
import { makeAdmin, signUp, TestUser } from './support/users';

const DAY = 86_400_000;
const RUN_FIELDS = `id date mode trigger ranAt matchedCount differenceCount timingCount
  categories { category matchedCount matched { amountMinor currency } }
  unmatched { side status category sourceId amount { amountMinor currency } reference at note }`;
export const RUN = `mutation($d: String!) { runReconciliation(date: $d) { ${RUN_FIELDS} } }`;
export const LATEST = `query($d: String!) { reconciliation(date: $d) { ${RUN_FIELDS} } }`;
export const RUNS = `query($d: String!) { reconciliationRuns(date: $d) { id trigger differenceCount } }`;

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

describe('reconciliation with the processor (sandbox, e2e)', () => {
  let t: TestApp;
  let inbox: WebhookInboxService;
  let admin: TestUser;
  let admin2: TestUser;
  let vendor: TestUser;
  const today = isoDay(new Date());

  beforeAll(async () => {
    t = await startTestApp({ earningsHoldbackDays: 0, platformFeeBps: 1500 });
    inbox = t.app.get(WebhookInboxService);
    admin = await makeAdmin(t, await signUp(t));
    admin2 = await makeAdmin(t, await signUp(t));
    vendor = await signUp(t, { country: 'US' });
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(() => t.close());

  async function paidInvoice(fee: string): Promise<{ invoiceId: string; paymentIntentId: string }> {
    const invoiceId = await paidUpfrontInvoice(t, inbox, vendor, fee);
    const p = await t.gql(`query($id: ID!) { invoice(id: $id) { payment { paymentIntentId } } }`, { id: invoiceId }, admin.token);
    return { invoiceId, paymentIntentId: p.data!.invoice.payment.paymentIntentId };
  }

  const run = async (date: string, token = admin.token) => {
    const r = await t.gql(RUN, { d: date }, token);
    expect(r.errors).toBeUndefined();
    return r.data!.runReconciliation;
  };

  it('a story of collections, a refund, disputes (lost and won), a payout and a reversal reconciles to zero', async () => {
    const a = await paidInvoice('10000');
    await paidInvoice('5000');
    const c = await paidInvoice('2000');
    const d = await paidInvoice('1000');
    // A partial refund (the admin's, answered by the processor and reported by its webhook).
    const refund = await t.gql(`mutation($id: ID!) { refundInvoice(id: $id, amountMinor: "3000", reason: "partial") { ... on InvoiceRefund { outcome } } }`, { id: a.invoiceId }, admin.token);
    expect(refund.errors).toBeUndefined();
    // A dispute lost, another won.
    const lost = (await t.gql(`mutation($pi: ID!) { simulateSandboxDispute(paymentIntentId: $pi) { id } }`, { pi: c.paymentIntentId }, admin.token)).data!.simulateSandboxDispute.id;
    const won = (await t.gql(`mutation($pi: ID!) { simulateSandboxDispute(paymentIntentId: $pi, amountMinor: "400") { id } }`, { pi: d.paymentIntentId }, admin.token)).data!.simulateSandboxDispute.id;
    await inbox.drain();
    await t.gql(`mutation($d: ID!) { closeSandboxDispute(disputeId: $d, outcome: LOST) { status } }`, { d: lost }, admin.token);
    await t.gql(`mutation($d: ID!) { closeSandboxDispute(disputeId: $d, outcome: WON) { status } }`, { d: won }, admin.token);
    await inbox.drain();
    // Dispute fees are booked from the dispute's balance transactions: taken, and returned for the one won.
    const fees = await t.dataSource.query(
      `SELECT t.metadata->>'disputeId' AS dispute, sum(e.amount_minor)::text AS cash FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
         JOIN ledger_accounts a ON a.id = e.account_id AND a.code = 'platform:cash' WHERE t.kind = 'DISPUTE_FEE' GROUP BY 1 ORDER BY 2`,
    );
    expect(fees).toEqual(expect.arrayContaining([{ dispute: lost, cash: '-1500' }, { dispute: won, cash: '0' }]));

    // A payout's transfer and a partial reversal of it.
    const p = await sentPayout(t, { vendor, admin, amountMinor: 5000n });
    const rev = await t.gql(REVERSE, { p: p.payoutId, a: '1000', r: 'reconciliation story' }, admin2.token);
    expect(rev.errors).toBeUndefined();
    await inbox.drain();

    const result = await run(today);
    expect(result.unmatched).toEqual([]);
    expect(result).toMatchObject({ date: today, mode: 'SANDBOX', trigger: 'ADMIN', differenceCount: 0, timingCount: 0 });
    const byCategory = Object.fromEntries(result.categories.map((x: any) => [x.category, [x.matchedCount, x.matched.amountMinor]]));
    expect(byCategory).toEqual({
      charge: [4, '18000'],
      // 2.90 % of each charge (290 + 145 + 58 + 29), the lost dispute's fee, and the won dispute's fee taken and returned.
      processing_fee: [4 + 1 + 2, String(-(290 + 145 + 58 + 29) - 1500)],
      refund: [1, '-3000'],
      // Lost: 2000 withdrawn; won: 400 withdrawn and reinstated.
      dispute: [3, '-2000'],
      transfer: [1, '-5000'],
      transfer_reversal: [1, '1000'],
    });
    expect(result.matchedCount).toBe(4 + 7 + 1 + 3 + 1 + 1);

    // The month before: nothing moved, nothing unmatched, each day reconciles.
    for (let i = 1; i <= 30; i++) {
      const day = isoDay(new Date(Date.now() - i * DAY));
      const r = await run(day);
      expect([day, r.differenceCount, r.unmatched.length]).toEqual([day, 0, 0]);
    }
  });

  it('planted differences both ways are reported with their amounts, audited and counted in the metrics', async () => {
    // The processor has a transfer the ledger does not.
    const planted = sandboxId('transfer', `planted:${randomUUID()}`);
    const txn = sandboxId('balance_transaction', planted);
    await t.dataSource.query(`INSERT INTO sandbox_payment_objects (id, kind, data) VALUES ($1, 'balance_transaction', $2::jsonb)`, [
      txn,
      JSON.stringify({ id: txn, object: 'balance_transaction', created: Math.floor(Date.now() / 1000), amount: -777, currency: 'usd', fee: 0, net: -777, source: planted, type: 'transfer', reporting_category: 'transfer' }),
    ]);
    // The ledger has a payout whose transfer the processor does not.
    const ghost = await sentPayout(t, { vendor, admin, amountMinor: 888n, processor: false });

    const result = await run(today);
    expect(result.differenceCount).toBe(2);
    expect(result.unmatched).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ side: 'PROCESSOR', status: 'DIFFERENCE', category: 'transfer', sourceId: planted, amount: { amountMinor: '-777', currency: 'USD' }, reference: txn, note: 'at the processor, not in the ledger' }),
        expect.objectContaining({ side: 'LEDGER', status: 'DIFFERENCE', category: 'transfer', sourceId: ghost.transferId, amount: { amountMinor: '-888', currency: 'USD' }, reference: `payout:${ghost.payoutId}`, note: 'in the ledger, not at the processor' }),
      ]),
    );
    expect(result.unmatched).toHaveLength(2);

    const [entry] = await t.dataSource.query(`SELECT action, actor_user_id, data FROM audit_log WHERE target_id = $1`, [result.id]);
    expect(entry).toMatchObject({ action: 'payouts.reconciliation.differences', actor_user_id: admin.userId, data: { date: today, differenceCount: 2 } });
    const metrics = (await t.app.get(MetricsService).render()).body;
    expect(metrics).toMatch(/beiming_reconciliation_differences_total 2/);
    expect(metrics).toMatch(/beiming_reconciliation_unmatched_items\{status="difference"\} 2/);
    expect(metrics).toMatch(/beiming_reconciliation_runs_total\{outcome="differences"\} 1/);

    // Stored: the console reads the latest run of the day, and the day's runs.
    const latest = await t.gql(LATEST, { d: today }, admin2.token);
    expect(latest.data!.reconciliation).toEqual(result);
    const runs = await t.gql(RUNS, { d: today }, admin.token);
    expect(runs.data!.reconciliationRuns.map((r: any) => r.differenceCount)).toEqual([2, 0]);
  });

  it('a movement booked across midnight is a timing difference on both days, not an error', async () => {
    const midnight = new Date(`${today}T00:00:00.000Z`);
    const yesterday = isoDay(new Date(midnight.getTime() - DAY));
    // The ledger posted the payout at 23:59:59; the processor created the transfer at 00:00:01.
    const p = await sentPayout(t, { vendor, admin, amountMinor: 1234n, at: new Date(midnight.getTime() - 1000) });
    await t.dataSource.query(`UPDATE sandbox_payment_objects SET data = jsonb_set(data, '{created}', to_jsonb($2::bigint)) WHERE id = $1`, [
      sandboxId('balance_transaction', p.transferId),
      Math.floor(midnight.getTime() / 1000) + 1,
    ]);
    const before = await run(yesterday);
    expect(before.differenceCount).toBe(0);
    expect(before.unmatched).toEqual([
      expect.objectContaining({ side: 'LEDGER', status: 'TIMING', category: 'transfer', sourceId: p.transferId, amount: { amountMinor: '-1234', currency: 'USD' } }),
    ]);
    const after = await run(today);
    expect(after.unmatched.filter((u: any) => u.sourceId === p.transferId)).toEqual([
      expect.objectContaining({ side: 'PROCESSOR', status: 'TIMING', amount: { amountMinor: '-1234', currency: 'USD' }, note: 'matched across midnight: the counterpart is on the neighbouring day' }),
    ]);
    expect(after.timingCount).toBe(1);
  });

  it('the daily job reconciles the previous UTC day on the platform clock', async () => {
    const clock = t.app.get(Clock);
    const spy = jest.spyOn(clock, 'now').mockReturnValue(new Date(Date.now() + DAY));
    try {
      const r = await t.app.get(ReconciliationService).reconcilePreviousDay();
      expect(r).toMatchObject({ date: today, trigger: 'JOB' });
      const runs = await t.gql(RUNS, { d: today }, admin.token);
      expect(runs.data!.reconciliationRuns[0]).toMatchObject({ id: r.id, trigger: 'JOB' });
    } finally {
      spy.mockRestore();
    }
  });

  it('admins only; a date must be a past or current UTC day', async () => {
    const before = Number((await t.dataSource.query(`SELECT count(*)::int AS n FROM reconciliation_runs`))[0].n);
    for (const [op, vars] of [
      [RUN, { d: today }],
      [LATEST, { d: today }],
      [RUNS, { d: today }],
    ] as const) {
      expect(errorCode(await t.gql(op, vars, vendor.token))).toBe('FORBIDDEN');
      expect(errorCode(await t.gql(op, vars))).toBe('UNAUTHENTICATED');
    }
    for (const bad of ['2026-13-01', '2026-02-30', 'yesterday', '', isoDay(new Date(Date.now() + 2 * DAY))]) {
      expect([bad, errorCode(await t.gql(RUN, { d: bad }, admin.token))]).toEqual([bad, 'BAD_USER_INPUT']);
    }
    expect(Number((await t.dataSource.query(`SELECT count(*)::int AS n FROM reconciliation_runs`))[0].n)).toBe(before);
  });

  it('after the sandbox test clock moves on, the business day still reconciles: the sandbox dates its balance on the Clock as the ledger does', async () => {
    const to = new Date(Date.now() + 40 * DAY);
    const moved = await t.gql(`mutation($to: DateTime!) { advanceSandboxClock(to: $to) { __typename } }`, { to: to.toISOString() }, admin.token);
    expect(moved.errors).toBeUndefined();
    const clock = t.app.get(Clock);
    await waitFor(() => clock.offsetMs > 39 * DAY);
    const day = isoDay(clock.now());
    await paidInvoice('3000');
    const p = await sentPayout(t, { vendor, admin, amountMinor: 2000n, at: clock.now() });
    expect((await t.gql(REVERSE, { p: p.payoutId, a: '500', r: 'later' }, admin2.token)).errors).toBeUndefined();
    await inbox.drain();
    const r = await run(day);
    expect(r).toMatchObject({ date: day, differenceCount: 0, timingCount: 0, unmatched: [] });
    expect(Object.fromEntries(r.categories.map((x: any) => [x.category, x.matched.amountMinor]))).toEqual({ charge: '3000', processing_fee: '-87', transfer: '-2000', transfer_reversal: '500' });
  });
});
