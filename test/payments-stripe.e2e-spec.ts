/**
 * The Stripe adapter through the real SDK, against the Stripe-compatible fake
 * server, with the app booted in stripe mode: what goes over the wire (form
 * bodies in Stripe's units, lower-case currencies, our ids in metadata,
 * idempotency keys that survive retries), declines as results, unavailability
 * as a typed error, and payment setup (customer once, setup_intent.succeeded
 * through the signed webhook).
 */
import { randomUUID } from 'node:crypto';
import { NoPaymentMethodError, PaymentsUnavailableError } from '../src/payments/payments.errors';
import { PAYMENTS_PORT, PaymentsPort } from '../src/payments/payments.port';
import { PaymentsService } from '../src/payments/payments.service';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { startTestApp, TestApp } from './support/app';
import { deliverEvent, FakeStripe } from './support/fake-stripe';
import { signUp, TestUser } from './support/users';

const SETUP = `mutation($o: ID!) { createPaymentSetup(organizationId: $o) { mode customerId setupIntentId clientSecret testPaymentMethods } }`;
const STATUS = `query($o: ID!) { paymentSetup(organizationId: $o) { mode customerId hasDefaultPaymentMethod defaultPaymentMethodId testPaymentMethods } }`;

describe('payments: Stripe adapter (e2e, fake Stripe)', () => {
  let fake: FakeStripe;
  let t: TestApp;
  let port: PaymentsPort;
  let payments: PaymentsService;
  let user: TestUser;
  let customerId: string;

  beforeAll(async () => {
    fake = await FakeStripe.start();
    t = await startTestApp({ stripeSecretKey: 'sk_test_fake123', stripeWebhookSecret: 'whsec_fakesecret123', stripeApiBase: fake.url });
    port = t.app.get(PAYMENTS_PORT);
    payments = t.app.get(PaymentsService);
    user = await signUp(t);
    ({ customerId } = await payments.ensureCustomer(user.organizationId));
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  const charge = (over: Partial<Parameters<PaymentsPort['chargeOffSession']>[0]> = {}) =>
    port.chargeOffSession({
      customerId,
      paymentMethodId: 'pm_card_visa',
      amountMinor: 1234n,
      currency: 'USD',
      idempotencyKey: `invoice:${randomUUID()}:attempt:1`,
      description: 'Invoice BM-202611-000001',
      metadata: { invoice_id: randomUUID(), organization_id: user.organizationId },
      ...over,
    });

  it('boots in stripe mode and says so in the API', async () => {
    expect(port.mode).toBe('stripe');
    const r = await t.gql(STATUS, { o: user.organizationId }, user.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.paymentSetup).toEqual({ mode: 'STRIPE', customerId, hasDefaultPaymentMethod: false, defaultPaymentMethodId: null, testPaymentMethods: [] });
  });

  it('charges off session with amounts in Stripe units (USD, JPY, BHD, ISK), lower-case currency, our ids and the key', async () => {
    const cases: [bigint, string, string][] = [
      [1234n, 'USD', '1234'],
      [5000n, 'JPY', '5000'],
      [12340n, 'BHD', '12340'], // 12.340 BHD: three decimals at Stripe too
      [150n, 'ISK', '15000'], // ISO 0 decimals, Stripe 2
    ];
    for (const [amountMinor, currency, wire] of cases) {
      fake.reset();
      const invoiceId = randomUUID();
      const key = `invoice:${invoiceId}:attempt:1`;
      const result = await charge({ amountMinor, currency, idempotencyKey: key, metadata: { invoice_id: invoiceId, organization_id: user.organizationId } });
      expect(result).toMatchObject({ status: 'succeeded', amountMinor, currency, failureCode: null, metadata: { invoice_id: invoiceId } });
      expect(result.id).toMatch(/^pi_/);
      expect(result.latestChargeId).toMatch(/^ch_/);
      const [req] = fake.requestsTo('POST', '/v1/payment_intents');
      expect(req.idempotencyKey).toBe(key);
      expect(req.headers['stripe-version']).toBe('2026-10-28.endive');
      expect(req.form).toMatchObject({
        amount: wire,
        currency: currency.toLowerCase(),
        customer: customerId,
        payment_method: 'pm_card_visa',
        confirm: 'true',
        off_session: 'true',
        description: 'Invoice BM-202611-000001',
        'metadata[invoice_id]': invoiceId,
        'metadata[organization_id]': user.organizationId,
      });
      // Request options never leak into the parameters.
      expect(Object.keys(req.form).some((k) => /idempotency/i.test(k))).toBe(false);
    }
  });

  it('refuses amounts Stripe cannot express before calling it', async () => {
    await expect(charge({ amountMinor: 12345n, currency: 'BHD' })).rejects.toThrow(/multiples of 10/);
    expect(fake.requestsTo('POST', '/v1/payment_intents')).toHaveLength(0);
  });

  it('a decline is a result, not an exception, and is replayed for the same key', async () => {
    const invoiceId = randomUUID();
    const key = `invoice:${invoiceId}:attempt:1`;
    const metadata = { invoice_id: invoiceId };
    const declined = await charge({ paymentMethodId: 'pm_card_chargeDeclined', idempotencyKey: key, metadata });
    expect(declined).toMatchObject({ status: 'requires_payment_method', failureCode: 'card_declined', amountMinor: 1234n, currency: 'USD' });
    expect(declined.failureMessage).toMatch(/declined/);
    const again = await charge({ paymentMethodId: 'pm_card_chargeDeclined', idempotencyKey: key, metadata });
    expect(again.id).toBe(declined.id);
    expect(fake.requestsTo('POST', '/v1/payment_intents').map((r) => r.outcome)).toEqual(['ok', 'replayed']);

    const poor = await charge({ paymentMethodId: 'pm_card_chargeDeclinedInsufficientFunds' });
    expect(poor).toMatchObject({ status: 'requires_payment_method', failureCode: 'insufficient_funds' });
  });

  it('a connection dropped after Stripe created the PaymentIntent: the retry reuses the key and one charge exists', async () => {
    const invoiceId = randomUUID();
    const key = `invoice:${invoiceId}:attempt:1`;
    fake.failNext('drop-after', /^POST \/v1\/payment_intents$/);
    const result = await charge({ idempotencyKey: key, metadata: { invoice_id: invoiceId } });
    expect(result.status).toBe('succeeded');
    const sent = fake.requestsTo('POST', '/v1/payment_intents');
    expect(sent.map((r) => r.outcome)).toEqual(['dropped-after', 'replayed']);
    expect(sent.map((r) => r.idempotencyKey)).toEqual([key, key]);
    expect(sent[1].form).toEqual(sent[0].form);
    const created = fake.ofType('payment_intent').filter((pi) => pi.metadata.invoice_id === invoiceId);
    expect(created).toHaveLength(1);
    expect(created[0].id).toBe(result.id);
  });

  it('Stripe unavailable → PaymentsUnavailableError (retryable); a later retry with the same key charges once', async () => {
    const invoiceId = randomUUID();
    const key = `invoice:${invoiceId}:attempt:1`;
    for (let i = 0; i < 3; i++) fake.failNext('status500', /^POST \/v1\/payment_intents$/); // the SDK tries 3 times
    const error = await charge({ idempotencyKey: key, metadata: { invoice_id: invoiceId } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentsUnavailableError);
    expect(error).toMatchObject({ retryable: true, statusCode: 500 });
    expect(fake.ofType('payment_intent').filter((pi) => pi.metadata.invoice_id === invoiceId)).toHaveLength(0);

    const later = await charge({ idempotencyKey: key, metadata: { invoice_id: invoiceId } });
    expect(later.status).toBe('succeeded');
    expect(new Set(fake.requestsTo('POST', '/v1/payment_intents').map((r) => r.idempotencyKey))).toEqual(new Set([key]));
    expect(fake.ofType('payment_intent').filter((pi) => pi.metadata.invoice_id === invoiceId)).toHaveLength(1);
  });

  it('the same key with other parameters is refused as not retryable', async () => {
    const key = `invoice:${randomUUID()}:attempt:1`;
    const metadata = { invoice_id: 'inv-same' };
    await charge({ idempotencyKey: key, amountMinor: 1000n, metadata });
    const error = await charge({ idempotencyKey: key, amountMinor: 2000n, metadata }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentsUnavailableError);
    expect(error).toMatchObject({ retryable: false, statusCode: 400, code: 'idempotency_error' });
  });

  it("without a payment method: the customer's default at Stripe, else NoPaymentMethodError", async () => {
    await expect(charge({ paymentMethodId: null })).rejects.toBeInstanceOf(NoPaymentMethodError);
    expect(fake.requestsTo('POST', '/v1/payment_intents')).toHaveLength(0);
    fake.objects.get(customerId)!.invoice_settings.default_payment_method = 'pm_card_visa';
    try {
      const result = await charge({ paymentMethodId: null });
      expect(result.status).toBe('succeeded');
      expect(fake.requestsTo('POST', '/v1/payment_intents')[0].form.payment_method).toBe('pm_card_visa');
    } finally {
      fake.objects.get(customerId)!.invoice_settings.default_payment_method = null;
    }
  });

  it('reads the processing fee from the balance transaction, in our units and the settlement currency', async () => {
    const usd = await charge({ amountMinor: 10_000n, currency: 'USD' });
    expect(await port.processingFee(usd.latestChargeId!)).toEqual({ feeMinor: 320n, currency: 'USD' }); // 290 + 30
    const [req] = fake.requestsTo('GET', `/v1/charges/${usd.latestChargeId}`);
    expect(Object.entries(req.query)).toContainEqual([expect.stringMatching(/^expand/), 'balance_transaction']);

    const jpy = await charge({ amountMinor: 5000n, currency: 'JPY' });
    expect(await port.processingFee(jpy.latestChargeId!)).toEqual({ feeMinor: 175n, currency: 'JPY' }); // 145 + 30

    const isk = await charge({ amountMinor: 100n, currency: 'ISK' }); // 10000 in Stripe's units, fee 320 = 3.20 ISK
    expect(await port.processingFee(isk.latestChargeId!)).toEqual({ feeMinor: 3n, currency: 'ISK' });

    fake.settlementCurrency = 'usd';
    try {
      const settled = await charge({ amountMinor: 5000n, currency: 'JPY' });
      expect(await port.processingFee(settled.latestChargeId!)).toEqual({ feeMinor: 175n, currency: 'USD' });
    } finally {
      fake.settlementCurrency = null;
    }
  });

  it('refunds by PaymentIntent with the amount in Stripe units and the caller key', async () => {
    const paid = await charge({ amountMinor: 9000n, currency: 'JPY' });
    const refundKey = `refund:${randomUUID()}`;
    const refund = await port.refund({
      paymentIntentId: paid.id,
      amountMinor: 4000n,
      currency: 'JPY',
      idempotencyKey: refundKey,
      reason: 'requested_by_customer',
      metadata: { invoice_id: 'inv-1' },
    });
    expect(refund).toMatchObject({ status: 'succeeded', amountMinor: 4000n, currency: 'JPY' });
    const [req] = fake.requestsTo('POST', '/v1/refunds');
    expect(req.idempotencyKey).toBe(refundKey);
    expect(req.form).toEqual({ payment_intent: paid.id, amount: '4000', reason: 'requested_by_customer', 'metadata[invoice_id]': 'inv-1' });
    const tooMuch = await port
      .refund({ paymentIntentId: paid.id, amountMinor: 6000n, currency: 'JPY', idempotencyKey: `refund:${randomUUID()}`, reason: null, metadata: {} })
      .catch((e: unknown) => e);
    expect(tooMuch).toMatchObject({ code: 'amount_too_large', retryable: false });
  });

  it('retrieves a PaymentIntent in our units', async () => {
    const paid = await charge({ amountMinor: 12340n, currency: 'BHD' });
    expect(await port.retrievePaymentIntent(paid.id)).toEqual(paid);
    await expect(port.retrievePaymentIntent('pi_unknown')).rejects.toMatchObject({ code: 'resource_missing', retryable: false });
  });

  describe('payment setup', () => {
    it('creates the customer once (key org:<id>:customer) and a SetupIntent per call', async () => {
      const u = await signUp(t);
      const first = await t.gql(SETUP, { o: u.organizationId }, u.token);
      expect(first.errors).toBeUndefined();
      const setup = first.data!.createPaymentSetup;
      expect(setup).toMatchObject({ mode: 'STRIPE', testPaymentMethods: [] });
      expect(setup.customerId).toMatch(/^cus_/);
      expect(setup.setupIntentId).toMatch(/^seti_/);
      expect(setup.clientSecret).toMatch(/_secret_/);
      const [customerReq] = fake.requestsTo('POST', '/v1/customers');
      expect(customerReq.idempotencyKey).toBe(`org:${u.organizationId}:customer`);
      expect(customerReq.form['metadata[organization_id]']).toBe(u.organizationId);
      const [setupReq] = fake.requestsTo('POST', '/v1/setup_intents');
      expect(setupReq.form).toMatchObject({ customer: setup.customerId, usage: 'off_session', 'metadata[organization_id]': u.organizationId });

      const second = await t.gql(SETUP, { o: u.organizationId }, u.token);
      expect(second.data!.createPaymentSetup.customerId).toBe(setup.customerId);
      expect(second.data!.createPaymentSetup.setupIntentId).not.toBe(setup.setupIntentId);
      expect(fake.requestsTo('POST', '/v1/customers')).toHaveLength(1);
    });

    it('two concurrent setups → one customer', async () => {
      const u = await signUp(t);
      const [a, b] = await Promise.all([t.gql(SETUP, { o: u.organizationId }, u.token), t.gql(SETUP, { o: u.organizationId }, u.token)]);
      expect(a.errors).toBeUndefined();
      expect(b.errors).toBeUndefined();
      expect(a.data!.createPaymentSetup.customerId).toBe(b.data!.createPaymentSetup.customerId);
      expect(fake.ofType('customer').filter((c) => c.metadata.organization_id === u.organizationId)).toHaveLength(1);
      const rows = await t.dataSource.query(`SELECT customer_id, mode FROM payment_customers WHERE organization_id = $1`, [u.organizationId]);
      expect(rows).toEqual([{ customer_id: a.data!.createPaymentSetup.customerId, mode: 'stripe' }]);
    });

    it('Stripe unavailable during setup → a typed error, nothing saved; the next attempt works', async () => {
      const u = await signUp(t);
      for (let i = 0; i < 3; i++) fake.failNext('status500', /^POST \/v1\/customers$/);
      const failed = await t.gql(SETUP, { o: u.organizationId }, u.token);
      expect(failed.errors?.[0].extensions).toMatchObject({ code: 'INTERNAL', reason: 'PAYMENTS_UNAVAILABLE', retryable: true });
      expect(await payments.customerFor(u.organizationId)).toBeNull();
      const ok = await t.gql(SETUP, { o: u.organizationId }, u.token);
      expect(ok.errors).toBeUndefined();
      expect(await payments.customerFor(u.organizationId)).toEqual({ customerId: ok.data!.createPaymentSetup.customerId, defaultPaymentMethodId: null });
    });

    it('confirmSandboxPaymentSetup is refused in stripe mode', async () => {
      const r = await t.gql(
        `mutation($o: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: "seti_x", paymentMethod: "pm_sandbox_visa") { hasDefaultPaymentMethod } }`,
        { o: user.organizationId },
        user.token,
      );
      expect(r.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    });

    it('setup_intent.succeeded from Stripe saves the default payment method; an older setup arriving later does not replace it', async () => {
      const u = await signUp(t);
      const setup = (await t.gql(SETUP, { o: u.organizationId }, u.token)).data!.createPaymentSetup;
      const older = setup.setupIntentId as string;
      const newer = (await t.gql(SETUP, { o: u.organizationId }, u.token)).data!.createPaymentSetup.setupIntentId as string;
      const now = Math.floor(Date.now() / 1000);
      fake.objects.get(older)!.created = now - 60;
      fake.objects.get(newer)!.created = now;
      const inbox = t.app.get(WebhookInboxService);

      const newerEvent = fake.event('setup_intent.succeeded', fake.succeedSetupIntent(newer, 'pm_card_mastercard'));
      const olderEvent = fake.event('setup_intent.succeeded', fake.succeedSetupIntent(older, 'pm_card_visa'));
      expect((await deliverEvent(t, newerEvent)).body).toEqual({ received: true, duplicate: false });
      await inbox.drain();
      expect((await deliverEvent(t, olderEvent)).body).toEqual({ received: true, duplicate: false });
      await inbox.drain();

      const status = await t.gql(STATUS, { o: u.organizationId }, u.token);
      expect(status.data!.paymentSetup).toMatchObject({ hasDefaultPaymentMethod: true, defaultPaymentMethodId: 'pm_card_mastercard' });
      expect(await payments.customerFor(u.organizationId)).toEqual({ customerId: setup.customerId, defaultPaymentMethodId: 'pm_card_mastercard' });
      const events = await t.dataSource.query(`SELECT id, outcome FROM payment_webhook_events WHERE id = ANY($1) ORDER BY id`, [[newerEvent.id, olderEvent.id]]);
      expect(events.map((e: { outcome: string }) => e.outcome)).toEqual(['handled', 'handled']);
    });
  });
});
