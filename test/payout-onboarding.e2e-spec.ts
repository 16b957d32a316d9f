/**
 * Payout onboarding on the sandbox processor, offline and end to end: an
 * owner starts onboarding (one connected account per organization, also
 * under concurrent calls), a real Chromium opens the account link — the
 * sandbox's own onboarding page on this server —, submits one of its forms,
 * lands on the return page, and payoutAccount shows what was chosen (the
 * account.updated it emitted went through the webhook inbox). Also the
 * refresh URL (expired/used links), its authentication, and who may do what.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Browser, chromium } from 'playwright-core';
import { PAYMENTS_PORT } from '../src/payments/payments.port';
import { SandboxPaymentsAdapter } from '../src/payments/sandbox/sandbox-payments.adapter';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { startTestApp, TestApp } from './support/app';
import { addMember, DASHBOARD_LINK, errorCode, PAYOUT_ACCOUNT, START_ONBOARDING } from './support/payouts';
import { signUp, TestUser } from './support/users';

const CHROMIUM = '/usr/bin/chromium';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('payout onboarding (sandbox, browser)', () => {
  let t: TestApp;
  let browser: Browser;
  let origin: string;
  let inbox: WebhookInboxService;
  jest.setTimeout(120_000);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is needed for this spec and is not at ${CHROMIUM}`);
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    t = await startTestApp({ publicBaseUrl: origin });
    await t.app.listen(port, '127.0.0.1');
    inbox = t.app.get(WebhookInboxService);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const start = async (u: TestUser, org = u.organizationId) => t.gql(START_ONBOARDING, { o: org }, u.token);
  const account = async (u: TestUser, org = u.organizationId) => t.gql(PAYOUT_ACCOUNT, { o: org }, u.token);
  const sandboxAccounts = async () => Number((await t.dataSource.query(`SELECT count(*)::int AS n FROM sandbox_payment_objects WHERE kind = 'account'`))[0].n);

  /** Opens the link in Chromium, presses one button, and answers the page it ends on. */
  async function onboardInBrowser(url: string, button: 'complete' | 'requirements_due' | 'disable') {
    const page = await browser.newPage();
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(`${origin}/`)) outside.push(r.url());
    });
    try {
      await page.goto(url);
      await page.locator(`button#${button}`).waitFor({ state: 'visible', timeout: 30_000 });
      expect(await page.locator('button').count()).toBe(3);
      await Promise.all([page.waitForURL((u) => u.pathname === '/v1/payouts/onboarding/return', { timeout: 30_000 }), page.locator(`button#${button}`).click()]);
      const result = { finalUrl: page.url(), headline: (await page.locator('#headline').textContent()) ?? '', body: (await page.locator('body').textContent()) ?? '' };
      expect(outside).toEqual([]);
      return result;
    } finally {
      await page.close();
    }
  }

  it('creates one account, shows the onboarding page in a browser, and the completed account can receive transfers', async () => {
    const owner = await signUp(t, { country: 'DE' });
    const r = await start(owner);
    expect(r.errors).toBeUndefined();
    const link = r.data!.startPayoutOnboarding;
    expect(link.url).toMatch(new RegExp(`^${origin}/v1/sandbox/connect/onboarding/acctlink_sandbox_[0-9a-f]{32}$`));
    expect(link.account).toMatchObject({ mode: 'SANDBOX', canReceiveTransfers: false });
    expect(link.account.currentlyDue.length).toBeGreaterThan(0);
    const accountId = link.account.accountId as string;

    // Again: the same account, a new link.
    const again = (await start(owner)).data!.startPayoutOnboarding;
    expect(again.account.accountId).toBe(accountId);
    expect(again.url).not.toBe(link.url);
    const [{ n: rows }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM payout_accounts WHERE organization_id = $1`, [owner.organizationId]);
    expect(rows).toBe(1);

    const page = await onboardInBrowser(again.url, 'complete');
    expect(page.headline).toContain('ready');
    expect(page.body).toContain(accountId);

    await inbox.drain();
    const state = (await account(owner)).data!.payoutAccount;
    expect(state).toMatchObject({
      organizationId: owner.organizationId,
      mode: 'SANDBOX',
      accountId,
      chargesEnabled: true,
      payoutsEnabled: true,
      detailsSubmitted: true,
      currentlyDue: [],
      pastDue: [],
      disabledReason: null,
      canReceiveTransfers: true,
    });
    expect(state.syncedAt).not.toBeNull();
    // It came through the inbox as a Connect-shaped event naming the account.
    const events = await t.dataSource.query(
      `SELECT source, outcome, payload->>'account' AS account FROM payment_webhook_events WHERE type = 'account.updated' AND payload->>'account' = $1`,
      [accountId],
    );
    expect(events).toEqual([{ source: 'sandbox', outcome: 'handled', account: accountId }]);
    const [{ n: audits }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'payouts.account_created' AND target_id = $1`, [accountId]);
    expect(audits).toBe(1);

    // The first link was never used but the second was: using it again goes to the refresh URL, which makes a new link.
    const reuse = await browser.newPage();
    try {
      await reuse.goto(again.url);
      await reuse.locator('button#complete').waitFor({ state: 'visible', timeout: 30_000 });
      expect(new URL(reuse.url()).pathname).toMatch(/^\/v1\/sandbox\/connect\/onboarding\/acctlink_sandbox_/);
      expect(reuse.url()).not.toBe(again.url);
    } finally {
      await reuse.close();
    }

    // The Express dashboard stand-in.
    const dash = await t.gql(DASHBOARD_LINK, { o: owner.organizationId }, owner.token);
    expect(dash.errors).toBeUndefined();
    const dashPage = await browser.newPage();
    try {
      const res = await dashPage.goto(dash.data!.payoutDashboardLink.url);
      expect(res!.status()).toBe(200);
      expect(await dashPage.locator('#payouts-enabled').textContent()).toBe('yes');
    } finally {
      await dashPage.close();
    }
  });

  it('leaves requirements due, or disables the account, as chosen on the page', async () => {
    const owner = await signUp(t);
    const first = (await start(owner)).data!.startPayoutOnboarding;
    const due = await onboardInBrowser(first.url, 'requirements_due');
    expect(due.headline).toContain('restricted');
    expect(due.body).toContain('external_account');
    await inbox.drain();
    expect((await account(owner)).data!.payoutAccount).toMatchObject({
      detailsSubmitted: true,
      payoutsEnabled: false,
      pastDue: ['external_account'],
      disabledReason: 'requirements.past_due',
      canReceiveTransfers: false,
    });
    // A new link for the same account; this time the processor disables it.
    const second = (await start(owner)).data!.startPayoutOnboarding;
    const disabled = await onboardInBrowser(second.url, 'disable');
    expect(disabled.headline).toContain('rejected.other');
    await inbox.drain();
    expect((await account(owner)).data!.payoutAccount).toMatchObject({ payoutsEnabled: false, disabledReason: 'rejected.other', canReceiveTransfers: false });
  });

  it('the refresh and return URLs need the signed state (or a session) of someone in the organization', async () => {
    const owner = await signUp(t);
    const stranger = await signUp(t);
    const link = (await start(owner)).data!.startPayoutOnboarding;
    const sandbox = t.app.get(SandboxPaymentsAdapter);
    const stored = await sandbox.accountLink(new URL(link.url).pathname.split('/').pop()!);
    const refresh = new URL(stored!.link.refresh_url as string);
    expect(refresh.origin + refresh.pathname).toBe(`${origin}/v1/payouts/onboarding/refresh`);
    const path = refresh.pathname;
    const org = owner.organizationId;
    const state = refresh.searchParams.get('state')!;

    const ok = await t.request({ method: 'GET', url: `${path}?organizationId=${org}&state=${encodeURIComponent(state)}` });
    expect(ok.status).toBe(302);
    expect(String(ok.headers.location)).toMatch(/\/v1\/sandbox\/connect\/onboarding\/acctlink_sandbox_/);

    const noAuth = await t.request({ method: 'GET', url: `${path}?organizationId=${org}` });
    expect(noAuth.status).toBe(401);
    const tampered = state.slice(0, -2) + (state.endsWith('AA') ? 'BB' : 'AA');
    expect((await t.request({ method: 'GET', url: `${path}?organizationId=${org}&state=${encodeURIComponent(tampered)}` })).status).toBe(401);
    // The state names one organization: it does not open another.
    expect((await t.request({ method: 'GET', url: `${path}?organizationId=${stranger.organizationId}&state=${encodeURIComponent(state)}` })).status).toBe(401);
    // A session of someone outside the organization: as if it did not exist.
    const foreign = await t.request({ method: 'GET', url: `${path}?organizationId=${org}`, headers: { authorization: `Bearer ${stranger.token}` } });
    expect(foreign.status).toBe(404);
    // The owner's own session works too.
    expect((await t.request({ method: 'GET', url: `${path}?organizationId=${org}`, headers: { authorization: `Bearer ${owner.token}` } })).status).toBe(302);
    // A member who is not an owner may read the return page but not make links.
    const member = await signUp(t);
    await addMember(t, owner, member, 'MEMBER');
    expect((await t.request({ method: 'GET', url: `${path}?organizationId=${org}`, headers: { authorization: `Bearer ${member.token}` } })).status).toBe(403);
    const ret = await t.request({ method: 'GET', url: `/v1/payouts/onboarding/return?organizationId=${org}`, headers: { authorization: `Bearer ${member.token}` } });
    expect(ret.status).toBe(200);
    expect(ret.text).toContain(link.account.accountId);
    expect((await t.request({ method: 'GET', url: `/v1/payouts/onboarding/return?organizationId=${org}` })).status).toBe(401);
    expect((await t.request({ method: 'GET', url: `${path}?organizationId=not-a-uuid&state=x` })).status).toBe(400);
  });

  it('foreign organizations are NOT_FOUND, members are refused owner actions, and nothing is written', async () => {
    const owner = await signUp(t);
    const stranger = await signUp(t);
    const member = await signUp(t);
    await addMember(t, owner, member, 'MEMBER');
    const before = await sandboxAccounts();

    expect(errorCode(await start(stranger, owner.organizationId))).toBe('NOT_FOUND');
    expect(errorCode(await account(stranger, owner.organizationId))).toBe('NOT_FOUND');
    expect(errorCode(await t.gql(DASHBOARD_LINK, { o: owner.organizationId }, stranger.token))).toBe('NOT_FOUND');
    expect(errorCode(await start(member, owner.organizationId))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(DASHBOARD_LINK, { o: owner.organizationId }, member.token))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(START_ONBOARDING, { o: owner.organizationId }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await t.gql(START_ONBOARDING, { o: 'nope' }, owner.token))).toBe('BAD_USER_INPUT');
    // Members read (nothing yet), and the owner's dashboard link needs an account first.
    const read = await account(member, owner.organizationId);
    expect(read.errors).toBeUndefined();
    expect(read.data!.payoutAccount).toBeNull();
    expect(errorCode(await t.gql(DASHBOARD_LINK, { o: owner.organizationId }, owner.token))).toBe('NOT_FOUND');

    expect(await sandboxAccounts()).toBe(before);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM payout_accounts WHERE organization_id = $1`, [owner.organizationId]);
    expect(n).toBe(0);

    // Started but not submitted: no dashboard (CONFLICT), and still nothing for strangers.
    await start(owner);
    const early = await t.gql(DASHBOARD_LINK, { o: owner.organizationId }, owner.token);
    expect(errorCode(early)).toBe('CONFLICT');
    expect(errorCode(await account(stranger, owner.organizationId))).toBe('NOT_FOUND');
  });

  it('concurrent starts (separate connections, released together) create one account', async () => {
    const owner = await signUp(t);
    const port = t.app.get(PAYMENTS_PORT);
    const n = 6;
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const original = port.createConnectedAccount.bind(port);
    const spy = jest.spyOn(port, 'createConnectedAccount').mockImplementation(async (input) => {
      if (++arrived >= n) open();
      await gate;
      return original(input);
    });
    const before = await sandboxAccounts();
    try {
      const results = await Promise.all(Array.from({ length: n }, () => start(owner)));
      expect(arrived).toBe(n); // every call went to the processor: none saw another's row first
      for (const r of results) expect(r.errors).toBeUndefined();
      const ids = new Set(results.map((r) => r.data!.startPayoutOnboarding.account.accountId));
      expect(ids.size).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect((await sandboxAccounts()) - before).toBe(1);
    const rows = await t.dataSource.query(`SELECT account_id FROM payout_accounts WHERE organization_id = $1`, [owner.organizationId]);
    expect(rows).toHaveLength(1);
    const [{ n: audits }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'payouts.account_created' AND organization_id = $1`, [owner.organizationId]);
    expect(audits).toBe(1);
  });
});
