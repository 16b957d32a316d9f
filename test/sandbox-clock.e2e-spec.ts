/**
 * The sandbox test clock end to end: an admin moves business time forward and
 * every time-dependent rule follows it — usage event times, which period can
 * be closed (and the close job runs), when an invoice is issued, due and
 * collected, when earnings leave the holdback, when an agreement expires —
 * while sessions and row stamps stay on real time. Then: only platform admins,
 * never in Stripe mode, never backwards (nothing written), concurrent advances
 * end at the later time, and a second process on the same database shows the
 * same time within a notification's delay (well under the periodic re-read).
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../src/app.factory';
import { nextPeriod, periodOf } from '../src/billing/billing-period';
import { Clock } from '../src/platform/clock/clock';
import { ClockStateRepository } from '../src/platform/clock/clock-state.repository';
import { CLOCK_REFRESH_MS } from '../src/platform/clock/clock-sync.service';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { startTestApp, TestApp } from './support/app';
import { CLOSE, pricedOffer, report, usageReporter } from './support/billing';
import { appTables, databaseChecksum } from './support/db-checksum';
import { createModel, publishOk } from './support/licensing';
import { acceptAgreement, createApiKey, reportUsage } from './support/metering';
import { waitFor } from './support/race';
import { makeAdmin, signUp, TestUser } from './support/users';

const DAY = 86_400_000;
/** The clock runs on in real time between a request and the check: allowed drift. */
const SLACK = 60_000;

const CLOCK = `{ sandboxClock { now realTime shifted offsetSeconds advanceable advancedAt } }`;
const ADVANCE = `mutation($to: DateTime!) { advanceSandboxClock(to: $to) {
  __typename
  ... on SandboxClockAdvance { from to clock { now realTime shifted offsetSeconds advanceable } jobs { name succeeded detail } }
  ... on BusinessError { code message }
  ... on SandboxClockBackwardsError { now requested } } }`;
const EARNINGS = `query($org: ID!) { earnings(organizationId: $org) { currency pending { amountMinor } available { amountMinor } availableAt asOf holdbackDays } }`;
const AGREEMENT = `query($id: ID!) { agreement(id: $id) { id status endsAt } }`;
const INVOICES = `query($org: ID!) { invoices(organizationId: $org, first: 10) { edges { node { id kind status period issuedAt dueAt paidAt total { amountMinor } } } } }`;

const near = (iso: string | null | undefined, expected: number) => {
  expect(iso).toBeTruthy();
  expect(Math.abs(Date.parse(iso!) - expected)).toBeLessThan(SLACK);
};

describe('sandbox test clock (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let admin2: TestUser;
  let vendor: TestUser;
  let distiller: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await makeAdmin(t, await signUp(t));
    admin2 = await makeAdmin(t, await signUp(t));
    vendor = await signUp(t, { country: 'US' });
    distiller = await signUp(t, { country: 'FR' });
  });
  afterAll(() => t.close());

  const clockNow = () => t.app.get(Clock).now().getTime();
  const advance = (to: number | string, token = admin.token) => t.gql(ADVANCE, { to: typeof to === 'string' ? to : new Date(to).toISOString() }, token);
  const storedOffset = async (): Promise<number> => Number((await t.dataSource.query(`SELECT offset_ms::text AS o FROM sandbox_clock`))[0].o);
  const clockAudits = async () =>
    (await t.dataSource.query(`SELECT actor_user_id, data FROM audit_log WHERE action = 'sandbox.clock_advanced' ORDER BY seq`)) as {
      actor_user_id: string;
      data: { from: string; to: string; offsetMs: number };
    }[];

  async function savePaymentMethod(user: TestUser): Promise<void> {
    const s = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: user.organizationId }, user.token);
    expect(s.errors).toBeUndefined();
    const c = await t.gql(
      `mutation($o: ID!, $s: ID!, $pm: String!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: $pm) { organizationId } }`,
      { o: user.organizationId, s: s.data!.createPaymentSetup.setupIntentId, pm: 'pm_sandbox_visa' },
      user.token,
    );
    expect(c.errors).toBeUndefined();
    await t.app.get(WebhookInboxService).drain();
  }

  it('shows real time until an admin moves it', async () => {
    const r = await t.gql(CLOCK, {}, distiller.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.sandboxClock).toMatchObject({ shifted: false, offsetSeconds: 0, advanceable: true, advancedAt: null });
    near(r.data!.sandboxClock.now, Date.now());
  });

  it('every time rule follows the clock: event times, the close, invoices and collection, the holdback, expiry', async () => {
    const realStart = Date.now();
    const p0 = periodOf(new Date(realStart));
    // A priced offer used this month, paid by card; a 30-day agreement that will expire.
    const priced = await pricedOffer(t, vendor, { currency: 'USD', inputPerMillionMinor: '100000', outputPerMillionMinor: '100000' });
    const used = await acceptAgreement(t, distiller, priced.offer);
    const { id: shortModel } = await createModel(t, vendor);
    const short = await acceptAgreement(t, distiller, await publishOk(t, vendor, shortModel, { terms: { termDays: 30 } }));
    await savePaymentMethod(distiller);
    const key = await usageReporter(t, vendor);
    await report(t, key, [{ agreementId: used, at: new Date(realStart - 1000).toISOString(), input: 1_000_000, output: 0 }]);

    // Real time: this month has not ended.
    const early = await t.gql(CLOSE, { p: p0.period }, admin.token);
    expect(early.data!.closeBillingPeriod).toMatchObject({ __typename: 'BillingPeriodNotEndedError', code: 'BILLING_PERIOD_NOT_ENDED' });

    // 40 days later.
    const t1 = realStart + 40 * DAY;
    const moved = await advance(t1);
    expect(moved.errors).toBeUndefined();
    const a = moved.data!.advanceSandboxClock;
    expect(a.__typename).toBe('SandboxClockAdvance');
    near(a.from, realStart);
    expect(a.to).toBe(new Date(t1).toISOString());
    expect(a.clock).toMatchObject({ shifted: true, advanceable: true });
    near(a.clock.now, t1);
    expect(a.clock.offsetSeconds).toBeGreaterThan(40 * 86_400 - 120);
    // The jobs whose schedules follow business time ran, each once, in order.
    expect(a.jobs.map((j: any) => [j.name, j.succeeded])).toEqual([
      ['licensing.expire-agreements', true],
      ['billing.close-periods', true],
      ['billing.pool-close', true],
      ['billing.collect-invoices', true],
    ]);
    const closed = JSON.parse(a.jobs[1].detail).closed as string[];
    expect(closed[0]).toBe(p0.period);
    expect(closed).not.toContain(periodOf(new Date(t1)).period);

    // (b) the period that ended is closed (by the job): closing it again writes nothing.
    const again = await t.gql(CLOSE, { p: p0.period }, admin.token);
    expect(again.data!.closeBillingPeriod).toMatchObject({ __typename: 'BillingPeriodClose', status: 'CLOSED', alreadyClosed: true, invoiceCount: 1 });
    near(again.data!.closeBillingPeriod.closedAt, t1);
    // … its invoice was issued, is due and was collected in business time.
    const inv = await t.gql(INVOICES, { org: distiller.organizationId }, distiller.token);
    const invoice = inv.data!.invoices.edges.map((e: any) => e.node).find((n: any) => n.period === p0.period);
    expect(invoice).toMatchObject({ kind: 'PERIOD', status: 'PAID', total: { amountMinor: '100000' } });
    near(invoice.issuedAt, t1);
    expect(Date.parse(invoice.dueAt) - Date.parse(invoice.issuedAt)).toBe(14 * DAY);
    near(invoice.paidAt, t1);

    // (c) the vendor's share was collected at t1: pending for the holdback, counted from t1 …
    const pending = await t.gql(EARNINGS, { org: vendor.organizationId }, vendor.token);
    const e1 = pending.data!.earnings.find((e: any) => e.currency === 'USD');
    expect(e1.available.amountMinor).toBe('0');
    expect(BigInt(e1.pending.amountMinor)).toBeGreaterThan(0n);
    near(e1.availableAt, t1 + e1.holdbackDays * DAY);
    near(e1.asOf, t1);

    // (a) an event dated at the clock's now is accepted; one dated at real now is now 40 days old.
    const fresh = await reportUsage(t, key, { events: [{ id: 'at-clock-now', agreementId: used, occurredAt: new Date(clockNow() - 1000).toISOString(), inputTokens: 10, outputTokens: 0 }] });
    expect(fresh.body.results[0]).toMatchObject({ status: 'accepted' });
    const stale = await reportUsage(t, key, { events: [{ id: 'at-real-now', agreementId: used, occurredAt: new Date().toISOString(), inputTokens: 10, outputTokens: 0 }] });
    expect(stale.body.results[0]).toMatchObject({ status: 'rejected', reason: 'OCCURRED_TOO_LONG_AGO' });

    // (d) the 30-day agreement expired (read, and stored by the expiry job); the other runs on.
    const ended = await t.gql(AGREEMENT, { id: short }, distiller.token);
    expect(ended.data!.agreement.status).toBe('EXPIRED');
    expect((await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [short]))[0].status).toBe('EXPIRED');
    expect((await t.gql(AGREEMENT, { id: used }, distiller.token)).data!.agreement.status).toBe('ACTIVE');

    // (c) past the holdback: available.
    const t2 = t1 + (e1.holdbackDays + 1) * DAY;
    expect((await advance(t2)).data!.advanceSandboxClock.__typename).toBe('SandboxClockAdvance');
    const later = (await t.gql(EARNINGS, { org: vendor.organizationId }, vendor.token)).data!.earnings.find((e: any) => e.currency === 'USD');
    expect(later).toMatchObject({ pending: { amountMinor: '0' }, available: { amountMinor: e1.pending.amountMinor }, availableAt: null });

    // Real time where it belongs: the session still works, and row stamps are real.
    const [row] = await t.dataSource.query(`SELECT created_at FROM invoices WHERE id = $1`, [invoice.id]);
    expect(Math.abs(new Date(row.created_at).getTime() - Date.now())).toBeLessThan(10 * 60_000);

    // Audited with the actor, from and to.
    const audits = await clockAudits();
    expect(audits.slice(-2).map((x) => [x.actor_user_id, x.data.to])).toEqual([
      [admin.userId, new Date(t1).toISOString()],
      [admin.userId, new Date(t2).toISOString()],
    ]);
  });

  it('platform admins only: a member or an API key is FORBIDDEN, and nothing is written', async () => {
    const apiKey = await createApiKey(t, vendor, ['READ', 'WRITE']);
    // (a key's last use is stamped when it is used)
    const checksum = async () => databaseChecksum(t, await appTables(t), { 'public.api_keys': { column: 'last_used_at', where: 'x.id = $1' } }, [apiKey.id]);
    const before = await checksum();
    const offset = await storedOffset();
    const member = await t.gql(ADVANCE, { to: new Date(clockNow() + DAY).toISOString() }, vendor.token);
    expect(member.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const byKey = await t.gql(ADVANCE, { to: new Date(clockNow() + DAY).toISOString() }, apiKey.secret);
    expect(byKey.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect(await checksum()).toEqual(before);
    expect(await storedOffset()).toBe(offset);
    // Anyone signed in may read the clock (the console shows it when shifted).
    const seen = await t.gql(CLOCK, {}, apiKey.secret);
    expect(seen.data!.sandboxClock.shifted).toBe(true);
  });

  it('never backwards: an earlier time is refused with a typed error and nothing is written', async () => {
    const before = await databaseChecksum(t, await appTables(t));
    const offset = await storedOffset();
    const shown = clockNow();
    for (const to of [shown - 60_000, Date.now()]) {
      const r = await advance(to);
      expect(r.errors).toBeUndefined();
      expect(r.data!.advanceSandboxClock).toMatchObject({ __typename: 'SandboxClockBackwardsError', code: 'SANDBOX_CLOCK_BACKWARDS', requested: new Date(to).toISOString() });
      expect(Date.parse(r.data!.advanceSandboxClock.now)).toBeGreaterThanOrEqual(shown);
    }
    expect(await storedOffset()).toBe(offset);
    expect(await databaseChecksum(t, await appTables(t))).toEqual(before);
    const bad = await advance('not a time');
    expect(bad.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    const tooFar = await advance(Date.now() + 11 * 366 * DAY);
    expect(tooFar.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(await storedOffset()).toBe(offset);
    expect(await databaseChecksum(t, await appTables(t))).toEqual(before);
  });

  it('concurrent advances by two admins end at the later time, whatever their order; it never moves back', async () => {
    const repo = t.app.get(ClockStateRepository);
    const original = repo.lock.bind(repo);
    for (let round = 0; round < 6; round++) {
      const base = clockNow() + 60_000;
      const earlier = base + DAY;
      const later = base + 2 * DAY;
      // Both requests are inside their transactions before either locks the clock's row.
      let arrived = 0;
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      const spy = jest.spyOn(repo, 'lock').mockImplementation(async (em) => {
        if (++arrived >= 2) open();
        await gate;
        return original(em);
      });
      // (the later request starts first in odd rounds)
      const [a, b] =
        round % 2 === 0
          ? await Promise.all([advance(earlier, admin.token), advance(later, admin2.token)])
          : (await Promise.all([advance(later, admin2.token), advance(earlier, admin.token)])).reverse();
      spy.mockRestore();
      expect(arrived).toBe(2);
      expect(b.data!.advanceSandboxClock.__typename).toBe('SandboxClockAdvance');
      // The earlier one either went first (and the later one moved on from it) or was refused.
      expect(['SandboxClockAdvance', 'SandboxClockBackwardsError']).toContain(a.data!.advanceSandboxClock.__typename);
      const offset = await storedOffset();
      const shownAfter = clockNow();
      expect(shownAfter).toBeGreaterThanOrEqual(later);
      expect(shownAfter - later).toBeLessThan(SLACK);
      expect(Date.now() + offset - later).toBeLessThan(SLACK);
      expect(Date.now() + offset).toBeGreaterThanOrEqual(later);
    }
    // Each recorded advance started from where the previous one ended (or later): never backwards.
    const audits = await clockAudits();
    for (let i = 1; i < audits.length; i++) expect(Date.parse(audits[i].data.from)).toBeGreaterThanOrEqual(Date.parse(audits[i - 1].data.to));
  });

  describe('a second process on the same database', () => {
    let other: NestFastifyApplication;
    beforeAll(async () => {
      other = await createApp(t.config, { bufferLogs: false });
      await other.init();
      await other.getHttpAdapter().getInstance().ready();
    });
    afterAll(() => other.close());

    const otherGql = async (query: string, token: string) => {
      const res = await other.getHttpAdapter().getInstance().inject({
        method: 'POST',
        url: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        payload: JSON.stringify({ query }),
      });
      return JSON.parse(res.body);
    };

    it('starts on the persisted offset', () => {
      expect(Math.abs(other.get(Clock).now().getTime() - clockNow())).toBeLessThan(1000);
    });

    it('shows the new time promptly after an advance made elsewhere (notified, not the periodic re-read)', async () => {
      const to = clockNow() + 3 * DAY;
      const r = await advance(to);
      expect(r.data!.advanceSandboxClock.__typename).toBe('SandboxClockAdvance');
      const started = Date.now();
      await waitFor(() => other.get(Clock).now().getTime() >= to, Math.min(1000, CLOCK_REFRESH_MS / 2));
      expect(Date.now() - started).toBeLessThan(CLOCK_REFRESH_MS);
      const seen = await otherGql(CLOCK, distiller.token);
      expect(Math.abs(Date.parse(seen.data.sandboxClock.now) - clockNow())).toBeLessThan(1000);
    });
  });
});

describe('sandbox test clock with a real payment processor (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await startTestApp({ stripeSecretKey: 'sk_test_fake123', stripeWebhookSecret: 'whsec_fakesecret123', stripeApiBase: 'http://127.0.0.1:9' });
    admin = await makeAdmin(t, await signUp(t));
  });
  afterAll(() => t.close());

  it('refuses to move, writes nothing, and ignores an offset left in the database', async () => {
    const before = await databaseChecksum(t, await appTables(t));
    const r = await t.gql(ADVANCE, { to: new Date(Date.now() + 40 * DAY).toISOString() }, admin.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.advanceSandboxClock).toMatchObject({ __typename: 'SandboxClockUnavailableError', code: 'SANDBOX_CLOCK_UNAVAILABLE' });
    expect(await databaseChecksum(t, await appTables(t))).toEqual(before);

    // A database once used in sandbox mode: the offset is not business time here.
    await t.dataSource.query(`UPDATE sandbox_clock SET offset_ms = $1`, [String(40 * DAY)]);
    await new Promise((r) => setTimeout(r, 200));
    const seen = await t.gql(`{ sandboxClock { now shifted offsetSeconds advanceable } }`, {}, admin.token);
    expect(seen.data!.sandboxClock).toMatchObject({ shifted: false, offsetSeconds: 0, advanceable: false });
    expect(Math.abs(t.app.get(Clock).now().getTime() - Date.now())).toBeLessThan(1000);
    const close = await t.gql(CLOSE, { p: nextPeriod(periodOf(new Date())).period }, admin.token);
    expect(close.data!.closeBillingPeriod.__typename).toBe('BillingPeriodNotEndedError');
  });
});
