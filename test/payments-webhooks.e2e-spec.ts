/**
 * POST /v1/stripe/webhooks and the inbox: the signature is checked on the raw
 * body before anything is stored (bad, missing, stale, tampered → 400, nothing
 * written); a verified event is stored once whatever the number of (concurrent)
 * deliveries and its handler runs once; a failing handler rolls back, is
 * retried after a backoff and then processed; unknown types are ignored; the
 * raw-body route leaves the other routes' JSON parsing alone.
 */
import type { Tx } from '../src/platform/database/transaction';
import { JobsService, RecurringJob } from '../src/platform/jobs/jobs.service';
import { WebhookHandlers } from '../src/payments/webhooks/webhook-handlers';
import { WebhookInboxJob } from '../src/payments/webhooks/webhook-inbox.job';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { startTestApp, TestApp } from './support/app';
import { deliverEvent, FakeStripe, postWebhook, signStripePayload } from './support/fake-stripe';
import { signUp } from './support/users';

const SECRET = 'whsec_webhooksecret42';

async function inboxRows(t: TestApp, id?: string): Promise<any[]> {
  return id
    ? t.dataSource.query(`SELECT * FROM payment_webhook_events WHERE id = $1`, [id])
    : t.dataSource.query(`SELECT * FROM payment_webhook_events ORDER BY received_at`);
}

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('payments: Stripe webhooks and the inbox (e2e)', () => {
  let fake: FakeStripe;
  let t: TestApp;
  let inbox: WebhookInboxService;
  const seen: string[] = [];

  beforeAll(async () => {
    fake = await FakeStripe.start();
    t = await startTestApp({ stripeSecretKey: 'sk_test_fake123', stripeWebhookSecret: SECRET, stripeApiBase: fake.url });
    inbox = t.app.get(WebhookInboxService);
    await t.dataSource.query(`CREATE TABLE test_webhook_effects (event_id text NOT NULL, note text NOT NULL)`);
    const handlers = t.app.get(WebhookHandlers);
    // Types no module of the app handles, so these handlers are the only ones.
    handlers.on('test_helpers.test_clock.ready', async (tx: Tx, event) => {
      seen.push(event.id);
      await tx.query(`INSERT INTO test_webhook_effects (event_id, note) VALUES ($1, 'ready')`, [event.id]);
    });
    let failuresLeft = 1;
    handlers.on('test_helpers.test_clock.advancing', async (tx: Tx, event) => {
      await tx.query(`INSERT INTO test_webhook_effects (event_id, note) VALUES ($1, 'advancing')`, [event.id]);
      if (failuresLeft-- > 0) throw new Error('downstream not ready (simulated)');
    });
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  const clockEvent = (type = 'test_helpers.test_clock.ready') => fake.event(type, { id: `clock_${Math.random().toString(36).slice(2)}`, object: 'test_helpers.test_clock', status: 'ready' });

  it('refuses a signature made with another secret, a stale one (301 s), one from the future (6 min, 1 h), a tampered body and a missing header — and stores nothing', async () => {
    const event = clockEvent();
    const payload = JSON.stringify(event);
    // Timestamps are relative to `now`, read once; the server's clock moves on while the cases run, so
    // each boundary case keeps its margin on the side time moves it away from (older stays stale, a
    // future timestamp stays future only with room to spare).
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, string | null, string][] = [
      ['other secret', payload, signStripePayload(payload, 'whsec_someoneelse'), 'invalid_signature'],
      ['stale', payload, signStripePayload(payload, SECRET, now - 301), 'invalid_signature'],
      ['an hour old', payload, signStripePayload(payload, SECRET, now - 3600), 'invalid_signature'],
      ['6 minutes in the future', payload, signStripePayload(payload, SECRET, now + 360), 'invalid_signature'],
      ['an hour in the future', payload, signStripePayload(payload, SECRET, now + 3600), 'invalid_signature'],
      ['tampered', payload.replace('"ready"', '"tampered"'), signStripePayload(payload, SECRET), 'invalid_signature'],
      ['garbage header', payload, 't=abc,v1=def', 'invalid_signature'],
      ['missing header', payload, null, 'missing_signature'],
    ];
    for (const [name, body, signature, code] of cases) {
      const r = await postWebhook(t, body, signature);
      expect({ name, status: r.status, code: r.body?.error?.code }).toEqual({ name, status: 400, code });
      expect(r.body.error.message).toEqual(expect.any(String));
    }
    expect(await inboxRows(t)).toEqual([]);
    // Inside Stripe's tolerance either way (two events: the second would be a duplicate). 299 s ahead
    // of `now` only gets closer; 4 minutes old, signed just before sending, keeps a minute of margin.
    const ok = await postWebhook(t, payload, signStripePayload(payload, SECRET, Math.floor(Date.now() / 1000) - 240));
    expect(ok.status).toBe(200);
    const ahead = JSON.stringify(clockEvent());
    expect((await postWebhook(t, ahead, signStripePayload(ahead, SECRET, now + 299))).body).toEqual({ received: true, duplicate: false });
    await inbox.drain();
  });

  it('refuses a correctly signed body that is not an event', async () => {
    const payload = JSON.stringify({ hello: 'world' });
    const r = await postWebhook(t, payload, signStripePayload(payload, SECRET));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_event');
    const notJson = 'not json at all';
    expect((await postWebhook(t, notJson, signStripePayload(notJson, SECRET))).status).toBe(400);
    expect(await t.dataSource.query(`SELECT id FROM payment_webhook_events WHERE payload->>'hello' = 'world'`)).toEqual([]);
  });

  it('stores a verified event once, acknowledges duplicates, and processes it in the background', async () => {
    const event = clockEvent();
    const first = await deliverEvent(t, event);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ received: true, duplicate: false });
    const again = await deliverEvent(t, event);
    expect(again.body).toEqual({ received: true, duplicate: true });
    // Processed by the in-process kick, without anyone calling drain().
    await waitFor(async () => (await inboxRows(t, event.id))[0]?.processed_at !== null);
    const [row] = await inboxRows(t, event.id);
    expect(row).toMatchObject({ source: 'stripe', type: 'test_helpers.test_clock.ready', livemode: false, outcome: 'handled', attempts: 1, last_error: null });
    expect(row.payload).toEqual(event);
  });

  it('1,000 deliveries of the same signed event, 50 at a time → one inbox row, the handler ran once', async () => {
    const event = clockEvent();
    const payload = JSON.stringify(event);
    const signature = signStripePayload(payload, SECRET);
    const answers: { status: number; duplicate: boolean }[] = [];
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => postWebhook(t, payload, signature)));
      answers.push(...batch.map((r) => ({ status: r.status, duplicate: r.body.duplicate })));
    }
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.filter((a) => !a.duplicate)).toHaveLength(1);
    await inbox.drain();
    expect(await inboxRows(t, event.id)).toHaveLength(1);
    expect(seen.filter((id) => id === event.id)).toHaveLength(1);
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM test_webhook_effects WHERE event_id = $1`, [event.id])).toEqual([{ n: 1 }]);
  });

  it('a failing handler rolls back, the attempt is recorded with a backoff, and a later sweep processes it', async () => {
    const event = clockEvent('test_helpers.test_clock.advancing');
    expect((await deliverEvent(t, event)).status).toBe(200);
    await inbox.drain();
    const [failed] = await inboxRows(t, event.id);
    expect(failed).toMatchObject({ processed_at: null, outcome: null, attempts: 1 });
    expect(failed.last_error).toMatch(/downstream not ready/);
    expect(new Date(failed.next_attempt_at).getTime()).toBeGreaterThan(Date.now() + 20_000);
    // The handler's write went with the rollback.
    expect(await t.dataSource.query(`SELECT note FROM test_webhook_effects WHERE event_id = $1`, [event.id])).toEqual([]);

    // Not due yet: a sweep leaves it alone.
    expect((await inbox.processPending(10)).claimed).toBe(0);
    // Time passes.
    await t.dataSource.query(`UPDATE payment_webhook_events SET next_attempt_at = now() WHERE id = $1`, [event.id]);
    const sweep = await inbox.drain();
    expect(sweep).toMatchObject({ handled: 1, failed: 0 });
    const [done] = await inboxRows(t, event.id);
    expect(done).toMatchObject({ outcome: 'handled', attempts: 2, last_error: null });
    expect(done.processed_at).not.toBeNull();
    expect(await t.dataSource.query(`SELECT note FROM test_webhook_effects WHERE event_id = $1`, [event.id])).toEqual([{ note: 'advancing' }]);
  });

  it('the minute job sweeps what is due', async () => {
    let job: RecurringJob | null = null;
    new WebhookInboxJob({ register: (j: RecurringJob) => (job = j) } as unknown as JobsService, inbox);
    expect(job).toMatchObject({ name: 'payments.process-webhook-inbox', cron: '* * * * *' });
    const event = clockEvent();
    // Stored by a replica that stopped before its kick ran.
    await inbox.store(t.dataSource.manager, event as never, 'stripe');
    expect(await job!.run()).toMatchObject({ claimed: 1, handled: 1 });
    expect((await inboxRows(t, event.id))[0].outcome).toBe('handled');
  });

  it('an event type without a handler is processed as ignored', async () => {
    const event = fake.event('radar.early_fraud_warning.created', { id: 'issfr_1', object: 'radar.early_fraud_warning' });
    expect((await deliverEvent(t, event)).status).toBe(200);
    await inbox.drain();
    expect((await inboxRows(t, event.id))[0]).toMatchObject({ outcome: 'ignored', attempts: 1 });
  });

  it('leaves JSON parsing of the other routes alone', async () => {
    const gql = await t.gql(`{ __typename }`);
    expect(gql.data).toEqual({ __typename: 'Query' });
    const user = await signUp(t);
    const me = await t.gql(`query { me { id } }`, {}, user.token);
    expect(me.data?.me?.id).toBe(user.userId);
    // Usage ingestion still parses JSON: malformed JSON is its own 400, valid JSON reaches authentication.
    const malformed = await t.request({ method: 'POST', url: '/v1/usage/events', body: '{"events": [', headers: { authorization: 'Bearer nope' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_body');
    const valid = await t.request({ method: 'POST', url: '/v1/usage/events', body: { events: [] }, headers: { authorization: 'Bearer nope' } });
    expect(valid.status).toBe(401);
  });
});
