/**
 * Screenshots of the console's main screens for the docs, from a running
 * service: `npm run console:screenshots`. Logs in through the console's own
 * form in headless Chromium (playwright-core) as an admin, a vendor and a
 * distiller, finds each screen's data through the API with the session's
 * token, and saves a 1280×800 PNG of each screen to docs/console/. A screen
 * without data (no payout batch yet, no student model…) is skipped with a
 * warning; the exit code is 1 only when a log-in or a screen fails.
 *
 * Environment:
 *   BASE_URL                        the service (default http://127.0.0.1:3000)
 *   CONSOLE_ADMIN_EMAIL / _PASSWORD a platform admin
 *   CONSOLE_VENDOR_EMAIL / _PASSWORD a vendor (earnings)
 *   CONSOLE_DISTILLER_EMAIL / _PASSWORD a distiller (invoices; pool subscription)
 *   CONSOLE_POOL_DISTILLER_EMAIL / _PASSWORD  optional: the distiller on the pool plan, when another one
 *   SCREENSHOT_DIR                  where to write (default docs/console, from the current directory)
 *   CHROMIUM                        the browser (default /usr/bin/chromium)
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const VIEWPORT = { width: 1280, height: 800 };
const TOKEN_KEY = 'beiming.console.token';
const TIMEOUT = 30_000;

export interface Login {
  email: string;
  password: string;
}

export interface ScreenshotOptions {
  baseUrl: string;
  admin?: Login;
  vendor?: Login;
  distiller?: Login;
  poolDistiller?: Login;
  outDir: string;
  chromium: string;
  log?: (line: string) => void;
}

export interface ScreenshotReport {
  saved: string[];
  skipped: { name: string; why: string }[];
  failed: { name: string; why: string }[];
}

interface Session {
  page: Page;
  token: string;
  orgIds: string[];
}

function login(prefix: string): Login | undefined {
  const email = process.env[`${prefix}_EMAIL`];
  const password = process.env[`${prefix}_PASSWORD`];
  return email && password ? { email, password } : undefined;
}

export async function captureScreens(o: ScreenshotOptions): Promise<ScreenshotReport> {
  const log = o.log ?? ((line: string) => console.log(line));
  const report: ScreenshotReport = { saved: [], skipped: [], failed: [] };
  const base = o.baseUrl.replace(/\/+$/, '');
  mkdirSync(o.outDir, { recursive: true });
  if (!existsSync(o.chromium)) throw new Error(`Chromium is not at ${o.chromium} (set CHROMIUM)`);
  const browser: Browser = await chromium.launch({ executablePath: o.chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });

  const api = async (s: Session, query: string, variables: Record<string, unknown> = {}): Promise<any> => {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: any; errors?: { message: string }[] };
    if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data;
  };

  const open = async (who: string, l: Login | undefined): Promise<Session | null> => {
    if (!l) {
      report.skipped.push({ name: who, why: `no log-in given (CONSOLE_${who.toUpperCase()}_EMAIL / _PASSWORD)` });
      log(`! ${who}: no log-in given, its screens are skipped`);
      return null;
    }
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    try {
      await page.goto(`${base}/console/login`);
      await page.getByLabel('E-mail').fill(l.email);
      await page.getByLabel('Password').fill(l.password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('navigation', { name: 'Console' }).waitFor({ timeout: TIMEOUT });
      const token = (await page.evaluate(`sessionStorage.getItem(${JSON.stringify(TOKEN_KEY)})`)) as string | null;
      if (!token) throw new Error('no session after logging in');
      const s: Session = { page, token, orgIds: [] };
      const me = await api(s, `query { me { memberships { organization { id } } } }`);
      s.orgIds = me.me.memberships.map((m: any) => m.organization.id);
      return s;
    } catch (err) {
      report.failed.push({ name: `${who} log-in`, why: (err as Error).message });
      log(`✗ ${who}: log-in failed: ${(err as Error).message}`);
      await context.close();
      return null;
    }
  };

  /** Finds the screen's path (null: no data, skipped with `why`), opens it, waits until `ready`, saves <name>.png. */
  const shot = async (
    s: Session | null,
    name: string,
    find: (s: Session) => Promise<{ path: string } | { skip: string }>,
    ready: (page: Page) => Promise<unknown>,
  ): Promise<void> => {
    if (!s) {
      report.skipped.push({ name, why: 'no session' });
      return;
    }
    try {
      const found = await find(s);
      if ('skip' in found) {
        report.skipped.push({ name, why: found.skip });
        log(`! ${name}: skipped — ${found.skip}`);
        return;
      }
      await s.page.goto(`${base}/console${found.path}`);
      await ready(s.page);
      await s.page.locator('.loading').first().waitFor({ state: 'detached', timeout: TIMEOUT });
      // Charts and graphs finish their entry animation.
      await s.page.waitForTimeout(500);
      const file = join(o.outDir, `${name}.png`);
      await s.page.screenshot({ path: file, fullPage: false });
      report.saved.push(file);
      log(`✓ ${name}: ${file}`);
    } catch (err) {
      report.failed.push({ name, why: (err as Error).message.split('\n')[0] });
      log(`✗ ${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  const table = (name: string | RegExp) => (page: Page) => page.getByRole('table', { name }).first().waitFor({ timeout: TIMEOUT });

  try {
    const admin = await open('admin', o.admin);
    const vendor = await open('vendor', o.vendor);
    const distiller = await open('distiller', o.distiller);
    const poolDistiller = o.poolDistiller ? await open('pool distiller', o.poolDistiller) : distiller;

    const found: { batch?: { id: string; day: string } } = {};
    await shot(
      admin,
      'admin-payout-batches',
      async (s) => {
        const r = await api(s, `query { payoutBatches(first: 1) { edges { node { id createdAt completedAt approvedAt } } } }`);
        const b = r.payoutBatches.edges[0]?.node;
        if (!b) return { skip: 'no payout batch yet' };
        found.batch = { id: b.id, day: (b.completedAt ?? b.approvedAt ?? b.createdAt).slice(0, 10) };
        return { path: '/admin/payouts' };
      },
      table('Payout batches, newest first'),
    );
    await shot(
      admin,
      'admin-payout-batch-review',
      async () => (found.batch ? { path: `/admin/payouts/${found.batch.id}` } : { skip: 'no payout batch yet' }),
      table('Payouts in this batch, by vendor'),
    );
    await shot(
      admin,
      'admin-reconciliation',
      async () => (found.batch ? { path: '/admin/reconciliation' } : { skip: 'no payout batch yet: nothing to reconcile' }),
      async (page) => {
        // The day of the latest batch's transfers.
        await page.getByLabel('Day (UTC)').fill(found.batch!.day);
        await page.getByRole('button', { name: 'Show' }).click();
        await page.getByRole('status').filter({ hasText: found.batch!.day }).waitFor({ timeout: TIMEOUT });
      },
    );
    await shot(
      vendor,
      'vendor-earnings',
      async (s) => {
        const org = s.orgIds[0];
        if (!org) return { skip: 'the vendor has no organization' };
        const r = await api(s, `query($o: ID!) { earnings(organizationId: $o) { currency } }`, { o: org });
        return r.earnings.length ? { path: `/o/${org}/earnings` } : { skip: 'the vendor has no earnings yet' };
      },
      table(/Statement totals by source/),
    );
    await shot(
      distiller,
      'distiller-invoices',
      async (s) => {
        const org = s.orgIds[0];
        if (!org) return { skip: 'the distiller has no organization' };
        const r = await api(s, `query($o: ID!) { invoices(organizationId: $o, first: 1) { edges { node { id } } } }`, { o: org });
        return r.invoices.edges.length ? { path: `/o/${org}/invoices` } : { skip: 'the distiller has no invoices yet' };
      },
      table(/invoices, newest first/),
    );
    // The lineage graph: the first student model of any signed-in organization.
    let lineageOwner: Session | null = null;
    let student: { org: string; id: string } | null = null;
    for (const s of [distiller, vendor, poolDistiller].filter((x): x is Session => x !== null)) {
      for (const org of s.orgIds) {
        if (student) break;
        try {
          const r = await api(s, `query($o: ID!) { myModels(organizationId: $o) { id lineage { ancestors { id } } } }`, { o: org });
          const m = r.myModels.find((x: any) => x.lineage.ancestors.length > 0);
          if (m) {
            student = { org, id: m.id };
            lineageOwner = s;
          }
        } catch {
          /* not readable by this user: next */
        }
      }
    }
    await shot(
      lineageOwner ?? distiller,
      'lineage-graph',
      async () => (student ? { path: `/o/${student.org}/student-models/${student.id}` } : { skip: 'no student model with a lineage' }),
      (page) => page.locator('.react-flow__node').nth(1).waitFor({ timeout: TIMEOUT }),
    );
    await shot(
      poolDistiller,
      'pool-subscription',
      async (s) => {
        for (const org of s.orgIds) {
          const r = await api(s, `query($o: ID!) { poolSubscriptions(organizationId: $o) { id } }`, { o: org });
          if (r.poolSubscriptions.length) return { path: `/o/${org}/pool` };
        }
        return { skip: 'the distiller has no pool subscription (set CONSOLE_POOL_DISTILLER_EMAIL to the one on the pool plan)' };
      },
      table(/Invoiced periods of the/),
    );
  } finally {
    await browser.close();
  }
  return report;
}

async function main(): Promise<void> {
  const report = await captureScreens({
    baseUrl: process.env.BASE_URL ?? 'http://127.0.0.1:3000',
    admin: login('CONSOLE_ADMIN'),
    vendor: login('CONSOLE_VENDOR'),
    distiller: login('CONSOLE_DISTILLER'),
    poolDistiller: login('CONSOLE_POOL_DISTILLER'),
    outDir: resolve(process.env.SCREENSHOT_DIR ?? join('docs', 'console')),
    chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
  });
  console.log(`${report.saved.length} saved, ${report.skipped.length} skipped, ${report.failed.length} failed`);
  if (report.failed.length) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
