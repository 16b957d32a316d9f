/**
 * How the service serves the console: the page at /console and at every deep
 * link below it (the app routes itself), its two assets and nothing else, a
 * Content-Security-Policy that allows only this origin (no inline script),
 * and a page that holds no data (public; the API checks every call).
 */
import { startTestApp, TestApp } from './support/app';

describe('console serving (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const get = (url: string) => t.request({ method: 'GET', url });

  it('answers the same page at /console and at deep links, with a strict Content-Security-Policy', async () => {
    const root = await get('/console');
    expect(root.status).toBe(200);
    expect(root.headers['content-type']).toMatch(/^text\/html/);
    expect(root.text).toContain('<script src="/console/assets/console.js"></script>');
    expect(root.text).not.toMatch(/<script>|<style>|\son\w+=/); // nothing inline for the policy to allow
    const csp = String(root.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(root.headers['x-content-type-options']).toBe('nosniff');
    for (const deep of ['/console/', '/console/login', '/console/o/3f0c1a2e-0000-4000-8000-000000000000/invoices/abc', '/console/admin/audit']) {
      const r = await get(deep);
      expect([deep, r.status]).toEqual([deep, 200]);
      expect(r.text).toBe(root.text);
      expect(r.headers['content-security-policy']).toBe(csp);
    }
  });

  it('serves its script and stylesheet, and no other file', async () => {
    const js = await get('/console/assets/console.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^application\/javascript/);
    expect(js.text.length).toBeGreaterThan(100_000);
    const css = await get('/console/assets/console.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    for (const name of ['manifest.json', 'index.html', '..%2F..%2Fpackage.json', 'console.js.LEGAL.txt']) {
      expect([name, (await get(`/console/assets/${name}`)).status]).toEqual([name, 404]);
    }
  });

  it('is public: the page needs no token and holds no data', async () => {
    // A browser sends no Authorization header when it loads a page: the console's token lives in the tab.
    const r = await get('/console/o/x/keys');
    expect(r.status).toBe(200);
    expect(r.text).not.toMatch(/@example|Bearer|token/i);
  });
});
