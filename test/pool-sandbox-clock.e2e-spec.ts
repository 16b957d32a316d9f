/**
 * The pool close job follows the sandbox clock: an admin's advance over three
 * month ends distributes each ended month in order and renews each month in
 * order (not only the last); a second advance within the month does nothing.
 */
import { nextPeriod, periodOf } from '../src/billing/billing-period';
import { InvoiceSettlementService } from '../src/billing/collection/invoice-settlement.service';
import { Clock } from '../src/platform/clock/clock';
import { Database } from '../src/platform/database/transaction';
import { startTestApp, TestApp } from './support/app';
import { useLedgerInvariant } from './support/ledger-invariant';
import { createModel, publishOk } from './support/licensing';
import { makeAdmin, signUp, TestUser } from './support/users';

const ADVANCE = `mutation($to: DateTime!) { advanceSandboxClock(to: $to) { __typename
  ... on SandboxClockAdvance { jobs { name succeeded detail } } ... on BusinessError { code } } }`;

describe('pool close job after a sandbox clock advance (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let vendor: TestUser;
  let distiller: TestUser;

  beforeAll(async () => {
    t = await startTestApp({ platformFeeBps: 1500 });
    admin = await makeAdmin(t, await signUp(t, { country: 'US' }));
    vendor = await signUp(t, { country: 'US' });
    distiller = await signUp(t, { country: 'FR' });
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(() => t.close());

  async function gql(query: string, vars: Record<string, unknown>, user: TestUser) {
    const r = await t.gql(query, vars, user.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!;
  }

  it('a jump over three month ends: three distributions in order, a renewal invoice for each month; a second advance is a no-op', async () => {
    const plan = (await gql(`mutation($i: CreatePoolPlanInput!) { createPoolPlan(input: $i) { plan { id } } }`, {
      i: { name: 'Clocked', currency: 'EUR', monthlyFeeMinor: '3000', tokenAllowance: '1000000', overage: 'REFUSE', distribution: 'PRO_RATA', minimumTokensToEarn: '0', platformFeeBps: 1000 },
    }, admin)).createPoolPlan.plan.id;
    const sub = (await gql(`mutation($p: ID!, $o: ID!) { subscribeToPool(planId: $p, organizationId: $o) { ... on PoolSubscription { id firstInvoiceId } } }`, { p: plan, o: distiller.organizationId }, distiller)).subscribeToPool;
    await t.app.get(Database).transaction((tx) => t.app.get(InvoiceSettlementService).settle(tx, sub.firstInvoiceId, { paymentIntentId: 'pi_clocked', chargeId: null }));
    const { id: modelId } = await createModel(t, vendor);
    const offer = await publishOk(t, vendor, modelId, { pricing: { currency: 'EUR', poolEligible: true } });
    const a = (await gql(`mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { ... on LicenseAgreement { id } } }`, {
      i: { offerId: offer.id, organizationId: distiller.organizationId, acceptedTermsHash: offer.termsHash, viaPool: true },
    }, distiller)).acceptLicenseOffer.id;
    const p0 = periodOf(t.app.get(Clock).now());
    await t.dataSource.query(`INSERT INTO usage_period_totals (agreement_id, period_start, input_tokens, output_tokens, overage_tokens, events) VALUES ($1, $2, 500, 0, 0, 1)`, [a, p0.start.toISOString()]);
    const p1 = nextPeriod(p0);
    const p2 = nextPeriod(p1);
    const p3 = nextPeriod(p2);

    const r = (await gql(ADVANCE, { to: new Date(p3.start.getTime() + 2 * 3_600_000).toISOString() }, admin)).advanceSandboxClock;
    expect(r.__typename).toBe('SandboxClockAdvance');
    const names = r.jobs.map((j: any) => j.name);
    // After the billing period close, before collection.
    expect(names.indexOf('billing.pool-close')).toBeGreaterThan(names.indexOf('billing.close-periods'));
    expect(names.indexOf('billing.pool-close')).toBeLessThan(names.indexOf('billing.collect-invoices'));
    const job = r.jobs.find((j: any) => j.name === 'billing.pool-close');
    expect(job.succeeded).toBe(true);
    expect(JSON.parse(job.detail)).toEqual({ months: [p0.period, p1.period, p2.period], distributed: 3, renewed: 3, ended: 0 });

    const dists = await t.dataSource.query(`SELECT period, gross_minor::text AS gross, distributed_minor::text AS distributed, closed_at FROM pool_distributions WHERE plan_id = $1 ORDER BY period`, [plan]);
    expect(dists.map((d: any) => d.period)).toEqual([p0.period, p1.period, p2.period]);
    // The first month's paid (prorated) fee is distributed; the renewals were issued unpaid (they join a later distribution once paid).
    const [first] = await t.dataSource.query(`SELECT total_minor::text AS t FROM invoices WHERE id = $1`, [sub.firstInvoiceId]);
    expect(dists[0]).toMatchObject({ gross: first.t });
    expect(BigInt(dists[0].distributed)).toBeGreaterThan(0n);
    const invoices = await t.dataSource.query(`SELECT period FROM invoices WHERE kind = 'POOL' AND pool_subscription_id = $1 ORDER BY period`, [sub.id]);
    expect(invoices.map((i: any) => i.period)).toEqual([p0.period, p1.period, p2.period, p3.period]);

    const count = async () => (await t.dataSource.query(`SELECT (SELECT count(*) FROM pool_distributions)::int AS d, (SELECT count(*) FROM invoices WHERE kind = 'POOL')::int AS i, (SELECT count(*) FROM ledger_transactions WHERE kind = 'POOL_DISTRIBUTED')::int AS l`))[0];
    const before = await count();
    const again = (await gql(ADVANCE, { to: new Date(p3.start.getTime() + 3 * 3_600_000).toISOString() }, admin)).advanceSandboxClock;
    const job2 = again.jobs.find((j: any) => j.name === 'billing.pool-close');
    expect(JSON.parse(job2.detail)).toEqual({ months: [p2.period], distributed: 0, renewed: 0, ended: 0 });
    expect(await count()).toEqual(before);
  });
});
