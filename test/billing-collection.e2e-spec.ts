/**
 * Collection in the sandbox (the default payments adapter): paying an upfront
 * invoice activates the agreement, and the payment is allocated in one ledger
 * transaction (cash in, receivable cleared, platform fee, vendor payable) plus
 * the processing fee; declines are retried on the schedule and then written
 * off (UNCOLLECTIBLE, agreements suspended until paid); refunds and disputes
 * reverse the allocation proportionally; concurrent payment requests charge
 * once. The ledger invariant runs after every test.
 */
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { CollectionService } from '../src/billing/collection/collection.service';
import { startTestApp, TestApp } from './support/app';
import { INVOICE_FIELDS, invoicesOf, pricedOffer } from './support/billing';
import { useLedgerInvariant } from './support/ledger-invariant';
import { acceptAgreement } from './support/metering';
import { makeAdmin, signUp, TestUser } from './support/users';

const PAY = `mutation($id: ID!) { payInvoice(id: $id) { outcome failureCode message nextAttemptAt invoice { id status amountPaid { amountMinor } } } }`;
const REFUND = `mutation($id: ID!, $amount: String, $reason: String!) { refundInvoice(id: $id, amountMinor: $amount, reason: $reason) {
  ... on InvoiceRefund { outcome refundId amount { amountMinor currency } invoice { id status amountRefunded { amountMinor } } } } }`;
const BALANCES = `query($org: ID!) { balances(organizationId: $org) { currency receivable { amountMinor } payable { amountMinor } held { amountMinor } paid { amountMinor } } }`;
const PAYMENT = `query($id: ID!) { invoice(id: $id) { id status payment { paymentIntentId chargeId attempts failures lastFailureCode nextAttemptAt
  processingFee { amountMinor currency } disputes { id status amount { amountMinor } } } } }`;

describe('collection, refunds and disputes in the sandbox (e2e)', () => {
  let t: TestApp;
  let vendor: TestUser;
  let vendor2: TestUser;
  let admin: TestUser;
  let outsider: TestUser;

  beforeAll(async () => {
    t = await startTestApp({ collectionRetryHours: [1, 2], platformFeeBps: 1500 });
    vendor = await signUp(t, { country: 'US' });
    vendor2 = await signUp(t, { country: 'US' });
    admin = await makeAdmin(t, await signUp(t));
    outsider = await signUp(t, { country: 'FR' });
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(() => t.close());

  const drain = () => t.app.get(WebhookInboxService).drain();

  async function savePaymentMethod(user: TestUser, paymentMethod: string): Promise<void> {
    const s = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId mode testPaymentMethods } }`, { o: user.organizationId }, user.token);
    expect(s.errors).toBeUndefined();
    expect(s.data!.createPaymentSetup.mode).toBe('SANDBOX');
    const c = await t.gql(
      `mutation($o: ID!, $s: ID!, $pm: String!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: $pm) { organizationId } }`,
      { o: user.organizationId, s: s.data!.createPaymentSetup.setupIntentId, pm: paymentMethod },
      user.token,
    );
    expect(c.errors).toBeUndefined();
    await drain();
    const state = await t.gql(`query($o: ID!) { paymentSetup(organizationId: $o) { defaultPaymentMethodId } }`, { o: user.organizationId }, user.token);
    expect(state.data!.paymentSetup.defaultPaymentMethodId).toBe(paymentMethod);
  }

  /** A distiller with an accepted paid offer: its agreement (PENDING_PAYMENT) and OPEN upfront invoice. */
  async function paidOffer(fee: string, opts: { currency?: string; v?: TestUser } = {}) {
    const distiller = await signUp(t, { country: 'FR' });
    const o = await pricedOffer(t, opts.v ?? vendor, { currency: opts.currency ?? 'USD', inputPerMillionMinor: '100', outputPerMillionMinor: '300', upfrontFeeMinor: fee });
    const agreementId = await acceptAgreement(t, distiller, o.offer);
    const [invoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
    return { distiller, agreementId, invoice };
  }

  const agreementStatus = async (id: string): Promise<{ status: string; suspension_cause: string | null }> =>
    (await t.dataSource.query(`SELECT status, suspension_cause FROM license_agreements WHERE id = $1`, [id]))[0];

  /** Ledger entries of one transaction as [account, amount], largest first. */
  async function posting(reference: string): Promise<[string, string][]> {
    const rows: { code: string; amount: string }[] = await t.dataSource.query(
      `SELECT a.code, e.amount_minor::text AS amount FROM ledger_transactions x JOIN ledger_entries e ON e.transaction_id = x.id
         JOIN ledger_accounts a ON a.id = e.account_id WHERE x.reference = $1 ORDER BY e.amount_minor DESC, a.code`,
      [reference],
    );
    return rows.map((r) => [r.code, r.amount]);
  }

  const balancesOf = async (user: TestUser) => {
    const r = await t.gql(BALANCES, { org: user.organizationId }, user.token);
    expect(r.errors).toBeUndefined();
    return r.data!.balances;
  };

  it('pays an upfront invoice: PAID, the agreement ACTIVE, one allocation posting and the processing fee', async () => {
    const { distiller, agreementId, invoice } = await paidOffer('10000');
    expect(invoice).toMatchObject({ status: 'OPEN', total: { amountMinor: '10000', currency: 'USD' } });

    // Without a saved payment method: a clear failure, a retry scheduled, nothing charged.
    const none = await t.gql(PAY, { id: invoice.id }, distiller.token);
    expect(none.errors).toBeUndefined();
    expect(none.data!.payInvoice).toMatchObject({ outcome: 'FAILED', failureCode: 'payment_method_missing', invoice: { status: 'OPEN' } });
    expect(none.data!.payInvoice.nextAttemptAt).not.toBeNull();
    expect(await agreementStatus(agreementId)).toEqual({ status: 'PENDING_PAYMENT', suspension_cause: null });

    await savePaymentMethod(distiller, 'pm_sandbox_visa');
    const paid = await t.gql(PAY, { id: invoice.id }, distiller.token);
    expect(paid.errors).toBeUndefined();
    expect(paid.data!.payInvoice).toMatchObject({ outcome: 'PAID', invoice: { status: 'PAID', amountPaid: { amountMinor: '10000' } } });
    await drain(); // the sandbox's payment_intent.succeeded: settles nothing twice
    expect(await agreementStatus(agreementId)).toEqual({ status: 'ACTIVE', suspension_cause: null });

    // 15 % platform fee of 10000 = 1500; the vendor's payable 8500. Sandbox fee: 290 bps = 290.
    expect(await posting(`invoice:${invoice.id}:paid`)).toEqual([
      ['platform:billed', '10000'],
      ['platform:cash', '10000'],
      ['platform:fees', '-1500'],
      [`vendor:${vendor.organizationId}:payable`, '-8500'],
      [`distiller:${distiller.organizationId}:receivable`, '-10000'],
    ]);
    expect(await posting(`invoice:${invoice.id}:processing-fee`)).toEqual([
      ['platform:processing', '290'],
      ['platform:cash', '-290'],
    ]);
    const p = await t.gql(PAYMENT, { id: invoice.id }, distiller.token);
    expect(p.data!.invoice.payment).toMatchObject({ attempts: 1, failures: 1, processingFee: { amountMinor: '290', currency: 'USD' }, nextAttemptAt: null, disputes: [] });
    expect(p.data!.invoice.payment.paymentIntentId).toMatch(/^pi_sandbox_/);

    expect(await balancesOf(distiller)).toEqual([{ currency: 'USD', receivable: { amountMinor: '0' }, payable: { amountMinor: '0' }, held: { amountMinor: '0' }, paid: { amountMinor: '0' } }]);
    const vb = (await balancesOf(vendor)).find((b: any) => b.currency === 'USD');
    expect(BigInt(vb.payable.amountMinor)).toBeGreaterThanOrEqual(8500n);

    // Paying again: nothing to do, nothing written.
    const again = await t.gql(PAY, { id: invoice.id }, distiller.token);
    expect(again.data!.payInvoice.outcome).toBe('ALREADY_PAID');
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE reference LIKE $1`, [`invoice:${invoice.id}:%`]);
    expect(n).toBe(3); // issued, paid, processing fee
  });

  it('uses the vendor fee override an admin set', async () => {
    const set = await t.gql(`mutation($v: ID!) { setVendorFeeOverride(vendorOrganizationId: $v, feeBps: 1000) { feeBps } }`, { v: vendor2.organizationId }, admin.token);
    expect(set.errors).toBeUndefined();
    const { distiller, invoice } = await paidOffer('999', { v: vendor2 });
    await savePaymentMethod(distiller, 'pm_sandbox_visa');
    expect((await t.gql(PAY, { id: invoice.id }, distiller.token)).data!.payInvoice.outcome).toBe('PAID');
    // 10 % of 999 = 99.9: the one allocation rule gives the fee 100 (largest remainder) and the vendor 899.
    expect(await posting(`invoice:${invoice.id}:paid`)).toEqual([
      ['platform:billed', '999'],
      ['platform:cash', '999'],
      ['platform:fees', '-100'],
      [`vendor:${vendor2.organizationId}:payable`, '-899'],
      [`distiller:${distiller.organizationId}:receivable`, '-999'],
    ]);
  });

  it('retries a declined charge on the schedule, then writes the invoice off and suspends; paying later reinstates', async () => {
    const { distiller, invoice } = await paidOffer('5000');
    // A second, ACTIVE agreement of the same distiller (free offer): the one non-payment suspends.
    const free = await pricedOffer(t, vendor, { currency: 'USD', inputPerMillionMinor: '1', outputPerMillionMinor: '1' });
    const activeId = await acceptAgreement(t, distiller, free.offer);
    expect((await agreementStatus(activeId)).status).toBe('ACTIVE');
    await savePaymentMethod(distiller, 'pm_sandbox_declined');

    const collection = t.app.get(CollectionService);
    const first = await collection.collect(invoice.id, { includeUncollectible: false });
    expect(first).toMatchObject({ kind: 'failed', code: 'card_declined', uncollectible: false });
    const p1 = (await t.gql(PAYMENT, { id: invoice.id }, distiller.token)).data!.invoice.payment;
    expect(p1).toMatchObject({ attempts: 1, failures: 1, lastFailureCode: 'card_declined' });
    // first failure + 1 h
    const [c1] = await t.dataSource.query(`SELECT first_failure_at, next_attempt_at FROM invoice_collections WHERE invoice_id = $1`, [invoice.id]);
    expect(new Date(c1.next_attempt_at).getTime() - new Date(c1.first_failure_at).getTime()).toBe(3_600_000);
    await drain(); // the sandbox's payment_failed event for the same attempt counts nothing more
    expect((await t.gql(PAYMENT, { id: invoice.id }, distiller.token)).data!.invoice.payment.failures).toBe(1);

    // Not due yet: the sweep leaves it alone.
    const notDue = await collection.collectDue();
    expect((await t.gql(PAYMENT, { id: invoice.id }, distiller.token)).data!.invoice.payment.attempts).toBe(1);
    expect(notDue.attempted).toBe(0);

    const makeDue = () => t.dataSource.query(`UPDATE invoice_collections SET next_attempt_at = now() - interval '1 second' WHERE invoice_id = $1`, [invoice.id]);
    await makeDue();
    await collection.collectDue();
    const [c2] = await t.dataSource.query(`SELECT failures, first_failure_at, next_attempt_at FROM invoice_collections WHERE invoice_id = $1`, [invoice.id]);
    expect(c2.failures).toBe(2);
    expect(new Date(c2.next_attempt_at).getTime() - new Date(c2.first_failure_at).getTime()).toBe(2 * 3_600_000);

    await makeDue();
    await collection.collectDue();
    const inv = (await t.gql(`query($id: ID!) { invoice(id: $id) { status } }`, { id: invoice.id }, distiller.token)).data!.invoice;
    expect(inv.status).toBe('UNCOLLECTIBLE');
    expect(await agreementStatus(activeId)).toEqual({ status: 'SUSPENDED', suspension_cause: 'NON_PAYMENT' });
    // The receivable stays: the distiller still owes it.
    expect((await balancesOf(distiller))[0].receivable.amountMinor).toBe('5000');
    // Written off: the sweep does not charge it any more.
    expect((await collection.collectDue()).attempted).toBe(0);

    // The gateway refuses a suspended agreement: its metering view says SUSPENDED.
    const { LicenseAgreementService } = await import('../src/licensing/license-agreement.service');
    expect((await t.app.get(LicenseAgreementService).meteringView(activeId))!.status).toBe('SUSPENDED');

    // A working card, and the distiller pays: PAID, suspensions lifted, the upfront agreement activated.
    await savePaymentMethod(distiller, 'pm_sandbox_visa');
    const paid = await t.gql(PAY, { id: invoice.id }, distiller.token);
    expect(paid.data!.payInvoice.outcome).toBe('PAID');
    expect(await agreementStatus(activeId)).toEqual({ status: 'ACTIVE', suspension_cause: null });
    expect((await balancesOf(distiller))[0].receivable.amountMinor).toBe('0');
    const actions = (await t.dataSource.query(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY seq`, [invoice.id])).map((r: any) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['billing.invoice.payment_failed', 'billing.invoice.uncollectible', 'billing.invoice.paid']));
  });

  it('a vendor suspension is not lifted by a payment', async () => {
    const { distiller, invoice, agreementId } = await paidOffer('100');
    await savePaymentMethod(distiller, 'pm_sandbox_visa');
    expect((await t.gql(PAY, { id: invoice.id }, distiller.token)).data!.payInvoice.outcome).toBe('PAID');
    const s = await t.gql(`mutation($id: ID!) { suspendAgreement(input: { id: $id, reason: "abuse" }) { __typename } }`, { id: agreementId }, vendor.token);
    expect(s.errors).toBeUndefined();
    // Reinstatement after a payment touches only NON_PAYMENT suspensions.
    await t.dataSource.transaction(async (tx) => {
      const { AgreementPaymentStatusService } = await import('../src/licensing/agreement-payment-status.service');
      expect(await t.app.get(AgreementPaymentStatusService).reinstateAfterPayment(tx, distiller.organizationId, 'BM-TEST')).toEqual([]);
    });
    expect(await agreementStatus(agreementId)).toEqual({ status: 'SUSPENDED', suspension_cause: null });
    // The vendor reinstates it: its upfront fee is paid, so it is ACTIVE again (not back to PENDING_PAYMENT).
    const r = await t.gql(`mutation($id: ID!) { reinstateAgreement(input: { id: $id, reason: "resolved" }) { __typename } }`, { id: agreementId }, vendor.token);
    expect(r.errors).toBeUndefined();
    expect(await agreementStatus(agreementId)).toEqual({ status: 'ACTIVE', suspension_cause: null });
  });

  it('reinstating a suspended agreement whose upfront fee is unpaid returns it to PENDING_PAYMENT', async () => {
    const { agreementId } = await paidOffer('100');
    await t.gql(`mutation($id: ID!) { suspendAgreement(input: { id: $id, reason: "check" }) { __typename } }`, { id: agreementId }, vendor.token);
    await t.gql(`mutation($id: ID!) { reinstateAgreement(input: { id: $id, reason: "ok" }) { __typename } }`, { id: agreementId }, vendor.token);
    expect(await agreementStatus(agreementId)).toEqual({ status: 'PENDING_PAYMENT', suspension_cause: null });
  });

  it('concurrent payment requests charge once', async () => {
    const { distiller, invoice } = await paidOffer('4321');
    await savePaymentMethod(distiller, 'pm_sandbox_visa');
    const results = await Promise.all(Array.from({ length: 10 }, () => t.gql(PAY, { id: invoice.id }, distiller.token)));
    for (const r of results) expect(r.errors).toBeUndefined();
    const outcomes = results.map((r) => r.data!.payInvoice.outcome);
    expect(outcomes.filter((o) => o === 'PAID').length).toBeGreaterThanOrEqual(1);
    expect(outcomes.every((o) => ['PAID', 'ALREADY_PAID', 'SKIPPED'].includes(o))).toBe(true);
    await drain();
    const [{ intents }] = await t.dataSource.query(
      `SELECT count(*)::int AS intents FROM sandbox_payment_objects WHERE kind = 'payment_intent' AND data->'metadata'->>'invoice_id' = $1`,
      [invoice.id],
    );
    expect(intents).toBe(1);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE reference = $1`, [`invoice:${invoice.id}:paid`]);
    expect(n).toBe(1);
    expect((await t.gql(`query($id: ID!) { invoice(id: $id) { status } }`, { id: invoice.id }, distiller.token)).data!.invoice.status).toBe('PAID');
  });

  it('payInvoice: another organization’s invoice is NOT_FOUND, a VOID one is a conflict, a bad id is BAD_USER_INPUT', async () => {
    const { invoice } = await paidOffer('100');
    const foreign = await t.gql(PAY, { id: invoice.id }, outsider.token);
    const unknown = await t.gql(PAY, { id: '00000000-0000-4000-8000-000000000000' }, outsider.token);
    expect(foreign.errors![0].extensions.code).toBe('NOT_FOUND');
    expect(foreign.errors![0].message.replace(invoice.id, 'X')).toBe(unknown.errors![0].message.replace('00000000-0000-4000-8000-000000000000', 'X'));
    expect((await t.gql(PAY, { id: 'nope' }, outsider.token)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM invoice_payment_attempts WHERE invoice_id = $1`, [invoice.id]);
    expect(n).toBe(0);
    // A VOID invoice cannot be paid.
    const v = await paidOffer('100');
    await t.dataSource.query(`UPDATE invoices SET status = 'VOID', voided_at = now() WHERE id = $1`, [v.invoice.id]);
    const voided = await t.gql(PAY, { id: v.invoice.id }, v.distiller.token);
    expect(voided.errors![0].extensions.code).toBe('CONFLICT');
    expect(voided.errors![0].message).toContain('VOID');
  });

  it('refunds reverse the allocation proportionally; the processor’s refund event books nothing twice', async () => {
    const { distiller, invoice } = await paidOffer('10000');
    await savePaymentMethod(distiller, 'pm_sandbox_visa');
    expect((await t.gql(PAY, { id: invoice.id }, distiller.token)).data!.payInvoice.outcome).toBe('PAID');

    // Not an admin → FORBIDDEN; nothing written.
    const forbidden = await t.gql(REFUND, { id: invoice.id, amount: '100', reason: 'x' }, distiller.token);
    expect(forbidden.errors![0].extensions.code).toBe('FORBIDDEN');
    // Bad amounts.
    expect((await t.gql(REFUND, { id: invoice.id, amount: '-5', reason: 'x' }, admin.token)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await t.gql(REFUND, { id: invoice.id, amount: '10001', reason: 'x' }, admin.token)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await t.gql(REFUND, { id: invoice.id, amount: '1', reason: '  ' }, admin.token)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await t.gql(REFUND, { id: '00000000-0000-4000-8000-000000000000', reason: 'x' }, admin.token)).errors![0].extensions.code).toBe('NOT_FOUND');

    const r1 = await t.gql(REFUND, { id: invoice.id, amount: '3333', reason: 'service outage' }, admin.token);
    expect(r1.errors).toBeUndefined();
    expect(r1.data!.refundInvoice).toMatchObject({ outcome: 'REFUNDED', amount: { amountMinor: '3333', currency: 'USD' }, invoice: { status: 'PAID', amountRefunded: { amountMinor: '3333' } } });
    await drain(); // charge.refunded from the sandbox: already booked
    // 3333 over [fee 1500, vendor 8500]: ideal 499.95 / 2833.05 → 500 / 2833.
    expect(await posting(`invoice:${invoice.id}:refunded-to:3333`)).toEqual([
      [`vendor:${vendor.organizationId}:payable`, '2833'],
      ['platform:fees', '500'],
      ['platform:cash', '-3333'],
    ]);
    // The rest.
    const r2 = await t.gql(REFUND, { id: invoice.id, reason: 'cancelled' }, admin.token);
    expect(r2.data!.refundInvoice).toMatchObject({ outcome: 'REFUNDED', amount: { amountMinor: '6667' }, invoice: { amountRefunded: { amountMinor: '10000' } } });
    await drain();
    const [{ fees, payable }] = await t.dataSource.query(
      `SELECT sum(e.amount_minor) FILTER (WHERE a.code = 'platform:fees')::text AS fees,
              sum(e.amount_minor) FILTER (WHERE a.code = $2)::text AS payable
         FROM ledger_transactions x JOIN ledger_entries e ON e.transaction_id = x.id JOIN ledger_accounts a ON a.id = e.account_id
        WHERE x.reference LIKE $1`,
      [`invoice:${invoice.id}:%`, `vendor:${vendor.organizationId}:payable`],
    );
    // Fully refunded: the fee and the vendor's share are back to zero for this invoice.
    expect([fees, payable]).toEqual(['0', '0']);
    expect((await t.gql(REFUND, { id: invoice.id, reason: 'again' }, admin.token)).errors![0].extensions.code).toBe('CONFLICT');
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE reference LIKE $1 AND kind = 'REFUND'`, [`invoice:${invoice.id}:%`]);
    expect(n).toBe(2);
  });

  it('refunding an unpaid invoice is a conflict', async () => {
    const { invoice } = await paidOffer('100');
    const r = await t.gql(REFUND, { id: invoice.id, reason: 'x' }, admin.token);
    expect(r.errors![0].extensions.code).toBe('CONFLICT');
    expect(r.errors![0].message).toContain('OPEN');
  });

  it('a dispute holds the vendor share until it closes: won releases it, lost reverses it', async () => {
    const { distiller, invoice } = await paidOffer('2000');
    await savePaymentMethod(distiller, 'pm_sandbox_visa');
    expect((await t.gql(PAY, { id: invoice.id }, distiller.token)).data!.payInvoice.outcome).toBe('PAID');
    const pi = (await t.gql(PAYMENT, { id: invoice.id }, distiller.token)).data!.invoice.payment.paymentIntentId;
    const before = (await balancesOf(vendor)).find((b: any) => b.currency === 'USD');

    const opened = await t.gql(`mutation($pi: ID!) { simulateSandboxDispute(paymentIntentId: $pi) { id status } }`, { pi }, admin.token);
    expect(opened.errors).toBeUndefined();
    await drain();
    const held = (await balancesOf(vendor)).find((b: any) => b.currency === 'USD');
    // 2000 × 85 % = 1700 moves from payable to held.
    expect(BigInt(held.held.amountMinor) - BigInt(before.held.amountMinor)).toBe(1700n);
    expect(BigInt(before.payable.amountMinor) - BigInt(held.payable.amountMinor)).toBe(1700n);
    expect((await t.gql(PAYMENT, { id: invoice.id }, distiller.token)).data!.invoice.payment.disputes).toEqual([
      { id: opened.data!.simulateSandboxDispute.id, status: 'OPEN', amount: { amountMinor: '2000' } },
    ]);
    // No refund while a dispute is open.
    expect((await t.gql(REFUND, { id: invoice.id, reason: 'x' }, admin.token)).errors![0].extensions.code).toBe('CONFLICT');

    const lost = await t.gql(`mutation($d: ID!) { closeSandboxDispute(disputeId: $d, outcome: LOST) { status } }`, { d: opened.data!.simulateSandboxDispute.id }, admin.token);
    expect(lost.errors).toBeUndefined();
    await drain();
    const after = (await balancesOf(vendor)).find((b: any) => b.currency === 'USD');
    expect(after.held.amountMinor).toBe(before.held.amountMinor);
    expect(BigInt(before.payable.amountMinor) - BigInt(after.payable.amountMinor)).toBe(1700n);
    expect(await posting(`dispute:${opened.data!.simulateSandboxDispute.id}:lost`)).toEqual([
      [`vendor:${vendor.organizationId}:held`, '1700'],
      ['platform:fees', '300'],
      ['platform:cash', '-2000'],
    ]);

    // Another payment, a dispute won: the held share goes back to payable.
    const second = await paidOffer('1000');
    await savePaymentMethod(second.distiller, 'pm_sandbox_visa');
    expect((await t.gql(PAY, { id: second.invoice.id }, second.distiller.token)).data!.payInvoice.outcome).toBe('PAID');
    const pi2 = (await t.gql(PAYMENT, { id: second.invoice.id }, second.distiller.token)).data!.invoice.payment.paymentIntentId;
    const d2 = (await t.gql(`mutation($pi: ID!) { simulateSandboxDispute(paymentIntentId: $pi, amountMinor: "400") { id } }`, { pi: pi2 }, admin.token)).data!
      .simulateSandboxDispute.id;
    await drain();
    const mid = (await balancesOf(vendor)).find((b: any) => b.currency === 'USD');
    expect(BigInt(mid.held.amountMinor) - BigInt(after.held.amountMinor)).toBe(340n); // 400 × 85 %
    await t.gql(`mutation($d: ID!) { closeSandboxDispute(disputeId: $d, outcome: WON) { status } }`, { d: d2 }, admin.token);
    await drain();
    const end = (await balancesOf(vendor)).find((b: any) => b.currency === 'USD');
    expect(end.held.amountMinor).toBe(after.held.amountMinor);
    expect(BigInt(end.payable.amountMinor) - BigInt(after.payable.amountMinor)).toBe(850n); // the second payment's share, whole again
    const status = (await t.gql(PAYMENT, { id: second.invoice.id }, second.distiller.token)).data!.invoice.payment.disputes[0].status;
    expect(status).toBe('WON');
  });

  it('voidInvoice (admins): the receivable reversed, an upfront fee waived, a write-off lifted; PAID cannot be voided', async () => {
    const VOID = `mutation($id: ID!, $reason: String!) { voidInvoice(id: $id, reason: $reason) { id status } }`;
    const { distiller, invoice, agreementId } = await paidOffer('700');
    expect((await t.gql(VOID, { id: invoice.id, reason: 'x' }, distiller.token)).errors![0].extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(VOID, { id: invoice.id, reason: ' ' }, admin.token)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await t.gql(VOID, { id: '00000000-0000-4000-8000-000000000000', reason: 'x' }, admin.token)).errors![0].extensions.code).toBe('NOT_FOUND');
    const v = await t.gql(VOID, { id: invoice.id, reason: 'Launch promotion: fee waived' }, admin.token);
    expect(v.errors).toBeUndefined();
    expect(v.data!.voidInvoice.status).toBe('VOID');
    expect(await agreementStatus(agreementId)).toEqual({ status: 'ACTIVE', suspension_cause: null });
    expect(await posting(`invoice:${invoice.id}:voided`)).toEqual([
      ['platform:billed', '700'],
      [`distiller:${distiller.organizationId}:receivable`, '-700'],
    ]);
    expect((await balancesOf(distiller))[0].receivable.amountMinor).toBe('0');
    // Final: not again, not paid, not charged by the sweep.
    expect((await t.gql(VOID, { id: invoice.id, reason: 'again' }, admin.token)).errors![0].extensions.code).toBe('CONFLICT');
    expect((await t.gql(PAY, { id: invoice.id }, distiller.token)).errors![0].extensions.code).toBe('CONFLICT');

    // A PAID invoice is refunded, not voided.
    const paid = await paidOffer('300');
    await savePaymentMethod(paid.distiller, 'pm_sandbox_visa');
    await t.gql(PAY, { id: paid.invoice.id }, paid.distiller.token);
    const refused = await t.gql(VOID, { id: paid.invoice.id, reason: 'x' }, admin.token);
    expect(refused.errors![0].extensions.code).toBe('CONFLICT');
    expect(refused.errors![0].message).toContain('refund');

    // An UNCOLLECTIBLE invoice voided: the non-payment suspension ends.
    const bad = await paidOffer('400');
    const free = await pricedOffer(t, vendor, { currency: 'USD', inputPerMillionMinor: '1', outputPerMillionMinor: '1' });
    const activeId = await acceptAgreement(t, bad.distiller, free.offer);
    await savePaymentMethod(bad.distiller, 'pm_sandbox_declined');
    const collection = t.app.get(CollectionService);
    for (let i = 0; i < 3; i++) {
      await t.dataSource.query(`UPDATE invoice_collections SET next_attempt_at = now() - interval '1 second' WHERE invoice_id = $1`, [bad.invoice.id]);
      await collection.collect(bad.invoice.id, { includeUncollectible: false });
    }
    expect(await agreementStatus(activeId)).toEqual({ status: 'SUSPENDED', suspension_cause: 'NON_PAYMENT' });
    expect((await t.gql(VOID, { id: bad.invoice.id, reason: 'Written off by agreement' }, admin.token)).data!.voidInvoice.status).toBe('VOID');
    expect(await agreementStatus(activeId)).toEqual({ status: 'ACTIVE', suspension_cause: null });
  });

  it('an unfinished attempt whose customer is gone fails cleanly instead of staying stuck', async () => {
    const { invoice } = await paidOffer('250');
    await t.dataSource.query(
      `INSERT INTO invoice_payment_attempts (invoice_id, attempt_no, idempotency_key, amount_minor, currency) VALUES ($1, 1, $2, 250, 'USD')`,
      [invoice.id, `invoice:${invoice.id}:attempt:1`],
    );
    const r = await t.app.get(CollectionService).collect(invoice.id, { includeUncollectible: false });
    expect(r).toMatchObject({ kind: 'failed', code: 'payment_method_missing', uncollectible: false });
    const [a] = await t.dataSource.query(`SELECT status, failure_code FROM invoice_payment_attempts WHERE invoice_id = $1`, [invoice.id]);
    expect(a).toEqual({ status: 'FAILED', failure_code: 'payment_method_missing' });
    const [c] = await t.dataSource.query(`SELECT failures FROM invoice_collections WHERE invoice_id = $1`, [invoice.id]);
    expect(c.failures).toBe(1);
  });

  it('a page of invoices shows each one’s payment', async () => {
    const { distiller, invoice } = await paidOffer('111');
    const second = await pricedOffer(t, vendor2, { currency: 'USD', inputPerMillionMinor: '1', outputPerMillionMinor: '1', upfrontFeeMinor: '222' });
    await acceptAgreement(t, distiller, second.offer);
    await savePaymentMethod(distiller, 'pm_sandbox_visa');
    await t.gql(PAY, { id: invoice.id }, distiller.token);
    const r = await t.gql(
      `query($o: ID!) { invoices(organizationId: $o) { edges { node { id total { amountMinor } payment { attempts paymentIntentId } } } } }`,
      { o: distiller.organizationId },
      distiller.token,
    );
    expect(r.errors).toBeUndefined();
    const rows = r.data!.invoices.edges.map((e: any) => [e.node.total.amountMinor, e.node.payment.attempts, e.node.payment.paymentIntentId !== null]);
    expect(rows.sort()).toEqual([
      ['111', 1, true],
      ['222', 0, false],
    ]);
  });

  it('balances: another organization is NOT_FOUND', async () => {
    const r = await t.gql(BALANCES, { org: vendor.organizationId }, outsider.token);
    expect(r.errors![0].extensions.code).toBe('NOT_FOUND');
    const a = await t.gql(BALANCES, { org: vendor.organizationId }, admin.token);
    expect(a.errors).toBeUndefined();
  });

  it('every line of a paid invoice is explained', async () => {
    const { distiller, invoice } = await paidOffer('1234');
    await savePaymentMethod(distiller, 'pm_sandbox_visa');
    await t.gql(PAY, { id: invoice.id }, distiller.token);
    const r = await t.gql(`query($id: ID!) { invoice(id: $id) { ${INVOICE_FIELDS} } }`, { id: invoice.id }, distiller.token);
    expect(r.data!.invoice.status).toBe('PAID');
    expect(r.data!.invoice.lines.edges[0].node).toMatchObject({ kind: 'UPFRONT_FEE', amount: { amountMinor: '1234', currency: 'USD' } });
    expect(r.data!.invoice.lines.edges[0].node.description.length).toBeGreaterThan(5);
  });
});
