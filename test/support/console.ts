/**
 * Driving the console in a real Chromium (playwright-core): launch, log in
 * through the form, open screens, and the checks every screen gets — a
 * screenshot written to test-output/console/ that is not blank (pixel
 * variance), an axe-core accessibility scan with no serious or critical
 * violation, no page error, no request to another origin and no
 * Content-Security-Policy refusal.
 */
import { AxeBuilder } from '@axe-core/playwright';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import type { TestApp } from './app';
import type { TestUser } from './users';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = resolve(__dirname, '..', '..', 'test-output', 'console');
export const PASSWORD = 'correct horse battery staple';

export async function listen(t: TestApp): Promise<string> {
  await t.app.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is needed for the console browser tests and is not at ${CHROMIUM}: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A browser session of one user, with what went wrong on its pages recorded. */
export interface ConsoleSession {
  context: BrowserContext;
  page: Page;
  /** Page errors, failed requests, requests to other origins, CSP refusals. */
  problems: string[];
}

export async function openSession(browser: Browser, origin: string): Promise<ConsoleSession> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:')) problems.push(`request to another origin: ${url}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push(`${r.status()} from ${r.url()}`);
  });
  return { context, page, problems };
}

/** Logs in through the console's form. */
export async function logIn(s: ConsoleSession, origin: string, user: Pick<TestUser, 'email'>): Promise<void> {
  await s.page.goto(`${origin}/console/login`);
  await s.page.getByLabel('E-mail').fill(user.email);
  await s.page.getByLabel('Password').fill(PASSWORD);
  await s.page.getByRole('button', { name: 'Log in' }).click();
  await s.page.getByRole('navigation', { name: 'Console' }).waitFor({ timeout: 30_000 });
}

/** Pixel statistics of a PNG, decoded by the browser on a blank page (no decoder in the project). */
async function pixelStats(browser: Browser, png: Buffer): Promise<{ variance: number; distinctColours: number }> {
  const page = await browser.newPage();
  try {
    // Runs in the page (DOM types are not in the project's lib): decode, draw, measure luminance.
    const measure = `(async (b64) => {
      const img = new Image();
      img.src = 'data:image/png;base64,' + b64;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, img.width, img.height).data;
      let sum = 0, sq = 0;
      const colours = new Set();
      const n = d.length / 4;
      for (let i = 0; i < d.length; i += 4) {
        const l = 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
        sum += l;
        sq += l * l;
        if (colours.size < 5000) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      }
      const mean = sum / n;
      return { variance: sq / n - mean * mean, distinctColours: colours.size };
    })(${JSON.stringify(png.toString('base64'))})`;
    return (await page.evaluate(measure)) as { variance: number; distinctColours: number };
  } finally {
    await page.close();
  }
}

export interface ScreenCheck {
  name: string;
  variance: number;
  distinctColours: number;
  violations: { id: string; impact: string | null | undefined; nodes: number; help: string }[];
}

/**
 * The checks of one main screen, on what the page shows now: a full-page
 * screenshot saved as <name>.png that is not blank, and axe-core (WCAG 2 A/AA)
 * with no serious or critical violation.
 */
export async function checkScreen(browser: Browser, s: ConsoleSession, name: string): Promise<ScreenCheck> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const t0 = Date.now();
  // Let charts finish their entry animation before the picture.
  await s.page.waitForTimeout(400);
  const png = await s.page.screenshot({ fullPage: true });
  writeFileSync(join(SCREENSHOT_DIR, `${name}.png`), png);
  const t1 = Date.now();
  const stats = await pixelStats(browser, png);
  const t2 = Date.now();
  const axe = await new AxeBuilder({ page: s.page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  if (process.env.CONSOLE_TIMING) console.log(name, 'shot', t1 - t0, 'pixels', t2 - t1, 'axe', Date.now() - t2);
  const violations = axe.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: `${v.help}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}` }));
  return { name, ...stats, violations };
}
