/**
 * The console's remaining admin and distiller screens in a real Chromium
 * against a listening app, with fixtures made through the API:
 * - admins hold a vendor's payouts with a reason (listed with the
 *   organization's name) and release it after a confirmation;
 * - admins reverse part of a SENT payout's transfer (amount in minor units,
 *   reason, confirmation): a refusal is shown as the API states it (another
 *   reversal made meanwhile left less than asked), then a reversal that fits
 *   is made and the payout shows it;
 * - a USER_CENTRIC pool plan closed for the month before last: the admin sees
 *   the held earnings (SELF_DEALING, CONCENTRATED_SUBSCRIBER) and releases
 *   one after a confirmation; the ledger moves it out of the held account;
 * - a distiller sees the plans, its subscription with its periods, and where
 *   its fee went; another distiller subscribes and cancels at period end from
 *   the page;
 * - a non-admin opening the admin holds URL sees the API's refusal;
 * - each screen is photographed (not blank) and passes axe-core.
 */
import type { Browser } from 'playwright-core';
import { InvoiceSettlementService } from '../src/billing/collection/invoice-settlement.service';
import { periodOf, previousPeriod } from '../src/billing/billing-period';
import { Clock } from '../src/platform/clock/clock';
import { Database } from '../src/platform/database/transaction';
import { startTestApp, TestApp } from './support/app';
import { checkScreen, ConsoleSession, launchChromium, listen, logIn, openSession, ScreenCheck } from './support/console';
import { createModel, publishOk } from './support/licensing';
import { REVERSE, sentPayout, SentPayout } from './support/payout-sent-fixtures';
import { makeAdmin, signUp, TestUser } from './support/users';

const CREATE_PLAN = `mutation($i: CreatePoolPlanInput!) { createPoolPlan(input: $i) { plan { id name version } } }`;
const SUBSCRIBE = `mutation($p: ID!, $o: ID!) { subscribeToPool(planId: $p, organizationId: $o) { __typename ... on PoolSubscription { id firstInvoiceId } } }`;
const ACCEPT = `mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { __typename ... on LicenseAgreement { id } } }`;
const CLOSE = `mutation($p: String!) { closePoolPeriod(period: $p) { __typename ... on PoolPeriodClose { period } } }`;
const STATEMENT = `query($p: ID!, $period: String!, $o: ID) { poolStatement(planId: $p, period: $period, organizationId: $o) {
  lines { modelId modelName flags held amount { formatted amountMinor } }
  subscribers { organizationId paid { formatted } net { formatted } }
  feeBreakdown { modelId amount { formatted } } } }`;

describe('the console: vendor holds, transfer reversals, the pool (browser)', () => {
  jest.setTimeout(240_000);
  let t: TestApp;
  let origin: string;
  let browser: Browser;
  let admin: TestUser;
  let vendor: TestUser; // owns T1 and T2, and the SENT payout
  let selfDealer: TestUser; // owns T3 and uses it through the pool
  let d: TestUser;
  let d2: TestUser;
  let newcomer: TestUser;
  let planId: string;
  let sent: SentPayout;
  const models: { id: string; name: string }[] = [];
  const checks: ScreenCheck[] = [];
  const m1 = previousPeriod(periodOf(new Date()));
  const m2 = previousPeriod(m1);
  let a: ConsoleSession;

  async function gql(query: string, vars: Record<string, unknown>, user: TestUser) {
    const r = await t.gql(query, vars, user.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!;
  }

  beforeAll(async () => {
    t = await startTestApp();
    origin = await listen(t);
    browser = await launchChromium();
    admin = await makeAdmin(t, await signUp(t, { organizationName: 'Platform Ops' }));
    vendor = await signUp(t, { country: 'US', organizationName: 'Teacher Labs' });
    selfDealer = await signUp(t, { country: 'US', organizationName: 'Loop Weights' });
    d = await signUp(t, { country: 'FR', organizationName: 'Distil SARL' });
    d2 = await signUp(t, { country: 'FR', organizationName: 'Second Distiller' });
    newcomer = await signUp(t, { country: 'FR', organizationName: 'Newcomer SAS' });

    // A SENT USD payout of 50.00 to the vendor (completed batch, transfer at the sandbox processor).
    sent = await sentPayout(t, { vendor, admin, amountMinor: 5_000n });

    // The pool: three pool-eligible teachers, one USER_CENTRIC EUR plan.
    for (const owner of [vendor, vendor, selfDealer]) {
      const { id } = await createModel(t, owner);
      const offer = await publishOk(t, owner, id, { pricing: { poolEligible: true } });
      const name = (await gql(`query($id: ID!) { teacherModel(id: $id) { name } }`, { id }, owner)).teacherModel.name;
      models.push({ id, name, ...{ offer } } as any);
    }
    const plan = await gql(CREATE_PLAN, {
      i: { name: 'Pool UC', currency: 'EUR', distribution: 'USER_CENTRIC', monthlyFeeMinor: '10000', tokenAllowance: '1000000', overage: 'REFUSE', minimumTokensToEarn: '1000', platformFeeBps: 2000 },
    }, admin);
    planId = plan.createPoolPlan.plan.id;

    const clock = t.app.get(Clock);
    const real = clock.now;
    clock.now = () => new Date(m2.start.getTime() + 3_600_000); // the month before last, the 1st, 01:00
    try {
      const invoices: string[] = [];
      for (const u of [d, d2, selfDealer]) {
        const s = (await gql(SUBSCRIBE, { p: planId, o: u.organizationId }, u)).subscribeToPool;
        expect(s.__typename).toBe('PoolSubscription');
        invoices.push(s.firstInvoiceId);
      }
      const use = async (u: TestUser, m: number, tokens: number) => {
        const offer = (models[m] as any).offer;
        const r = await gql(ACCEPT, { i: { offerId: offer.id, organizationId: u.organizationId, acceptedTermsHash: offer.termsHash, viaPool: true } }, u);
        expect(r.acceptLicenseOffer.__typename).toBe('LicenseAgreement');
        const id = r.acceptLicenseOffer.id;
        await t.dataSource.query(`UPDATE license_agreements SET starts_at = $2, accepted_at = $2 WHERE id = $1`, [id, m2.start.toISOString()]);
        await t.dataSource.query(
          `INSERT INTO usage_period_totals (agreement_id, period_start, input_tokens, output_tokens, overage_tokens, events) VALUES ($1, $2, $3, 0, 0, 1)`,
          [id, m2.start.toISOString(), tokens],
        );
      };
      await use(d, 0, 30_000); // T1: d 75 %, d2 25 % — not flagged
      await use(d2, 0, 10_000);
      await use(d, 1, 5_000); // T2: d alone — CONCENTRATED_SUBSCRIBER
      await use(selfDealer, 2, 20_000); // T3: its owner — SELF_DEALING
      for (const id of invoices) {
        await t.app.get(Database).transaction((tx) => t.app.get(InvoiceSettlementService).settle(tx, id, { paymentIntentId: `pi_${id.slice(0, 8)}`, chargeId: null }));
      }
      clock.now = () => new Date(m1.start.getTime() + 3_600_000);
      expect((await gql(CLOSE, { p: m2.period }, admin)).closePoolPeriod.__typename).toBe('PoolPeriodClose');
    } finally {
      clock.now = real;
    }
    a = await openSession(browser, origin);
    await logIn(a, origin, admin);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const expectSound = (names: string[]) => {
    for (const name of names) {
      const c = checks.find((x) => x.name === name);
      expect({ name, checked: Boolean(c) }).toEqual({ name, checked: true });
      expect({ name, blank: c!.variance < 50 || c!.distinctColours < 8 }).toEqual({ name, blank: false });
      expect({ name, violations: c!.violations }).toEqual({ name, violations: [] });
    }
  };

  it('admins hold a vendor with a reason, see it listed by name, and release it after a confirmation', async () => {
    await a.page.goto(`${origin}/console/admin/payout-holds`);
    await a.page.getByText('No vendor is on hold.').waitFor({ timeout: 30_000 });
    await a.page.getByLabel('Vendor organization id').fill(vendor.organizationId);
    await a.page.getByLabel('Reason', { exact: true }).fill('KYC documents expired');
    await a.page.getByRole('button', { name: 'Hold vendor payouts' }).click();
    const table = a.page.getByRole('table', { name: 'Vendors on hold, longest held first' });
    const row = table.getByRole('row').filter({ hasText: 'Teacher Labs' });
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toContain('KYC documents expired');
    // What the page shows is what the API holds.
    expect((await gql(`query { vendorPayoutHolds { organizationId reason } }`, {}, admin)).vendorPayoutHolds).toEqual([
      { organizationId: vendor.organizationId, reason: 'KYC documents expired' },
    ]);
    // A refusal is shown as the API states it: an unknown organization.
    await a.page.getByLabel('Vendor organization id').fill('00000000-0000-4000-8000-000000000000');
    await a.page.getByLabel('Reason', { exact: true }).fill('nobody');
    await a.page.getByRole('button', { name: 'Hold vendor payouts' }).click();
    await a.page.getByRole('alert').filter({ hasText: 'NOT_FOUND' }).waitFor();
    checks.push(await checkScreen(browser, a, 'admin-vendor-holds'));

    await row.getByRole('button', { name: 'Release the hold on Teacher Labs' }).click();
    // Nothing is released before the confirmation.
    expect((await gql(`query { vendorPayoutHolds { organizationId } }`, {}, admin)).vendorPayoutHolds).toHaveLength(1);
    await a.page.getByRole('group', { name: 'Confirm the release' }).getByRole('button', { name: 'Confirm release' }).click();
    await a.page.getByRole('status').filter({ hasText: 'Teacher Labs is batched again' }).waitFor();
    await a.page.getByText('No vendor is on hold.').waitFor();
    expect((await gql(`query { vendorPayoutHolds { organizationId } }`, {}, admin)).vendorPayoutHolds).toEqual([]);
    expect(a.problems).toEqual([]);
  });

  it("admins reverse part of a sent payout's transfer: the API's refusal as stated, then a reversal that fits", async () => {
    await a.page.goto(`${origin}/console/admin/payouts/${sent.batchId}`);
    const open = a.page.getByRole('button', { name: 'Reverse part of the transfer to Teacher Labs' });
    await open.waitFor({ timeout: 30_000 });
    await open.click();
    const form = a.page.getByRole('form', { name: 'Reverse the transfer to Teacher Labs' });
    // Checked in the page first: more than the payout.
    await form.getByLabel('Amount to reverse (minor units)').fill('5001');
    await form.getByLabel('Reversal reason').fill('duplicate payout');
    await form.getByRole('button', { name: 'Review the reversal' }).click();
    await form.getByRole('alert').filter({ hasText: 'At most 5000 minor units' }).waitFor();
    await form.getByLabel('Amount to reverse (minor units)').fill('4000');
    await form.getByRole('button', { name: 'Review the reversal' }).click();
    const confirm = form.getByRole('group', { name: 'Confirm the reversal' });
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('Reverse 4000 minor units of USD from Teacher Labs');
    // Meanwhile another admin reverses 30.00 through the API: 20.00 is left, the page's 40.00 is refused.
    const other = await t.gql(REVERSE, { p: sent.payoutId, a: '3000', r: 'partial recovery' }, admin.token);
    expect(other.data!.reverseTransfer).toMatchObject({ created: true, payoutReversed: { amountMinor: '3000' } });
    const before = (await t.dataSource.query(`SELECT count(*)::int AS n FROM payout_reversals`))[0].n;
    await confirm.getByRole('button', { name: 'Confirm reversal' }).click();
    const refusal = form.getByRole('alert').filter({ hasText: 'BAD_USER_INPUT' });
    await refusal.waitFor({ timeout: 30_000 });
    expect(await refusal.textContent()).toContain('amountMinor: At most 2000 USD minor units of this transfer can still be reversed');
    expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM payout_reversals`))[0].n).toBe(before);
    // A reversal that fits: 15.00.
    await form.getByLabel('Amount to reverse (minor units)').fill('1500');
    await form.getByRole('button', { name: 'Review the reversal' }).click();
    await form.getByRole('group', { name: 'Confirm the reversal' }).getByRole('button', { name: 'Confirm reversal' }).click();
    const done = form.getByRole('status').filter({ hasText: 'Reversed 15.00 USD' });
    await done.waitFor({ timeout: 30_000 });
    expect(await done.textContent()).toContain('45.00 USD of 50.00 USD reversed in all');
    const rows = await t.dataSource.query(`SELECT amount_minor::text AS amount, reason FROM payout_reversals WHERE payout_id = $1 ORDER BY created_at`, [sent.payoutId]);
    expect(rows).toEqual([
      { amount: '3000', reason: 'partial recovery' },
      { amount: '1500', reason: 'duplicate payout' },
    ]);
    // The batch page follows: the payout shows what was reversed.
    await a.page.getByRole('table', { name: 'Payouts in this batch, by vendor' }).getByText('Reversed 45.00 USD').waitFor({ timeout: 30_000 });
    checks.push(await checkScreen(browser, a, 'admin-reverse-transfer'));
    expect(a.problems).toEqual([]);
  });

  it('admins see the held pool earnings with their flags and release one after a confirmation', async () => {
    await a.page.goto(`${origin}/console/admin/pool`);
    await a.page.getByLabel('Period').selectOption(m2.period);
    const held = a.page.getByRole('table', { name: "Teachers' pool earnings held for review" });
    await held.waitFor({ timeout: 30_000 });
    const api = (await gql(STATEMENT, { p: planId, period: m2.period }, admin)).poolStatement;
    const heldLines = api.lines.filter((l: any) => l.held);
    expect(heldLines.map((l: any) => l.modelId).sort()).toEqual([models[1].id, models[2].id].sort());
    for (const l of heldLines) {
      const row = held.getByRole('row').filter({ hasText: l.modelName });
      expect(await row.textContent()).toContain(l.amount.formatted);
      expect(await row.textContent()).toContain(l.flags.join(', '));
    }
    const t3 = heldLines.find((l: any) => l.modelId === models[2].id);
    expect(t3.flags).toContain('SELF_DEALING');
    expect(heldLines.find((l: any) => l.modelId === models[1].id).flags).toEqual(['CONCENTRATED_SUBSCRIBER']);
    checks.push(await checkScreen(browser, a, 'admin-pool-review'));

    await held.getByRole('button', { name: `Release ${t3.modelName}'s held earnings` }).click();
    await a.page.getByRole('group', { name: `Release ${t3.modelName}'s earnings?` }).getByRole('button', { name: 'Confirm release' }).click();
    await a.page.getByRole('status').filter({ hasText: `Released ${t3.amount.formatted} of ${t3.modelName}` }).waitFor({ timeout: 30_000 });
    await held.getByRole('row').filter({ hasText: t3.modelName }).waitFor({ state: 'detached', timeout: 30_000 });
    const [moved] = await t.dataSource.query(
      `SELECT sum(e.amount_minor) FILTER (WHERE a.code = $2)::text AS held, sum(e.amount_minor) FILTER (WHERE a.code = $3)::text AS payable
         FROM ledger_transactions x JOIN ledger_entries e ON e.transaction_id = x.id JOIN ledger_accounts a ON a.id = e.account_id WHERE x.reference = $1`,
      [`pool:${planId}:${m2.period}:${models[2].id}:released`, `vendor:${selfDealer.organizationId}:held`, `vendor:${selfDealer.organizationId}:payable`],
    );
    expect(moved).toEqual({ held: t3.amount.amountMinor, payable: `-${t3.amount.amountMinor}` });
    expect(a.problems).toEqual([]);
  });

  it('a distiller sees the plans, its subscription and where its fee went; another subscribes and cancels at period end', async () => {
    const s = await openSession(browser, origin);
    await logIn(s, origin, d);
    await s.page.goto(`${origin}/console/o/${d.organizationId}/pool`);
    const plans = s.page.getByRole('table', { name: 'Pool plans on offer' });
    await plans.waitFor({ timeout: 30_000 });
    expect(await plans.getByRole('row').filter({ hasText: 'Pool UC v1' }).textContent()).toMatch(/100\.00 EUR.*1,000,000/);
    await s.page.getByRole('table', { name: 'Invoiced periods of the EUR subscription' }).getByRole('row').filter({ hasText: m2.period }).waitFor();
    // This month's use of the shared allowance, as the API states it.
    const [live] = (await gql(`query($o: ID!) { poolSubscriptions(organizationId: $o) { allowanceUse { period usedTokens allowanceTokens } } }`, { o: d.organizationId }, d)).poolSubscriptions;
    const sep = (x: string) => x.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    await s.page.getByText(`${sep(live.allowanceUse.usedTokens)} of ${sep(live.allowanceUse.allowanceTokens)} tokens`).waitFor({ timeout: 30_000 });
    expect(await s.page.getByRole('meter', { name: `Allowance used in ${live.allowanceUse.period}` }).count()).toBe(1);
    // Where its fee went (the distiller's own statement of the month before last): the page shows the API's amounts.
    const mine = (await gql(STATEMENT, { p: planId, period: m2.period, o: d.organizationId }, d)).poolStatement;
    const breakdown = s.page.getByRole('table', { name: `Where your ${m2.period} fee went, by teacher` });
    await breakdown.waitFor({ timeout: 30_000 });
    expect(mine.feeBreakdown).toHaveLength(2);
    for (const b of mine.feeBreakdown) {
      const name = models.find((m) => m.id === b.modelId)!.name;
      const row = breakdown.getByRole('row').filter({ hasText: name });
      await row.waitFor();
      expect(await row.textContent()).toContain(b.amount.formatted);
    }
    expect(await s.page.getByText(`Paid ${mine.subscribers[0].paid.formatted}; after the platform fee ${mine.subscribers[0].net.formatted}`).count()).toBe(1);
    checks.push(await checkScreen(browser, s, 'distiller-pool-subscription'));
    await s.context.close();

    // Another distiller subscribes from the page, then cancels at the period's end (after a confirmation).
    const n = await openSession(browser, origin);
    await logIn(n, origin, newcomer);
    await n.page.goto(`${origin}/console/o/${newcomer.organizationId}/pool`);
    await n.page.getByText('Not subscribed to a pool plan.').waitFor({ timeout: 30_000 });
    await n.page.getByRole('button', { name: 'Subscribe' }).click();
    await n.page.getByRole('status').filter({ hasText: 'Subscribed' }).waitFor({ timeout: 30_000 });
    const [sub] = (await gql(`query($o: ID!) { poolSubscriptions(organizationId: $o) { id status planId cancelAtPeriodEnd } }`, { o: newcomer.organizationId }, newcomer)).poolSubscriptions;
    expect(sub).toMatchObject({ status: 'ACTIVE', planId, cancelAtPeriodEnd: false });
    await n.page.getByRole('button', { name: 'Cancel at period end…' }).click();
    expect((await gql(`query($id: ID!) { poolSubscription(id: $id) { cancelAtPeriodEnd } }`, { id: sub.id }, newcomer)).poolSubscription.cancelAtPeriodEnd).toBe(false);
    await n.page.getByRole('group', { name: 'Confirm the cancellation' }).getByRole('button', { name: 'Confirm cancellation' }).click();
    await n.page.getByText('at the end of the current period (cancelled)').waitFor({ timeout: 30_000 });
    expect((await gql(`query($id: ID!) { poolSubscription(id: $id) { cancelAtPeriodEnd status } }`, { id: sub.id }, newcomer)).poolSubscription).toEqual({ cancelAtPeriodEnd: true, status: 'ACTIVE' });
    // Subscribing again in the same currency is refused as the API states it.
    await n.page.getByRole('button', { name: 'Subscribe' }).click();
    await n.page.getByRole('alert').filter({ hasText: 'POOL_SUBSCRIPTION_EXISTS' }).waitFor({ timeout: 30_000 });
    expect(n.problems).toEqual([]);
    await n.context.close();
  });

  it("a non-admin opening the admin holds URL sees the API's refusal, and no admin navigation", async () => {
    const s = await openSession(browser, origin);
    await logIn(s, origin, d);
    await s.page.goto(`${origin}/console/admin/payout-holds`);
    const alert = s.page.getByRole('alert').filter({ hasText: 'FORBIDDEN' });
    await alert.waitFor({ timeout: 30_000 });
    expect(await s.page.getByRole('link', { name: 'Vendor payout holds' }).count()).toBe(0);
    expect(await s.page.getByRole('table', { name: 'Vendors on hold, longest held first' }).count()).toBe(0);
    expect(await s.page.getByRole('button', { name: 'Hold vendor payouts' }).count()).toBe(0);
    checks.push(await checkScreen(browser, s, 'non-admin-vendor-holds'));
    await s.page.goto(`${origin}/console/admin/pool`);
    await s.page.getByRole('alert').filter({ hasText: /FORBIDDEN|NOT_FOUND/ }).first().waitFor({ timeout: 30_000 });
    expect(s.problems).toEqual([]);
    await s.context.close();
  });

  it('every new screen is not blank and passes axe-core', () => {
    expectSound(['admin-vendor-holds', 'admin-reverse-transfer', 'admin-pool-review', 'distiller-pool-subscription', 'non-admin-vendor-holds']);
  });
});
