/**
 * The console as people use it, in a real Chromium against a listening app:
 * a month of real activity is set up through the API (a vendor's priced
 * offer, a distiller's agreement, last month's usage reported and billed at
 * its close, the invoice paid in the sandbox this month, this month closed
 * with the clock moved past its end, a student model with its lineage), then
 * - a vendor sees its earnings chart and downloads a statement that verifies
 *   (in the page, and with the project's offline verifier);
 * - a distiller creates a gateway key, sees its secret once, and sees its invoices;
 * - a stranger's link to another organization's invoice shows "not found";
 * - every main screen is photographed (test-output/console/, not blank) and
 *   passes an axe-core scan with no serious or critical violation.
 */
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { nextPeriod, periodOf } from '../src/billing/billing-period';
import { verifyStatement } from '../src/earnings/statements/verify-statement';
import { Clock } from '../src/platform/clock/clock';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { startTestApp, TestApp } from './support/app';
import { acceptFrom, closePeriod, inPeriod, invoicesOf, lastPeriod, pricedOffer, report, usageReporter } from './support/billing';
import { checkScreen, ConsoleSession, launchChromium, listen, logIn, openSession, ScreenCheck } from './support/console';
import { licensed, listedTeacher, registerStudent } from './support/provenance';
import { makeAdmin, signUp, TestUser } from './support/users';

describe('the console in a browser', () => {
  jest.setTimeout(240_000);
  let t: TestApp;
  let origin: string;
  let browser: Browser;
  let vendor: TestUser;
  let distiller: TestUser;
  let admin: TestUser;
  let stranger: TestUser;
  let vendorModelId: string;
  let usageAgreementId: string;
  let studentId: string;
  let periodInvoice: { id: string; number: string };
  const P = lastPeriod();
  const M = periodOf(new Date());
  const checks: ScreenCheck[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    origin = await listen(t);
    browser = await launchChromium();
    vendor = await signUp(t, { country: 'US', organizationName: 'Teacher Labs' });
    distiller = await signUp(t, { country: 'FR', organizationName: 'Distil SARL' });
    admin = await makeAdmin(t, await signUp(t, { organizationName: 'Platform Ops' }));
    stranger = await signUp(t, { country: 'DE', organizationName: 'Stranger GmbH' });

    // Last month: the distiller licenses the vendor's teacher, the vendor reports its usage, the month closes.
    const o = await pricedOffer(t, vendor, { currency: 'USD', inputPerMillionMinor: '1000000', outputPerMillionMinor: '3000000' });
    vendorModelId = o.modelId;
    const agreementId = await acceptFrom(t, distiller, o, P.start);
    usageAgreementId = agreementId;
    const key = await usageReporter(t, vendor);
    await report(t, key, [
      { agreementId, at: inPeriod(P, 60 * 24 * 5), input: 12_000, output: 3_000 },
      { agreementId, at: inPeriod(P, 60 * 24 * 2), input: 30_000, output: 9_000 },
      { agreementId, at: inPeriod(P, 90), input: 8_000, output: 1_000 },
    ]);
    await closePeriod(t, admin.token, P.period);
    // The distiller saves the sandbox test card and pays the usage invoice.
    const setup = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: distiller.organizationId }, distiller.token);
    await t.gql(
      `mutation($o: ID!, $s: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: "pm_sandbox_visa") { organizationId } }`,
      { o: distiller.organizationId, s: setup.data!.createPaymentSetup.setupIntentId },
      distiller.token,
    );
    await t.app.get(WebhookInboxService).drain();
    const [invoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'PERIOD' });
    const paid = await t.gql(`mutation($id: ID!) { payInvoice(id: $id) { outcome } }`, { id: invoice.id }, distiller.token);
    expect(paid.data!.payInvoice.outcome).toBe('PAID');
    await t.app.get(WebhookInboxService).drain();
    periodInvoice = { id: invoice.id, number: invoice.number };
    // This month ends (the clock is moved past it just for the close): its statement holds the payment's earnings.
    const clock = jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(new Date(nextPeriod(M).start.getTime() + 3_600_000));
    await closePeriod(t, admin.token, M.period);
    clock.mockRestore();

    // A student model of the distiller, distilled from a second teacher of the vendor.
    const teacher = await listedTeacher(t, vendor, { royalty: { policy: 'LAP', shareBps: 700 } });
    const edge = await licensed(t, distiller, teacher);
    studentId = (await registerStudent(t, distiller, [edge])).id;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function screen(s: ConsoleSession, name: string, path: string, ready: (s: ConsoleSession) => Promise<unknown>): Promise<void> {
    const t0 = Date.now();
    await s.page.goto(`${origin}/console${path}`);
    await ready(s);
    if (process.env.CONSOLE_TIMING) console.log(name, 'ready', Date.now() - t0);
    checks.push(await checkScreen(browser, s, name));
  }

  it('a vendor sees its earnings chart and downloads a statement that verifies', async () => {
    const s = await openSession(browser, origin);
    await logIn(s, origin, vendor);
    const org = vendor.organizationId;
    await s.page.goto(`${origin}/console/o/${org}/earnings`);
    const table = s.page.getByRole('table', { name: /Statement totals by source \(USD\)/ });
    await table.waitFor({ timeout: 30_000 });
    // The chart: a recharts surface with bars drawn for the closed month.
    const chart = s.page.getByRole('figure', { name: 'Earnings by source per month, USD' });
    await chart.locator('.recharts-bar-rectangle path').first().waitFor({ timeout: 15_000 });
    const row = table.getByRole('row').filter({ hasText: M.period });
    expect(await row.count()).toBe(1);
    // The table shows what the API states for that month (exact amounts).
    const api = await t.gql(
      `query($o: ID!, $p: String!) { earningsStatement(organizationId: $o, period: $p, currency: "USD") { totals { source amount { formatted } } net { formatted } } }`,
      { o: org, p: M.period },
      vendor.token,
    );
    const statement = api.data!.earningsStatement;
    const earned = statement.totals.filter((x: any) => x.source === 'USAGE');
    expect(earned).toHaveLength(1);
    expect(earned[0].amount.formatted).not.toMatch(/^0(\.0+)? USD$/);
    const rowText = (await row.textContent()) ?? '';
    for (const total of statement.totals.filter((x: any) => !/^-?0(\.0+)? /.test(x.amount.formatted))) expect(rowText).toContain(total.amount.formatted);
    expect(rowText).toContain(statement.net.formatted);
    checks.push(await checkScreen(browser, s, 'vendor-earnings'));

    // Download the JSON statement: the offline verifier accepts it against the published keys.
    const [download] = await Promise.all([s.page.waitForEvent('download'), row.getByRole('button', { name: /as JSON/ }).click()]);
    const file = await download.path();
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const jwks = (await t.request({ method: 'GET', url: '/.well-known/beiming-keys.json' })).body;
    const verdict = verifyStatement(doc, jwks);
    expect(verdict).toMatchObject({ valid: true });
    expect(verdict.statement).toMatchObject({ organizationId: org, period: M.period });
    // The page's own check (WebCrypto Ed25519 + RFC 8785) says the same.
    await row.getByRole('button', { name: /Verify/ }).click();
    await row.getByRole('status').filter({ hasText: 'Signature valid' }).waitFor({ timeout: 15_000 });
    expect(s.problems).toEqual([]);
    await s.context.close();
  });

  it('a distiller creates a gateway key (its secret shown once) and sees its invoices', async () => {
    const s = await openSession(browser, origin);
    await logIn(s, origin, distiller);
    const org = distiller.organizationId;
    await s.page.goto(`${origin}/console/o/${org}/keys`);
    await s.page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    const agreementSelect = s.page.getByLabel('Agreement (gateway keys)');
    await agreementSelect.locator('option').nth(1).waitFor({ state: 'attached' });
    const agreementId = await agreementSelect.locator('option').nth(1).getAttribute('value');
    await agreementSelect.selectOption(agreementId!);
    await s.page.getByLabel('Name').fill('prod gateway');
    await s.page.getByRole('button', { name: 'Create key' }).click();
    const secretBox = s.page.getByTestId('api-key-secret');
    await secretBox.waitFor();
    const secret = await secretBox.inputValue();
    expect(secret.length).toBeGreaterThan(20);
    await s.page.getByText('it is shown only once').waitFor();
    checks.push(await checkScreen(browser, s, 'distiller-api-key-created'));

    // The API lists the key (never its secret) bound to the agreement with the GATEWAY scope.
    const keys = (await t.gql(`query($o: ID!) { apiKeys(organizationId: $o) { name prefix scopes agreementId revokedAt } }`, { o: org }, distiller.token)).data!.apiKeys;
    const created = keys.find((k: any) => k.name === 'prod gateway');
    expect(created).toMatchObject({ scopes: ['GATEWAY'], agreementId, revokedAt: null });
    expect(secret.startsWith(created.prefix)).toBe(true);
    const table = s.page.getByRole('table', { name: "The organization's keys" });
    await table.getByRole('row').filter({ hasText: 'prod gateway' }).waitFor();

    // Shown once: after a reload the secret is nowhere on the page.
    await s.page.reload();
    await table.getByRole('row').filter({ hasText: 'prod gateway' }).waitFor();
    expect(await s.page.getByTestId('api-key-secret').count()).toBe(0);
    expect(await s.page.content()).not.toContain(secret);

    // Invoices: the paid usage invoice of last month, and its lines.
    await s.page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Invoices & payment' }).click();
    const invoices = s.page.getByRole('table', { name: /invoices, newest first/ });
    const row = invoices.getByRole('row').filter({ hasText: periodInvoice.number });
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toContain('PAID');
    expect(await row.textContent()).toContain(P.period);
    await s.page.getByText('On file: pm_sandbox_visa').waitFor();
    await row.getByRole('link', { name: periodInvoice.number }).click();
    await s.page.getByRole('heading', { name: `Invoice ${periodInvoice.number}` }).waitFor();
    await s.page.getByRole('table', { name: 'Lines' }).waitFor();
    expect(s.problems).toEqual([]);
    await s.context.close();
  });

  it("a stranger's link to another organization's invoice shows not found", async () => {
    const s = await openSession(browser, origin);
    await logIn(s, origin, stranger);
    // Under the owner's organization id, and under the stranger's own.
    for (const org of [distiller.organizationId, stranger.organizationId]) {
      await s.page.goto(`${origin}/console/o/${org}/invoices/${periodInvoice.id}`);
      const alert = s.page.getByRole('alert');
      await alert.waitFor({ timeout: 30_000 });
      expect(await alert.textContent()).toContain('Not found');
      expect(await alert.textContent()).toContain('NOT_FOUND');
      expect(await s.page.content()).not.toContain(periodInvoice.number);
    }
    // Another organization's lists are refused the same way.
    await s.page.goto(`${origin}/console/o/${distiller.organizationId}/keys`);
    await s.page.getByRole('alert').filter({ hasText: 'NOT_FOUND' }).first().waitFor({ timeout: 30_000 });
    expect(s.problems).toEqual([]);
    await s.context.close();
  });

  it('a vendor publishes a new offer version with the terms form and sees the resulting terms hash', async () => {
    const s = await openSession(browser, origin);
    await logIn(s, origin, vendor);
    await s.page.goto(`${origin}/console/o/${vendor.organizationId}/models/${vendorModelId}`);
    await s.page.getByRole('button', { name: 'Publish' }).waitFor({ timeout: 30_000 });
    await s.page.getByLabel('Offer name').fill('enterprise');
    await s.page.getByLabel('Input price per million tokens').fill('250');
    await s.page.getByLabel('Royalty share (basis points)').fill('800');
    await s.page.getByLabel('Excluded countries (comma-separated)').fill('kp, ir');
    await s.page.getByRole('button', { name: 'Publish' }).click();
    const published = s.page.getByRole('status').filter({ hasText: 'Published enterprise v1' });
    await published.waitFor({ timeout: 30_000 });
    const offers = (await t.gql(`query($id: ID!) { licenseOffers(modelId: $id) { name version termsHash pricing { inputPerMillionMinor } terms { royalty { shareBps } territory { excludedCountries } } } }`, { id: vendorModelId }, vendor.token)).data!.licenseOffers;
    const offer = offers.find((o: any) => o.name === 'enterprise');
    expect(offer).toMatchObject({ version: 1, pricing: { inputPerMillionMinor: '250' }, terms: { royalty: { shareBps: 800 }, territory: { excludedCountries: ['IR', 'KP'] } } });
    expect(await published.textContent()).toContain(offer.termsHash);
    // The new version is listed with the others, its hash shown.
    await s.page.getByText(`enterprise v1 — ACTIVE — ${offer.termsHash.slice(0, 16)}`).waitFor();
    // A refusal is shown as the API states it: a negative price never reaches the API, a bad currency does.
    await s.page.getByLabel('Currency (ISO 4217)').fill('ZZZ');
    await s.page.getByRole('button', { name: 'Publish' }).click();
    const refusal = s.page.getByRole('alert');
    await refusal.waitFor({ timeout: 30_000 });
    expect(await refusal.textContent()).toMatch(/BAD_USER_INPUT/);
    expect(s.problems).toEqual([]);
    await s.context.close();
  });

  it('a distiller accepts an offer from the catalog; accepting it again is refused with the API\'s code', async () => {
    const newcomer = await signUp(t, { country: 'FR', organizationName: 'Newcomer SAS' });
    const s = await openSession(browser, origin);
    await logIn(s, origin, newcomer);
    await s.page.goto(`${origin}/console/o/${newcomer.organizationId}/catalog`);
    await s.page.getByLabel('Search').fill('');
    const link = s.page.getByRole('table', { name: /Listed models/ }).getByRole('link').first();
    await link.waitFor({ timeout: 30_000 });
    await s.page.goto(`${origin}/console/o/${newcomer.organizationId}/catalog/${vendorModelId}`);
    const offer = s.page.getByRole('article').filter({ hasText: 'standard v1' });
    await offer.getByRole('button', { name: 'Accept these terms' }).click();
    await s.page.getByRole('heading', { name: 'Agreements', level: 1 }).waitFor({ timeout: 30_000 });
    await s.page.getByRole('table', { name: /1 agreements/ }).waitFor({ timeout: 30_000 });
    const api = (await t.gql(`query($o: ID!) { agreements(organizationId: $o, role: DISTILLER) { edges { node { modelId status } } } }`, { o: newcomer.organizationId }, newcomer.token)).data!.agreements.edges;
    expect(api.map((e: any) => e.node.modelId)).toEqual([vendorModelId]);
    await s.page.goBack();
    await s.page.getByRole('article').filter({ hasText: 'standard v1' }).getByRole('button', { name: 'Accept these terms' }).click();
    await s.page.getByRole('alert').filter({ hasText: 'AGREEMENT_ALREADY_EXISTS' }).waitFor({ timeout: 30_000 });
    expect(s.problems).toEqual([]);
    await s.context.close();
  });

  it('works from the keyboard: a skip link first, links followed with Enter, the new page\'s heading focused', async () => {
    const s = await openSession(browser, origin);
    await logIn(s, origin, distiller);
    await s.page.goto(`${origin}/console/o/${distiller.organizationId}/catalog`);
    await s.page.getByRole('heading', { name: 'Catalog', level: 1 }).waitFor();
    // A page opened by its address leaves the focus at the top: the skip link comes first.
    await s.page.keyboard.press('Tab');
    expect(await s.page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    // Tab on to the navigation's "Agreements" link and follow it.
    for (let i = 0; i < 20; i++) {
      await s.page.keyboard.press('Tab');
      if ((await s.page.evaluate('document.activeElement.textContent')) === 'Agreements') break;
    }
    expect(await s.page.evaluate('document.activeElement.textContent')).toBe('Agreements');
    await s.page.keyboard.press('Enter');
    await s.page.getByRole('heading', { name: 'Agreements', level: 1 }).waitFor();
    await s.page.waitForFunction('document.activeElement && document.activeElement.id === "page-title"');
    expect(new URL(s.page.url()).pathname).toBe(`/console/o/${distiller.organizationId}/agreements`);
    // The organization switcher is a labelled control.
    await s.page.getByLabel('Organization').waitFor();
    expect(s.problems).toEqual([]);
    await s.context.close();
  });

  /** Not blank (contrast and more than a handful of colours) and no serious or critical axe-core violation. */
  function expectSound(names: string[]): void {
    for (const name of names) {
      const c = checks.find((x) => x.name === name);
      expect({ name, checked: Boolean(c) }).toEqual({ name, checked: true });
      expect({ name, blank: c!.variance < 50 || c!.distinctColours < 8 }).toEqual({ name, blank: false });
      expect({ name, violations: c!.violations }).toEqual({ name, violations: [] });
    }
  }

  // The page's heading is shown and nothing is loading any more.
  const settled = (title: string) => async (s: ConsoleSession) => {
    await s.page.getByRole('heading', { name: title, level: 1 }).waitFor({ timeout: 30_000 });
    await s.page.locator('.loading').first().waitFor({ state: 'detached', timeout: 30_000 });
  };
  const table = (name: RegExp | string) => (s: ConsoleSession) => s.page.getByRole('table', { name }).waitFor({ timeout: 30_000 });
  // The agreement with last month's usage: three days with bars, as the API counts them.
  const usageChart = async (s: ConsoleSession) => {
    await s.page.getByLabel('Agreement', { exact: true }).selectOption(usageAgreementId);
    await s.page.locator('.recharts-bar-rectangle path').first().waitFor({ timeout: 30_000 });
    expect(await s.page.getByRole('table', { name: 'Days with usage' }).locator('tbody tr').count()).toBe(3);
  };

  it('the log-in screen: accessible, and a refusal shown as the API states it', async () => {
    const login = await openSession(browser, origin);
    await login.page.goto(`${origin}/console`);
    await login.page.getByLabel('E-mail').waitFor();
    checks.push(await checkScreen(browser, login, 'login'));
    await login.page.getByLabel('E-mail').fill(vendor.email);
    await login.page.getByLabel('Password').fill('not the password');
    await login.page.getByRole('button', { name: 'Log in' }).click();
    await login.page.getByRole('alert').filter({ hasText: 'INVALID_CREDENTIALS' }).waitFor();
    expect(login.problems).toEqual([]);
    await login.context.close();
    expectSound(['login']);
  });

  it("the distiller's screens render (screenshots not blank) and pass axe-core", async () => {
    const d = await openSession(browser, origin);
    await logIn(d, origin, distiller);
    const dorg = `/o/${distiller.organizationId}`;
    await screen(d, 'distiller-catalog', `${dorg}/catalog`, table('Listed models, most recently listed first'));
    await screen(d, 'distiller-catalog-model', `${dorg}/catalog/${vendorModelId}`, (s) => s.page.getByRole('button', { name: 'Accept these terms' }).first().waitFor());
    await screen(d, 'distiller-agreements', `${dorg}/agreements`, table(/agreements, newest first/));
    await screen(d, 'distiller-usage', `${dorg}/usage`, usageChart);
    await screen(d, 'distiller-invoices', `${dorg}/invoices`, table(/invoices, newest first/));
    await screen(d, 'distiller-invoice', `${dorg}/invoices/${periodInvoice.id}`, table('Lines'));
    await screen(d, 'distiller-keys', `${dorg}/keys`, settled('API keys'));
    await screen(d, 'distiller-student-models', `${dorg}/student-models`, table(/with a licensed lineage/));
    await screen(d, 'distiller-student-model', `${dorg}/student-models/${studentId}`, (s) => s.page.locator('.react-flow__node').nth(1).waitFor({ timeout: 30_000 }));
    // The lineage graph: the student and its teacher, one edge between them.
    expect(await d.page.locator('.react-flow__node').count()).toBe(2);
    expect(await d.page.locator('.react-flow__edge').count()).toBe(1);
    expect(d.problems).toEqual([]);
    await d.context.close();
    expectSound(['distiller-catalog', 'distiller-catalog-model', 'distiller-agreements', 'distiller-usage', 'distiller-invoices', 'distiller-invoice', 'distiller-keys', 'distiller-student-models', 'distiller-student-model']);
  });

  it("the vendor's screens render (screenshots not blank) and pass axe-core", async () => {
    const v = await openSession(browser, origin);
    await logIn(v, origin, vendor);
    const vorg = `/o/${vendor.organizationId}`;
    await screen(v, 'vendor-models', `${vorg}/models`, table(/The organization's models/));
    await screen(v, 'vendor-model', `${vorg}/models/${vendorModelId}`, (s) => s.page.getByRole('button', { name: 'Publish' }).waitFor());
    await screen(v, 'vendor-usage', `${vorg}/vendor-usage`, usageChart);
    await screen(v, 'vendor-earnings-page', `${vorg}/earnings`, table(/Statement totals by source/));
    await screen(v, 'vendor-payout-account', `${vorg}/payout-account`, (s) => s.page.getByRole('button', { name: /payout onboarding|payout details/ }).waitFor());
    expect(v.problems).toEqual([]);
    await v.context.close();
    expectSound(['vendor-models', 'vendor-model', 'vendor-usage', 'vendor-earnings-page', 'vendor-payout-account']);
  });

  it("the admin's screens render (screenshots not blank) and pass axe-core", async () => {
    const a = await openSession(browser, origin);
    await logIn(a, origin, admin);
    await screen(a, 'admin-anomaly-flags', '/admin/flags', settled('Anomaly flags'));
    await screen(a, 'admin-certification-queue', '/admin/certification', table('Student models awaiting certification, longest waiting first'));
    // The server's queue: the distiller's student model, never certified, with its organization.
    const queued = a.page.getByRole('table', { name: 'Student models awaiting certification, longest waiting first' }).getByRole('row').filter({ hasText: 'Distil SARL' });
    expect(await queued.count()).toBe(1);
    expect(await queued.textContent()).toContain('NONE');
    await screen(a, 'admin-audit-log', '/admin/audit', table('Entries, newest first'));
    await a.page.getByRole('button', { name: 'Verify the hash chain' }).click();
    await a.page.getByRole('status').filter({ hasText: 'Chain valid' }).waitFor();
    expect(a.problems).toEqual([]);
    await a.context.close();
    expectSound(['admin-anomaly-flags', 'admin-certification-queue', 'admin-audit-log']);
  });

  it('the screens checked along the way (earnings, a created key) are sound too', () => {
    expectSound(checks.map((c) => c.name));
  });

  // Last: it moves the platform's time for the rest of this file.
  it('shows the sandbox clock when an admin has moved it ahead of real time', async () => {
    const s = await openSession(browser, origin);
    await logIn(s, origin, distiller);
    await s.page.goto(`${origin}/console/o/${distiller.organizationId}/catalog`);
    await s.page.getByRole('heading', { name: 'Catalog', level: 1 }).waitFor();
    expect(await s.page.locator('.clock').count()).toBe(0); // real time: nothing shown
    const to = new Date(Date.now() + 3 * 86_400_000);
    const moved = await t.gql(`mutation($to: DateTime!) { advanceSandboxClock(to: $to) { __typename ... on BusinessError { code message } } }`, { to: to.toISOString() }, admin.token);
    expect(moved.data!.advanceSandboxClock.__typename).toBe('SandboxClockAdvance');
    await s.page.reload();
    const badge = s.page.locator('.clock');
    await badge.waitFor({ timeout: 30_000 });
    expect(await badge.textContent()).toContain(`Sandbox time ${to.toISOString().slice(0, 10)}`);
    expect(await badge.textContent()).toMatch(/3\.0 days ahead/);
    expect(s.problems).toEqual([]);
    await s.context.close();
  });
});
