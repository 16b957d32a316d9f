/**
 * The console's payout screens in a real Chromium against a listening app.
 * A vendor onboards through the sandbox's own onboarding page and is owed
 * earnings past the holdback (booked through LedgerService); a second vendor
 * is owed less than the minimum, a third has no payout account. Then, as two
 * platform admins (the second granted by the first through the API):
 * - the first creates a USD batch from the console; on its page the Approve
 *   button is disabled for them with the four-eyes explanation, and forcing
 *   the click shows the server's refusal (FORBIDDEN, FOUR_EYES) as the API
 *   states it — the API refuses the creator the same way;
 * - the second admin sees the vendors with amounts, the account state now, the
 *   ledger lines behind each amount and the skipped vendors with reasons,
 *   holds and releases the payout with a reason, then approves the batch;
 *   the executor sends it and the open page shows the payout SENT;
 * - a batch in another currency is rejected with a reason;
 * - the vendor sees its payout SENT (amount, lines covered) beside its account;
 * - the reconciliation of a day with a planted difference (a transfer the
 *   ledger has and the processor not) shows it highlighted;
 * - each new screen is photographed (not blank) and passes axe-core.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { Accounts } from '../src/ledger/accounts';
import { LedgerService, PostingLine } from '../src/ledger/ledger.service';
import { sandboxId } from '../src/payments/sandbox/sandbox-store';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { PayoutExecutionService } from '../src/payouts/payout-execution.service';
import { Database } from '../src/platform/database/transaction';
import { startTestApp, TestApp } from './support/app';
import { checkScreen, launchChromium, logIn, openSession, ScreenCheck } from './support/console';
import { sentPayout } from './support/payout-sent-fixtures';
import { START_ONBOARDING } from './support/payouts';
import { makeAdmin, signUp, TestUser } from './support/users';

const DAY = 86_400_000;

/** A free local port: the onboarding links name the service's public address, so it is known before the app starts. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
const BATCH_FIELDS = `id status snapshotHash createdBy { userId } approvedBy { userId } rejectReason total { formatted }
  payouts(first: 100) { edges { node { id organizationId status amount { amountMinor formatted } hold { reason } lines { entryId transactionReference amount { formatted } } } } }
  skipped(first: 100) { edges { node { organizationId reason } } } progress { byStatus { status count } } `;
const BATCH = `query($id: ID!) { payoutBatch(id: $id) { ${BATCH_FIELDS} } }`;
const BATCHES = `query { payoutBatches(first: 100) { edges { node { id currency status } } } }`;
const APPROVE = `mutation($id: ID!, $h: String!) { approvePayoutBatch(id: $id, snapshotHash: $h) { id status } }`;

describe('the console payout screens in a browser', () => {
  jest.setTimeout(240_000);
  let t: TestApp;
  let origin: string;
  let browser: Browser;
  let creator: TestUser;
  let approver: TestUser;
  let vendor: TestUser;
  let small: TestUser;
  let unboarded: TestUser;
  let planted: TestUser;
  let batchId: string;
  const plantedDay = new Date(Date.now() - 2 * DAY);
  const checks: ScreenCheck[] = [];
  let seq = 0;

  const earn = (org: string, share: bigint, at: Date, currency: string) => {
    const lines: PostingLine[] = [
      { account: Accounts.platformCash, currency, amountMinor: share + 100n },
      { account: Accounts.vendorPayable(org), currency, amountMinor: -share, memo: 'vendor share' },
      { account: Accounts.platformFees, currency, amountMinor: -100n },
    ];
    return t.app
      .get(Database)
      .transaction((tx) => t.app.get(LedgerService).post(tx, { reference: `console-payouts:${randomUUID()}:${++seq}`, kind: 'INVOICE_PAID', description: 'usage invoice paid', occurredAt: at, lines }));
  };

  /** Onboards the vendor through the sandbox's onboarding page (the "complete" button). */
  async function onboard(u: TestUser): Promise<void> {
    const r = await t.gql(START_ONBOARDING, { o: u.organizationId }, u.token);
    const page = await browser.newPage();
    try {
      await page.goto(r.data!.startPayoutOnboarding.url);
      await page.locator('button#complete').waitFor({ state: 'visible', timeout: 30_000 });
      await Promise.all([page.waitForURL((x) => x.pathname === '/v1/payouts/onboarding/return', { timeout: 30_000 }), page.locator('button#complete').click()]);
    } finally {
      await page.close();
    }
    await t.app.get(WebhookInboxService).drain();
  }

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    t = await startTestApp({ publicBaseUrl: origin, earningsHoldbackDays: 7, payoutMinimums: 'USD:2500,EUR:2500,GBP:2000' });
    await t.app.listen(port, '127.0.0.1');
    browser = await launchChromium();
    creator = await makeAdmin(t, await signUp(t, { organizationName: 'Platform Ops' }));
    approver = await signUp(t, { organizationName: 'Finance Desk' });
    // Four eyes need a second admin: the first grants the role through the API.
    const granted = await t.gql(`mutation($e: String!) { grantPlatformAdmin(email: $e) { id isAdmin } }`, { e: approver.email }, creator.token);
    expect(granted.data!.grantPlatformAdmin).toEqual({ id: approver.userId, isAdmin: true });
    vendor = await signUp(t, { country: 'US', organizationName: 'Teacher Labs' });
    small = await signUp(t, { country: 'US', organizationName: 'Tiny Weights' });
    unboarded = await signUp(t, { country: 'US', organizationName: 'No Account Inc' });
    planted = await signUp(t, { country: 'DE', organizationName: 'Planted GmbH' });
    await onboard(vendor);
    await onboard(small);
    const old = new Date(Date.now() - 30 * DAY);
    await earn(vendor.organizationId, 4_000n, old, 'USD');
    await earn(vendor.organizationId, 2_500n, new Date(old.getTime() + DAY), 'USD');
    await earn(vendor.organizationId, 3_000n, old, 'GBP');
    await earn(small.organizationId, 900n, old, 'USD');
    await earn(unboarded.organizationId, 5_000n, old, 'USD');
    // The charges behind those earnings, at the sandbox processor: the platform's available balance the transfers draw on.
    const txn = sandboxId('balance_transaction', `console-payouts-funds:${randomUUID()}`);
    const funds = { id: txn, object: 'balance_transaction', created: Math.floor(old.getTime() / 1000), amount: 100_000, currency: 'usd', fee: 0, net: 100_000, fee_details: [], source: `ch_sandbox_${randomUUID().replace(/-/g, '').slice(0, 24)}`, status: 'available', type: 'charge', reporting_category: 'charge' };
    await t.dataSource.query(`INSERT INTO sandbox_payment_objects (id, kind, idempotency_key, request_hash, response, data) VALUES ($1, 'balance_transaction', NULL, NULL, NULL, $2::jsonb)`, [txn, JSON.stringify(funds)]);
    // A transfer the ledger has and the processor not, two days ago: a planted reconciliation difference.
    await sentPayout(t, { vendor: planted, admin: creator, amountMinor: 3_100n, currency: 'EUR', at: plantedDay, processor: false });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  function expectSound(names: string[]): void {
    for (const name of names) {
      const c = checks.find((x) => x.name === name);
      expect({ name, checked: Boolean(c) }).toEqual({ name, checked: true });
      expect({ name, blank: c!.variance < 50 || c!.distinctColours < 8 }).toEqual({ name, blank: false });
      expect({ name, violations: c!.violations }).toEqual({ name, violations: [] });
    }
  }

  it('one admin creates a batch and cannot approve it (button disabled, the server refuses if forced); the other approves', async () => {
    // The creator: "Create batch" on the batches screen.
    const a = await openSession(browser, origin);
    await logIn(a, origin, creator);
    await a.page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Payout review' }).click();
    await a.page.getByRole('heading', { name: 'Payout batches', level: 1 }).waitFor();
    await a.page.getByLabel('Currency').fill('USD');
    await a.page.getByRole('button', { name: 'Create batch' }).click();
    await a.page.getByRole('status').filter({ hasText: 'Created a USD batch' }).waitFor({ timeout: 30_000 });
    const list = a.page.getByRole('table', { name: 'Payout batches, newest first' });
    const row = list.getByRole('row').filter({ hasText: 'IN_REVIEW' });
    await row.waitFor({ timeout: 30_000 });
    const batches = (await t.gql(BATCHES, {}, creator.token)).data!.payoutBatches.edges.map((e: any) => e.node);
    const usd = batches.filter((b: any) => b.currency === 'USD' && b.status === 'IN_REVIEW');
    expect(usd).toHaveLength(1);
    batchId = usd[0].id;
    expect(await row.textContent()).toContain(creator.email);
    expect(await row.textContent()).toContain('65.00');
    checks.push(await checkScreen(browser, a, 'admin-payout-batches'));

    // Its page: Approve is disabled for the creator, with the reason next to it.
    await row.getByRole('link').click();
    await a.page.getByRole('heading', { name: `Payout batch ${batchId.slice(0, 8)} (USD)`, level: 1 }).waitFor({ timeout: 30_000 });
    const approveButton = a.page.getByRole('button', { name: 'Approve batch' });
    await approveButton.waitFor();
    expect(await approveButton.isDisabled()).toBe(true);
    expect(await a.page.locator('#approve-hint').textContent()).toContain('another platform admin must approve it');
    expect(await approveButton.getAttribute('aria-describedby')).toBe('approve-hint');
    // Forced: a client that does not know who created the batch (the signed-in user's id answered
    // as another's) enables the button; the server refuses, and the refusal is shown as the API states it.
    await a.page.route((url) => url.pathname === '/graphql', async (route) => {
      const req = route.request();
      const document = new URL(req.url()).searchParams.get('query') ?? req.postData() ?? '';
      if (!document.includes('query Me ')) return route.continue();
      const response = await route.fetch();
      const json = await response.json();
      json.data.me.id = randomUUID();
      await route.fulfill({ response, json });
    });
    await a.page.reload();
    await approveButton.waitFor({ timeout: 30_000 });
    await a.page.locator('#approve-hint').filter({ hasText: 'Approves the batch exactly as shown' }).waitFor({ timeout: 30_000 });
    expect(await approveButton.isDisabled()).toBe(false);
    await approveButton.click();
    const refusal = a.page.getByRole('alert').filter({ hasText: 'FOUR_EYES' });
    await refusal.waitFor({ timeout: 30_000 });
    expect(await refusal.textContent()).toContain('FORBIDDEN');
    // And through the API directly.
    const snapshot = (await t.gql(BATCH, { id: batchId }, creator.token)).data!.payoutBatch;
    const direct = await t.gql(APPROVE, { id: batchId, h: snapshot.snapshotHash }, creator.token);
    expect(direct.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'FOUR_EYES' });
    expect((await t.gql(BATCH, { id: batchId }, creator.token)).data!.payoutBatch).toMatchObject({ status: 'IN_REVIEW', approvedBy: null });
    expect(a.problems).toEqual([]);
    await a.context.close();

    // The second admin reviews: vendors, amounts, account now, the ledger lines, the skipped vendors.
    const b = await openSession(browser, origin);
    await logIn(b, origin, approver);
    await b.page.goto(`${origin}/console/admin/payouts/${batchId}`);
    const payouts = b.page.getByRole('table', { name: 'Payouts in this batch, by vendor' });
    await payouts.waitFor({ timeout: 30_000 });
    const vrow = payouts.getByRole('row').filter({ hasText: 'Teacher Labs' });
    expect(await vrow.textContent()).toContain('65.00');
    expect(await vrow.textContent()).toContain('Can receive transfers');
    expect(await vrow.textContent()).toContain('PENDING');
    await vrow.getByText('2 lines').click();
    const lines = b.page.getByRole('table', { name: "Ledger lines behind Teacher Labs's payout" });
    await lines.waitFor();
    const apiPayout = snapshot.payouts.edges.map((e: any) => e.node).find((p: any) => p.organizationId === vendor.organizationId);
    expect(apiPayout.lines).toHaveLength(2);
    for (const l of apiPayout.lines) await lines.getByRole('row').filter({ hasText: l.transactionReference }).filter({ hasText: l.amount.formatted }).waitFor();
    const skipped = b.page.getByRole('table', { name: 'Vendors owed something who were left out, and why' });
    expect(await skipped.getByRole('row').filter({ hasText: 'Tiny Weights' }).textContent()).toContain('BELOW_MINIMUM');
    expect(await skipped.getByRole('row').filter({ hasText: 'No Account Inc' }).textContent()).toContain('NO_PAYOUT_ACCOUNT');
    expect(snapshot.skipped.edges.map((e: any) => e.node.reason).sort()).toEqual(['BELOW_MINIMUM', 'NO_PAYOUT_ACCOUNT']);
    checks.push(await checkScreen(browser, b, 'admin-payout-batch-review'));

    // Hold with a reason, then release: the API records both.
    await vrow.getByRole('button', { name: 'Hold the payout to Teacher Labs' }).click();
    await b.page.getByLabel('Hold reason').fill('bank details being checked');
    await b.page.getByRole('button', { name: 'Hold payout' }).click();
    await payouts.getByRole('row').filter({ hasText: 'Held: bank details being checked' }).waitFor({ timeout: 30_000 });
    let p = (await t.gql(BATCH, { id: batchId }, approver.token)).data!.payoutBatch.payouts.edges[0].node;
    expect(p).toMatchObject({ status: 'HELD', hold: { reason: 'bank details being checked' } });
    await payouts.getByRole('button', { name: 'Release the payout to Teacher Labs' }).click();
    await payouts.getByRole('row').filter({ hasText: 'Teacher Labs' }).filter({ hasText: 'PENDING' }).waitFor({ timeout: 30_000 });
    p = (await t.gql(BATCH, { id: batchId }, approver.token)).data!.payoutBatch.payouts.edges[0].node;
    expect(p).toMatchObject({ status: 'PENDING', hold: null });

    // The second admin approves (with the snapshot as now shown, after the hold and release).
    const approve2 = b.page.getByRole('button', { name: 'Approve batch' });
    expect(await approve2.isDisabled()).toBe(false);
    await approve2.click();
    await b.page.locator('dd').filter({ hasText: 'APPROVED' }).or(b.page.locator('dd').filter({ hasText: 'EXECUTING' })).or(b.page.locator('dd').filter({ hasText: 'COMPLETED' })).first().waitFor({ timeout: 30_000 });
    const after = (await t.gql(BATCH, { id: batchId }, approver.token)).data!.payoutBatch;
    expect(after.approvedBy).toEqual({ userId: approver.userId });
    expect(['APPROVED', 'EXECUTING', 'COMPLETED']).toContain(after.status);
    await b.page.getByRole('table', { name: 'Payouts by status' }).waitFor();
    expect(await b.page.getByRole('status').filter({ hasText: /^Sent .* of 65\.00/ }).count()).toBe(1);
    checks.push(await checkScreen(browser, b, 'admin-payout-batch-approved'));

    // The executor sends it (as its job does when an approved batch appears); the open page follows by itself.
    await t.app.get(PayoutExecutionService).run({ batchId });
    await t.app.get(WebhookInboxService).drain();
    const sent = (await t.gql(BATCH, { id: batchId }, approver.token)).data!.payoutBatch;
    expect(sent.status).toBe('COMPLETED');
    expect(sent.payouts.edges.map((e: any) => e.node.status)).toEqual(['SENT']);
    await b.page.getByRole('status').filter({ hasText: 'Sent 65.00 USD of 65.00 USD' }).waitFor({ timeout: 30_000 });
    await b.page.locator('dd').filter({ hasText: 'COMPLETED' }).waitFor({ timeout: 30_000 });
    const sentRow = payouts.getByRole('row').filter({ hasText: 'Teacher Labs' });
    expect(await sentRow.textContent()).toContain('SENT');
    expect(await sentRow.textContent()).toMatch(/tr_sandbox_/);
    expect(await b.page.getByRole('table', { name: 'Payouts by status' }).getByRole('row').filter({ hasText: 'SENT' }).textContent()).toContain('65.00');
    checks.push(await checkScreen(browser, b, 'admin-payout-batch-sent'));
    expect(b.problems).toEqual([]);
    await b.context.close();
  });

  it('a batch is rejected with a reason', async () => {
    const created = await t.gql(`mutation { createPayoutBatch(input: { currency: "GBP" }) { id status } }`, {}, creator.token);
    const id = created.data!.createPayoutBatch.id as string;
    const s = await openSession(browser, origin);
    await logIn(s, origin, approver);
    await s.page.goto(`${origin}/console/admin/payouts/${id}`);
    await s.page.getByLabel('Rejection reason').fill('amounts disputed by finance');
    await s.page.getByRole('button', { name: 'Reject batch' }).click();
    await s.page.locator('dd').filter({ hasText: 'amounts disputed by finance' }).waitFor({ timeout: 30_000 });
    const b = (await t.gql(BATCH, { id }, creator.token)).data!.payoutBatch;
    expect(b).toMatchObject({ status: 'REJECTED', rejectReason: 'amounts disputed by finance' });
    expect(b.payouts.edges.map((e: any) => e.node.status)).toEqual(['CANCELLED']);
    expect(await s.page.getByRole('button', { name: 'Approve batch' }).isDisabled()).toBe(true);
    expect(s.problems).toEqual([]);
    await s.context.close();
  });

  it('the vendor sees its payout beside its payout account', async () => {
    const s = await openSession(browser, origin);
    await logIn(s, origin, vendor);
    await s.page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Payouts', exact: true }).click();
    const table = s.page.getByRole('table', { name: 'Payouts, newest first' });
    await table.waitFor({ timeout: 30_000 });
    const api = (
      await t.gql(
        `query($o: ID!) { payouts(organizationId: $o) { edges { node { batchId status amount { formatted } lines { transactionReference } } } } }`,
        { o: vendor.organizationId },
        vendor.token,
      )
    ).data!.payouts.edges.map((e: any) => e.node);
    const mine = api.find((x: any) => x.batchId === batchId);
    expect(mine.amount.formatted).toContain('65.00');
    expect(mine.status).toBe('SENT');
    const row = table.getByRole('row').filter({ hasText: mine.amount.formatted }).filter({ hasText: 'SENT' });
    await row.waitFor();
    expect(await row.textContent()).toContain('2 lines');
    await s.page.getByRole('complementary').getByText('Can receive transfers').waitFor();
    checks.push(await checkScreen(browser, s, 'vendor-payouts'));
    expect(s.problems).toEqual([]);
    await s.context.close();
  });

  it('reconciliation of a day highlights its unmatched items', async () => {
    const day = plantedDay.toISOString().slice(0, 10);
    const s = await openSession(browser, origin);
    await logIn(s, origin, approver);
    await s.page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Reconciliation' }).click();
    await s.page.getByRole('heading', { name: 'Reconciliation', level: 1 }).waitFor();
    await s.page.getByLabel('Day (UTC)').fill(day);
    await s.page.getByRole('button', { name: 'Show' }).click();
    const table = s.page.getByRole('table', { name: 'Unmatched items (differences first)' });
    await table.waitFor({ timeout: 30_000 });
    const api = (
      await t.gql(`query($d: String!) { reconciliation(date: $d) { differenceCount unmatched { status reference sourceId category amount { formatted } } } }`, { d: day }, approver.token)
    ).data!.reconciliation;
    // The planted transfer: in the ledger, not at the processor.
    const transfer = api.unmatched.find((i: any) => i.category === 'transfer' && i.status === 'DIFFERENCE');
    expect(transfer).toBeDefined();
    expect(api.differenceCount).toBeGreaterThan(0);
    await s.page.getByRole('status').filter({ hasText: `${day}: ${api.differenceCount} difference` }).waitFor();
    // Every unmatched item is listed; the differences highlighted.
    expect(await table.locator('tbody tr').count()).toBe(api.unmatched.length);
    expect(await table.locator('tbody tr.unmatched-difference').count()).toBe(api.unmatched.filter((i: any) => i.status === 'DIFFERENCE').length);
    const planted = table.locator('tbody tr.unmatched-difference').filter({ hasText: transfer.reference });
    expect(await planted.textContent()).toContain('DIFFERENCE');
    expect(await planted.textContent()).toContain(transfer.amount.formatted);
    // The stored run is listed; run again: a second one is listed too.
    const runs = s.page.getByRole('table', { name: 'Stored runs, newest first' });
    await runs.locator('tbody tr').first().waitFor({ timeout: 30_000 });
    expect(await runs.locator('tbody tr').count()).toBe(1);
    await s.page.getByRole('button', { name: 'Run again now' }).click();
    await runs.locator('tbody tr').nth(1).waitFor({ timeout: 30_000 });
    const stored = (await t.gql(`query($d: String!) { reconciliationRuns(date: $d) { id trigger } }`, { d: day }, approver.token)).data!.reconciliationRuns;
    expect(stored.map((x: any) => x.trigger)).toEqual(['ADMIN', 'ADMIN']);
    checks.push(await checkScreen(browser, s, 'admin-reconciliation'));
    expect(s.problems).toEqual([]);
    await s.context.close();
  });

  it('each payout screen is sound: not blank, no serious or critical axe-core violation', () => {
    expectSound(['admin-payout-batches', 'admin-payout-batch-review', 'admin-payout-batch-approved', 'admin-payout-batch-sent', 'vendor-payouts', 'admin-reconciliation']);
  });
});
