/**
 * The royalty cascade on real payments, in the sandbox: a three-generation
 * lineage A → B → C whose student C is listed and licensed to a distiller;
 * paying the distiller's invoice credits every ancestor's vendor exactly, in
 * the same ledger transaction; Invoice.allocation explains every minor unit
 * (to the distiller and admins in full, to each vendor concerned its own
 * parts); a partial refund and a lost dispute reverse the cascade
 * proportionally; the ledger invariant holds throughout.
 */
import { InvoiceSettlementService } from '../src/billing/collection/invoice-settlement.service';
import { Database } from '../src/platform/database/transaction';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { startTestApp, TestApp } from './support/app';
import { closePeriod, invoicesOf } from './support/billing';
import { nextPeriod, periodOf } from '../src/billing/billing-period';
import { Clock } from '../src/platform/clock/clock';
import { useLedgerInvariant } from './support/ledger-invariant';
import { publishOk } from './support/licensing';
import { acceptAgreement } from './support/metering';
import { licensed, listedTeacher, registerStudent } from './support/provenance';
import { makeAdmin, signUp, TestUser } from './support/users';

const ALLOCATION = `{ invoiceId total { amountMinor } platformFee { amountMinor } nets { organizationId amount { amountMinor } }
  parts { position kind amount { amountMinor currency } organizationId modelId basis gross { amountMinor } feeBps fee { amountMinor }
          payerOrganizationId payerModelId agreementId policy shareBps depth } }`;

describe('the royalty cascade on collected payments (e2e)', () => {
  let t: TestApp;
  let vendorA: TestUser;
  let vendorB: TestUser;
  let vendorC: TestUser;
  let admin: TestUser;
  let outsider: TestUser;

  beforeAll(async () => {
    t = await startTestApp({ platformFeeBps: 2000 });
    [vendorA, vendorB, vendorC, outsider] = [await signUp(t, { country: 'US' }), await signUp(t, { country: 'US' }), await signUp(t, { country: 'US' }), await signUp(t, { country: 'US' })];
    admin = await makeAdmin(t, await signUp(t));
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(() => t.close());

  const drain = () => t.app.get(WebhookInboxService).drain();

  /** Ledger entries of one transaction as [account, amount] (summed per account), largest first. */
  async function posting(reference: string): Promise<[string, string][]> {
    const rows: { code: string; amount: string }[] = await t.dataSource.query(
      `SELECT a.code, sum(e.amount_minor)::text AS amount FROM ledger_transactions x JOIN ledger_entries e ON e.transaction_id = x.id
         JOIN ledger_accounts a ON a.id = e.account_id WHERE x.reference = $1 GROUP BY a.code ORDER BY sum(e.amount_minor) DESC, a.code`,
      [reference],
    );
    return rows.map((r) => [r.code, r.amount]);
  }
  const payable = (u: TestUser) => `vendor:${u.organizationId}:payable`;
  const held = (u: TestUser) => `vendor:${u.organizationId}:held`;

  /**
   * A → B → C, each edge licensed under `policies` (A's offer, B's offer), C listed with an upfront fee; a
   * fresh distiller accepts C's offer and pays the upfront invoice.
   */
  async function threeGenerations(policies: ['LAP' | 'LRP', 'LAP' | 'LRP'], upfrontFeeMinor: string, pay = true) {
    const a = await listedTeacher(t, vendorA, { royalty: { policy: policies[0], shareBps: 500 } });
    const edgeAB = await licensed(t, vendorB, a);
    const b = await registerStudent(t, vendorB, [edgeAB]);
    await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: b.id }, vendorB.token);
    const offerB = await publishOk(t, vendorB, b.id, { terms: { royalty: { policy: policies[1], shareBps: 1000 } } });
    const edgeBC = await licensed(t, vendorC, { modelId: b.id, offer: offerB });
    const c = await registerStudent(t, vendorC, [edgeBC]);
    await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: c.id }, vendorC.token);
    const offerC = await publishOk(t, vendorC, c.id, { pricing: { currency: 'EUR', upfrontFeeMinor: upfrontFeeMinor }, terms: { royalty: { policy: 'LAP', shareBps: 300 } } });

    const distiller = await signUp(t, { country: 'US' });
    await acceptAgreement(t, distiller, offerC);
    const [invoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
    if (!pay) return { a, b, c, edgeAB, edgeBC, distiller, invoice };
    const s = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: distiller.organizationId }, distiller.token);
    await t.gql(
      `mutation($o: ID!, $s: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: "pm_sandbox_visa") { organizationId } }`,
      { o: distiller.organizationId, s: s.data!.createPaymentSetup.setupIntentId },
      distiller.token,
    );
    await drain();
    const paid = await t.gql(`mutation($id: ID!) { payInvoice(id: $id) { outcome } }`, { id: invoice.id }, distiller.token);
    expect(paid.data!.payInvoice.outcome).toBe('PAID');
    return { a, b, c, edgeAB, edgeBC, distiller, invoice };
  }

  it('LAP on both edges: 1,250.00 paid → fee 250.00; C 850.00, B 100.00, A 50.00 — one ledger transaction; a 10 % refund reverses each part by 10 %', async () => {
    const { a, b, c, edgeAB, edgeBC, distiller, invoice } = await threeGenerations(['LAP', 'LAP'], '125000');

    expect(await posting(`invoice:${invoice.id}:paid`)).toEqual([
      ['platform:billed', '125000'],
      ['platform:cash', '125000'],
      [payable(vendorA), '-5000'],
      [payable(vendorB), '-10000'],
      ['platform:fees', '-25000'],
      [payable(vendorC), '-85000'],
      [`distiller:${distiller.organizationId}:receivable`, '-125000'],
    ]);

    // The distiller (and an admin) see every part, with the licence each royalty comes from.
    const full = await t.gql(`query($id: ID!) { invoice(id: $id) { allocation ${ALLOCATION} } }`, { id: invoice.id }, distiller.token);
    expect(full.errors).toBeUndefined();
    const alloc = full.data!.invoice.allocation;
    expect(alloc.total.amountMinor).toBe('125000');
    expect(alloc.platformFee.amountMinor).toBe('25000');
    expect(alloc.parts.map((p: any) => [p.kind, p.amount.amountMinor, p.organizationId, p.modelId, p.payerModelId, p.agreementId, p.policy, p.shareBps, p.depth])).toEqual([
      ['PLATFORM_FEE', '25000', null, null, null, null, null, null, null],
      ['VENDOR_SHARE', '100000', vendorC.organizationId, c.id, null, null, null, null, null],
      ['ROYALTY', '10000', vendorB.organizationId, b.id, c.id, edgeBC.agreementId, 'LAP', 1000, 1],
      ['ROYALTY', '5000', vendorA.organizationId, a.modelId, c.id, edgeAB.agreementId, 'LAP', 500, 2],
    ]);
    expect(alloc.parts[1]).toMatchObject({ gross: { amountMinor: '125000' }, feeBps: 2000, fee: { amountMinor: '25000' }, basis: 'REVENUE' });
    expect(Object.fromEntries(alloc.nets.map((n: any) => [n.organizationId, n.amount.amountMinor]))).toEqual({
      [vendorC.organizationId]: '85000',
      [vendorB.organizationId]: '10000',
      [vendorA.organizationId]: '5000',
    });
    const asAdmin = await t.gql(`query($id: ID!) { invoiceAllocation(invoiceId: $id) ${ALLOCATION} }`, { id: invoice.id }, admin.token);
    expect(asAdmin.data!.invoiceAllocation).toEqual(alloc);

    // A vendor concerned sees its own parts and net only; a stranger gets NOT_FOUND, as for an unknown id.
    const asA = await t.gql(`query($id: ID!) { invoiceAllocation(invoiceId: $id) ${ALLOCATION} }`, { id: invoice.id }, vendorA.token);
    expect(asA.data!.invoiceAllocation).toMatchObject({ total: null, platformFee: null, nets: [{ organizationId: vendorA.organizationId, amount: { amountMinor: '5000' } }] });
    expect(asA.data!.invoiceAllocation.parts.map((p: any) => [p.kind, p.amount.amountMinor])).toEqual([['ROYALTY', '5000']]);
    const asB = await t.gql(`query($id: ID!) { invoiceAllocation(invoiceId: $id) ${ALLOCATION} }`, { id: invoice.id }, vendorB.token);
    expect(asB.data!.invoiceAllocation.parts.map((p: any) => [p.kind, p.amount.amountMinor])).toEqual([['ROYALTY', '10000']]);
    for (const r of [
      await t.gql(`query($id: ID!) { invoiceAllocation(invoiceId: $id) { invoiceId } }`, { id: invoice.id }, outsider.token),
      await t.gql(`query($id: ID!) { invoice(id: $id) { id } }`, { id: invoice.id }, vendorA.token),
      await t.gql(`query($id: ID!) { invoiceAllocation(invoiceId: $id) { invoiceId } }`, { id: '00000000-0000-4000-8000-000000000000' }, admin.token),
    ]) {
      expect(r.errors![0].extensions!.code).toBe('NOT_FOUND');
    }

    // A partial refund (10 %) reverses every part proportionally, cascade included.
    const refund = await t.gql(
      `mutation($id: ID!) { refundInvoice(id: $id, amountMinor: "12500", reason: "Goodwill") { __typename } }`,
      { id: invoice.id },
      admin.token,
    );
    expect(refund.errors).toBeUndefined();
    await drain();
    expect(await posting(`invoice:${invoice.id}:refunded-to:12500`)).toEqual([
      [payable(vendorC), '8500'],
      ['platform:fees', '2500'],
      [payable(vendorB), '1000'],
      [payable(vendorA), '500'],
      ['platform:cash', '-12500'],
    ]);
  });

  it('LRP on both edges: 1,000.00 paid → fee 200.00; C 720.00, B 76.00 (80.00 received, 4.00 passed on), A 4.00; a lost dispute takes it all back', async () => {
    const { a, b, c, invoice, distiller } = await threeGenerations(['LRP', 'LRP'], '100000');
    expect(await posting(`invoice:${invoice.id}:paid`)).toEqual([
      ['platform:billed', '100000'],
      ['platform:cash', '100000'],
      [payable(vendorA), '-400'],
      [payable(vendorB), '-7600'],
      ['platform:fees', '-20000'],
      [payable(vendorC), '-72000'],
      [`distiller:${distiller.organizationId}:receivable`, '-100000'],
    ]);
    const alloc = (await t.gql(`query($id: ID!) { invoiceAllocation(invoiceId: $id) ${ALLOCATION} }`, { id: invoice.id }, distiller.token)).data!.invoiceAllocation;
    expect(alloc.parts.filter((p: any) => p.kind === 'ROYALTY').map((p: any) => [p.payerModelId, p.modelId, p.basis, p.policy, p.amount.amountMinor])).toEqual([
      [c.id, b.id, 'REVENUE', 'LRP', '8000'],
      [b.id, a.modelId, 'ROYALTY', 'LRP', '400'],
    ]);

    // A dispute for the whole payment: every vendor's part is held, then lost — the cascade is reversed with it.
    const pi = (await t.gql(`query($id: ID!) { invoice(id: $id) { payment { paymentIntentId } } }`, { id: invoice.id }, distiller.token)).data!.invoice.payment.paymentIntentId;
    const opened = await t.gql(`mutation($pi: ID!) { simulateSandboxDispute(paymentIntentId: $pi) { id } }`, { pi }, admin.token);
    expect(opened.errors).toBeUndefined();
    await drain();
    const disputeId = opened.data!.simulateSandboxDispute.id;
    expect(await posting(`dispute:${disputeId}:hold`)).toEqual([
      [payable(vendorC), '72000'],
      [payable(vendorB), '7600'],
      [payable(vendorA), '400'],
      [held(vendorA), '-400'],
      [held(vendorB), '-7600'],
      [held(vendorC), '-72000'],
    ]);
    await t.gql(`mutation($d: ID!) { closeSandboxDispute(disputeId: $d, outcome: LOST) { status } }`, { d: disputeId }, admin.token);
    await drain();
    expect(await posting(`dispute:${disputeId}:lost`)).toEqual([
      [held(vendorC), '72000'],
      ['platform:fees', '20000'],
      [held(vendorB), '7600'],
      [held(vendorA), '400'],
      ['platform:cash', '-100000'],
    ]);
  });

  it('concurrent settlements of one payment (8 connections, a barrier) allocate it once', async () => {
    const { invoice } = await threeGenerations(['LAP', 'LRP'], '99999', false);
    const db = t.app.get(Database);
    const settlement = t.app.get(InvoiceSettlementService);
    const n = 8;
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.query('SELECT 1'); // each caller holds its own connection before the barrier
          if (++arrived === n) open();
          await gate;
          return settlement.settle(tx, invoice.id, { paymentIntentId: `pi_race_${i}`, chargeId: null });
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(n).fill('fulfilled'));
    expect(results.map((r) => (r as PromiseFulfilledResult<string>).value).sort()).toEqual(['already-paid', 'already-paid', 'already-paid', 'already-paid', 'already-paid', 'already-paid', 'already-paid', 'settled']);
    const [{ parts }] = await t.dataSource.query(`SELECT count(*)::int AS parts FROM invoice_allocation_parts WHERE invoice_id = $1`, [invoice.id]);
    const [{ txs }] = await t.dataSource.query(`SELECT count(*)::int AS txs FROM ledger_transactions WHERE reference = $1`, [`invoice:${invoice.id}:paid`]);
    expect({ parts, txs }).toEqual({ parts: 4, txs: 1 });
  });

  it('downstream revenue: a report on C puts a royalty line for B on the next invoice; paid, B passes its LRP share on to A', async () => {
    const { a, b, c } = await threeGenerations(['LRP', 'LRP'], '0', false);
    const month = periodOf(new Date());
    const r = await t.gql(
      `mutation($i: ReportModelRevenueInput!) { reportModelRevenue(input: $i) { revision royalties { ancestorModelId policy amount { amountMinor } } } }`,
      { i: { modelId: c.id, period: month.period, grossMinor: '100000', currency: 'EUR' } },
      vendorC.token,
    );
    expect(r.errors).toBeUndefined();
    // C's stack on external revenue: only its LRP parent B (A's LRP edge is into B, paid from B's royalty income).
    expect(r.data!.reportModelRevenue.royalties).toEqual([{ ancestorModelId: b.id, policy: 'LRP', amount: { amountMinor: '10000' } }]);

    const clock = jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(new Date(nextPeriod(month).start.getTime() + 3_600_000));
    try {
      expect(await closePeriod(t, admin.token, month.period)).toMatchObject({ __typename: 'BillingPeriodClose' });
      const [inv] = await invoicesOf(t, vendorC.token, vendorC.organizationId, { kind: 'PERIOD', period: month.period });
      expect(inv.total.amountMinor).toBe('10000');
      const s = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: vendorC.organizationId }, vendorC.token);
      await t.gql(
        `mutation($o: ID!, $s: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: "pm_sandbox_visa") { organizationId } }`,
        { o: vendorC.organizationId, s: s.data!.createPaymentSetup.setupIntentId },
        vendorC.token,
      );
      await drain();
      expect((await t.gql(`mutation($id: ID!) { payInvoice(id: $id) { outcome } }`, { id: inv.id }, vendorC.token)).data!.payInvoice.outcome).toBe('PAID');
      // 100.00 royalty line: fee 20.00; B's royalty income 80.00, of which A's LRP 5 % = 4.00; B keeps 76.00.
      expect(await posting(`invoice:${inv.id}:paid`)).toEqual([
        ['platform:billed', '10000'],
        ['platform:cash', '10000'],
        [payable(vendorA), '-400'],
        ['platform:fees', '-2000'],
        [payable(vendorB), '-7600'],
        [`distiller:${vendorC.organizationId}:receivable`, '-10000'],
      ]);
      const alloc = (await t.gql(`query($id: ID!) { invoiceAllocation(invoiceId: $id) ${ALLOCATION} }`, { id: inv.id }, vendorC.token)).data!.invoiceAllocation;
      expect(alloc.parts.map((p: any) => [p.kind, p.organizationId, p.modelId, p.payerModelId, p.basis, p.amount.amountMinor])).toEqual([
        ['PLATFORM_FEE', null, null, null, null, '2000'],
        ['VENDOR_SHARE', vendorB.organizationId, b.id, null, 'ROYALTY', '8000'],
        ['ROYALTY', vendorA.organizationId, a.modelId, b.id, 'ROYALTY', '400'],
      ]);
    } finally {
      clock.mockRestore();
    }
  });

  it('recorded parts are history: the database refuses to change or delete them', async () => {
    const { invoice } = await threeGenerations(['LAP', 'LAP'], '1000');
    await expect(t.dataSource.query(`UPDATE invoice_allocation_parts SET amount_minor = amount_minor + 1 WHERE invoice_id = $1`, [invoice.id])).rejects.toThrow(/immutable/);
    await expect(t.dataSource.query(`DELETE FROM invoice_allocation_parts WHERE invoice_id = $1`, [invoice.id])).rejects.toThrow(/immutable/);
  });
});
