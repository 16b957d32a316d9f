/**
 * Refunds of pool subscriptions after their period was distributed: netted
 * from the plan's next distribution (the clawback) — off the gross before the
 * fee, each old pool credited back to zero, an excess beyond the gross left
 * for the following distribution (teachers never receive anything negative),
 * shown in the distribution and the admins' statement; exactly once, also
 * when a refund races two distributions of the plan's two versions. A
 * dispute lost on a distributed month is netted the same way.
 *
 * Time: the platform Clock is set to the 1st of each month under test (four
 * months back to last month); usage is seeded into the monthly rollups.
 */
import { InvoiceSettlementService } from '../src/billing/collection/invoice-settlement.service';
import { PaymentReversalService } from '../src/billing/collection/payment-reversal.service';
import { periodOf, PeriodRange, previousPeriod } from '../src/billing/billing-period';
import { PoolCloseService } from '../src/earnings/pool/pool-close.service';
import { PoolDistributionRepository } from '../src/earnings/pool/pool-distribution.repository';
import { PoolSubscriptionService } from '../src/billing/pool/pool-subscription.service';
import { Clock } from '../src/platform/clock/clock';
import { Database } from '../src/platform/database/transaction';
import { splitBps } from '../src/platform/money/allocation';
import { startTestApp, TestApp } from './support/app';
import { useLedgerInvariant } from './support/ledger-invariant';
import { createModel, publishOk } from './support/licensing';
import { barrierBefore, holdAfter } from './support/race';
import { makeAdmin, signUp, TestUser } from './support/users';

const CREATE_PLAN = `mutation($i: CreatePoolPlanInput!) { createPoolPlan(input: $i) { plan { id version } } }`;
const SUBSCRIBE = `mutation($p: ID!, $o: ID!) { subscribeToPool(planId: $p, organizationId: $o) { __typename ... on PoolSubscription { id firstInvoiceId } } }`;
const ACCEPT = `mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { __typename ... on LicenseAgreement { id } } }`;
const CLOSE = `mutation($p: String!) { closePoolPeriod(period: $p) { __typename
  ... on PoolPeriodClose { period renewed distributions { planId gross { amountMinor } platformFee { amountMinor } distributed { amountMinor }
      carried { amountMinor } clawback { amountMinor } clawbackCarried { amountMinor } } } } }`;
const STATEMENT = `query($p: ID!, $period: String!, $o: ID) { poolStatement(planId: $p, period: $period, organizationId: $o) {
  complete distribution { gross { amountMinor } clawback { amountMinor } clawbackCarried { amountMinor } distributed { amountMinor } }
  lines { modelId amount { amountMinor } } clawbacks { subscriptionId organizationId period invoiceId amount { amountMinor } } } }`;

const FEE = 10_000n;
const FEE_BPS = 2000;

describe('pool plan: refunds after a distribution (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let vendor: TestUser;
  let d1: TestUser;
  let d2: TestUser;
  let offer: { id: string; termsHash: string };
  let plan: string;
  const realNow = new Date();
  const m1 = previousPeriod(periodOf(realNow));
  const m2 = previousPeriod(m1);
  const m3 = previousPeriod(m2);
  const m4 = previousPeriod(m3);
  const setNow = (d: Date | null) => {
    t.app.get(Clock).now = d === null ? () => new Date() : () => new Date(d);
  };
  const firstOf = (p: PeriodRange) => new Date(p.start.getTime() + 3_600_000);

  beforeAll(async () => {
    t = await startTestApp({ platformFeeBps: 1500, poolFlagSubscriberShareBps: 10_000 });
    admin = await makeAdmin(t, await signUp(t, { country: 'US' }));
    vendor = await signUp(t, { country: 'US' });
    [d1, d2] = [await signUp(t, { country: 'FR' }), await signUp(t, { country: 'FR' })];
    const { id: modelId } = await createModel(t, vendor);
    offer = await publishOk(t, vendor, modelId, { pricing: { currency: 'EUR', poolEligible: true } });
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(async () => {
    setNow(null);
    await t.close();
  });

  async function gql(query: string, vars: Record<string, unknown>, user: TestUser) {
    const r = await t.gql(query, vars, user.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!;
  }
  const settle = (invoiceId: string) =>
    t.app.get(Database).transaction((tx) => t.app.get(InvoiceSettlementService).settle(tx, invoiceId, { paymentIntentId: `pi_${invoiceId.slice(0, 8)}`, chargeId: null }));
  const refundTo = (invoiceId: string, total: bigint) =>
    t.app.get(Database).transaction((tx) => t.app.get(PaymentReversalService).applyRefundedTotal(tx, invoiceId, total, { source: 'ADMIN' }));
  async function poolAgreement(user: TestUser, o = offer): Promise<string> {
    const r = await gql(ACCEPT, { i: { offerId: o.id, organizationId: user.organizationId, acceptedTermsHash: o.termsHash, viaPool: true } }, user);
    const id = r.acceptLicenseOffer.id as string;
    await t.dataSource.query(`UPDATE license_agreements SET starts_at = $2, accepted_at = $2 WHERE id = $1`, [id, m4.start.toISOString()]);
    return id;
  }
  const seed = (agreementId: string, p: PeriodRange, tokens: number) =>
    t.dataSource.query(
      `INSERT INTO usage_period_totals (agreement_id, period_start, input_tokens, output_tokens, overage_tokens, events) VALUES ($1, $2, $3, 0, 0, 1)`,
      [agreementId, p.start.toISOString(), tokens],
    );
  const invoiceOf = async (user: TestUser, p: PeriodRange, currency = 'EUR'): Promise<string> =>
    (await t.dataSource.query(`SELECT id FROM invoices WHERE kind = 'POOL' AND distiller_organization_id = $1 AND period = $2 AND currency = $3`, [user.organizationId, p.period, currency]))[0].id;
  async function entries(reference: string): Promise<Record<string, string>> {
    const rows: { code: string; amount: string }[] = await t.dataSource.query(
      `SELECT a.code, sum(e.amount_minor)::text AS amount FROM ledger_transactions x JOIN ledger_entries e ON e.transaction_id = x.id
         JOIN ledger_accounts a ON a.id = e.account_id WHERE x.reference = $1 GROUP BY a.code`,
      [reference],
    );
    return Object.fromEntries(rows.map((r) => [r.code, r.amount]));
  }
  const balance = async (code: string, currency = 'EUR'): Promise<bigint> =>
    BigInt(
      (await t.dataSource.query(
        `SELECT coalesce(sum(e.amount_minor), 0)::text AS b FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE a.code = $1 AND e.currency = $2`,
        [code, currency],
      ))[0].b,
    );

  it('a refund of a distributed month is netted from the next distribution, off the gross before the fee', async () => {
    setNow(firstOf(m4));
    plan = (await gql(CREATE_PLAN, { i: { name: 'Clawback', currency: 'EUR', monthlyFeeMinor: String(FEE), tokenAllowance: '1000000', overage: 'REFUSE', distribution: 'PRO_RATA', minimumTokensToEarn: '0', platformFeeBps: FEE_BPS } }, admin)).createPoolPlan.plan.id;
    for (const u of [d1, d2]) {
      const s = (await gql(SUBSCRIBE, { p: plan, o: u.organizationId }, u)).subscribeToPool;
      expect(await settle(s.firstInvoiceId)).toBe('settled');
      await seed(await poolAgreement(u), m4, 1000);
    }
    setNow(firstOf(m3));
    const first = (await gql(CLOSE, { p: m4.period }, admin)).closePoolPeriod;
    expect(first.distributions[0]).toMatchObject({ gross: { amountMinor: '20000' }, platformFee: { amountMinor: '4000' }, distributed: { amountMinor: '16000' }, clawback: { amountMinor: '0' } });
    expect(await balance(`pool:${m4.period}`)).toBe(0n);

    // d1's first month is partly refunded after it was distributed: its pool goes short by the refund.
    const d1m4 = await invoiceOf(d1, m4);
    expect(await refundTo(d1m4, 2500n)).toBe(2500n);
    expect(await balance(`pool:${m4.period}`)).toBe(2500n);

    for (const u of [d1, d2]) expect(await settle(await invoiceOf(u, m3))).toBe('settled');
    const [a1] = await t.dataSource.query(`SELECT id FROM license_agreements WHERE distiller_organization_id = $1`, [d1.organizationId]);
    await seed(a1.id, m3, 1000);
    setNow(firstOf(m2));
    const second = (await gql(CLOSE, { p: m3.period }, admin)).closePoolPeriod.distributions[0];
    // Gross 20,000 less the clawback 2,500 = 17,500 → fee 3,500, teachers 14,000.
    const [fee, net] = splitBps(20_000n - 2500n, FEE_BPS);
    expect(second).toMatchObject({ gross: { amountMinor: '20000' }, clawback: { amountMinor: '2500' }, clawbackCarried: { amountMinor: '0' }, platformFee: { amountMinor: String(fee) }, distributed: { amountMinor: String(net) } });
    expect(await entries(`pool:${plan}:${m3.period}:distributed`)).toEqual({
      [`pool:${m3.period}`]: '20000',
      [`pool:${m4.period}`]: '-2500',
      'platform:fees': String(-fee),
      [`vendor:${vendor.organizationId}:payable`]: String(-net),
    });
    // The refunded pool is back to zero; the new one fully used.
    expect(await balance(`pool:${m4.period}`)).toBe(0n);
    expect(await balance(`pool:${m3.period}`)).toBe(0n);

    // The admins' statement names the refund; a vendor's shows the total but not whose refund it was.
    const all = (await gql(STATEMENT, { p: plan, period: m3.period }, admin)).poolStatement;
    const d1Sub = (await t.dataSource.query(`SELECT id FROM pool_subscriptions WHERE distiller_organization_id = $1`, [d1.organizationId]))[0].id;
    expect(all.clawbacks).toEqual([{ subscriptionId: d1Sub, organizationId: d1.organizationId, period: m4.period, invoiceId: d1m4, amount: { amountMinor: '2500' } }]);
    expect(all.distribution).toMatchObject({ clawback: { amountMinor: '2500' }, distributed: { amountMinor: String(net) } });
    const mine = (await gql(STATEMENT, { p: plan, period: m3.period, o: vendor.organizationId }, vendor)).poolStatement;
    expect(mine).toMatchObject({ complete: false, clawbacks: [], distribution: { clawback: { amountMinor: '2500' } } });
    expect(mine.lines.reduce((s: bigint, l: any) => s + BigInt(l.amount.amountMinor), 0n)).toBe(net);
    // Another organization's view of it: NOT_FOUND.
    const foreign = await t.gql(STATEMENT, { p: plan, period: m3.period, o: vendor.organizationId }, d2.token);
    expect(foreign.errors?.[0].extensions.code).toBe('NOT_FOUND');

    // Closing again nets nothing twice.
    const count = async () => (await t.dataSource.query(`SELECT (SELECT count(*) FROM ledger_transactions)::int AS tx, (SELECT count(*) FROM pool_distribution_clawbacks)::int AS c`))[0];
    const before = await count();
    await gql(CLOSE, { p: m3.period }, admin);
    expect(await count()).toEqual(before);
  });

  it('a clawback beyond the next gross takes all of it (teachers get nothing, never negative); the excess waits for the following distribution', async () => {
    // d1's first month refunded in full (7,500 more) and d2's second month in full (10,000): 17,500 outstanding.
    expect(await refundTo(await invoiceOf(d1, m4), FEE)).toBe(7500n);
    expect(await refundTo(await invoiceOf(d2, m3), FEE)).toBe(FEE);
    // Only d1 pays m2 (10,000).
    expect(await settle(await invoiceOf(d1, m2))).toBe('settled');
    const [a1] = await t.dataSource.query(`SELECT id FROM license_agreements WHERE distiller_organization_id = $1`, [d1.organizationId]);
    await seed(a1.id, m2, 1000);
    const payableBefore = await balance(`vendor:${vendor.organizationId}:payable`);
    setNow(firstOf(m1));
    const third = (await gql(CLOSE, { p: m2.period }, admin)).closePoolPeriod.distributions[0];
    expect(third).toMatchObject({ gross: { amountMinor: '10000' }, clawback: { amountMinor: '10000' }, clawbackCarried: { amountMinor: '7500' }, platformFee: { amountMinor: '0' }, distributed: { amountMinor: '0' }, carried: { amountMinor: '0' } });
    // Oldest first: m4's 7,500, then 2,500 of m3's 10,000.
    expect(await entries(`pool:${plan}:${m2.period}:distributed`)).toEqual({ [`pool:${m2.period}`]: '10000', [`pool:${m4.period}`]: '-7500', [`pool:${m3.period}`]: '-2500' });
    expect(await balance(`vendor:${vendor.organizationId}:payable`)).toBe(payableBefore);
    expect(await balance(`pool:${m4.period}`)).toBe(0n);
    expect(await balance(`pool:${m3.period}`)).toBe(7500n);
    const lines = (await gql(STATEMENT, { p: plan, period: m2.period }, admin)).poolStatement.lines;
    expect(lines.every((l: any) => l.amount.amountMinor === '0')).toBe(true);

    // The following distribution nets the remaining 7,500 first.
    for (const u of [d1, d2]) expect(await settle(await invoiceOf(u, m1))).toBe('settled');
    await seed(a1.id, m1, 1000);
    setNow(null);
    const fourth = (await gql(CLOSE, { p: m1.period }, admin)).closePoolPeriod.distributions[0];
    const [fee, net] = splitBps(20_000n - 7500n, FEE_BPS);
    expect(fourth).toMatchObject({ gross: { amountMinor: '20000' }, clawback: { amountMinor: '7500' }, clawbackCarried: { amountMinor: '0' }, platformFee: { amountMinor: String(fee) }, distributed: { amountMinor: String(net) } });
    for (const p of [m4, m3, m2, m1]) expect(await balance(`pool:${p.period}`)).toBe(0n);
    // Every refund netted exactly once: what the distributions clawed back is what was refunded after distribution.
    const [sum] = await t.dataSource.query(`SELECT sum(amount_minor)::text AS s FROM pool_distribution_clawbacks WHERE plan_id = $1`, [plan]);
    expect(sum.s).toBe(String(2500n + 7500n + FEE));
  });

  it('a refund racing the distributions of two versions of the plan is netted exactly once (the plan\'s lock)', async () => {
    // USD: v1 with s1 (distributed in m4) and s2 (m3); v2 (same name) with s3 (m3). Two distributions of m3 — one per version — race a refund of s1's m4.
    const users = [await signUp(t, { country: 'FR' }), await signUp(t, { country: 'FR' }), await signUp(t, { country: 'FR' })];
    const usd = await publishOk(t, vendor, (await createModel(t, vendor)).id, { pricing: { currency: 'USD', poolEligible: true } });
    const input = { name: 'Race', currency: 'USD', monthlyFeeMinor: String(FEE), tokenAllowance: '1000000', overage: 'REFUSE', distribution: 'PRO_RATA', minimumTokensToEarn: '0', platformFeeBps: 0 };
    setNow(firstOf(m4));
    const v1 = (await gql(CREATE_PLAN, { i: input }, admin)).createPoolPlan.plan.id;
    const s1 = (await gql(SUBSCRIBE, { p: v1, o: users[0].organizationId }, users[0])).subscribeToPool;
    expect(await settle(s1.firstInvoiceId)).toBe('settled');
    await seed(await poolAgreement(users[0], usd), m4, 1000);
    setNow(firstOf(m3));
    const s2 = (await gql(SUBSCRIBE, { p: v1, o: users[1].organizationId }, users[1])).subscribeToPool;
    const v2 = (await gql(CREATE_PLAN, { i: input }, admin)).createPoolPlan.plan.id;
    const s3 = (await gql(SUBSCRIBE, { p: v2, o: users[2].organizationId }, users[2])).subscribeToPool;
    for (const s of [s2, s3]) expect(await settle(s.firstInvoiceId)).toBe('settled');
    for (const u of [users[1], users[2]]) await seed(await poolAgreement(u, usd), m3, 1000);
    setNow(null);
    const closes = t.app.get(PoolCloseService);
    await closes.closePlan(null, v1, m4);
    await refundTo(s1.firstInvoiceId, 1000n); // outstanding 1,000 before the race

    // Released together on separate connections: the two distributions and a refund of 500 more.
    // Each distribution holds on to what it read as outstanding until both have read (or a grace period passed).
    const barrier = barrierBefore(closes, 'closePlan', 2);
    const hold = holdAfter(t.app.get(PoolDistributionRepository), 'outstandingClawbacks', 2);
    try {
      await Promise.all([closes.closePlan(null, v1, m3), closes.closePlan(null, v2, m3), refundTo(s1.firstInvoiceId, 1500n)]);
    } finally {
      barrier.restore();
      hold.restore();
    }
    const clawed = async () => BigInt((await t.dataSource.query(`SELECT coalesce(sum(amount_minor), 0)::text AS s FROM pool_distribution_clawbacks WHERE plan_id IN ($1, $2)`, [v1, v2]))[0].s);
    // Whatever the order, no more than the refunds; whatever the race left outstanding is netted by the next distribution.
    expect(await clawed()).toBeLessThanOrEqual(1500n);
    expect(await t.app.get(PoolSubscriptionService).renew(m2.period)).toMatchObject({ invoiced: 3 });
    for (const u of users) expect(await settle(await invoiceOf(u, m2, 'USD'))).toBe('settled');
    const [ua] = await t.dataSource.query(`SELECT id FROM license_agreements WHERE distiller_organization_id = $1`, [users[2].organizationId]);
    await seed(ua.id, m2, 1000);
    await closes.closePlan(null, v2, m2);
    expect(await clawed()).toBe(1500n);
    expect(await balance(`pool:${m4.period}`, 'USD')).toBe(0n);
    const [row] = await t.dataSource.query(`SELECT clawed_back_minor::text AS c FROM pool_subscription_periods WHERE invoice_id = $1`, [s1.firstInvoiceId]);
    expect(row.c).toBe('1500');

    // A dispute lost on a distributed month takes the money out of its pool like a refund: netted by the next distribution.
    const reversal = t.app.get(PaymentReversalService);
    await t.app.get(Database).transaction((tx) =>
      reversal.disputeClosed(tx, s3.firstInvoiceId, { disputeId: 'dp_pool_1', chargeId: 'ch_pool_1', amountMinor: 2000n, currency: 'USD', reason: 'fraudulent' }, 'lost'),
    );
    expect(await balance(`pool:${m3.period}`, 'USD')).toBe(2000n);
    expect(await t.app.get(PoolSubscriptionService).renew(m1.period)).toMatchObject({ invoiced: 3 });
    for (const u of users) expect(await settle(await invoiceOf(u, m1, 'USD'))).toBe('settled');
    await seed(ua.id, m1, 1000);
    const next = await closes.closePlan(null, v2, m1);
    expect(next.distribution).toMatchObject({ grossMinor: 3n * FEE, clawbackMinor: 2000n, clawbackCarriedMinor: 0n, distributedMinor: 3n * FEE - 2000n });
    expect(await balance(`pool:${m3.period}`, 'USD')).toBe(0n);
    expect(await clawed()).toBe(3500n);
  });
});
