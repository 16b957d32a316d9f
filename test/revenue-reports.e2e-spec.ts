/**
 * Downstream revenue reports end to end: a distiller reports what a student
 * model earned outside the platform; the close of the period open at
 * acceptance bills the royalties of its stack as ROYALTY lines on the
 * distiller's PERIOD invoice (even without usage); corrections bill or credit
 * only the difference, a credit the invoice cannot absorb waits; thresholds
 * raise licence notices; missing reports are listed; paying the invoice
 * credits the ancestors' vendors. One timeline: the billing clock moves month
 * by month and each month is closed in turn.
 */
import { nextPeriod, periodOf, PeriodRange, previousPeriod } from '../src/billing/billing-period';
import { RevenueRepository } from '../src/billing/revenue/revenue.repository';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { Clock } from '../src/platform/clock/clock';
import { splitBps } from '../src/platform/money/allocation';
import { startTestApp, TestApp } from './support/app';
import { closePeriod, invoicesOf, report as reportUsageEvents, usageReporter } from './support/billing';
import { assertLedgerInvariant } from './support/ledger-invariant';
import { acceptAgreement } from './support/metering';
import { licensed, listedTeacher, ListedTeacher, listWithOffer, registerStudent } from './support/provenance';
import { makeAdmin, signUp, TestUser } from './support/users';

const FEE_BPS = 1500;

const REPORT = `mutation($i: ReportModelRevenueInput!) { reportModelRevenue(input: $i) {
  id modelId organizationId period revision billingPeriod activeUsers evidenceUrl gross { amountMinor currency }
  royalties { ancestorModelId vendorOrganizationId agreementId policy shareBps depth amount { amountMinor currency } }
  notices { metric effect threshold observed agreementId vendorOrganizationId currency } } }`;
const NOTICES = `query($o: ID, $first: Int, $after: String) { licenseNotices(organizationId: $o, first: $first, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { id reportId agreementId vendorOrganizationId distillerOrganizationId modelId period metric effect threshold observed currency } } } }`;
const MISSING = `query($p: String!, $o: ID, $first: Int, $after: String) { missingRevenueReports(period: $p, organizationId: $o, first: $first, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { modelId modelName organizationId period } } } }`;
const ROYALTY_INVOICE = `query($id: ID!) { invoice(id: $id) { id status currency period total { amountMinor }
  lines(first: 100) { edges { node { position kind description agreementId modelId vendorOrganizationId usagePeriod quantity unitPricePerMillion { amountMinor }
    amount { amountMinor } revenueReportId studentModelId royaltyPolicy royaltyShareBps } } } } }`;
const PAY = `mutation($id: ID!) { payInvoice(id: $id) { outcome invoice { id status } } }`;

describe('downstream revenue reports → royalty invoice lines (e2e)', () => {
  let t: TestApp;
  let vendorA: TestUser;
  let vendorB: TestUser;
  let vendorC: TestUser;
  let vendorE: TestUser;
  let distiller: TestUser;
  let distiller2: TestUser;
  let distiller3: TestUser;
  let consumer: TestUser;
  let outsider: TestUser;
  let admin: TestUser;
  let tA: ListedTeacher; // vendor A, LAP 5 %, thresholds
  let tC: ListedTeacher; // vendor C, LAP 2 %
  let tBId: string; // vendor B's model, itself a student of tC, offered LRP 10 %
  let tE: ListedTeacher; // vendor E, LRP 10 %
  let edgeA: { parentModelId: string; agreementId: string };
  let edgeB: { parentModelId: string; agreementId: string };
  let student: { id: string; name: string };
  let paidStudent: { id: string; name: string };
  let student2: { id: string; name: string };
  let student3: { id: string; name: string };
  /** The gross of student 3's later revision (the two concurrent reports). */
  let student3Latest: bigint;
  const M0 = periodOf(new Date());
  const month = (n: number): PeriodRange => {
    let p = M0;
    for (let i = 0; i < n; i++) p = nextPeriod(p);
    return p;
  };
  const PREV = previousPeriod(M0).period;

  beforeAll(async () => {
    t = await startTestApp({ platformFeeBps: FEE_BPS });
    [vendorA, vendorB, vendorC, vendorE, distiller, distiller2, distiller3, consumer, outsider] = await Promise.all(
      Array.from({ length: 9 }, () => signUp(t, { country: 'US' })),
    );
    admin = await makeAdmin(t, await signUp(t));
    tA = await listedTeacher(t, vendorA, {
      royalty: { policy: 'LAP', shareBps: 500 },
      terms: {
        thresholds: [
          { metric: 'MONTHLY_ACTIVE_USERS', value: '1000', effect: 'SEPARATE_LICENSE_REQUIRED' },
          { metric: 'MONTHLY_REVENUE', value: '50000', effect: 'NOTICE_REQUIRED' },
        ],
      },
    });
    tC = await listedTeacher(t, vendorC, { royalty: { policy: 'LAP', shareBps: 200 } });
    tE = await listedTeacher(t, vendorE, { royalty: { policy: 'LRP', shareBps: 1000 } });
    // Vendor B's model is a student of tC (LAP 2 %), offered under LRP 10 %.
    const b = await registerStudent(t, vendorB, [await licensed(t, vendorB, tC)], { name: 'Teacher B' });
    tBId = b.id;
    const offerB = await listWithOffer(t, vendorB, tBId, { policy: 'LRP', shareBps: 1000 });
    edgeA = await licensed(t, distiller, tA);
    edgeB = { parentModelId: tBId, agreementId: await acceptAgreement(t, distiller, offerB) };
    student = await registerStudent(t, distiller, [edgeA, edgeB]);
    paidStudent = await registerStudent(t, distiller2, [await licensed(t, distiller2, tA), await licensed(t, distiller2, tE)]);
    student3 = await registerStudent(t, distiller3, [await licensed(t, distiller3, tA)]);
  });
  afterAll(() => t.close());

  const setNow = (p: PeriodRange) => jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(new Date(p.start.getTime() + 3_600_000));
  const reportRevenue = (user: TestUser, i: Record<string, unknown>) => t.gql(REPORT, { i: { currency: 'EUR', ...i } }, user.token);
  const ok = async (user: TestUser, i: Record<string, unknown>) => {
    const r = await reportRevenue(user, i);
    expect(r.errors).toBeUndefined();
    return r.data!.reportModelRevenue;
  };
  const counts = async () =>
    (
      await t.dataSource.query(
        `SELECT (SELECT count(*) FROM model_revenue_reports)::int AS reports, (SELECT count(*) FROM model_revenue_royalties)::int AS royalties,
                (SELECT count(*) FROM license_notices)::int AS notices, (SELECT count(*) FROM audit_log)::int AS audit`,
      )
    )[0];
  /** The EUR PERIOD invoice of a month, with the royalty fields of its lines. */
  const periodInvoice = async (user: TestUser, period: string, currency = 'EUR') => {
    const found = (await invoicesOf(t, user.token, user.organizationId, { kind: 'PERIOD', period })).find((i) => i.currency === currency);
    if (!found) return null;
    const r = await t.gql(ROYALTY_INVOICE, { id: found.id }, user.token);
    expect(r.errors).toBeUndefined();
    return r.data!.invoice;
  };
  const royaltyLines = (invoice: any) =>
    invoice.lines.edges
      .map((e: any) => e.node)
      .filter((l: any) => l.kind === 'ROYALTY')
      .map((l: any) => [l.studentModelId, l.modelId, l.royaltyPolicy, l.royaltyShareBps, l.amount.amountMinor]);
  /** Everything ROYALTY lines have billed for a student's month, per ancestor. */
  const billedFor = async (studentId: string, period: string) =>
    Object.fromEntries(
      (
        await t.dataSource.query(
          `SELECT l.model_id, sum(l.amount_minor)::text AS s FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
            WHERE l.kind = 'ROYALTY' AND l.student_model_id = $1 AND l.usage_period = $2 AND i.currency = 'EUR' GROUP BY l.model_id`,
          [studentId, period],
        )
      ).map((r: any) => [r.model_id, r.s]),
    );
  const payable = async (vendor: TestUser): Promise<bigint> => {
    const [r] = await t.dataSource.query(
      `SELECT coalesce(sum(e.amount_minor), 0)::text AS s FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE a.code = $1`,
      [`vendor:${vendor.organizationId}:payable`],
    );
    return -BigInt(r.s);
  };
  async function savePaymentMethod(user: TestUser): Promise<void> {
    const s = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: user.organizationId }, user.token);
    expect(s.errors).toBeUndefined();
    const c = await t.gql(
      `mutation($o: ID!, $s: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: "pm_sandbox_visa") { organizationId } }`,
      { o: user.organizationId, s: s.data!.createPaymentSetup.setupIntentId },
      user.token,
    );
    expect(c.errors).toBeUndefined();
    await t.app.get(WebhookInboxService).drain();
  }

  it('refuses invalid reports field by field and writes nothing', async () => {
    const before = await counts();
    const bad = await reportRevenue(distiller, {
      modelId: student.id,
      period: month(1).period,
      grossMinor: '-5',
      currency: 'eur',
      evidenceUrl: 'http://evidence.example/x',
      activeUsers: '1.5',
    });
    expect(bad.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(bad.errors![0].extensions.fields.map((f: any) => f.field).sort()).toEqual(['activeUsers', 'currency', 'evidenceUrl', 'grossMinor', 'period']);
    for (const i of [
      { period: '2026-13' },
      { grossMinor: '1e5' },
      { grossMinor: '007' },
      { grossMinor: '9223372036854775808' },
      { currency: 'XXQ' },
      { evidenceUrl: 'javascript:alert(1)' },
      { modelId: 'not-a-uuid' },
    ]) {
      const r = await reportRevenue(distiller, { modelId: student.id, period: PREV, grossMinor: '100', ...i });
      expect({ i, code: r.errors?.[0].extensions.code }).toEqual({ i, code: 'BAD_USER_INPUT' });
    }
    expect(await counts()).toEqual(before);
  });

  it("another organization's model, or an unknown one, is NOT_FOUND — for the ancestor's vendor too — and nothing is written", async () => {
    const before = await counts();
    for (const [user, modelId] of [
      [outsider, student.id],
      [vendorA, student.id],
      [distiller2, student.id],
      [distiller, '00000000-0000-4000-8000-000000000000'],
    ] as const) {
      const r = await reportRevenue(user, { modelId, period: PREV, grossMinor: '100' });
      expect(r.errors?.[0].extensions.code).toBe('NOT_FOUND');
      expect(r.data).toBeNull();
    }
    expect(await counts()).toEqual(before);
  });

  it('a report returns the royalties of a three-entry stack (LRP parent, LAP parent, LAP grandparent) and raises threshold notices once', async () => {
    const before = await counts();
    const r = await ok(distiller, { modelId: student.id, period: PREV, grossMinor: '100000', activeUsers: '5000', evidenceUrl: 'https://evidence.example/nov.pdf' });
    expect(r).toMatchObject({ modelId: student.id, organizationId: distiller.organizationId, period: PREV, revision: 1, billingPeriod: M0.period, gross: { amountMinor: '100000', currency: 'EUR' } });
    expect(r.royalties.map((x: any) => [x.ancestorModelId, x.vendorOrganizationId, x.policy, x.shareBps, x.depth, x.amount.amountMinor])).toEqual([
      [tBId, vendorB.organizationId, 'LRP', 1000, 1, '10000'],
      [tA.modelId, vendorA.organizationId, 'LAP', 500, 1, '5000'],
      [tC.modelId, vendorC.organizationId, 'LAP', 200, 2, '2000'],
    ]);
    // tA's licence: 5000 users > 1000, 100000 EUR (the offer's currency) > 50000.
    expect(r.notices.map((n: any) => [n.metric, n.effect, n.threshold, n.observed, n.agreementId, n.vendorOrganizationId, n.currency]).sort()).toEqual([
      ['MONTHLY_ACTIVE_USERS', 'SEPARATE_LICENSE_REQUIRED', '1000', '5000', edgeA.agreementId, vendorA.organizationId, null],
      ['MONTHLY_REVENUE', 'NOTICE_REQUIRED', '50000', '100000', edgeA.agreementId, vendorA.organizationId, 'EUR'],
    ]);
    const after = await counts();
    expect(after).toMatchObject({ reports: before.reports + 1, royalties: before.royalties + 3, notices: before.notices + 2 });
    const audited = await t.dataSource.query(`SELECT action FROM audit_log WHERE seq > (SELECT max(seq) - 3 FROM audit_log) ORDER BY seq`);
    expect(audited.map((a: any) => a.action)).toEqual(['billing.revenue.reported', 'licensing.notice.raised', 'licensing.notice.raised']);

    // In another currency the revenue threshold (EUR) does not apply; users under the threshold raise nothing.
    const usd = await ok(distiller, { modelId: student.id, period: PREV, grossMinor: '900000', currency: 'USD', activeUsers: '10' });
    expect(usd).toMatchObject({ revision: 1, notices: [] });
    expect(usd.royalties.map((x: any) => x.amount)).toEqual([
      { amountMinor: '90000', currency: 'USD' },
      { amountMinor: '45000', currency: 'USD' },
      { amountMinor: '18000', currency: 'USD' },
    ]);
  });

  it('notices: the vendor and admins see them (paged); another organization is NOT_FOUND, listing all is for admins', async () => {
    const own = await t.gql(NOTICES, { o: vendorA.organizationId, first: 1 }, vendorA.token);
    expect(own.errors).toBeUndefined();
    expect(own.data!.licenseNotices.edges).toHaveLength(1);
    expect(own.data!.licenseNotices.pageInfo.hasNextPage).toBe(true);
    const next = await t.gql(NOTICES, { o: vendorA.organizationId, first: 5, after: own.data!.licenseNotices.pageInfo.endCursor }, vendorA.token);
    expect(next.data!.licenseNotices.edges).toHaveLength(1);
    expect(next.data!.licenseNotices.pageInfo.hasNextPage).toBe(false);
    const metrics = [own, next].map((x) => x.data!.licenseNotices.edges[0].node.metric).sort();
    expect(metrics).toEqual(['MONTHLY_ACTIVE_USERS', 'MONTHLY_REVENUE']);
    const all = await t.gql(NOTICES, { first: 10 }, admin.token);
    expect(all.data!.licenseNotices.edges).toHaveLength(2);
    for (const user of [outsider, distiller, vendorB]) {
      const r = await t.gql(NOTICES, { o: vendorA.organizationId }, user.token);
      expect(r.errors?.[0].extensions.code).toBe('NOT_FOUND');
    }
    expect((await t.gql(NOTICES, {}, vendorA.token)).errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(NOTICES, { o: vendorB.organizationId }, vendorB.token)).data!.licenseNotices.edges).toEqual([]);
  });

  it('the close bills the royalties on the next PERIOD invoice although the distiller had no usage; paying it credits the ancestors', async () => {
    // Paid on the platform this month: the consumer uses the student (for the reminders below).
    await listWithOffer(t, distiller, student.id, { policy: 'LAP', shareBps: 100 });
    const offers = await t.dataSource.query(`SELECT id, terms_hash FROM license_offers WHERE model_id = $1`, [student.id]);
    const consumerAgreement = await acceptAgreement(t, consumer, { id: offers[0].id, termsHash: offers[0].terms_hash });
    await reportUsageEvents(t, await usageReporter(t, distiller), [{ agreementId: consumerAgreement, at: new Date().toISOString(), input: 1_000_000, output: 0 }]);

    const paid = await ok(distiller2, { modelId: paidStudent.id, period: PREV, grossMinor: '33333' });
    expect(paid.royalties.map((x: any) => [x.ancestorModelId, x.amount.amountMinor])).toEqual([
      [tE.modelId, '3333'], // 10 % of 33333 = 3333.3
      [tA.modelId, '1667'], // 5 % = 1666.65 → the leftover unit goes here (largest remainder)
    ]);

    setNow(month(1));
    const closed = await closePeriod(t, admin.token, M0.period);
    expect(closed).toMatchObject({ __typename: 'BillingPeriodClose', period: M0.period });
    await assertLedgerInvariant(t.dataSource);

    const inv = await periodInvoice(distiller, M0.period);
    expect(inv).toMatchObject({ status: 'OPEN', currency: 'EUR', total: { amountMinor: '17000' } });
    expect(royaltyLines(inv)).toEqual([
      [student.id, tBId, 'LRP', 1000, '10000'],
      [student.id, tA.modelId, 'LAP', 500, '5000'],
      [student.id, tC.modelId, 'LAP', 200, '2000'],
    ]);
    const line = inv.lines.edges[1].node;
    expect(line).toMatchObject({ usagePeriod: PREV, quantity: null, unitPricePerMillion: null, agreementId: edgeA.agreementId, vendorOrganizationId: vendorA.organizationId });
    expect(line.description).toBe(`Royalty LAP 5.00% on ${student.name} revenue ${PREV}`);
    // The grandparent's line names the licence of the edge tC → tB.
    const [{ id: bOnC }] = await t.dataSource.query(`SELECT agreement_id AS id FROM model_lineage_edges WHERE child_model_id = $1`, [tBId]);
    expect(inv.lines.edges[2].node.agreementId).toBe(bOnC);
    const usd = await periodInvoice(distiller, M0.period, 'USD');
    expect(usd.total.amountMinor).toBe('153000');
    expect(new Set(inv.lines.edges.map((e: any) => e.node.revenueReportId)).size).toBe(1);

    // Paying distiller 2's invoice: each ancestor's vendor is credited its line minus the platform fee.
    const inv2 = await periodInvoice(distiller2, M0.period);
    expect(royaltyLines(inv2)).toEqual([
      [paidStudent.id, tE.modelId, 'LRP', 1000, '3333'],
      [paidStudent.id, tA.modelId, 'LAP', 500, '1667'],
    ]);
    const [beforeA, beforeE] = [await payable(vendorA), await payable(vendorE)];
    await savePaymentMethod(distiller2);
    const pay = await t.gql(PAY, { id: inv2.id }, distiller2.token);
    expect(pay.data!.payInvoice).toMatchObject({ outcome: 'PAID', invoice: { status: 'PAID' } });
    await assertLedgerInvariant(t.dataSource);
    expect((await payable(vendorE)) - beforeE).toBe(splitBps(3333n, FEE_BPS)[1]);
    expect((await payable(vendorA)) - beforeA).toBe(splitBps(1667n, FEE_BPS)[1]);

    // The consumer pays its usage invoice of the student.
    const usage = await periodInvoice(consumer, M0.period);
    await savePaymentMethod(consumer);
    expect((await t.gql(PAY, { id: usage.id }, consumer.token)).data!.payInvoice.outcome).toBe('PAID');

    // A repeated close writes nothing more.
    const again = await closePeriod(t, admin.token, M0.period);
    expect(again).toMatchObject({ alreadyClosed: true, invoicesCreated: 0 });
  });

  it('reminders: a student model with paid platform usage in a closed month and no report for it', async () => {
    const list = async (user: TestUser, vars: Record<string, unknown>) => t.gql(MISSING, { p: M0.period, ...vars }, user.token);
    const own = await list(distiller, { o: distiller.organizationId });
    expect(own.errors).toBeUndefined();
    expect(own.data!.missingRevenueReports.edges.map((e: any) => e.node)).toEqual([
      { modelId: student.id, modelName: student.name, organizationId: distiller.organizationId, period: M0.period },
    ]);
    expect((await list(admin, {})).data!.missingRevenueReports.edges.map((e: any) => e.node.modelId)).toEqual([student.id]);
    for (const user of [outsider, vendorA, consumer]) expect((await list(user, { o: distiller.organizationId })).errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect((await list(distiller, {})).errors?.[0].extensions.code).toBe('FORBIDDEN');
    // An open month has no reminders yet.
    expect((await t.gql(MISSING, { p: month(1).period, o: distiller.organizationId }, distiller.token)).errors?.[0].extensions.code).toBe('CONFLICT');
    // Reporting the month (even zero revenue) clears the reminder.
    await ok(distiller, { modelId: student.id, period: M0.period, grossMinor: '0' });
    expect((await list(distiller, { o: distiller.organizationId })).data!.missingRevenueReports.edges).toEqual([]);
  });

  it('two concurrent reports of one model and month (separate connections, released together): two revisions, the later one billed', async () => {
    const repo = t.app.get(RevenueRepository);
    const original = repo.lockReportKey.bind(repo);
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const spy = jest.spyOn(repo, 'lockReportKey').mockImplementation(async (...args) => {
      if (++arrived >= 2) open();
      await gate; // both transactions are open and past their validation
      return original(...args);
    });
    try {
      const results = await Promise.all(['40000', '80000'].map((g) => reportRevenue(distiller3, { modelId: student3.id, period: PREV, grossMinor: g })));
      expect(results.map((r) => r.errors)).toEqual([undefined, undefined]);
      expect(results.map((r) => r.data!.reportModelRevenue.revision).sort()).toEqual([1, 2]);
    } finally {
      spy.mockRestore();
    }
    const revs = await t.dataSource.query(`SELECT revision, gross_minor::text AS g FROM model_revenue_reports WHERE model_id = $1 ORDER BY revision`, [student3.id]);
    expect(revs).toHaveLength(2);
    student3Latest = BigInt(revs[1].g);
  });

  it('a correction upwards bills only the difference; a close racing a later correction bills the earlier revision only', async () => {
    // Accepted in month 1: billed at its close.
    await ok(distiller, { modelId: student.id, period: PREV, grossMinor: '120000' });
    setNow(month(2));
    // The close of month 1 runs while a correction (accepted in month 2) commits: the close reads the royalties
    // only after the correction committed, and still bills month 1's revision.
    const repo = t.app.get(RevenueRepository);
    const original = repo.royaltyState.bind(repo);
    let release!: () => void;
    const reported = new Promise<void>((r) => (release = r));
    let calls = 0;
    const spy = jest.spyOn(repo, 'royaltyState').mockImplementation(async (...args) => {
      if (++calls === 1) await reported;
      return original(...args);
    });
    try {
      const closing = closePeriod(t, admin.token, month(1).period);
      await new Promise((r) => setTimeout(r, 200));
      const down = await ok(distiller, { modelId: student.id, period: PREV, grossMinor: '20000' });
      expect(down).toMatchObject({ revision: 3, billingPeriod: month(2).period });
      release();
      expect(await closing).toMatchObject({ __typename: 'BillingPeriodClose' });
      expect(calls).toBeGreaterThan(0);
    } finally {
      spy.mockRestore();
    }
    await assertLedgerInvariant(t.dataSource);
    const inv = await periodInvoice(distiller, month(1).period);
    expect(royaltyLines(inv)).toEqual([
      [student.id, tBId, 'LRP', 1000, '2000'],
      [student.id, tA.modelId, 'LAP', 500, '1000'],
      [student.id, tC.modelId, 'LAP', 200, '400'],
    ]);
    expect(inv.lines.edges[0].node.description).toContain('correction: 120.00 EUR owed, 100.00 EUR billed before');
    expect(await billedFor(student.id, PREV)).toEqual({ [tBId]: '12000', [tA.modelId]: '6000', [tC.modelId]: '2400' });
    // The concurrent reports of student 3: what is billed is the later revision's royalty, once.
    expect(await billedFor(student3.id, PREV)).toEqual({ [tA.modelId]: String(splitBps(student3Latest, 500)[0]) });
  });

  it('a correction downwards is a credit, held while the invoice cannot absorb it, then taken as far as the vendor’s lines allow', async () => {
    // Month 2's close: the downward correction's credits (−10000, −5000, −2000) have nothing to absorb them: no invoice.
    setNow(month(3));
    await closePeriod(t, admin.token, month(2).period);
    expect(await periodInvoice(distiller, month(2).period)).toBeNull();
    expect(await billedFor(student.id, PREV)).toEqual({ [tBId]: '12000', [tA.modelId]: '6000', [tC.modelId]: '2400' });

    // A second student under tA (vendor A) earns a royalty: vendor A's credit is taken up to it.
    student2 = await registerStudent(t, distiller, [edgeA]);
    await ok(distiller, { modelId: student2.id, period: month(2).period, grossMinor: '60000' });
    setNow(month(4));
    // Two closes at once (the job and an admin): one invoice, its royalty lines once.
    const closes = await Promise.all([closePeriod(t, admin.token, month(3).period), closePeriod(t, admin.token, month(3).period)]);
    expect(closes.map((c) => c.__typename)).toEqual(['BillingPeriodClose', 'BillingPeriodClose']);
    const [{ n }] = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM invoices WHERE kind = 'PERIOD' AND period = $1 AND distiller_organization_id = $2`,
      [month(3).period, distiller.organizationId],
    );
    expect(n).toBe(1);
    const inv = await periodInvoice(distiller, month(3).period);
    expect(royaltyLines(inv)).toEqual([
      [student2.id, tA.modelId, 'LAP', 500, '3000'],
      [student.id, tA.modelId, 'LAP', 500, '-3000'],
    ]);
    expect(inv).toMatchObject({ status: 'PAID', total: { amountMinor: '0' } });
    expect(inv.lines.edges[1].node.description).toContain('credit taken now, the rest later');

    // The rest of vendor A's credit (2000) goes on the next invoice that can take it; B's and C's still wait.
    await ok(distiller, { modelId: student2.id, period: month(2).period, grossMinor: '140000' });
    setNow(month(5));
    await closePeriod(t, admin.token, month(4).period);
    const next = await periodInvoice(distiller, month(4).period);
    expect(royaltyLines(next)).toEqual([
      [student2.id, tA.modelId, 'LAP', 500, '4000'],
      [student.id, tA.modelId, 'LAP', 500, '-2000'],
    ]);
    expect(next).toMatchObject({ status: 'OPEN', total: { amountMinor: '2000' } });
    expect(await billedFor(student.id, PREV)).toEqual({ [tBId]: '12000', [tA.modelId]: '1000', [tC.modelId]: '2400' });
    // No invoice line ever let a vendor's lines on an invoice sum below zero.
    const negative = await t.dataSource.query(
      `SELECT invoice_id, vendor_organization_id FROM invoice_lines GROUP BY invoice_id, vendor_organization_id HAVING sum(amount_minor) < 0`,
    );
    expect(negative).toEqual([]);
    await assertLedgerInvariant(t.dataSource);
  });

  it("skips a stack entry whose ancestor the reporting organization owns itself", async () => {
    // The distiller's own teacher X (LAP 3 %), distilled by vendor B into Y (LAP 4 %), which the distiller distils into S.
    const x = await listedTeacher(t, distiller, { royalty: { policy: 'LAP', shareBps: 300 } });
    const y = await registerStudent(t, vendorB, [await licensed(t, vendorB, x)], { name: 'Teacher Y' });
    const offerY = await listWithOffer(t, vendorB, y.id, { policy: 'LAP', shareBps: 400 });
    const s = await registerStudent(t, distiller, [{ parentModelId: y.id, agreementId: await acceptAgreement(t, distiller, offerY) }]);
    const r = await ok(distiller, { modelId: s.id, period: PREV, grossMinor: '10001' });
    // Only Y's 4 %: allocate(10001, [400, 9600]) → 400.04 → 400.
    expect(r.royalties.map((e: any) => [e.ancestorModelId, e.vendorOrganizationId, e.shareBps, e.amount.amountMinor])).toEqual([
      [y.id, vendorB.organizationId, 400, '400'],
    ]);
  });
});
