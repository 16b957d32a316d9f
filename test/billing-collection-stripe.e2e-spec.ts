/**
 * Collection through the real Stripe SDK against the local Stripe-compatible
 * server (test/support/fake-stripe.ts), webhooks signed and verified:
 *  - what a charge sends (amount in Stripe's units, off session, idempotency
 *    key derived from the invoice and attempt, our ids in metadata);
 *  - a crash between creating the PaymentIntent and recording it: the next run
 *    reuses the key, Stripe replays, one charge exists and the invoice is paid;
 *  - every order of a payment's events (succeeded, refunded, dispute created,
 *    dispute closed) ends in the same state, ledger included.
 */
import { CollectionService } from '../src/billing/collection/collection.service';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { startTestApp, TestApp } from './support/app';
import { invoicesOf, pricedOffer } from './support/billing';
import { deliverEvent, FakeStripe } from './support/fake-stripe';
import { useLedgerInvariant } from './support/ledger-invariant';
import { acceptAgreement } from './support/metering';
import { signUp, TestUser } from './support/users';

describe('collection through Stripe (e2e, local Stripe-compatible server)', () => {
  let t: TestApp;
  let fake: FakeStripe;
  let vendor: TestUser;

  beforeAll(async () => {
    fake = await FakeStripe.start();
    t = await startTestApp({ stripeSecretKey: 'sk_test_fake123', stripeWebhookSecret: 'whsec_fakesecret123', stripeApiBase: fake.url });
    vendor = await signUp(t, { country: 'US' });
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  const inbox = () => t.app.get(WebhookInboxService);
  const collection = () => t.app.get(CollectionService);

  /** Processes the inbox until every event is handled, making events waiting for a retry due at once. */
  async function settleInbox(): Promise<void> {
    for (let i = 0; i < 10; i++) {
      await inbox().drain();
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM payment_webhook_events WHERE processed_at IS NULL`);
      if (n === 0) return;
      await t.dataSource.query(`UPDATE payment_webhook_events SET next_attempt_at = now() WHERE processed_at IS NULL`);
    }
    throw new Error('webhook events left unprocessed');
  }

  /** A distiller with a saved card (Stripe.js confirmed the SetupIntent; its webhook arrived) and an OPEN upfront invoice. */
  async function payingDistiller(fee: string, currency = 'USD') {
    const distiller = await signUp(t, { country: 'FR' });
    const s = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId mode } }`, { o: distiller.organizationId }, distiller.token);
    expect(s.data!.createPaymentSetup.mode).toBe('STRIPE');
    const si = fake.succeedSetupIntent(s.data!.createPaymentSetup.setupIntentId, 'pm_card_visa');
    expect((await deliverEvent(t, fake.event('setup_intent.succeeded', si))).status).toBe(200);
    await settleInbox();
    const o = await pricedOffer(t, vendor, { currency, inputPerMillionMinor: '1', outputPerMillionMinor: '1', upfrontFeeMinor: fee });
    const agreementId = await acceptAgreement(t, distiller, o.offer);
    const [invoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
    return { distiller, agreementId, invoice };
  }

  it('charges off session with the amount in Stripe units, a derived idempotency key and our ids', async () => {
    const { distiller, invoice } = await payingDistiller('1500', 'JPY');
    fake.reset();
    const r = await collection().collect(invoice.id, { includeUncollectible: false });
    expect(r.kind).toBe('paid');
    const [req] = fake.requestsTo('POST', '/v1/payment_intents');
    expect(req.idempotencyKey).toBe(`invoice:${invoice.id}:attempt:1`);
    expect(req.form).toMatchObject({
      amount: '1500', // JPY has no minor unit at Stripe either
      currency: 'jpy',
      confirm: 'true',
      off_session: 'true',
      payment_method: 'pm_card_visa',
      'metadata[invoice_id]': invoice.id,
      'metadata[invoice_number]': invoice.number,
      'metadata[distiller_organization_id]': distiller.organizationId,
    });
    expect(req.form['metadata[attempt_id]']).toMatch(/^[0-9a-f-]{36}$/);
    // The processing fee was read from the charge's balance transaction: 2.9 % + 30 → 43 + 30 = 73 JPY.
    const [c] = await t.dataSource.query(`SELECT processing_fee_minor::text AS fee, processing_fee_currency AS cur FROM invoice_collections WHERE invoice_id = $1`, [invoice.id]);
    expect(c).toEqual({ fee: '73', cur: 'JPY' });
  });

  it('a crash between creating the PaymentIntent and recording it: the retry reuses the key and one charge exists', async () => {
    const { invoice } = await payingDistiller('2500');
    fake.reset();
    // Stripe creates the PaymentIntent but the answer never arrives, and the SDK's own retries fail too.
    fake.failNext('drop-after', /payment_intents/);
    fake.failNext('drop-before', /payment_intents/);
    fake.failNext('drop-before', /payment_intents/);
    const first = await collection().collect(invoice.id, { includeUncollectible: false });
    expect(first.kind).toBe('pending');
    const [a] = await t.dataSource.query(`SELECT status, payment_intent_id FROM invoice_payment_attempts WHERE invoice_id = $1`, [invoice.id]);
    expect(a).toEqual({ status: 'PENDING', payment_intent_id: null });
    const intentsFor = () => fake.ofType('payment_intent').filter((pi) => pi.metadata?.invoice_id === invoice.id);
    expect(intentsFor()).toHaveLength(1); // the charge did happen at Stripe

    // The sweep finds it due again later.
    // A second back: collection compares with the platform clock in whole milliseconds, PostgreSQL's now() has microseconds.
    await t.dataSource.query(`UPDATE invoice_collections SET next_attempt_at = now() - interval '1 second' WHERE invoice_id = $1`, [invoice.id]);
    const sweep = await collection().collectDue();
    expect(sweep.paid).toBe(1);
    const keys = new Set(fake.requestsTo('POST', '/v1/payment_intents').map((r) => r.idempotencyKey));
    expect(keys).toEqual(new Set([`invoice:${invoice.id}:attempt:1`]));
    expect(intentsFor()).toHaveLength(1);
    expect(fake.ofType('charge').filter((c) => c.metadata?.invoice_id === invoice.id)).toHaveLength(1);
    const [inv] = await t.dataSource.query(`SELECT status, amount_paid_minor::text AS paid FROM invoices WHERE id = $1`, [invoice.id]);
    expect(inv).toEqual({ status: 'PAID', paid: '2500' });
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE reference = $1`, [`invoice:${invoice.id}:paid`]);
    expect(n).toBe(1);
  });

  it('a declined card: a result with the decline code, a retry scheduled', async () => {
    const distiller = await signUp(t, { country: 'FR' });
    const s = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: distiller.organizationId }, distiller.token);
    const si = fake.succeedSetupIntent(s.data!.createPaymentSetup.setupIntentId, 'pm_card_chargeDeclined');
    await deliverEvent(t, fake.event('setup_intent.succeeded', si));
    await settleInbox();
    const o = await pricedOffer(t, vendor, { currency: 'USD', inputPerMillionMinor: '1', outputPerMillionMinor: '1', upfrontFeeMinor: '700' });
    await acceptAgreement(t, distiller, o.offer);
    const [invoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
    const r = await collection().collect(invoice.id, { includeUncollectible: false });
    expect(r).toMatchObject({ kind: 'failed', uncollectible: false });
    expect((r as any).code).toMatch(/card_declined|generic_decline/);
    expect((r as any).nextAttemptAt).toBeInstanceOf(Date);
    const [inv] = await t.dataSource.query(`SELECT status FROM invoices WHERE id = $1`, [invoice.id]);
    expect(inv.status).toBe('OPEN');
  });

  it('1,000 deliveries of one signed payment_intent.succeeded, 50 at a time: one state change, no extra ledger rows', async () => {
    const { invoice, agreementId } = await payingDistiller('3000');
    fake.failNext('drop-after', /payment_intents/);
    fake.failNext('drop-before', /payment_intents/);
    fake.failNext('drop-before', /payment_intents/);
    expect((await collection().collect(invoice.id, { includeUncollectible: false })).kind).toBe('pending');
    const pi = fake.ofType('payment_intent').find((p) => p.metadata?.invoice_id === invoice.id)!;
    const event = fake.event('payment_intent.succeeded', pi);
    const ledgerRows = async () =>
      (await t.dataSource.query(`SELECT (SELECT count(*) FROM ledger_transactions)::int AS tx, (SELECT count(*) FROM ledger_entries)::int AS entries`))[0];
    const before = await ledgerRows();
    const statuses: number[] = [];
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => deliverEvent(t, event)));
      statuses.push(...batch.map((r) => r.status));
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    await settleInbox();
    const after = await ledgerRows();
    // Exactly one settlement: the INVOICE_PAID transaction (5 entries); the processing fee is booked by the fee sweep, not by the webhook.
    expect({ tx: after.tx - before.tx, entries: after.entries - before.entries }).toEqual({ tx: 1, entries: 5 });
    const [{ n: stored }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM payment_webhook_events WHERE id = $1`, [event.id]);
    expect(stored).toBe(1);
    const paidAudits = await t.dataSource.query(`SELECT 1 FROM audit_log WHERE action = 'billing.invoice.paid' AND target_id = $1`, [invoice.id]);
    expect(paidAudits).toHaveLength(1);
    const [inv] = await t.dataSource.query(`SELECT status FROM invoices WHERE id = $1`, [invoice.id]);
    expect(inv.status).toBe('PAID');
    const [ag] = await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [agreementId]);
    expect(ag.status).toBe('ACTIVE');
    // The fee sweep books Stripe's fee once.
    expect(await collection().bookMissingProcessingFees()).toBe(1);
    expect(await collection().bookMissingProcessingFees()).toBe(0);
  }, 120_000);

  /** Every order of four events, each on a fresh invoice whose charge happened at Stripe but was never recorded by us. */
  const ORDERS = permutations(['succeeded', 'refunded', 'dispute.created', 'dispute.closed'] as const);

  it(`every order of a payment's events ends in the same state (${ORDERS.length} orders)`, async () => {
    const finals: string[] = [];
    for (const order of ORDERS) {
      const { invoice } = await payingDistiller('1000');
      fake.failNext('drop-after', /payment_intents/);
      fake.failNext('drop-before', /payment_intents/);
      fake.failNext('drop-before', /payment_intents/);
      expect((await collection().collect(invoice.id, { includeUncollectible: false })).kind).toBe('pending');
      const pi = fake.ofType('payment_intent').find((p) => p.metadata?.invoice_id === invoice.id)!;
      const charge = fake.objects.get(pi.latest_charge)!;
      const disputeId = `dp_${invoice.id.slice(0, 8)}`;
      const dispute = { id: disputeId, object: 'dispute', amount: 400, currency: 'usd', charge: charge.id, payment_intent: pi.id, reason: 'fraudulent', status: 'needs_response', metadata: {} };
      const events = {
        succeeded: fake.event('payment_intent.succeeded', pi),
        refunded: fake.event('charge.refunded', { ...charge, amount_refunded: 300, refunded: false }),
        'dispute.created': fake.event('charge.dispute.created', dispute),
        'dispute.closed': fake.event('charge.dispute.closed', { ...dispute, status: 'lost' }),
      };
      for (const step of order) {
        expect((await deliverEvent(t, events[step])).status).toBe(200);
        await inbox().drain();
      }
      await settleInbox();
      // Each event handled on arrival, once — a refund or dispute that arrives before the payment's success
      // settles the invoice itself rather than failing and waiting for the inbox's retries. The one exception
      // by design: a dispute that arrives before anything naming this charge (the dispute carries none of our
      // metadata, and our charge attempt never recorded its answer) cannot be tied to the invoice yet, fails
      // once and is handled on its first retry.
      const tied = Math.min(order.indexOf('succeeded'), order.indexOf('refunded'));
      const expectedAttempts = (step: (typeof order)[number]) => (step.startsWith('dispute') && order.indexOf(step) < tied ? 2 : 1);
      const inboxRows: { id: string; attempts: number; outcome: string | null }[] = await t.dataSource.query(
        `SELECT id, attempts, outcome FROM payment_webhook_events WHERE id = ANY($1::text[])`,
        [Object.values(events).map((e) => e.id)],
      );
      const byId = new Map(inboxRows.map((r) => [r.id, r]));
      expect({ order, inbox: order.map((step) => ({ step, ...byId.get(events[step].id) })) }).toEqual({
        order,
        inbox: order.map((step) => ({ step, id: events[step].id, attempts: expectedAttempts(step), outcome: 'handled' })),
      });
      finals.push(JSON.stringify(await finalState(invoice.id, disputeId)));
    }
    expect(new Set(finals).size).toBe(1);
    expect(JSON.parse(finals[0])).toEqual({
      invoice: { status: 'PAID', paid: '1000', refunded: '300' },
      dispute: 'LOST',
      // 1000 paid: fee 150 / vendor 850; refund 300 → 45 / 255; dispute lost 400 → 60 / 340 (held first, then gone).
      ledger: {
        'platform:billed': '0',
        'platform:cash': '300', // 1000 in − 300 refunded − 400 lost
        'platform:fees': '-45', // 150 − 45 − 60
        receivable: '0',
        'vendor:held': '0',
        'vendor:payable': '-255', // 850 − 255 − 340
      },
    });
  }, 240_000);

  /** The invoice, its dispute, and the sum per account of every ledger transaction about it (org ids replaced by roles). */
  async function finalState(invoiceId: string, disputeId: string) {
    const [inv] = await t.dataSource.query(
      `SELECT status, amount_paid_minor::text AS paid, amount_refunded_minor::text AS refunded FROM invoices WHERE id = $1`,
      [invoiceId],
    );
    const [d] = await t.dataSource.query(`SELECT status FROM invoice_disputes WHERE dispute_id = $1`, [disputeId]);
    const rows: { code: string; sum: string }[] = await t.dataSource.query(
      `SELECT a.code, sum(e.amount_minor)::text AS sum FROM ledger_transactions x JOIN ledger_entries e ON e.transaction_id = x.id
         JOIN ledger_accounts a ON a.id = e.account_id
        WHERE x.metadata->>'invoiceId' = $1 AND x.kind <> 'PROCESSING_FEE' GROUP BY a.code ORDER BY a.code`,
      [invoiceId],
    );
    const ledger: Record<string, string> = {};
    for (const r of rows) ledger[r.code.replace(/^(vendor|distiller):[0-9a-f-]{36}:/, (_m, role) => (role === 'vendor' ? 'vendor:' : ''))] = r.sum;
    return { invoice: inv, dispute: d?.status ?? null, ledger: Object.fromEntries(Object.entries(ledger).sort()) };
  }
});

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}
