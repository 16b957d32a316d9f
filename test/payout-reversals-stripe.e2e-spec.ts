/**
 * Reversals and reconciliation through the Stripe adapter (the official SDK)
 * against the local Stripe-compatible server: createReversal with the
 * request's idempotency key, a refusal of the processor reported and the
 * request closed, signed `transfer.reversed` events on the platform endpoint
 * (delivered twice, and for a reversal made outside this service) booked
 * once, and a day reconciled through balanceTransactions.list with created
 * filters over several pages — zero, then planted differences both ways.
 */
import { PAYMENTS_PORT, PaymentsPort } from '../src/payments/payments.port';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { startTestApp, TestApp } from './support/app';
import { deliverEvent, FakeStripe } from './support/fake-stripe';
import { useLedgerInvariant } from './support/ledger-invariant';
import { REVERSE, sentPayout } from './support/payout-sent-fixtures';
import { errorCode } from './support/payouts';
import { waitFor } from './support/race';
import { makeAdmin, signUp, TestUser } from './support/users';

const PLATFORM_SECRET = 'whsec_reversals_platform';
const RUN = `mutation($d: String!) { runReconciliation(date: $d) { mode differenceCount timingCount matchedCount
  categories { category matchedCount matched { amountMinor } } unmatched { side status category sourceId amount { amountMinor currency } } } }`;
const today = new Date().toISOString().slice(0, 10);

describe('payout reversals and reconciliation through the Stripe adapter (e2e)', () => {
  let fake: FakeStripe;
  let t: TestApp;
  let port: PaymentsPort;
  let inbox: WebhookInboxService;
  let admin: TestUser;
  let vendor: TestUser;

  beforeAll(async () => {
    fake = await FakeStripe.start();
    fake.maxPageSize = 2; // every list takes several pages
    t = await startTestApp({ stripeSecretKey: 'sk_test_fake123', stripeWebhookSecret: PLATFORM_SECRET, stripeApiBase: fake.url });
    port = t.app.get(PAYMENTS_PORT);
    inbox = t.app.get(WebhookInboxService);
    admin = await makeAdmin(t, await signUp(t));
    vendor = await signUp(t, { country: 'US' });
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const q = (sql: string, params: unknown[] = []) => t.dataSource.query(sql, params);
  const postings = async (payoutId: string) =>
    Number((await q(`SELECT count(*)::int AS n FROM ledger_transactions WHERE kind = 'TRANSFER_REVERSAL' AND reference LIKE $1`, [`payout:${payoutId}:reversal:%`]))[0].n);
  const reversed = async (payoutId: string) => (await q(`SELECT reversed_minor::text AS r FROM payouts WHERE id = $1`, [payoutId]))[0].r;

  it('reverses through transfers.createReversal with the request key; refusals close the request; transfer.reversed books once; the day reconciles', async () => {
    expect(port.mode).toBe('stripe');
    const p = await sentPayout(t, { vendor, admin, amountMinor: 6000n, fake });

    const r = await t.gql(REVERSE, { p: p.payoutId, a: '2000', r: 'overpaid' }, admin.token);
    expect(r.errors).toBeUndefined();
    const reversalId = r.data!.reverseTransfer.reversalId;
    expect(reversalId).toMatch(/^trr_fake/);
    const [call] = fake.requestsTo('POST', `/v1/transfers/${p.transferId}/reversals`);
    expect(call.idempotencyKey).toMatch(new RegExp(`^payout:${p.payoutId}:reversal-request:[0-9a-f-]{36}$`));
    expect(call.form).toMatchObject({ amount: '2000', 'metadata[payout_id]': p.payoutId, 'metadata[batch_id]': p.batchId, 'metadata[reason]': 'overpaid' });
    expect(await reversed(p.payoutId)).toBe('2000');

    // A reversal made outside this service (the dashboard): only the signed event tells us — delivered twice.
    const outside = await port.reverseTransfer({ transferId: p.transferId, amountMinor: 1000n, idempotencyKey: 'dashboard-1', metadata: { reason: 'dashboard' } });
    const transfer = fake.objects.get(p.transferId)!;
    for (const id of ['evt_rev_1', 'evt_rev_2']) {
      const res = await deliverEvent(t, fake.event('transfer.reversed', transfer, { id }));
      expect(res.status).toBe(200);
    }
    await inbox.drain();
    await waitFor(async () => (await postings(p.payoutId)) === 2);
    await inbox.drain();
    expect(await postings(p.payoutId)).toBe(2);
    expect(await reversed(p.payoutId)).toBe('3000');
    expect(await q(`SELECT id, requested_by FROM payout_reversals WHERE payout_id = $1 ORDER BY amount_minor`, [p.payoutId])).toEqual([
      { id: outside.id, requested_by: null },
      { id: reversalId, requested_by: admin.userId },
    ]);

    // A reversal made outside and not reported yet: our check lets 3000 through, Stripe refuses what is no longer there.
    await port.reverseTransfer({ transferId: p.transferId, amountMinor: 2500n, idempotencyKey: 'dashboard-2', metadata: {} });
    const refused = await t.gql(REVERSE, { p: p.payoutId, a: '3000', r: 'too late' }, admin.token);
    expect(errorCode(refused)).toBe('CONFLICT');
    expect(refused.errors![0].extensions.processorCode).toBe('amount_too_large');
    expect(await q(`SELECT status, failure_code FROM payout_reversal_requests WHERE payout_id = $1 AND reason = 'too late'`, [p.payoutId])).toEqual([
      { status: 'FAILED', failure_code: 'amount_too_large' },
    ]);
    // Its event arrives; then everything the processor has is booked.
    await deliverEvent(t, fake.event('transfer.reversed', fake.objects.get(p.transferId)!, { id: 'evt_rev_3' }));
    await inbox.drain();
    await waitFor(async () => (await postings(p.payoutId)) === 3);
    expect(await reversed(p.payoutId)).toBe('5500');

    // Reconciled through balanceTransactions.list (created[gte]/[lt], several pages): the transfer and its three reversals.
    const before = fake.requestsTo('GET', '/v1/balance_transactions').length;
    const day = await t.gql(RUN, { d: today }, admin.token);
    expect(day.errors).toBeUndefined();
    expect(day.data!.runReconciliation).toMatchObject({ mode: 'STRIPE', differenceCount: 0, timingCount: 0, unmatched: [] });
    expect(Object.fromEntries(day.data!.runReconciliation.categories.map((c: any) => [c.category, [c.matchedCount, c.matched.amountMinor]]))).toEqual({
      transfer: [1, '-6000'],
      transfer_reversal: [3, '5500'],
    });
    const lists = fake.requestsTo('GET', '/v1/balance_transactions').slice(before);
    expect(lists.length).toBeGreaterThanOrEqual(2); // 4 balance transactions, 2 per page
    expect(lists[0].query).toMatchObject({ 'created[gte]': expect.any(String), 'created[lt]': expect.any(String), limit: '100' });
    expect(lists.some((l) => l.query.starting_after)).toBe(true);
  });

  it('planted differences both ways are reported through the Stripe adapter', async () => {
    const orphan = fake.seedTransfer({ amount: 4321, currency: 'usd', destination: 'acct_fakeorphan', metadata: {} });
    const ghost = await sentPayout(t, { vendor, admin, amountMinor: 999n, fake, processor: false });
    const day = await t.gql(RUN, { d: today }, admin.token);
    expect(day.errors).toBeUndefined();
    const result = day.data!.runReconciliation;
    expect(result.differenceCount).toBe(2);
    expect(result.unmatched).toEqual(
      expect.arrayContaining([
        { side: 'PROCESSOR', status: 'DIFFERENCE', category: 'transfer', sourceId: orphan.id, amount: { amountMinor: '-4321', currency: 'USD' } },
        { side: 'LEDGER', status: 'DIFFERENCE', category: 'transfer', sourceId: ghost.transferId, amount: { amountMinor: '-999', currency: 'USD' } },
      ]),
    );
  });
});
