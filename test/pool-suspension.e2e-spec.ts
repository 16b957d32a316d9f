/**
 * Pool renewals and the subscription's state: a subscription suspended for
 * non-payment is not invoiced again while it stays suspended (as a
 * distiller's suspended agreements earn no new charges); paying what was
 * written off reinstates it with its agreements and invoices the rest of the
 * current month, once. A cancelled subscription — suspended or not — ends at
 * the period's end: no invoice, its pool agreements terminated.
 */
import { InvoiceSettlementService } from '../src/billing/collection/invoice-settlement.service';
import { coveredDays, periodOf, PeriodRange, previousPeriod } from '../src/billing/billing-period';
import { PoolSubscriptionService } from '../src/billing/pool/pool-subscription.service';
import { Clock } from '../src/platform/clock/clock';
import { Database } from '../src/platform/database/transaction';
import { allocate } from '../src/platform/money/allocation';
import { startTestApp, TestApp } from './support/app';
import { useLedgerInvariant } from './support/ledger-invariant';
import { createModel, publishOk } from './support/licensing';
import { makeAdmin, signUp, TestUser } from './support/users';

const FEE = 6000n;

describe('pool subscriptions: suspension, reinstatement and cancellation at renewal (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let vendor: TestUser;
  let offer: { id: string; termsHash: string };
  let plan: string;
  const m1 = previousPeriod(periodOf(new Date()));
  const m2 = previousPeriod(m1);
  const setNow = (d: Date | null) => {
    t.app.get(Clock).now = d === null ? () => new Date() : () => new Date(d);
  };
  const at = (p: PeriodRange, days: number) => new Date(p.start.getTime() + days * 86_400_000 + 3_600_000);

  beforeAll(async () => {
    t = await startTestApp({ platformFeeBps: 1500, collectionRetryHours: [1] });
    admin = await makeAdmin(t, await signUp(t, { country: 'US' }));
    vendor = await signUp(t, { country: 'US' });
    offer = await publishOk(t, vendor, (await createModel(t, vendor)).id, { pricing: { currency: 'EUR', poolEligible: true } });
    setNow(at(m2, 0));
    const r = await t.gql(`mutation($i: CreatePoolPlanInput!) { createPoolPlan(input: $i) { plan { id } } }`, {
      i: { name: 'Renewals', currency: 'EUR', monthlyFeeMinor: String(FEE), tokenAllowance: '1000000', overage: 'REFUSE', distribution: 'PRO_RATA', minimumTokensToEarn: '0', platformFeeBps: 1000 },
    }, admin.token);
    plan = r.data!.createPoolPlan.plan.id;
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(async () => {
    setNow(null);
    await t.close();
  });

  const settle = (invoiceId: string) =>
    t.app.get(Database).transaction((tx) => t.app.get(InvoiceSettlementService).settle(tx, invoiceId, { paymentIntentId: `pi_${invoiceId.slice(0, 8)}`, chargeId: null }));
  const fail = (invoiceId: string, n: number) =>
    t.app.get(Database).transaction((tx) => t.app.get(InvoiceSettlementService).recordFailure(tx, invoiceId, { code: 'card_declined', message: `decline ${n}` }, null));
  async function subscriber(): Promise<{ user: TestUser; sub: string; invoice: string; agreement: string }> {
    const user = await signUp(t, { country: 'FR' });
    const s = (await t.gql(`mutation($p: ID!, $o: ID!) { subscribeToPool(planId: $p, organizationId: $o) { ... on PoolSubscription { id firstInvoiceId } } }`, { p: plan, o: user.organizationId }, user.token)).data!.subscribeToPool;
    const a = (await t.gql(`mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { ... on LicenseAgreement { id } } }`, {
      i: { offerId: offer.id, organizationId: user.organizationId, acceptedTermsHash: offer.termsHash, viaPool: true },
    }, user.token)).data!.acceptLicenseOffer.id;
    return { user, sub: s.id, invoice: s.firstInvoiceId, agreement: a };
  }
  const state = async (sub: string) => (await t.dataSource.query(`SELECT status, suspension_cause, ended_at FROM pool_subscriptions WHERE id = $1`, [sub]))[0];
  const agreementStatus = async (id: string) => (await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [id]))[0].status;
  const poolInvoices = async (sub: string) =>
    (await t.dataSource.query(`SELECT period, total_minor::text AS total, status FROM invoices WHERE kind = 'POOL' AND pool_subscription_id = $1 ORDER BY period`, [sub])) as { period: string; total: string; status: string }[];

  it('a suspended subscription is not invoiced again; paying reinstates it and invoices the rest of the month, once', async () => {
    setNow(at(m2, 0));
    const s = await subscriber();
    await fail(s.invoice, 1);
    expect((await fail(s.invoice, 2)).kind).toBe('uncollectible');
    expect(await state(s.sub)).toMatchObject({ status: 'SUSPENDED', suspension_cause: 'NON_PAYMENT' });

    setNow(at(m1, 0));
    const renewals = t.app.get(PoolSubscriptionService);
    const first = await renewals.renew(m1.period);
    expect(first).toMatchObject({ invoiced: 0, suspended: 1 });
    expect(await renewals.renew(m1.period)).toMatchObject({ invoiced: 0, suspended: 1 });
    expect(await poolInvoices(s.sub)).toEqual([{ period: m2.period, total: String(FEE), status: 'UNCOLLECTIBLE' }]);
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM pool_subscription_periods WHERE subscription_id = $1`, [s.sub]))[0].n).toBe(1);

    // Paid on the 11th of last month: reinstated with its agreement, invoiced the 11th to the month's end.
    const paidAt = at(m1, 10);
    setNow(paidAt);
    expect(await settle(s.invoice)).toBe('settled');
    expect(await state(s.sub)).toMatchObject({ status: 'ACTIVE', suspension_cause: null });
    expect(await agreementStatus(s.agreement)).toBe('ACTIVE');
    const days = coveredDays(m1, paidAt, null);
    const prorated = allocate(FEE, [BigInt(days), BigInt(m1.days - days)])[0];
    expect(await poolInvoices(s.sub)).toEqual([
      { period: m2.period, total: String(FEE), status: 'PAID' },
      { period: m1.period, total: String(prorated), status: 'OPEN' },
    ]);
    // A renewal afterwards (the job, or an admin's close) invoices nothing more for the month.
    expect(await renewals.renew(m1.period)).toMatchObject({ invoiced: 0, suspended: 0 });
    expect(await poolInvoices(s.sub)).toHaveLength(2);
  });

  it("the overage of the month before a suspension is billed on the reinstatement's invoice, at the price it was used under, once", async () => {
    setNow(at(m2, 0));
    const chfOffer = await publishOk(t, vendor, (await createModel(t, vendor)).id, { pricing: { currency: 'CHF', poolEligible: true } });
    const billPlan = (await t.gql(`mutation($i: CreatePoolPlanInput!) { createPoolPlan(input: $i) { plan { id } } }`, {
      i: { name: 'Overage', currency: 'CHF', monthlyFeeMinor: String(FEE), tokenAllowance: '1000000', overage: 'BILL', overagePerMillionMinor: '2000', distribution: 'PRO_RATA', minimumTokensToEarn: '0', platformFeeBps: 1000 },
    }, admin.token)).data!.createPoolPlan.plan.id;
    const user = await signUp(t, { country: 'FR' });
    const sub = (await t.gql(`mutation($p: ID!, $o: ID!) { subscribeToPool(planId: $p, organizationId: $o) { ... on PoolSubscription { id firstInvoiceId } } }`, { p: billPlan, o: user.organizationId }, user.token)).data!.subscribeToPool;
    const agreement = (await t.gql(`mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { ... on LicenseAgreement { id } } }`, {
      i: { offerId: chfOffer.id, organizationId: user.organizationId, acceptedTermsHash: chfOffer.termsHash, viaPool: true },
    }, user.token)).data!.acceptLicenseOffer.id;
    // 1.5 M tokens in the first month: 500,000 beyond the allowance (10.00 CHF at 20.00 per million).
    await t.dataSource.query(
      `INSERT INTO usage_period_totals (agreement_id, period_start, input_tokens, output_tokens, overage_tokens, events) VALUES ($1, $2, 1000000, 500000, 0, 3)`,
      [agreement, m2.start.toISOString()],
    );
    await fail(sub.firstInvoiceId, 1);
    expect((await fail(sub.firstInvoiceId, 2)).kind).toBe('uncollectible');
    setNow(at(m1, 0));
    expect(await t.app.get(PoolSubscriptionService).renew(m1.period)).toMatchObject({ suspended: 1 });

    const paidAt = at(m1, 20);
    setNow(paidAt);
    expect(await settle(sub.firstInvoiceId)).toBe('settled');
    const days = coveredDays(m1, paidAt, null);
    const prorated = allocate(FEE, [BigInt(days), BigInt(m1.days - days)])[0];
    const lines = await t.dataSource.query(
      `SELECT l.kind, l.usage_period, l.quantity::text, l.amount_minor::text FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
        WHERE i.pool_subscription_id = $1 AND i.period = $2 ORDER BY l.position`,
      [sub.id, m1.period],
    );
    expect(lines).toEqual([
      { kind: 'POOL_FEE', usage_period: m1.period, quantity: null, amount_minor: String(prorated) },
      { kind: 'POOL_OVERAGE', usage_period: m2.period, quantity: '500000', amount_minor: '1000' },
    ]);
    // The next renewal bills the month after (nothing beyond the allowance), not the same overage again.
    setNow(at(periodOf(new Date()), 0));
    await t.app.get(PoolSubscriptionService).renew(periodOf(new Date()).period);
    const overageLines = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.pool_subscription_id = $1 AND l.kind = 'POOL_OVERAGE'`,
      [sub.id],
    );
    expect(overageLines[0].n).toBe(1);
  });

  it('a cancelled subscription ends at the period end with its pool agreements, suspended or not: no invoice', async () => {
    setNow(at(m2, 3));
    const active = await subscriber();
    const suspended = await subscriber();
    expect(await settle(active.invoice)).toBe('settled');
    await fail(suspended.invoice, 1);
    await fail(suspended.invoice, 2);
    for (const s of [active, suspended]) {
      const r = await t.gql(`mutation($s: ID!) { cancelPoolSubscription(subscriptionId: $s) { status cancelAtPeriodEnd } }`, { s: s.sub }, s.user.token);
      expect(r.data!.cancelPoolSubscription.cancelAtPeriodEnd).toBe(true);
    }
    // Another organization cannot cancel it: NOT_FOUND, nothing changed.
    const foreign = await t.gql(`mutation($s: ID!) { cancelPoolSubscription(subscriptionId: $s) { status } }`, { s: active.sub }, suspended.user.token);
    expect(foreign.errors?.[0].extensions.code).toBe('NOT_FOUND');
    // Still live until the period ends.
    expect(await state(active.sub)).toMatchObject({ status: 'ACTIVE' });
    expect(await agreementStatus(active.agreement)).toBe('ACTIVE');

    setNow(at(m1, 0));
    const r = await t.app.get(PoolSubscriptionService).renew(m1.period);
    expect(r.ended).toBeGreaterThanOrEqual(2);
    for (const s of [active, suspended]) {
      const st = await state(s.sub);
      expect(st.status).toBe('ENDED');
      expect(new Date(st.ended_at).getTime()).toBe(m1.start.getTime());
      expect(await agreementStatus(s.agreement)).toBe('TERMINATED');
      expect((await poolInvoices(s.sub)).map((i) => i.period)).toEqual([m2.period]);
    }
  });
});
