/**
 * The sandbox processor (the default without a Stripe key): deterministic ids
 * derived from idempotency keys, Stripe-like replays, the documented test
 * payment methods (success, declines), a documented fee, Stripe-shaped events
 * flowing through the same inbox to the same handlers, state that survives a
 * new adapter instance; payment setup with its authorization and concurrency;
 * admin-only dispute simulation.
 */
import { randomUUID } from 'node:crypto';
import type { Tx } from '../src/platform/database/transaction';
import { Database } from '../src/platform/database/transaction';
import { NoPaymentMethodError, PaymentsUnavailableError } from '../src/payments/payments.errors';
import { PAYMENTS_PORT, PaymentsPort } from '../src/payments/payments.port';
import { PaymentsService } from '../src/payments/payments.service';
import { SandboxPaymentsAdapter } from '../src/payments/sandbox/sandbox-payments.adapter';
import { sandboxId } from '../src/payments/sandbox/sandbox-store';
import { StripeEventLike, WebhookHandlers } from '../src/payments/webhooks/webhook-handlers';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { startTestApp, TestApp } from './support/app';
import { postWebhook } from './support/fake-stripe';
import { makeAdmin, signUp, TestUser } from './support/users';

const SETUP = `mutation($o: ID!) { createPaymentSetup(organizationId: $o) { mode customerId setupIntentId clientSecret testPaymentMethods } }`;
const CONFIRM = `mutation($o: ID!, $s: ID!, $p: String!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: $p) {
  organizationId mode customerId hasDefaultPaymentMethod defaultPaymentMethodId testPaymentMethods } }`;
const STATUS = `query($o: ID!) { paymentSetup(organizationId: $o) { mode customerId hasDefaultPaymentMethod defaultPaymentMethodId testPaymentMethods } }`;
const DISPUTE = `mutation($pi: ID!, $a: String, $r: String) { simulateSandboxDispute(paymentIntentId: $pi, amountMinor: $a, reason: $r) {
  id paymentIntentId chargeId amount { amountMinor currency formatted } reason status } }`;
const CLOSE = `mutation($d: ID!, $o: SandboxDisputeOutcome!) { closeSandboxDispute(disputeId: $d, outcome: $o) { id status } }`;
const TEST_METHODS = ['pm_sandbox_visa', 'pm_sandbox_declined', 'pm_sandbox_insufficient_funds'];

const count = async (t: TestApp, sql: string, params: unknown[] = []) => Number((await t.dataSource.query(sql, params))[0].n);

describe('payments: sandbox processor (e2e)', () => {
  let t: TestApp;
  let port: PaymentsPort;
  let payments: PaymentsService;
  let inbox: WebhookInboxService;
  let distiller: TestUser;
  let customerId: string;
  const received: StripeEventLike[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    port = t.app.get(PAYMENTS_PORT);
    payments = t.app.get(PaymentsService);
    inbox = t.app.get(WebhookInboxService);
    const handlers = t.app.get(WebhookHandlers);
    for (const type of ['payment_intent.succeeded', 'payment_intent.payment_failed', 'charge.refunded', 'charge.dispute.created', 'charge.dispute.closed', 'setup_intent.succeeded']) {
      handlers.on(type, async (_tx: Tx, event) => {
        received.push(event);
      });
    }
    distiller = await signUp(t);
    const setup = await t.gql(SETUP, { o: distiller.organizationId }, distiller.token);
    expect(setup.errors).toBeUndefined();
    customerId = setup.data!.createPaymentSetup.customerId;
  });
  afterAll(() => t.close());

  const charge = (over: Partial<Parameters<PaymentsPort['chargeOffSession']>[0]> = {}) =>
    port.chargeOffSession({
      customerId,
      paymentMethodId: 'pm_sandbox_visa',
      amountMinor: 10_000n,
      currency: 'USD',
      idempotencyKey: `invoice:${randomUUID()}:attempt:1`,
      description: 'Invoice (sandbox)',
      metadata: { invoice_id: 'inv-1' },
      ...over,
    });

  const eventsFor = (objectId: string) => received.filter((e) => e.data.object.id === objectId).map((e) => e.type);

  it('is the default adapter and is labelled SANDBOX in the API', async () => {
    expect(port.mode).toBe('sandbox');
    const r = await t.gql(STATUS, { o: distiller.organizationId }, distiller.token);
    expect(r.data!.paymentSetup).toEqual({ mode: 'SANDBOX', customerId, hasDefaultPaymentMethod: false, defaultPaymentMethodId: null, testPaymentMethods: TEST_METHODS });
  });

  it('the webhook endpoint answers 503 without STRIPE_WEBHOOK_SECRET, storing nothing', async () => {
    const r = await postWebhook(t, JSON.stringify({ id: 'evt_1', object: 'event' }), 't=1,v1=abc');
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('webhooks_not_configured');
    expect(await count(t, `SELECT count(*) AS n FROM payment_webhook_events WHERE source = 'stripe'`)).toBe(0);
  });

  describe('payment setup', () => {
    it('creates a deterministic sandbox customer and SetupIntent, and lists the test payment methods', async () => {
      const u = await signUp(t);
      const r = await t.gql(SETUP, { o: u.organizationId }, u.token);
      expect(r.errors).toBeUndefined();
      const setup = r.data!.createPaymentSetup;
      expect(setup).toMatchObject({ mode: 'SANDBOX', customerId: sandboxId('customer', `org:${u.organizationId}:customer`), testPaymentMethods: TEST_METHODS });
      expect(setup.setupIntentId).toMatch(/^seti_sandbox_[0-9a-f]{24}$/);
      expect(setup.clientSecret).toMatch(new RegExp(`^${setup.setupIntentId}_secret_`));
    });

    it('confirming with a test payment method saves it as the default through setup_intent.succeeded in the inbox', async () => {
      const u = await signUp(t);
      const setup = (await t.gql(SETUP, { o: u.organizationId }, u.token)).data!.createPaymentSetup;
      const r = await t.gql(CONFIRM, { o: u.organizationId, s: setup.setupIntentId, p: 'pm_sandbox_visa' }, u.token);
      expect(r.errors).toBeUndefined();
      expect(r.data!.confirmSandboxPaymentSetup).toMatchObject({ mode: 'SANDBOX', hasDefaultPaymentMethod: true, defaultPaymentMethodId: 'pm_sandbox_visa' });
      const [event] = await t.dataSource.query(`SELECT source, type, outcome FROM payment_webhook_events WHERE payload->'data'->'object'->>'id' = $1`, [setup.setupIntentId]);
      expect(event).toEqual({ source: 'sandbox', type: 'setup_intent.succeeded', outcome: 'handled' });
      // Confirming again the same way changes nothing; with another method it is refused.
      const again = await t.gql(CONFIRM, { o: u.organizationId, s: setup.setupIntentId, p: 'pm_sandbox_visa' }, u.token);
      expect(again.data!.confirmSandboxPaymentSetup.defaultPaymentMethodId).toBe('pm_sandbox_visa');
      const other = await t.gql(CONFIRM, { o: u.organizationId, s: setup.setupIntentId, p: 'pm_sandbox_declined' }, u.token);
      expect(other.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
      // A newer setup replaces the default.
      const newer = (await t.gql(SETUP, { o: u.organizationId }, u.token)).data!.createPaymentSetup;
      const replaced = await t.gql(CONFIRM, { o: u.organizationId, s: newer.setupIntentId, p: 'pm_sandbox_insufficient_funds' }, u.token);
      expect(replaced.data!.confirmSandboxPaymentSetup.defaultPaymentMethodId).toBe('pm_sandbox_insufficient_funds');
      expect(await payments.customerFor(u.organizationId)).toEqual({ customerId: setup.customerId, defaultPaymentMethodId: 'pm_sandbox_insufficient_funds' });
    });

    it('refuses an unknown payment method and a SetupIntent of another organization', async () => {
      const a = await signUp(t);
      const b = await signUp(t);
      const aSetup = (await t.gql(SETUP, { o: a.organizationId }, a.token)).data!.createPaymentSetup;
      await t.gql(SETUP, { o: b.organizationId }, b.token);
      const bad = await t.gql(CONFIRM, { o: a.organizationId, s: aSetup.setupIntentId, p: 'pm_card_visa' }, a.token);
      expect(bad.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
      // B names A's SetupIntent under its own organization: as unknown as a made-up id.
      const foreign = await t.gql(CONFIRM, { o: b.organizationId, s: aSetup.setupIntentId, p: 'pm_sandbox_visa' }, b.token);
      const unknown = await t.gql(CONFIRM, { o: b.organizationId, s: 'seti_sandbox_000000000000000000000000', p: 'pm_sandbox_visa' }, b.token);
      expect(foreign.errors?.[0].extensions.code).toBe('NOT_FOUND');
      expect(unknown.errors?.[0].extensions.code).toBe('NOT_FOUND');
      expect(await payments.customerFor(b.organizationId)).toMatchObject({ defaultPaymentMethodId: null });
      expect(await payments.customerFor(a.organizationId)).toMatchObject({ defaultPaymentMethodId: null });
    });

    it('authorization: another organization → NOT_FOUND, anonymous → UNAUTHENTICATED, nothing written', async () => {
      const owner = await signUp(t);
      const outsider = await signUp(t);
      const before = await count(t, `SELECT count(*) AS n FROM payment_customers`);
      const objects = await count(t, `SELECT count(*) AS n FROM sandbox_payment_objects`);
      const random = randomUUID();
      for (const [query, vars] of [
        [SETUP, { o: owner.organizationId }],
        [STATUS, { o: owner.organizationId }],
        [CONFIRM, { o: owner.organizationId, s: 'seti_sandbox_000000000000000000000000', p: 'pm_sandbox_visa' }],
      ] as const) {
        const foreign = await t.gql(query, vars, outsider.token);
        const unknown = await t.gql(query, { ...vars, o: random }, outsider.token);
        expect(foreign.errors?.[0].extensions.code).toBe('NOT_FOUND');
        expect(foreign.errors?.[0].message).toBe(unknown.errors?.[0].message.replace(random, owner.organizationId));
        const anonymous = await t.gql(query, vars);
        expect(anonymous.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
      }
      const malformed = await t.gql(SETUP, { o: 'not-a-uuid' }, owner.token);
      expect(malformed.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(await count(t, `SELECT count(*) AS n FROM payment_customers`)).toBe(before);
      expect(await count(t, `SELECT count(*) AS n FROM sandbox_payment_objects`)).toBe(objects);
    });

    it('two concurrent setups → one customer', async () => {
      const u = await signUp(t);
      const results = await Promise.all([1, 2, 3].map(() => t.gql(SETUP, { o: u.organizationId }, u.token)));
      for (const r of results) expect(r.errors).toBeUndefined();
      const ids = new Set(results.map((r) => r.data!.createPaymentSetup.customerId));
      expect(ids.size).toBe(1);
      expect(await count(t, `SELECT count(*) AS n FROM payment_customers WHERE organization_id = $1`, [u.organizationId])).toBe(1);
      expect(await count(t, `SELECT count(*) AS n FROM sandbox_payment_objects WHERE kind = 'customer' AND data->'metadata'->>'organization_id' = $1`, [u.organizationId])).toBe(1);
    });
  });

  describe('charges', () => {
    it('the same key → the same PaymentIntent (id derived from the key), one event; other parameters → idempotency_error', async () => {
      const key = `invoice:${randomUUID()}:attempt:1`;
      const first = await charge({ idempotencyKey: key });
      expect(first).toMatchObject({ id: sandboxId('payment_intent', key), status: 'succeeded', amountMinor: 10_000n, currency: 'USD', failureCode: null, metadata: { invoice_id: 'inv-1' } });
      expect(first.latestChargeId).toBe(sandboxId('charge', first.id));
      expect(await charge({ idempotencyKey: key })).toEqual(first);
      const refused = await charge({ idempotencyKey: key, amountMinor: 20_000n }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(PaymentsUnavailableError);
      expect(refused).toMatchObject({ code: 'idempotency_error', retryable: false });
      await inbox.drain();
      expect(eventsFor(first.id)).toEqual(['payment_intent.succeeded']);
      expect(await count(t, `SELECT count(*) AS n FROM sandbox_payment_objects WHERE kind = 'payment_intent' AND idempotency_key = $1`, [key])).toBe(1);
    });

    it('declines with the documented test payment methods, as results, with payment_failed events', async () => {
      const declined = await charge({ paymentMethodId: 'pm_sandbox_declined' });
      expect(declined).toMatchObject({ status: 'requires_payment_method', failureCode: 'card_declined', latestChargeId: null });
      const poor = await charge({ paymentMethodId: 'pm_sandbox_insufficient_funds' });
      expect(poor).toMatchObject({ status: 'requires_payment_method', failureCode: 'insufficient_funds' });
      await inbox.drain();
      expect(eventsFor(declined.id)).toEqual(['payment_intent.payment_failed']);
      expect(eventsFor(poor.id)).toEqual(['payment_intent.payment_failed']);
      await expect(charge({ paymentMethodId: 'pm_card_visa' })).rejects.toMatchObject({ code: 'resource_missing', retryable: false });
    });

    it("charges the customer's saved default when no method is given; none saved → NoPaymentMethodError", async () => {
      const u = await signUp(t);
      const setup = (await t.gql(SETUP, { o: u.organizationId }, u.token)).data!.createPaymentSetup;
      const input = { customerId: setup.customerId, paymentMethodId: null };
      await expect(charge(input)).rejects.toBeInstanceOf(NoPaymentMethodError);
      await t.gql(CONFIRM, { o: u.organizationId, s: setup.setupIntentId, p: 'pm_sandbox_declined' }, u.token);
      expect(await charge(input)).toMatchObject({ status: 'requires_payment_method', failureCode: 'card_declined' });
    });

    it('the processing fee is 290 bps of the amount (splitBps), in the charge currency', async () => {
      const usd = await charge({ amountMinor: 10_000n });
      expect(await port.processingFee(usd.latestChargeId!)).toEqual({ feeMinor: 290n, currency: 'USD' });
      const jpy = await charge({ amountMinor: 1_234n, currency: 'JPY' });
      expect(await port.processingFee(jpy.latestChargeId!)).toEqual({ feeMinor: 36n, currency: 'JPY' }); // 35.786 → 36
      const bhd = await charge({ amountMinor: 12_340n, currency: 'BHD' });
      expect(await port.processingFee(bhd.latestChargeId!)).toEqual({ feeMinor: 358n, currency: 'BHD' }); // 357.86 → 358
      expect(await port.retrievePaymentIntent(bhd.id)).toEqual(bhd);
    });

    it('refunds up to the charge, emitting charge.refunded with the cumulative amount', async () => {
      const paid = await charge({ amountMinor: 5_000n, currency: 'EUR' });
      const refund = (key: string, amountMinor: bigint) =>
        port.refund({ paymentIntentId: paid.id, amountMinor, currency: 'EUR', idempotencyKey: key, reason: 'requested_by_customer', metadata: { invoice_id: 'inv-1' } });
      const r1 = await refund('refund:1', 2_000n);
      expect(r1).toEqual({ id: sandboxId('refund', 'refund:1'), status: 'succeeded', amountMinor: 2_000n, currency: 'EUR' });
      expect(await refund('refund:1', 2_000n)).toEqual(r1);
      await expect(refund('refund:2', 3_001n)).rejects.toMatchObject({ code: 'amount_too_large' });
      await refund('refund:3', 3_000n);
      await expect(refund('refund:4', 1n)).rejects.toMatchObject({ code: 'charge_already_refunded' });
      await inbox.drain();
      const refunds = received.filter((e) => e.type === 'charge.refunded' && e.data.object.id === paid.latestChargeId);
      expect(refunds.map((e) => [e.data.object.amount_refunded, e.data.object.refunded])).toEqual([
        [2000, false],
        [5000, true],
      ]);
    });

    it('state survives a new adapter instance (a restart)', async () => {
      const key = `invoice:${randomUUID()}:attempt:1`;
      const paid = await charge({ idempotencyKey: key });
      const restarted = new SandboxPaymentsAdapter(t.app.get(Database), inbox);
      expect(await restarted.retrievePaymentIntent(paid.id)).toEqual(paid);
      expect(
        await restarted.chargeOffSession({
          customerId,
          paymentMethodId: 'pm_sandbox_visa',
          amountMinor: 10_000n,
          currency: 'USD',
          idempotencyKey: key,
          description: 'Invoice (sandbox)',
          metadata: { invoice_id: 'inv-1' },
        }),
      ).toEqual(paid);
    });
  });

  describe('disputes (admin simulation)', () => {
    let admin: TestUser;
    beforeAll(async () => {
      admin = await makeAdmin(t, await signUp(t));
    });

    it('only platform admins may simulate disputes', async () => {
      const paid = await charge();
      const r = await t.gql(DISPUTE, { pi: paid.id }, distiller.token);
      expect(r.errors?.[0].extensions.code).toBe('FORBIDDEN');
      expect((await t.gql(DISPUTE, { pi: paid.id })).errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(await count(t, `SELECT count(*) AS n FROM sandbox_payment_objects WHERE kind = 'dispute'`)).toBe(0);
    });

    it('opens and closes a dispute, emitting charge.dispute.created / closed through the inbox, audit-logged', async () => {
      const paid = await charge({ amountMinor: 7_500n, currency: 'USD' });
      const opened = await t.gql(DISPUTE, { pi: paid.id, a: '5000', r: 'product_not_received' }, admin.token);
      expect(opened.errors).toBeUndefined();
      const dispute = opened.data!.simulateSandboxDispute;
      expect(dispute).toMatchObject({
        paymentIntentId: paid.id,
        chargeId: paid.latestChargeId,
        amount: { amountMinor: '5000', currency: 'USD', formatted: '50.00 USD' },
        reason: 'product_not_received',
        status: 'needs_response',
      });
      // Asking again returns the open dispute and emits nothing more.
      expect((await t.gql(DISPUTE, { pi: paid.id }, admin.token)).data!.simulateSandboxDispute.id).toBe(dispute.id);
      const closed = await t.gql(CLOSE, { d: dispute.id, o: 'WON' }, admin.token);
      expect(closed.data!.closeSandboxDispute).toEqual({ id: dispute.id, status: 'won' });
      expect((await t.gql(CLOSE, { d: dispute.id, o: 'LOST' }, admin.token)).errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
      await inbox.drain();
      expect(eventsFor(dispute.id)).toEqual(['charge.dispute.created', 'charge.dispute.closed']);
      const created = received.find((e) => e.type === 'charge.dispute.created' && e.data.object.id === dispute.id)!;
      expect(created.data.object).toMatchObject({ object: 'dispute', amount: 5000, currency: 'usd', charge: paid.latestChargeId, payment_intent: paid.id });
      const audit = await t.dataSource.query(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY seq`, [dispute.id]);
      expect(audit.map((a: { action: string }) => a.action)).toEqual(['payments.sandbox_dispute_simulated', 'payments.sandbox_dispute_closed']);
      // A disputed charge cannot be refunded.
      await expect(
        port.refund({ paymentIntentId: paid.id, amountMinor: 100n, currency: 'USD', idempotencyKey: `refund:${randomUUID()}`, reason: null, metadata: {} }),
      ).rejects.toMatchObject({ code: 'charge_disputed' });
    });

    it('unknown or malformed ids are NOT_FOUND; a declined payment cannot be disputed', async () => {
      for (const pi of ['pi_sandbox_000000000000000000000000', 'not-an-id']) {
        expect((await t.gql(DISPUTE, { pi }, admin.token)).errors?.[0].extensions.code).toBe('NOT_FOUND');
      }
      expect((await t.gql(CLOSE, { d: 'du_sandbox_000000000000000000000000', o: 'WON' }, admin.token)).errors?.[0].extensions.code).toBe('NOT_FOUND');
      const declined = await charge({ paymentMethodId: 'pm_sandbox_declined' });
      expect((await t.gql(DISPUTE, { pi: declined.id }, admin.token)).errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    });
  });
});
