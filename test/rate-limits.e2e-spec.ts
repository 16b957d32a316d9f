/**
 * Per-client rate limits: requests per minute (anonymous by address,
 * authenticated by user / API key) and points per minute (each mutation and
 * each expensive field, across aliases and batched operations). A refused
 * request is 429 with Retry-After and runs nothing.
 */
import { LineageLoader } from '../src/provenance/lineage/lineage.loader';
import { startTestApp, TestApp } from './support/app';
import { createModel } from './support/licensing';
import { createApiKey } from './support/metering';
import { signUp, TestUser } from './support/users';

const LIMITS = {
  rateLimitAnonymousPerMinute: 8,
  rateLimitAuthenticatedPerMinute: 10,
  rateLimitAnonymousPointsPerMinute: 20,
  rateLimitAuthenticatedPointsPerMinute: 30,
};
const MISSING_MODEL = '00000000-0000-4000-8000-000000000000';

function aliases(n: number, field: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => field(i)).join(' ');
}

describe('rate limits', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await startTestApp(LIMITS);
    alice = await signUp(t);
    bob = await signUp(t);
  });
  afterAll(() => t.close());

  async function post(body: unknown, opts: { ip: string; token?: string; url?: string }) {
    const res = await t.app.getHttpAdapter().getInstance().inject({
      method: 'POST',
      url: opts.url ?? '/graphql',
      remoteAddress: opts.ip,
      headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      payload: JSON.stringify(body),
    });
    return { status: res.statusCode, body: JSON.parse(res.body), retryAfter: res.headers['retry-after'] };
  }

  const catalogQuery = { query: '{ catalog(first: 1) { edges { node { id } } } }' };

  it('refuses an anonymous address past its requests per minute with 429 and Retry-After; another address is unaffected', async () => {
    for (let i = 0; i < LIMITS.rateLimitAnonymousPerMinute; i++) {
      const ok = await post(catalogQuery, { ip: '10.1.0.1' });
      expect(ok.status).toBe(200);
    }
    const refused = await post(catalogQuery, { ip: '10.1.0.1' });
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.body.data).toBeNull();
    expect(refused.body.errors[0].extensions).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      reason: 'RATE_LIMITED',
      budget: 'requests',
      limitPerMinute: LIMITS.rateLimitAnonymousPerMinute,
      retryAfterSeconds: Number(refused.retryAfter),
    });
    expect((await post(catalogQuery, { ip: '10.1.0.2' })).status).toBe(200);

    // Spent, the address is refused on arrival: its body is not even read (a body that
    // does not parse would otherwise be a 400 from the JSON parser).
    const unread = await t.app.getHttpAdapter().getInstance().inject({
      method: 'POST',
      url: '/graphql',
      remoteAddress: '10.1.0.1',
      headers: { 'content-type': 'application/json' },
      payload: '{ this is not JSON',
    });
    expect(unread.statusCode).toBe(429);
    expect(JSON.parse(unread.body).errors[0].extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', budget: 'requests' });
  });

  it('counts authenticated callers per user, apart from their address', async () => {
    const me = { query: '{ me { id } }' };
    for (let i = 0; i < LIMITS.rateLimitAuthenticatedPerMinute; i++) {
      const ok = await post(me, { ip: '10.2.0.1', token: alice.token });
      expect(ok.body.data.me.id).toBe(alice.userId);
    }
    const refused = await post(me, { ip: '10.2.0.1', token: alice.token });
    expect(refused.status).toBe(429);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', budget: 'requests', limitPerMinute: LIMITS.rateLimitAuthenticatedPerMinute });
    // Same address, another user: its own budget. Same address, anonymous: the address's budget.
    expect((await post(me, { ip: '10.2.0.1', token: bob.token })).body.data.me.id).toBe(bob.userId);
    expect((await post(catalogQuery, { ip: '10.2.0.1' })).status).toBe(200);
    // A refused credential counts as its address, not as a fresh client: invented tokens get no budget of their own.
    for (let i = 0; i < LIMITS.rateLimitAnonymousPerMinute; i++) {
      const bad = await post(me, { ip: '10.2.0.3', token: `not-a-token-${i}` });
      expect(bad.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    expect((await post(catalogQuery, { ip: '10.2.0.3' })).status).toBe(429);
  });

  it('counts every aliased expensive field as a point', async () => {
    const exportsQuery = (n: number) => ({ query: `{ ${aliases(n, (i) => `m${i}: teacherModel(id: "${MISSING_MODEL}") { cycloneDx }`)} }` });
    // 15 aliases = 15 points of the 20: allowed (the model does not exist; the points are spent anyway).
    const first = await post(exportsQuery(15), { ip: '10.3.0.1' });
    expect(first.status).toBe(200);
    expect(first.body.errors[0].extensions.code).toBe('NOT_FOUND');
    const second = await post(exportsQuery(15), { ip: '10.3.0.1' });
    expect(second.status).toBe(429);
    expect(second.body.errors[0].extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', budget: 'points', limitPerMinute: 20 });
    expect(second.body.errors[0].message).toContain('needs 15');
    // Cheap fields of the same model cost no points.
    const cheap = await post({ query: `{ ${aliases(15, (i) => `m${i}: teacherModel(id: "${MISSING_MODEL}") { id name }`)} }` }, { ip: '10.3.0.1' });
    expect(cheap.status).toBe(200);
  });

  it('counts mutations one by one across aliases and batched operations, and a refused batch writes nothing', async () => {
    // signUp / logIn are refused above one per request before any budget is counted (graphql-edge-limits.e2e-spec.ts):
    // an authenticated mutation shows the counting.
    const carol = await signUp(t);
    const creates = (prefix: string, n: number) => ({
      query: `mutation { ${aliases(n, (i) => `c${i}: createOrganization(input: { name: "RL ${prefix}${i}" }) { id }`)} }`,
    });
    // 3 operations × 11 aliased mutations = 33 points > 30: refused whole.
    const refused = await post([creates('a', 11), creates('b', 11), creates('c', 11)], { ip: '10.4.0.1', token: carol.token });
    expect(refused.status).toBe(429);
    expect(refused.body.errors[0].extensions).toMatchObject({ budget: 'points' });
    expect(refused.body.errors[0].message).toContain('needs 33 points');
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM organizations WHERE name LIKE 'RL %'`);
    expect(n).toBe(0);
  });

  it('fragments and inline fragments are counted where they are spread', async () => {
    const q = `query { a: teacherModel(id: "${MISSING_MODEL}") { ...X } b: teacherModel(id: "${MISSING_MODEL}") { ...X ... on TeacherModel { lineage { depth } } } }
               fragment X on TeacherModel { obligations { notice } huggingFaceCardYaml }`;
    // a: 2, b: 2 + 1 = 5 points; three times is 15 of 20, a fourth with an extra alias (6) does not fit.
    for (let i = 0; i < 3; i++) expect((await post({ query: q }, { ip: '10.5.0.1' })).status).toBe(200);
    const plusOne = `query { a: teacherModel(id: "${MISSING_MODEL}") { ...X } b: teacherModel(id: "${MISSING_MODEL}") { ...X ... on TeacherModel { lineage { depth } } }
                       c: teacherModel(id: "${MISSING_MODEL}") { royaltyStack { totalBps } } }
                     fragment X on TeacherModel { obligations { notice } huggingFaceCardYaml }`;
    const refused = await post({ query: plusOne }, { ip: '10.5.0.1' });
    expect(refused.status).toBe(429);
    expect(refused.body.errors[0].message).toContain('needs 6');
    // Points spent: still refused.
    const spent = await post({ query: q }, { ip: '10.5.0.1' });
    expect(spent.status).toBe(429);
    expect(spent.body.errors[0].extensions.budget).toBe('points');
  });

  it('limits the usage-report REST route per API key, in its own error shape', async () => {
    const key = await createApiKey(t, bob, ['USAGE_REPORT']);
    const report = () => post({ events: [] }, { ip: '10.6.0.1', token: key.secret, url: '/v1/usage/events' });
    for (let i = 0; i < LIMITS.rateLimitAuthenticatedPerMinute; i++) expect((await report()).status).toBe(200);
    const refused = await report();
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
  });
});

describe('rate limits: clients that ignore Retry-After, and anonymous expensive work', () => {
  let t: TestApp;

  afterEach(async () => {
    jest.restoreAllMocks();
    await t?.close();
  });

  async function post(body: unknown, ip: string) {
    const started = Date.now();
    const res = await t.app.getHttpAdapter().getInstance().inject({
      method: 'POST',
      url: '/graphql',
      remoteAddress: ip,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    return { status: res.statusCode, ms: Date.now() - started, body: JSON.parse(res.body) };
  }

  it('a client refused once gets its next refusals only after RATE_LIMIT_REFUSAL_DELAY_MS; another client is not held', async () => {
    t = await startTestApp({ ...LIMITS, rateLimitRefusalDelayMs: 600 });
    const q = { query: '{ catalog(first: 1) { totalCount } }' };
    for (let i = 0; i < LIMITS.rateLimitAnonymousPerMinute; i++) expect((await post(q, '10.9.0.1')).status).toBe(200);
    const first = await post(q, '10.9.0.1');
    expect(first.status).toBe(429); // told to wait: answered at once
    const again = await post(q, '10.9.0.1');
    expect(again.status).toBe(429);
    expect(again.ms).toBeGreaterThanOrEqual(550); // came back before Retry-After: held
    expect(again.body.errors[0].extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMITED' });
    const other = await post(q, '10.9.0.2');
    expect(other.status).toBe(200);
  });

  it('anonymous requests that cost points run one at a time (RATE_LIMIT_ANONYMOUS_EXPENSIVE_CONCURRENCY=1)', async () => {
    t = await startTestApp({ rateLimitAnonymousExpensiveConcurrency: 1 });
    const vendor = await signUp(t);
    const { id } = await createModel(t, vendor);
    const loader = t.app.get(LineageLoader);
    const original = loader.assembleFor.bind(loader);
    let running = 0;
    let most = 0;
    jest.spyOn(loader, 'assembleFor').mockImplementation(async (em, root) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 100));
      try {
        return await original(em, root);
      } finally {
        running -= 1;
      }
    });
    const answers = await Promise.all(
      Array.from({ length: 4 }, (_, i) => post({ query: `# ${i}\n{ teacherModel(id: "${id}") { lineage { depth } } }` }, `10.9.1.${i + 1}`)),
    );
    expect(answers.map((a) => [a.status, a.body.errors])).toEqual(Array(4).fill([200, undefined]));
    expect(loader.assembleFor).toHaveBeenCalledTimes(4);
    expect(most).toBe(1);
  });
});

