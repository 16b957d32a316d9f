/** The HTTP edge: CORS for configured browser origins, and the client address behind trusted proxies. */
import { startTestApp, TestApp } from './support/app';

describe('CORS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ corsOrigins: 'https://app.example.com,http://localhost:5173' });
  });
  afterAll(() => t.close());

  const preflight = (origin: string) =>
    t.app.getHttpAdapter().getInstance().inject({
      method: 'OPTIONS',
      url: '/graphql',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });

  it('answers preflights from configured origins', async () => {
    const r = await preflight('https://app.example.com');
    expect(r.statusCode).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(String(r.headers['access-control-allow-headers'])).toMatch(/authorization/);
  });

  it('gives other origins no CORS permission', async () => {
    const r = await preflight('https://evil.example.net');
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('exposes the request id to allowed browsers', async () => {
    const r = await t.request({ method: 'POST', url: '/graphql', body: { query: '{ __typename }' }, headers: { origin: 'http://localhost:5173' } });
    expect(r.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(String(r.headers['access-control-expose-headers'])).toMatch(/x-request-id/);
  });

  it('refuses a malformed CORS_ORIGINS at boot', async () => {
    const { loadConfig } = await import('../src/platform/config/app-config');
    expect(() => loadConfig({ JWT_SECRET: 'x'.repeat(40), CORS_ORIGINS: 'app.example.com' })).toThrow(/CORS_ORIGINS/);
  });
});

describe('client address for log-in throttling', () => {
  const LOG_IN = `mutation($i: LogInInput!) { logIn(input: $i) { __typename } }`;
  const attempt = (t: TestApp, email: string, forwardedFor: string) =>
    t.request({
      method: 'POST',
      url: '/graphql',
      body: { query: LOG_IN, variables: { i: { email, password: 'wrong password 123' } } },
      headers: { 'x-forwarded-for': forwardedFor },
    });

  it('counts per forwarded client address behind a trusted proxy', async () => {
    const t = await startTestApp({ trustProxy: 'true', loginMaxFailures: 1 });
    try {
      // per-address allowance is 4 × LOGIN_MAX_FAILURES; different emails so only the address limit applies
      for (let i = 0; i < 4; i++) await attempt(t, `a${i}@example.test`, '203.0.113.7');
      const blocked = await attempt(t, 'a9@example.test', '203.0.113.7');
      expect(blocked.body.data.logIn.__typename).toBe('TooManyAttemptsError');
      const other = await attempt(t, 'b0@example.test', '198.51.100.2');
      expect(other.body.data.logIn.__typename).toBe('InvalidCredentialsError');
    } finally {
      await t.close();
    }
  });

  it('ignores X-Forwarded-For when no proxy is trusted (clients cannot dodge the limit)', async () => {
    const t = await startTestApp({ loginMaxFailures: 1 });
    try {
      for (let i = 0; i < 4; i++) await attempt(t, `c${i}@example.test`, `203.0.113.${i}`);
      const blocked = await attempt(t, 'c9@example.test', '203.0.113.99');
      expect(blocked.body.data.logIn.__typename).toBe('TooManyAttemptsError');
    } finally {
      await t.close();
    }
  });
});
