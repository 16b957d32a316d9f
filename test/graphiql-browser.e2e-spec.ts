/**
 * GraphiQL as a person uses it: a real Chromium (playwright-core) opens
 * /graphiql on a listening app, types a query into the editor, runs it and
 * reads the answer. Every request the page makes is recorded: all answer 200
 * and none leaves this server.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Browser, chromium } from 'playwright-core';
import { startTestApp, TestApp } from './support/app';

const CHROMIUM = '/usr/bin/chromium';

describe('GraphiQL in a browser', () => {
  let t: TestApp;
  let browser: Browser;
  let origin: string;
  jest.setTimeout(120_000);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is needed for the GraphiQL browser test and is not at ${CHROMIUM}: apt-get install -y chromium`);
    }
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
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

  it('loads from this server only, runs a typed query and shows its answer', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    const answers: { url: string; status: number }[] = [];
    const pageErrors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('response', (r) => answers.push({ url: r.url(), status: r.status() }));
    page.on('pageerror', (e) => pageErrors.push(e.message));

    await page.goto(`${origin}/graphiql`);
    const editor = page.locator('.graphiql-query-editor .CodeMirror');
    await editor.waitFor({ state: 'visible', timeout: 60_000 });

    // Replace the editor's content by typing, as a person would (CodeMirror closes braces itself).
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('query Typed { catalog(first: 1) { totalCount');
    await page.locator('.graphiql-execute-button').click();

    const result = page.locator('.result-window');
    await page.locator('.result-window', { hasText: '"totalCount"' }).waitFor({ timeout: 30_000 });
    const text = (await result.textContent()) ?? '';
    expect(text).toContain('"catalog"');
    expect(text).toMatch(/"totalCount":\s*0/);
    expect(text).not.toContain('"errors"');

    expect(pageErrors).toEqual([]);
    const graphqlPosts = requests.filter((u) => u === `${origin}/graphql`);
    expect(graphqlPosts.length).toBeGreaterThanOrEqual(2); // the schema (introspection) and the typed query
    expect(requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'))).toEqual([]);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.map((a) => new URL(a.url).pathname)).toEqual(
      expect.arrayContaining(['/graphiql', '/graphiql/assets/graphiql.js', '/graphiql/assets/graphiql.css']),
    );
    await page.close();
  });
});
