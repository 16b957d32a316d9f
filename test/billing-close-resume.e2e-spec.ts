/**
 * A close interrupted part-way (a crash between two chunks of distillers)
 * leaves the period OPEN with the finished chunks' invoices committed; calling
 * it again finishes the rest without invoicing anyone twice.
 */
import { PeriodCloseService } from '../src/billing/close/period-close.service';
import { InvoiceWriter } from '../src/billing/invoices/invoice-writer.service';
import { startTestApp, TestApp } from './support/app';
import { acceptFrom, closePeriod, inPeriod, lastPeriod, pricedOffer, report, usageReporter } from './support/billing';
import { useLedgerInvariant } from './support/ledger-invariant';
import { makeAdmin, signUp } from './support/users';

describe('billing period close, resumed after a failure (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ logLevel: 'silent' });
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(() => t.close());

  it('commits chunk by chunk, stays OPEN until every distiller is done, and resumes without duplicates', async () => {
    const P = lastPeriod();
    const admin = await makeAdmin(t, await signUp(t));
    const vendor = await signUp(t, { country: 'US' });
    const key = await usageReporter(t, vendor);
    const offer = await pricedOffer(t, vendor, { currency: 'USD', inputPerMillionMinor: '1000000', outputPerMillionMinor: '0' });
    const agreements: string[] = [];
    for (let i = 0; i < 4; i++) agreements.push(await acceptFrom(t, await signUp(t, { country: 'FR' }), offer, P.start));
    await report(t, key, agreements.map((agreementId, i) => ({ agreementId, at: inPeriod(P, 30), input: i + 1, output: 0 })));

    const closes = t.app.get(PeriodCloseService);
    closes.chunkSize = 1;
    const writer = t.app.get(InvoiceWriter);
    const issue = writer.issue.bind(writer);
    let calls = 0;
    const spy = jest.spyOn(writer, 'issue').mockImplementation(async (tx, drafts) => {
      if (++calls === 3) throw new Error('simulated crash in the third chunk');
      return issue(tx, drafts);
    });
    const failed = await t.gql(`mutation($p: String!) { closeBillingPeriod(period: $p) { __typename } }`, { p: P.period }, admin.token);
    expect(failed.errors?.[0].extensions.code).toBe('INTERNAL');
    const [period] = await t.dataSource.query(`SELECT status FROM billing_periods WHERE period = $1`, [P.period]);
    expect(period.status).toBe('OPEN');
    const [{ n: partial }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM invoices WHERE period = $1`, [P.period]);
    expect(partial).toBe(2);

    spy.mockRestore();
    const done = await closePeriod(t, admin.token, P.period);
    expect(done).toMatchObject({ status: 'CLOSED', invoicesCreated: 2, invoiceCount: 4, totals: [{ currency: 'USD', invoiceCount: 4, total: { amountMinor: '10' } }] });
    const rows = await t.dataSource.query(
      `SELECT l.agreement_id, count(*)::int AS n, sum(l.amount_minor)::int AS amount FROM invoice_lines l
         JOIN invoices i ON i.id = l.invoice_id WHERE i.period = $1 GROUP BY l.agreement_id`,
      [P.period],
    );
    expect(rows.map((r: any) => [r.agreement_id, r.n, r.amount]).sort()).toEqual(agreements.map((a, i) => [a, 1, i + 1]).sort());
    const [{ n: postings }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE kind = 'INVOICE_ISSUED'`);
    expect(postings).toBe(4);
  });
});
