/**
 * Closing billing periods: usage of two distillers over two vendors and two
 * currencies, reported through POST /v1/usage/events in the previous month,
 * closed into one invoice per distiller and currency with hand-computed
 * half-up amounts; minimum commitment (full and partial month), overage
 * marked, a zero-total invoice, the ledger's INVOICE_ISSUED postings;
 * concurrent and repeated closes; late events billed once as adjustments at
 * the next close; refusals; authorization.
 */
import { Clock } from '../src/platform/clock/clock';
import { nextPeriod, PeriodRange } from '../src/billing/billing-period';
import { PeriodCloseService } from '../src/billing/close/period-close.service';
import { VendorFeeService } from '../src/billing/vendor-fee.service';
import { startTestApp, TestApp } from './support/app';
import {
  acceptFrom,
  billingCounts,
  CLOSE,
  closePeriod,
  INVOICE,
  INVOICES,
  inPeriod,
  invoicesOf,
  issuedPosting,
  lastPeriod,
  lineSummary,
  pricedOffer,
  report,
  usageReporter,
} from './support/billing';
import { useLedgerInvariant } from './support/ledger-invariant';
import { makeAdmin, signUp, TestUser } from './support/users';

describe('billing period close (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let v1: TestUser;
  let v2: TestUser;
  let d1: TestUser;
  let d2: TestUser;
  let d3: TestUser;
  let key1: string;
  let key2: string;
  /** d1: EUR at 150/600 per M */
  let a1: string;
  /** d1: USD at 1234/5678 per M */
  let a2: string;
  /** d1: EUR at 10000/20000 per M, minimum 100000, quota 1,000,000 tokens */
  let a3: string;
  /** d2: the same offer as a1 (a zero-total invoice) */
  let a4: string;
  /** d3: the minimum-commitment offer, started 2.5 days before the end of the month */
  let a5: string;
  let P: PeriodRange;
  let current: PeriodRange;

  const sql = (q: string, params: unknown[] = []) => t.dataSource.query(q, params);
  /** d3's true-up: 100000 × 3 covered days / days in the month, half-up (9677 for a 31-day month). */
  const partialTrueUp = () => (2n * 100_000n * 3n + BigInt(P.days)) / (2n * BigInt(P.days));
  /** P closed (closing is idempotent): the tests about a closed P do not depend on an earlier test having closed it. */
  const closedP = () => closePeriod(t, admin.token, P.period);

  beforeAll(async () => {
    t = await startTestApp();
    P = lastPeriod();
    current = nextPeriod(P);
    admin = await makeAdmin(t, await signUp(t));
    v1 = await signUp(t, { country: 'US' });
    v2 = await signUp(t, { country: 'DE' });
    d1 = await signUp(t, { country: 'FR' });
    d2 = await signUp(t, { country: 'FR' });
    d3 = await signUp(t, { country: 'FR' });
    key1 = await usageReporter(t, v1);
    key2 = await usageReporter(t, v2);
    const eur = await pricedOffer(t, v1, { currency: 'EUR', inputPerMillionMinor: '150', outputPerMillionMinor: '600' });
    const usd = await pricedOffer(t, v2, { currency: 'USD', inputPerMillionMinor: '1234', outputPerMillionMinor: '5678' });
    const committed = await pricedOffer(
      t,
      v2,
      { currency: 'EUR', inputPerMillionMinor: '10000', outputPerMillionMinor: '20000', minimumCommitmentMinor: '100000' },
      '1000000',
    );
    a1 = await acceptFrom(t, d1, eur, P.start);
    a2 = await acceptFrom(t, d1, usd, new Date(P.start.getTime() + 1000));
    a3 = await acceptFrom(t, d1, committed, new Date(P.start.getTime() + 2000));
    a4 = await acceptFrom(t, d2, eur, P.start);
    a5 = await acceptFrom(t, d3, committed, new Date(P.end.getTime() - 2.5 * 86_400_000));

    await report(t, key1, [
      { agreementId: a1, at: inPeriod(P, 120), input: 3_000_000, output: 1_000_000 },
      { agreementId: a1, at: inPeriod(P, 60), input: 333_333, output: 1 },
      { agreementId: a4, at: inPeriod(P, 60), input: 1, output: 1 },
      // This month: not part of the previous month's invoice.
      { agreementId: a1, at: new Date(Date.now() - 60_000).toISOString(), input: 999, output: 999 },
    ]);
    const over = await report(t, key2, [
      { agreementId: a2, at: inPeriod(P, 90), input: 1_000_000, output: 333_333 },
      { agreementId: a3, at: inPeriod(P, 90), input: 700_000, output: 0 },
      { agreementId: a3, at: inPeriod(P, 30), input: 0, output: 500_000 },
    ]);
    expect(over.map((r) => r.overageTokens)).toEqual([0, 0, 200_000]);
  });
  useLedgerInvariant(() => t?.dataSource);
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => t.close());

  it('refuses a non-admin (FORBIDDEN, nothing written), the current or a future period, and a malformed one', async () => {
    const before = await billingCounts(t);
    const denied = await t.gql(CLOSE, { p: P.period }, d1.token);
    expect(denied.errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(CLOSE, { p: P.period })).errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    for (const p of [current.period, '2099-01']) {
      expect(await closePeriod(t, admin.token, p)).toMatchObject({
        __typename: 'BillingPeriodNotEndedError',
        code: 'BILLING_PERIOD_NOT_ENDED',
        currentPeriod: current.period,
      });
    }
    for (const p of ['2026-13', '2026-1', 'last month', '']) {
      const r = await t.gql(CLOSE, { p }, admin.token);
      expect(r.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0].extensions.fields).toEqual([expect.objectContaining({ field: 'period' })]);
    }
    expect(await billingCounts(t)).toEqual(before);
  });

  it('two concurrent closes make one set of invoices: one per distiller and currency, exact half-up amounts', async () => {
    const [x, y] = await Promise.all([closePeriod(t, admin.token, P.period), closePeriod(t, admin.token, P.period)]);
    for (const r of [x, y]) {
      expect(r).toMatchObject({
        __typename: 'BillingPeriodClose',
        period: P.period,
        status: 'CLOSED',
        invoiceCount: 4,
        totals: [
          { currency: 'EUR', invoiceCount: 3, total: { amountMinor: String(101_100n + 0n + partialTrueUp()), currency: 'EUR' } },
          { currency: 'USD', invoiceCount: 1, total: { amountMinor: '3127', currency: 'USD' } },
        ],
      });
    }
    expect(x.invoicesCreated + y.invoicesCreated).toBe(4);
    const rows = await sql(`SELECT distiller_organization_id AS d, currency FROM invoices WHERE period = $1 ORDER BY 1, 2`, [P.period]);
    expect(rows).toHaveLength(4);

    // d1, EUR: a1 (accepted first) then a3.
    //   a1 input 3,333,333 × 150 / 1e6 = 499.99995 → 500; output 1,000,001 × 600 / 1e6 = 600.0006 → 600
    //   a3 input 700,000 × 10000 / 1e6 = 7000; output 500,000 × 20000 / 1e6 = 10000; below the 100000 minimum → true-up 83000
    //   a3 overage 200,000 split over [700,000, 500,000]: 116,666.67 / 83,333.33 → 116,667 / 83,333
    const [eur] = await invoicesOf(t, d1.token, d1.organizationId, { period: P.period, kind: 'PERIOD', status: 'OPEN' }).then((l) =>
      l.filter((i) => i.currency === 'EUR'),
    );
    expect(eur).toMatchObject({ status: 'OPEN', kind: 'PERIOD', period: P.period, total: { amountMinor: '101100' }, amountDue: { amountMinor: '101100' } });
    expect(lineSummary(eur)).toEqual([
      ['USAGE_INPUT', a1, P.period, '3333333', '500', '0'],
      ['USAGE_OUTPUT', a1, P.period, '1000001', '600', '0'],
      ['USAGE_INPUT', a3, P.period, '700000', '7000', '116667'],
      ['USAGE_OUTPUT', a3, P.period, '500000', '10000', '83333'],
      ['MINIMUM_COMMITMENT_TRUE_UP', a3, P.period, null, '83000', '0'],
    ]);
    const l1 = eur.lines.edges[0].node;
    expect(l1).toMatchObject({ unitPricePerMillion: { amountMinor: '150', currency: 'EUR' }, vendorOrganizationId: v1.organizationId });
    expect(l1.description).toContain('3,333,333 tokens × 1.50 EUR per million tokens = 5.00 EUR');
    expect(eur.lines.edges[2].node.description).toContain('116,667 of them beyond the period quota');
    expect(eur.lines.edges[4].node.description).toContain('1000.00 EUR');

    // d1, USD: 1,000,000 × 1234 / 1e6 = 1234; 333,333 × 5678 / 1e6 = 1892.664774 → 1893
    const [usd] = await invoicesOf(t, d1.token, d1.organizationId, { period: P.period }).then((l) => l.filter((i) => i.currency === 'USD'));
    expect(lineSummary(usd)).toEqual([
      ['USAGE_INPUT', a2, P.period, '1000000', '1234', '0'],
      ['USAGE_OUTPUT', a2, P.period, '333333', '1893', '0'],
    ]);
    expect(usd.total.amountMinor).toBe('3127');

    // d2: 1 token each at 150 and 600 per M round to 0: the lines explain, the invoice is PAID at once with nothing to collect.
    const [zero] = await invoicesOf(t, d2.token, d2.organizationId, { period: P.period });
    expect(zero).toMatchObject({ status: 'PAID', total: { amountMinor: '0' }, amountDue: { amountMinor: '0' } });
    expect(zero.paidAt).not.toBeNull();
    expect(lineSummary(zero)).toEqual([
      ['USAGE_INPUT', a4, P.period, '1', '0', '0'],
      ['USAGE_OUTPUT', a4, P.period, '1', '0', '0'],
    ]);
    expect(await issuedPosting(t, zero.id)).toBeNull();

    // d3: no usage, a term covering the last 3 days of the month: 100000 × 3 / days, half-up.
    const [partial] = await invoicesOf(t, d3.token, d3.organizationId, { period: P.period });
    expect(lineSummary(partial)).toEqual([['MINIMUM_COMMITMENT_TRUE_UP', a5, P.period, null, partialTrueUp().toString(), '0']]);
    expect(partial.lines.edges[0].node.description).toContain(`3 of ${P.days} days`);

    // The ledger: receivable against platform:billed for each OPEN invoice.
    expect(await issuedPosting(t, eur.id)).toEqual({
      kind: 'INVOICE_ISSUED',
      entries: [
        [`distiller:${d1.organizationId}:receivable`, 'EUR', '101100'],
        ['platform:billed', 'EUR', '-101100'],
      ],
    });
    expect((await issuedPosting(t, usd.id))?.entries.map((e) => e[2])).toEqual(['3127', '-3127']);
  });

  it('bills exactly the rollups: usage lines equal usage_period_totals, and this month is untouched', async () => {
    await closedP();
    const rows = await sql(
      `SELECT t.agreement_id, t.input_tokens::text AS i, t.output_tokens::text AS o,
              (SELECT sum(quantity)::text FROM invoice_lines l WHERE l.agreement_id = t.agreement_id AND l.usage_period = $1 AND l.kind = 'USAGE_INPUT') AS bi,
              (SELECT sum(quantity)::text FROM invoice_lines l WHERE l.agreement_id = t.agreement_id AND l.usage_period = $1 AND l.kind = 'USAGE_OUTPUT') AS bo
         FROM usage_period_totals t WHERE t.period_start = $2`,
      [P.period, P.start.toISOString()],
    );
    expect(rows).toHaveLength(4);
    for (const r of rows) expect([r.bi, r.bo]).toEqual([r.i, r.o]);
    const [{ n }] = await sql(`SELECT count(*)::int AS n FROM invoice_lines WHERE usage_period = $1`, [current.period]);
    expect(n).toBe(0);
  });

  it('closing again returns the same invoices and writes nothing', async () => {
    const first = await closedP();
    const before = await billingCounts(t);
    const again = await closePeriod(t, admin.token, P.period);
    expect(again).toMatchObject({ __typename: 'BillingPeriodClose', alreadyClosed: true, invoicesCreated: 0, invoiceCount: 4 });
    expect(again.totals).toEqual(first.totals);
    expect(await billingCounts(t)).toEqual(before);
    const [{ n }] = await sql(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'billing.period.closed' AND target_id = $1`, [P.period]);
    expect(n).toBe(1);
  });

  it('pages lines within invoices, for a whole page of invoices at once', async () => {
    await closedP();
    const page = (after: string | null) =>
      t.gql(
        `query($o: ID!, $after: String) { invoices(organizationId: $o, filter: { kind: PERIOD }) { edges { node { currency
          lines(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { position kind } } } } } } }`,
        { o: d1.organizationId, after },
        d1.token,
      );
    const first = await page(null);
    expect(first.errors).toBeUndefined();
    const byCurrency = Object.fromEntries(first.data!.invoices.edges.map((e: any) => [e.node.currency, e.node.lines]));
    expect(byCurrency.EUR.edges.map((e: any) => e.node.position)).toEqual([1, 2]);
    expect(byCurrency.EUR).toMatchObject({ totalCount: 5, pageInfo: { hasNextPage: true } });
    expect(byCurrency.USD.edges.map((e: any) => e.node.position)).toEqual([1, 2]);
    expect(byCurrency.USD.pageInfo.hasNextPage).toBe(false);
    const next = await page(byCurrency.EUR.pageInfo.endCursor);
    const eur = next.data!.invoices.edges.find((e: any) => e.node.currency === 'EUR').node.lines;
    expect(eur.edges.map((e: any) => [e.node.position, e.node.kind])).toEqual([
      [3, 'USAGE_INPUT'],
      [4, 'USAGE_OUTPUT'],
    ]);
    expect(eur.pageInfo.hasNextPage).toBe(true);
    const last = await page(eur.pageInfo.endCursor);
    expect(last.data!.invoices.edges.find((e: any) => e.node.currency === 'EUR').node.lines.edges.map((e: any) => e.node.position)).toEqual([5]);
    expect((await page('bm90LWEtY3Vyc29y')).errors![0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('another organization, a vendor of the lines and anonymous callers cannot read the invoices; an admin can', async () => {
    await closedP();
    const [inv] = await invoicesOf(t, d1.token, d1.organizationId, { period: P.period });
    for (const who of [d2, v1]) {
      expect((await t.gql(INVOICE, { id: inv.id }, who.token)).errors?.[0].extensions.code).toBe('NOT_FOUND');
      expect((await t.gql(INVOICES, { org: d1.organizationId }, who.token)).errors?.[0].extensions.code).toBe('NOT_FOUND');
    }
    expect((await t.gql(INVOICE, { id: inv.id })).errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    const byAdmin = await t.gql(INVOICES, { org: d1.organizationId, filter: { period: P.period } }, admin.token);
    expect(byAdmin.data!.invoices.totalCount).toBe(2);
  });

  it('late events of a closed period are billed once, as adjustments, at the next close', async () => {
    await closedP();
    // Late usage of P, reported after P closed: a1 gets 2,000,000 input tokens; a3 (over quota, true-up 83000 billed) 100,000.
    await report(t, key1, [{ agreementId: a1, at: inPeriod(P, 10), input: 2_000_000, output: 0 }]);
    await report(t, key2, [{ agreementId: a3, at: inPeriod(P, 5), input: 100_000, output: 0 }]);
    expect((await closePeriod(t, admin.token, P.period)).invoicesCreated).toBe(0); // P stays as billed

    // Two months on: the current month and the next have ended.
    const next = nextPeriod(current);
    jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(new Date(nextPeriod(next).start.getTime() + 3_600_000));
    // Closing a later month first is refused: months close in order.
    expect(await closePeriod(t, admin.token, next.period)).toMatchObject({
      __typename: 'EarlierBillingPeriodOpenError',
      code: 'EARLIER_BILLING_PERIOD_OPEN',
      openPeriod: current.period,
    });

    const closed = await closePeriod(t, admin.token, current.period);
    expect(closed).toMatchObject({ __typename: 'BillingPeriodClose', status: 'CLOSED', alreadyClosed: false });
    const [eur] = (await invoicesOf(t, d1.token, d1.organizationId, { period: current.period })).filter((i) => i.currency === 'EUR');
    // a1: this month's 999/999 tokens (0.14985 → 0; 0.5994 → 1), then P's late 2,000,000 input at 150/M = 300.
    // a3: no usage this month → full true-up 100000; P's late 100,000 input at 10000/M = 1000 (overage: all of it),
    //     given back by P's true-up (83000 billed ≥ 1000) → −1000.
    expect(lineSummary(eur)).toEqual([
      ['USAGE_INPUT', a1, current.period, '999', '0', '0'],
      ['USAGE_OUTPUT', a1, current.period, '999', '1', '0'],
      ['ADJUSTMENT_INPUT', a1, P.period, '2000000', '300', '0'],
      ['MINIMUM_COMMITMENT_TRUE_UP', a3, current.period, null, '100000', '0'],
      ['ADJUSTMENT_INPUT', a3, P.period, '100000', '1000', '100000'],
      ['MINIMUM_COMMITMENT_TRUE_UP', a3, P.period, null, '-1000', '0'],
    ]);
    expect(eur.total.amountMinor).toBe('100301');
    expect(eur.lines.edges[5].node.description).toContain('already covered 10.00 EUR');

    // Closing again, or closing the month after, bills nothing more for P.
    const before = await billingCounts(t);
    expect((await closePeriod(t, admin.token, current.period)).alreadyClosed).toBe(true);
    expect(await billingCounts(t)).toEqual(before);
    expect(await t.app.get(PeriodCloseService).closeDue()).toEqual([next.period]);
    const billedForP = await sql(
      `SELECT agreement_id, sum(quantity) FILTER (WHERE kind IN ('USAGE_INPUT', 'ADJUSTMENT_INPUT'))::text AS i,
              sum(amount_minor) FILTER (WHERE kind = 'MINIMUM_COMMITMENT_TRUE_UP')::text AS true_up
         FROM invoice_lines WHERE usage_period = $1 GROUP BY agreement_id`,
      [P.period],
    );
    const byAgreement = Object.fromEntries(billedForP.map((r: any) => [r.agreement_id, r]));
    expect(byAgreement[a1].i).toBe('5333333');
    expect(byAgreement[a3]).toMatchObject({ i: '800000', true_up: '82000' });
    // P now costs a3 exactly max(minimum, usage): 8000 + 10000 + 82000 = 100000.
    const [{ total }] = await sql(`SELECT sum(amount_minor)::text AS total FROM invoice_lines WHERE agreement_id = $1 AND usage_period = $2`, [a3, P.period]);
    expect(total).toBe('100000');
    // The job's close is audited as the system's.
    const [audit] = await sql(`SELECT actor_user_id, data FROM audit_log WHERE action = 'billing.period.closed' AND target_id = $1`, [next.period]);
    expect(audit.actor_user_id).toBeNull();
    expect(audit.data.by).toBe('job');
  });

  describe('vendor fee overrides', () => {
    const SET = `mutation($v: ID!, $bps: Int) { setVendorFeeOverride(vendorOrganizationId: $v, feeBps: $bps) { vendorOrganizationId feeBps defaultFeeBps overridden setAt } }`;

    it('admins set and clear a vendor override (audited); feeBpsFor follows it', async () => {
      const fees = t.app.get(VendorFeeService);
      expect(await fees.feeBpsFor(t.dataSource.manager, v1.organizationId)).toBe(1500);
      const set = await t.gql(SET, { v: v1.organizationId, bps: 900 }, admin.token);
      expect(set.data!.setVendorFeeOverride).toMatchObject({ vendorOrganizationId: v1.organizationId, feeBps: 900, defaultFeeBps: 1500, overridden: true });
      expect(await fees.feeBpsFor(t.dataSource.manager, v1.organizationId)).toBe(900);
      expect(await fees.feeBpsFor(t.dataSource.manager, v2.organizationId)).toBe(1500);
      const cleared = await t.gql(SET, { v: v1.organizationId, bps: null }, admin.token);
      expect(cleared.data!.setVendorFeeOverride).toMatchObject({ feeBps: 1500, overridden: false, setAt: null });
      expect(await fees.feeBpsFor(t.dataSource.manager, v1.organizationId)).toBe(1500);
      const audit = await sql(`SELECT action, data FROM audit_log WHERE action LIKE 'billing.vendor-fee.%' AND target_id = $1 ORDER BY seq`, [v1.organizationId]);
      expect(audit.map((a: any) => [a.action, a.data.fromBps, a.data.toBps])).toEqual([
        ['billing.vendor-fee.set', null, 900],
        ['billing.vendor-fee.cleared', 900, null],
      ]);
    });

    it('refuses non-admins, unknown organizations and out-of-range basis points', async () => {
      expect((await t.gql(SET, { v: v1.organizationId, bps: 0 }, v1.token)).errors?.[0].extensions.code).toBe('FORBIDDEN');
      expect((await t.gql(SET, { v: '00000000-0000-4000-8000-000000000000', bps: 100 }, admin.token)).errors?.[0].extensions.code).toBe('NOT_FOUND');
      for (const bps of [-1, 10_001]) {
        expect((await t.gql(SET, { v: v1.organizationId, bps }, admin.token)).errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
      }
      const [{ n }] = await sql(`SELECT count(*)::int AS n FROM vendor_fee_overrides`);
      expect(n).toBe(0);
    });
  });
});
