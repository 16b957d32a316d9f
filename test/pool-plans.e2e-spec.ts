/**
 * The pool plan end to end: two plans (PRO_RATA and USER_CENTRIC), three
 * distillers subscribing, five pool-eligible teachers (one a student with a
 * royalty stack, one below the threshold), pool agreements accepted under the
 * subscriptions, usage metered, two periods closed. Checks: prorated first
 * invoice, only paid subscriptions distributed, the ledger transaction of each
 * distribution and the royalty cascade, statements equal to the ledger, an
 * unpaid subscription suspended, excluded, and its late payment joining the
 * next distribution, self-dealing flagged and held until released, renewal and
 * cancellation, idempotent and concurrent closes, authorization.
 *
 * Time: the platform Clock is moved to the month before last (subscriptions,
 * its close) and then to last month; that month's usage is seeded into the
 * monthly rollup (the ingestion API only takes recent events), last month's
 * usage goes through the real ingestion API.
 */
import { InvoiceSettlementService } from '../src/billing/collection/invoice-settlement.service';
import { periodOf, previousPeriod } from '../src/billing/billing-period';
import { PoolCloseService } from '../src/earnings/pool/pool-close.service';
import { PoolSubscriptionService } from '../src/billing/pool/pool-subscription.service';
import { Clock } from '../src/platform/clock/clock';
import { Database } from '../src/platform/database/transaction';
import { allocate } from '../src/platform/money/allocation';
import { startTestApp, TestApp } from './support/app';
import { closePeriod, report, usageReporter } from './support/billing';
import { useLedgerInvariant } from './support/ledger-invariant';
import { createModel, publishOk } from './support/licensing';
import { acceptAgreement } from './support/metering';
import { registerStudent } from './support/provenance';
import { makeAdmin, signUp, TestUser } from './support/users';

const ACCEPT = `mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) {
  __typename ... on LicenseAgreement { id status poolSubscriptionId } ... on BusinessError { code message } ... on PoolAgreementNotAllowedError { reason } } }`;
const CREATE_PLAN = `mutation($i: CreatePoolPlanInput!) { createPoolPlan(input: $i) { plan { id name version status distribution currency monthlyFee { amountMinor } }
  superseded { id status } } }`;
const SUBSCRIBE = `mutation($p: ID!, $o: ID!) { subscribeToPool(planId: $p, organizationId: $o) { __typename
  ... on PoolSubscription { id status planId firstInvoiceId } ... on BusinessError { code } ... on PoolSubscriptionExistsError { subscription { id } } } }`;
const CLOSE = `mutation($p: String!) { closePoolPeriod(period: $p) { __typename
  ... on PoolPeriodClose { period renewed ended distributions { planId period distribution gross { amountMinor } platformFee { amountMinor }
      distributed { amountMinor } carried { amountMinor } remainder { amountMinor } totalEligibleTokens } }
  ... on PoolPeriodNotEndedError { code currentPeriod } } }`;
const STATEMENT = `query($p: ID!, $period: String!, $o: ID) { poolStatement(planId: $p, period: $period, organizationId: $o) {
  complete planName distribution { gross { amountMinor } platformFee { amountMinor } distributed { amountMinor } }
  lines { modelId vendorOrganizationId tokens aboveThreshold tokenShareBps amount { amountMinor } flags held releasedAt }
  subscribers { organizationId paid { amountMinor } net { amountMinor } eligibleTokens toRemainder }
  feeBreakdown { modelId tokens amount { amountMinor } } } }`;

const FEE = 10_000n; // €100.00 a month

describe('pool plans (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let v: TestUser[]; // vendors of T1..T5
  let d1: TestUser;
  let d2: TestUser;
  let d3: TestUser;
  let teachers: Array<{ modelId: string; offer: { id: string; termsHash: string } }>;
  let pr: string;
  let uc: string;
  const clock = () => t.app.get(Clock);
  const realNow = new Date();
  const m1 = previousPeriod(periodOf(realNow)); // last month
  const m2 = previousPeriod(m1); // the month before
  const setNow = (d: Date | null) => {
    clock().now = d === null ? () => new Date() : () => new Date(d);
  };

  beforeAll(async () => {
    t = await startTestApp({ platformFeeBps: 1500, collectionRetryHours: [1], poolFlagSubscriberShareBps: 10_000 });
    admin = await makeAdmin(t, await signUp(t, { country: 'US' }));
    v = [];
    for (let i = 0; i < 5; i++) v.push(await signUp(t, { country: 'US' }));
    [d1, d2, d3] = [await signUp(t, { country: 'FR' }), await signUp(t, { country: 'FR' }), await signUp(t, { country: 'FR' })];
    teachers = [];
    for (let i = 0; i < 4; i++) {
      const { id: modelId } = await createModel(t, v[i]);
      teachers.push({ modelId, offer: await publishOk(t, v[i], modelId, { pricing: { poolEligible: true } }) });
    }
    // T5: a student of T1 (LAP 10 % on T1's licence) — its pool earnings pay T1's vendor its royalty.
    const parent = await publishOk(t, v[0], teachers[0].modelId, { name: 'for students', terms: { royalty: { policy: 'LAP', shareBps: 1000 } } });
    const edge = { parentModelId: teachers[0].modelId, agreementId: await acceptAgreement(t, v[4], parent) };
    const student = await registerStudent(t, v[4], [edge]);
    await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: student.id }, v[4].token);
    teachers.push({ modelId: student.id, offer: await publishOk(t, v[4], student.id, { pricing: { poolEligible: true } }) });
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
  const fail = (invoiceId: string, n: number) =>
    t.app.get(Database).transaction((tx) => t.app.get(InvoiceSettlementService).recordFailure(tx, invoiceId, { code: "card_declined", message: `decline ${n}` }, null));
  async function poolAgreement(user: TestUser, teacher: number): Promise<string> {
    const r = await gql(ACCEPT, { i: { offerId: teachers[teacher].offer.id, organizationId: user.organizationId, acceptedTermsHash: teachers[teacher].offer.termsHash, viaPool: true } }, user);
    expect(r.acceptLicenseOffer).toMatchObject({ __typename: 'LicenseAgreement', status: 'ACTIVE' });
    // Dated back so the months under test fall inside its term.
    await t.dataSource.query(`UPDATE license_agreements SET starts_at = $2, accepted_at = $2 WHERE id = $1`, [r.acceptLicenseOffer.id, m2.start.toISOString()]);
    return r.acceptLicenseOffer.id;
  }
  const seedM2 = (agreementId: string, tokens: number) =>
    t.dataSource.query(
      `INSERT INTO usage_period_totals (agreement_id, period_start, input_tokens, output_tokens, overage_tokens, events) VALUES ($1, $2, $3, 0, 0, 1)`,
      [agreementId, m2.start.toISOString(), tokens],
    );
  async function entries(reference: string): Promise<Record<string, string>> {
    const rows: { code: string; amount: string }[] = await t.dataSource.query(
      `SELECT a.code, sum(e.amount_minor)::text AS amount FROM ledger_transactions x JOIN ledger_entries e ON e.transaction_id = x.id
         JOIN ledger_accounts a ON a.id = e.account_id WHERE x.reference = $1 GROUP BY a.code`,
      [reference],
    );
    return Object.fromEntries(rows.map((r) => [r.code, r.amount]));
  }
  const payable = (u: TestUser) => `vendor:${u.organizationId}:payable`;
  const heldAcct = (u: TestUser) => `vendor:${u.organizationId}:held`;

  const agreements: Record<string, string> = {};
  let invoices: Record<string, string> = {};
  let d3Fee = 0n;

  it('admins create plans (versioned); others cannot', async () => {
    const base = { currency: 'EUR', monthlyFeeMinor: String(FEE), tokenAllowance: '1000000', overage: 'REFUSE', minimumTokensToEarn: '1000', platformFeeBps: 2000 };
    const first = await gql(CREATE_PLAN, { i: { ...base, name: 'Pool', distribution: 'PRO_RATA', monthlyFeeMinor: '9000' } }, admin);
    const second = await gql(CREATE_PLAN, { i: { ...base, name: 'Pool', distribution: 'PRO_RATA' } }, admin);
    expect(second.createPoolPlan.plan).toMatchObject({ name: 'Pool', version: 2, status: 'ACTIVE', monthlyFee: { amountMinor: '10000' } });
    expect(second.createPoolPlan.superseded).toEqual({ id: first.createPoolPlan.plan.id, status: 'SUPERSEDED' });
    pr = second.createPoolPlan.plan.id;
    uc = (await gql(CREATE_PLAN, { i: { ...base, name: 'Pool UC', distribution: 'USER_CENTRIC' } }, admin)).createPoolPlan.plan.id;

    const refused = await t.gql(CREATE_PLAN, { i: { ...base, name: 'Mine', distribution: 'PRO_RATA' } }, d1.token);
    expect(refused.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const bad = await t.gql(CREATE_PLAN, { i: { ...base, name: 'Bad', distribution: 'PRO_RATA', overage: 'BILL', monthlyFeeMinor: '0' } }, admin.token);
    expect(bad.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(bad.errors)).toMatch(/overagePerMillionMinor is required/);
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM pool_plans WHERE name IN ('Mine', 'Bad')`))[0].n).toBe(0);
    // The superseded version takes no new subscribers.
    const late = await gql(SUBSCRIBE, { p: first.createPoolPlan.plan.id, o: d1.organizationId }, d1);
    expect(late.subscribeToPool).toEqual({ __typename: 'PoolPlanNotAvailableError', code: 'POOL_PLAN_NOT_AVAILABLE' });
  });

  it('subscribing invoices the first period at once, prorated by days; pool agreements need a subscription and a pool-eligible offer', async () => {
    // No subscription yet: refused, nothing written.
    const none = await gql(ACCEPT, { i: { offerId: teachers[0].offer.id, organizationId: d1.organizationId, acceptedTermsHash: teachers[0].offer.termsHash, viaPool: true } }, d1);
    expect(none.acceptLicenseOffer).toMatchObject({ __typename: 'PoolAgreementNotAllowedError', reason: 'NO_SUBSCRIPTION' });

    setNow(new Date(m2.start.getTime() + 3_600_000)); // the 1st of the month before last, 01:00
    const subs: Record<string, any> = {};
    for (const [name, user, plan] of [['d1', d1, pr], ['d2', d2, pr], ['v4', v[3], uc]] as const) {
      subs[name] = (await gql(SUBSCRIBE, { p: plan, o: user.organizationId }, user)).subscribeToPool;
      expect(subs[name]).toMatchObject({ __typename: 'PoolSubscription', status: 'ACTIVE', planId: plan });
    }
    setNow(new Date(m2.start.getTime() + 10 * 86_400_000 + 3_600_000)); // the 11th
    subs.d3 = (await gql(SUBSCRIBE, { p: uc, o: d3.organizationId }, d3)).subscribeToPool;
    const again = await gql(SUBSCRIBE, { p: uc, o: d3.organizationId }, d3);
    expect(again.subscribeToPool).toMatchObject({ __typename: 'PoolSubscriptionExistsError', subscription: { id: subs.d3.id } });
    invoices = Object.fromEntries(Object.entries(subs).map(([k, s]) => [k, s.firstInvoiceId]));

    const inv = async (id: string) => (await gql(`query($id: ID!) { invoice(id: $id) { kind status period total { amountMinor } lines(first: 5) { edges { node { kind agreementId vendorOrganizationId usagePeriod amount { amountMinor } } } } } }`, { id }, admin)).invoice;
    expect(await inv(invoices.d1)).toMatchObject({ kind: 'POOL', status: 'OPEN', period: m2.period, total: { amountMinor: String(FEE) } });
    const days = m2.days - 10;
    d3Fee = allocate(FEE, [BigInt(days), BigInt(m2.days - days)])[0];
    const third = await inv(invoices.d3);
    expect(third.total.amountMinor).toBe(d3Fee.toString());
    expect(third.lines.edges[0].node).toEqual({ kind: 'POOL_FEE', agreementId: null, vendorOrganizationId: null, usagePeriod: m2.period, amount: { amountMinor: d3Fee.toString() } });
    // Another organization's subscription is NOT_FOUND.
    const foreign = await t.gql(`query($id: ID!) { poolSubscription(id: $id) { id } }`, { id: subs.d1.id }, d2.token);
    expect(foreign.errors?.[0].extensions.code).toBe('NOT_FOUND');

    // Pool agreements: no upfront invoice, ACTIVE at once; a non-eligible offer is refused.
    const plain = await publishOk(t, v[0], teachers[0].modelId, { name: 'not in pool', pricing: { poolEligible: false, upfrontFeeMinor: '500' } });
    const notEligible = await gql(ACCEPT, { i: { offerId: plain.id, organizationId: d1.organizationId, acceptedTermsHash: plain.termsHash, viaPool: true } }, d1);
    expect(notEligible.acceptLicenseOffer).toMatchObject({ reason: 'NOT_POOL_ELIGIBLE' });
    agreements.d1t1 = await poolAgreement(d1, 0);
    agreements.d1t2 = await poolAgreement(d1, 1);
    agreements.d1t3 = await poolAgreement(d1, 2);
    agreements.d2t2 = await poolAgreement(d2, 1);
    agreements.d3t1 = await poolAgreement(d3, 0);
    agreements.d3t2 = await poolAgreement(d3, 1);
    agreements.d3t5 = await poolAgreement(d3, 4);
    agreements.v4t4 = await poolAgreement(v[3], 3); // its own model: allowed in the pool, flagged at distribution
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM invoices WHERE kind = 'UPFRONT'`))[0].n).toBe(0);
  });

  it('an unpaid invoice written off suspends the subscription and its pool agreements; a payment reinstates them', async () => {
    await fail(invoices.d2, 1);
    const o = await fail(invoices.d2, 2);
    expect(o.kind).toBe('uncollectible');
    const sub = async () => (await t.dataSource.query(`SELECT status, suspension_cause FROM pool_subscriptions WHERE distiller_organization_id = $1`, [d2.organizationId]))[0];
    expect(await sub()).toEqual({ status: 'SUSPENDED', suspension_cause: 'NON_PAYMENT' });
    expect((await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [agreements.d2t2]))[0].status).toBe('SUSPENDED');
    const refused = await gql(ACCEPT, { i: { offerId: teachers[0].offer.id, organizationId: d2.organizationId, acceptedTermsHash: teachers[0].offer.termsHash, viaPool: true } }, d2);
    expect(refused.acceptLicenseOffer).toMatchObject({ reason: 'SUBSCRIPTION_SUSPENDED' });
  });

  it('closing the month before last distributes only what was paid, from the rollups, in one ledger transaction per plan', async () => {
    for (const k of ['d1', 'd3', 'v4']) expect(await settle(invoices[k])).toBe('settled');
    // Usage of that month (monthly rollups): d2's does not count (its invoice is unpaid).
    await seedM2(agreements.d1t1, 30_000);
    await seedM2(agreements.d1t2, 10_000);
    await seedM2(agreements.d1t3, 999); // T3: below the 1,000-token threshold
    await seedM2(agreements.d2t2, 50_000);
    await seedM2(agreements.d3t1, 20_000);
    await seedM2(agreements.d3t2, 20_000);
    await seedM2(agreements.d3t5, 10_000);
    await seedM2(agreements.v4t4, 40_000);

    setNow(new Date(m2.start.getTime() + 3_600_000));
    const early = await gql(CLOSE, { p: m2.period }, admin);
    expect(early.closePoolPeriod).toMatchObject({ __typename: 'PoolPeriodNotEndedError', code: 'POOL_PERIOD_NOT_ENDED' });
    setNow(new Date(m1.start.getTime() + 3_600_000));
    const closed = (await gql(CLOSE, { p: m2.period }, admin)).closePoolPeriod;
    expect(closed.__typename).toBe('PoolPeriodClose');
    expect(closed.renewed).toBe(3); // every live subscription is invoiced for last month, except d2: suspended, no new invoice until it pays

    // PRO_RATA: only d1 paid: 10,000 → fee 2,000; net 8,000 over T1 30,000 and T2 10,000 tokens (T3 below threshold).
    const prd = closed.distributions.find((x: any) => x.planId === pr);
    expect(prd).toMatchObject({ gross: { amountMinor: '10000' }, platformFee: { amountMinor: '2000' }, distributed: { amountMinor: '8000' }, totalEligibleTokens: '40000' });
    expect(await entries(`pool:${pr}:${m2.period}:distributed`)).toEqual({
      [`pool:${m2.period}`]: '10000',
      'platform:fees': '-2000',
      [payable(v[0])]: '-6000',
      [payable(v[1])]: '-2000',
    });

    // USER_CENTRIC: d3 paid d3Fee, v4 paid 10,000; fee 20 % of the gross; each one's net only to the teachers it used.
    const gross = d3Fee + FEE;
    const fee = allocate(gross, [2000n, 8000n])[0];
    const [d3Net, v4Net] = allocate(gross - fee, [d3Fee, FEE]);
    // Each teacher's ideal is the sum of its subscribers' exact parts (d3: T1 20k, T2 20k, T5 10k tokens; v4: T4 only),
    // rounded once over the teachers (in id order) by the allocation rule.
    const ideal5 = new Map([[teachers[0].modelId, 2n * d3Net], [teachers[1].modelId, 2n * d3Net], [teachers[3].modelId, 5n * v4Net], [teachers[4].modelId, d3Net]]);
    const ids = [...ideal5.keys()].sort();
    const amounts = new Map(allocate(gross - fee, ids.map((id) => ideal5.get(id)!)).map((a, i) => [ids[i], a]));
    const [t1, t2, t5] = [amounts.get(teachers[0].modelId)!, amounts.get(teachers[1].modelId)!, amounts.get(teachers[4].modelId)!];
    expect(amounts.get(teachers[3].modelId)).toBe(v4Net);
    const ucd = closed.distributions.find((x: any) => x.planId === uc);
    expect(ucd).toMatchObject({ gross: { amountMinor: String(gross) }, platformFee: { amountMinor: String(fee) }, remainder: { amountMinor: '0' } });
    const royalty = allocate(t5, [1n, 9n])[0]; // T5 pays T1's vendor 10 % (LAP)
    expect(await entries(`pool:${uc}:${m2.period}:distributed`)).toEqual({
      [`pool:${m2.period}`]: String(gross),
      'platform:fees': String(-fee),
      [payable(v[0])]: String(-(t1 + royalty)),
      [payable(v[1])]: String(-t2),
      [payable(v[4])]: String(-(t5 - royalty)),
      [heldAcct(v[3])]: String(-v4Net), // v4 used its own model: SELF_DEALING, held for review
    });

    // Statements equal the ledger: the admin's lines sum to what was distributed; each vendor sees its own line.
    const all = (await gql(STATEMENT, { p: uc, period: m2.period }, admin)).poolStatement;
    expect(all.complete).toBe(true);
    expect(all.lines.reduce((s: bigint, l: any) => s + BigInt(l.amount.amountMinor), 0n)).toBe(gross - fee);
    expect(all.lines.find((l: any) => l.modelId === teachers[3].modelId)).toMatchObject({ flags: ['SELF_DEALING'], held: true, amount: { amountMinor: String(v4Net) } });
    const mine = (await gql(STATEMENT, { p: pr, period: m2.period, o: v[2].organizationId }, v[2])).poolStatement;
    expect(mine.lines).toEqual([{ modelId: teachers[2].modelId, vendorOrganizationId: v[2].organizationId, tokens: '999', aboveThreshold: false, tokenShareBps: 0, amount: { amountMinor: '0' }, flags: [], held: false, releasedAt: null }]);
    expect(mine.subscribers).toEqual([]);
    const v1Line = (await gql(STATEMENT, { p: pr, period: m2.period, o: v[0].organizationId }, v[0])).poolStatement.lines;
    expect(v1Line).toEqual([expect.objectContaining({ tokens: '30000', aboveThreshold: true, tokenShareBps: 7500, amount: { amountMinor: '6000' } })]);
    // The USER_CENTRIC distiller sees where its part went.
    const d3View = (await gql(STATEMENT, { p: uc, period: m2.period, o: d3.organizationId }, d3)).poolStatement;
    expect(d3View.subscribers).toEqual([{ organizationId: d3.organizationId, paid: { amountMinor: String(d3Fee) }, net: { amountMinor: String(d3Net) }, eligibleTokens: '50000', toRemainder: false }]);
    // Its own part split by its own tokens (2:2:1; ties to the smaller model id).
    const mineIds = [teachers[0].modelId, teachers[1].modelId, teachers[4].modelId].sort();
    const share = new Map([[teachers[0].modelId, 2n], [teachers[1].modelId, 2n], [teachers[4].modelId, 1n]]);
    const own = allocate(d3Net, mineIds.map((id) => share.get(id)!));
    expect(Object.fromEntries(d3View.feeBreakdown.map((b: any) => [b.modelId, b.amount.amountMinor]))).toEqual(Object.fromEntries(mineIds.map((id, i) => [id, String(own[i])])));
    expect(own.reduce((a, b) => a + b, 0n)).toBe(d3Net);
    // Outsiders: NOT_FOUND (naming their own organization or not).
    for (const [u, o] of [[d2, d2.organizationId], [d2, null], [v[2], v[0].organizationId]] as const) {
      const r = await t.gql(STATEMENT, { p: uc, period: m2.period, o }, u.token);
      expect(r.errors?.[0].extensions.code).toBe('NOT_FOUND');
    }
  });

  it('closing again writes nothing; held earnings are released by an admin down the royalty stack', async () => {
    const count = async () => (await t.dataSource.query(`SELECT (SELECT count(*) FROM ledger_transactions)::int AS tx, (SELECT count(*) FROM invoices)::int AS inv, (SELECT count(*) FROM pool_distributions)::int AS d`))[0];
    const before = await count();
    const again = (await gql(CLOSE, { p: m2.period }, admin)).closePoolPeriod;
    expect(again.renewed).toBe(0);
    expect(await count()).toEqual(before);

    const r = await t.gql(`mutation($p: ID!, $period: String!, $m: ID!) { releasePoolEarnings(planId: $p, period: $period, modelId: $m) }`, { p: uc, period: m2.period, m: teachers[3].modelId }, v[3].token);
    expect(r.errors?.[0].extensions.code).toBe('FORBIDDEN');
    await gql(`mutation($p: ID!, $period: String!, $m: ID!) { releasePoolEarnings(planId: $p, period: $period, modelId: $m) }`, { p: uc, period: m2.period, m: teachers[3].modelId }, admin);
    const held = (await gql(STATEMENT, { p: uc, period: m2.period }, admin)).poolStatement.lines.find((l: any) => l.modelId === teachers[3].modelId);
    const moved = await entries(`pool:${uc}:${m2.period}:${teachers[3].modelId}:released`);
    expect(moved).toEqual({ [heldAcct(v[3])]: held.amount.amountMinor, [payable(v[3])]: `-${held.amount.amountMinor}` });
  });

  it("last month: a late payment of the month before joins this distribution; usage through the ingestion API; cancellation ends at the period's end", async () => {
    setNow(null); // today: last month's usage reports are recent events again
    // d2 pays its written-off invoice late: reinstated, and invoiced the rest of this month (last month was not renewed while it was suspended).
    expect(await settle(invoices.d2)).toBe('settled');
    expect((await t.dataSource.query(`SELECT status FROM pool_subscriptions WHERE distiller_organization_id = $1`, [d2.organizationId]))[0].status).toBe('ACTIVE');
    expect((await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [agreements.d2t2]))[0].status).toBe('ACTIVE');
    const d2Invoices = await t.dataSource.query(`SELECT period FROM invoices WHERE kind = 'POOL' AND distiller_organization_id = $1 ORDER BY period`, [d2.organizationId]);
    expect(d2Invoices.map((i: any) => i.period)).toEqual([m2.period, periodOf(new Date()).period]);
    // Last month's invoices (renewals): pay d1's (d2 has none).
    const renewals: { id: string; org: string }[] = await t.dataSource.query(
      `SELECT i.id, i.distiller_organization_id AS org FROM invoices i WHERE i.kind = 'POOL' AND i.period = $1`,
      [m1.period],
    );
    for (const r of renewals.filter((x) => x.org === d1.organizationId || x.org === d2.organizationId)) expect(await settle(r.id)).toBe('settled');

    const key = async (u: TestUser) => usageReporter(t, u);
    const at = new Date(m1.end.getTime() - 3_600_000).toISOString();
    await report(t, await key(v[0]), [{ agreementId: agreements.d1t1, at, input: 6000, output: 4000 }]);
    await report(t, await key(v[1]), [{ agreementId: agreements.d2t2, at, input: 10000, output: 0 }]);

    const d3sub = (await t.dataSource.query(`SELECT id FROM pool_subscriptions WHERE distiller_organization_id = $1`, [d3.organizationId]))[0].id;
    const cancelled = await gql(`mutation($s: ID!) { cancelPoolSubscription(subscriptionId: $s) { status cancelAtPeriodEnd } }`, { s: d3sub }, d3);
    expect(cancelled.cancelPoolSubscription).toEqual({ status: 'ACTIVE', cancelAtPeriodEnd: true });
    const foreignCancel = await t.gql(`mutation($s: ID!) { cancelPoolSubscription(subscriptionId: $s) { status } }`, { s: d3sub }, d1.token);
    expect(foreignCancel.errors?.[0].extensions.code).toBe('NOT_FOUND');

    const closed = (await gql(CLOSE, { p: m1.period }, admin)).closePoolPeriod;
    // PRO_RATA: d1's fee of last month plus d2's late payment: 20,000 → fee 4,000, net 16,000, all to T1 (d2 did not pay for last month, its use of T2 then does not count).
    const prd = closed.distributions.find((x: any) => x.planId === pr);
    expect(prd).toMatchObject({ gross: { amountMinor: '20000' }, platformFee: { amountMinor: '4000' }, distributed: { amountMinor: '16000' } });
    expect(await entries(`pool:${pr}:${m1.period}:distributed`)).toEqual({
      [`pool:${m2.period}`]: '10000',
      [`pool:${m1.period}`]: '10000',
      'platform:fees': '-4000',
      [payable(v[0])]: '-16000',
    });
    // Every pool of the month before is now distributed.
    const [bal] = await t.dataSource.query(
      `SELECT coalesce(sum(e.amount_minor), 0)::text AS b FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE a.code = $1`,
      [`pool:${m2.period}`],
    );
    expect(bal.b).toBe('0');
    // USER_CENTRIC: nothing paid for last month (d3's and v4's renewals are open): nothing distributed, nothing posted.
    expect(closed.distributions.find((x: any) => x.planId === uc)).toMatchObject({ gross: { amountMinor: '0' }, distributed: { amountMinor: '0' } });
    expect(await entries(`pool:${uc}:${m1.period}:distributed`)).toEqual({});
    // d3 cancelled: ended with the month, its pool agreements terminated; the others renewed into this month.
    expect(closed.ended).toBe(1);
    expect(closed.renewed).toBe(2); // d1 and v4; d2 was invoiced this month when it paid
    expect((await t.dataSource.query(`SELECT status FROM pool_subscriptions WHERE id = $1`, [d3sub]))[0].status).toBe('ENDED');
    expect((await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [agreements.d3t1]))[0].status).toBe('TERMINATED');
  });

  it('concurrent closes of one plan and period write one distribution', async () => {
    // A fresh plan with one paid subscriber and usage in the month before last, closed twice at once.
    setNow(new Date(m2.start.getTime() + 3_600_000));
    const plan = (await gql(CREATE_PLAN, { i: { name: 'Race', currency: 'USD', monthlyFeeMinor: '5000', tokenAllowance: '1000', overage: 'REFUSE', distribution: 'PRO_RATA', minimumTokensToEarn: '0', platformFeeBps: 1000 } }, admin)).createPoolPlan.plan.id;
    const sub = (await gql(SUBSCRIBE, { p: plan, o: d1.organizationId }, d1)).subscribeToPool;
    expect(await settle(sub.firstInvoiceId)).toBe('settled');
    const usd = await publishOk(t, v[1], teachers[1].modelId, { name: 'usd pool', pricing: { currency: 'USD', poolEligible: true } });
    const a = (await gql(ACCEPT, { i: { offerId: usd.id, organizationId: d1.organizationId, acceptedTermsHash: usd.termsHash, viaPool: true } }, d1)).acceptLicenseOffer.id;
    await seedM2(a, 5000);
    setNow(null);
    const closes = t.app.get(PoolCloseService);
    const results = await Promise.all([0, 1, 2].map(() => closes.closePlan(null, plan, { period: m2.period, start: m2.start })));
    expect(results.filter((r) => r.createdNow)).toHaveLength(1);
    expect(results.every((r) => r.distribution.grossMinor === 5000n)).toBe(true);
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE reference = $1`, [`pool:${plan}:${m2.period}:distributed`]))[0].n).toBe(1);
  });

  it("vendors' earnings statements show their pool earnings per model (shares, royalties, held and released), equal to the ledger", async () => {
    setNow(null);
    // The month the month-before-last distribution was posted in (and the one before it) closed for billing.
    for (const p of [m2, m1]) expect(await closePeriod(t, admin.token, p.period)).toMatchObject({ __typename: 'BillingPeriodClose', status: 'CLOSED' });
    const STATEMENT_Q = `query($o: ID!, $p: String!) { earningsStatement(organizationId: $o, period: $p, currency: "EUR") { statement } }`;
    for (const vendor of v) {
      const st = (await gql(STATEMENT_Q, { o: vendor.organizationId, p: m1.period }, vendor)).earningsStatement.statement;
      const pool = (st.lines as any[]).filter((l) => l.source === 'POOL');
      // The ledger: the vendor's payable and held entries of the pool postings of the month, per model (from the posting's attribution).
      const ledger: { model_id: string; account: string; amount: string }[] = await t.dataSource.query(
        `SELECT pa.model_id, CASE a.kind WHEN 'VENDOR_HELD' THEN 'HELD' ELSE 'PAYABLE' END AS account, (-sum(e.amount_minor))::text AS amount
           FROM ledger_transactions x JOIN ledger_entries e ON e.transaction_id = x.id JOIN ledger_accounts a ON a.id = e.account_id
           LEFT JOIN pool_ledger_attributions pa ON pa.ledger_reference = x.reference AND pa.line_no = e.line_no
          WHERE x.kind IN ('POOL_DISTRIBUTED', 'POOL_EARNINGS_RELEASED') AND a.organization_id = $1 AND x.occurred_at >= $2 AND x.occurred_at < $3
          GROUP BY 1, 2 ORDER BY 1, 2`,
        [vendor.organizationId, m1.start.toISOString(), m1.end.toISOString()],
      );
      expect(ledger.every((r) => r.model_id !== null)).toBe(true); // every vendor entry of a pool posting names its model
      const fromStatement = new Map<string, bigint>();
      for (const l of pool) {
        expect(l.modelId).toEqual(expect.any(String));
        const k = `${l.modelId} ${l.account}`;
        fromStatement.set(k, (fromStatement.get(k) ?? 0n) + BigInt(l.amountMinor));
      }
      expect(Object.fromEntries([...fromStatement].filter(([, n]) => n !== 0n).map(([k, n]) => [k, String(n)]))).toEqual(
        Object.fromEntries(ledger.filter((r) => r.amount !== '0').map((r) => [`${r.model_id} ${r.account}`, r.amount])),
      );
      expect(BigInt(st.totalsBySource.POOL)).toBe(ledger.reduce((s, r) => s + BigInt(r.amount), 0n));
    }
    // T2's vendor: one line per distribution, each equal to the distribution's line for T2.
    const t2 = (await gql(STATEMENT_Q, { o: v[1].organizationId, p: m1.period }, v[1])).earningsStatement.statement.lines.filter((l: any) => l.source === 'POOL');
    const [{ total }] = await t.dataSource.query(
      `SELECT sum(l.amount_minor)::text AS total FROM pool_distribution_lines l JOIN pool_distributions d USING (plan_id, period)
        WHERE l.model_id = $1 AND d.closed_at >= $2 AND d.closed_at < $3`,
      [teachers[1].modelId, m1.start.toISOString(), m1.end.toISOString()],
    );
    expect(t2.map((l: any) => l.modelId)).toEqual(t2.map(() => teachers[1].modelId));
    expect(t2.reduce((s: bigint, l: any) => s + BigInt(l.amountMinor), 0n)).toBe(BigInt(total));
    // T5's vendor pays T1's vendor its royalty: a line on T5 (paid) and one on T1 (received), naming each other.
    const v1Lines = (await gql(STATEMENT_Q, { o: v[0].organizationId, p: m1.period }, v[0])).earningsStatement.statement.lines;
    expect(v1Lines.find((l: any) => l.source === 'POOL' && l.counterpartyOrganizationId === v[4].organizationId)).toMatchObject({ modelId: teachers[0].modelId });
  });

  // The REFUSE allowance under concurrent admissions and over HTTP: pool-allowance.e2e-spec.ts.

  it('BILL: tokens beyond the shared allowance are billed as a POOL_OVERAGE line on the next period\'s invoice', async () => {
    setNow(new Date(m2.start.getTime() + 3_600_000));
    const plan = (await gql(CREATE_PLAN, { i: { name: 'Metered', currency: 'CHF', monthlyFeeMinor: '1000', tokenAllowance: '1000', overage: 'BILL', overagePerMillionMinor: '2500', distribution: 'PRO_RATA', minimumTokensToEarn: '0', platformFeeBps: 0 } }, admin)).createPoolPlan.plan.id;
    const sub = (await gql(SUBSCRIBE, { p: plan, o: d2.organizationId }, d2)).subscribeToPool;
    const ids: string[] = [];
    for (const i of [0, 1]) {
      const o = await publishOk(t, v[i], teachers[i].modelId, { name: 'chf pool', pricing: { currency: 'CHF', poolEligible: true } });
      ids.push((await gql(ACCEPT, { i: { offerId: o.id, organizationId: d2.organizationId, acceptedTermsHash: o.termsHash, viaPool: true } }, d2)).acceptLicenseOffer.id);
    }
    // 3,000 + 2,001 tokens over two agreements in the month: 4,001 beyond the shared 1,000.
    await seedM2(ids[0], 3000);
    await seedM2(ids[1], 2001);
    setNow(new Date(m1.start.getTime() + 3_600_000));
    await t.app.get(PoolSubscriptionService).renew(m1.period);
    setNow(null);
    const [row] = await t.dataSource.query(`SELECT invoice_id, overage_tokens::text, overage_minor::text FROM pool_subscription_periods WHERE subscription_id = $1 AND period = $2`, [sub.id, m1.period]);
    expect(row).toMatchObject({ overage_tokens: '4001', overage_minor: '10' }); // 4,001 × 2,500 / 1,000,000 = 10.0025 → 10
    const lines = await t.dataSource.query(`SELECT kind, quantity::text, unit_price_minor::text, amount_minor::text, usage_period FROM invoice_lines WHERE invoice_id = $1 ORDER BY position`, [row.invoice_id]);
    expect(lines).toEqual([
      { kind: 'POOL_FEE', quantity: null, unit_price_minor: null, amount_minor: '1000', usage_period: m1.period },
      { kind: 'POOL_OVERAGE', quantity: '4001', unit_price_minor: '2500', amount_minor: '10', usage_period: m2.period },
    ]);
  });
});
