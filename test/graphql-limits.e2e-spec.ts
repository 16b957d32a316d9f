/**
 * Abusive operations are refused before any resolver runs: the spy on a
 * resolver-backed service proves nothing executed.
 */
import { AuthService } from '../src/identity/auth.service';
import { startTestApp, TestApp } from './support/app';

/** Sign-up within a depth limit of 3 (the shared helper's queries are deeper). */
async function shallowSignUp(t: TestApp): Promise<{ token: string; email: string }> {
  const email = `limits-${Date.now()}@example.test`;
  const r = await t.gql(
    `mutation($i: SignUpInput!) { signUp(input: $i) { ... on AuthPayload { accessToken } } }`,
    { i: { email, password: 'correct horse battery staple', organizationName: 'Limits' } },
  );
  return { token: r.data!.signUp.accessToken, email };
}

describe('GraphQL limits', () => {
  let t: TestApp;
  let user: { token: string; email: string };
  let meSpy: jest.SpyInstance;
  beforeAll(async () => {
    t = await startTestApp({ graphqlMaxDepth: 3, graphqlMaxAliases: 5, graphqlMaxCost: 300, graphqlMaxBatch: 3 });
    user = await shallowSignUp(t);
    meSpy = jest.spyOn(t.app.get(AuthService), 'me');
  });
  afterAll(() => t.close());
  beforeEach(() => meSpy.mockClear());

  it('accepts an ordinary query', async () => {
    const r = await t.gql(`{ me { id memberships { role } } }`, {}, user.token);
    expect(r.errors).toBeUndefined();
    expect(meSpy).toHaveBeenCalledTimes(1);
  });

  it('refuses a query deeper than the limit', async () => {
    const deep = `{ me { memberships { organization { id } } } }`;
    const r = await t.gql(deep, {}, user.token);
    expect(r.status).toBe(400);
    expect(r.data).toBeNull();
    expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(r.errors![0].message).toMatch(/depth/i);
    expect(meSpy).not.toHaveBeenCalled();
  });

  it('refuses too many aliases', async () => {
    const aliases = Array.from({ length: 6 }, (_, i) => `m${i}: me { id }`).join(' ');
    const r = await t.gql(`{ ${aliases} }`, {}, user.token);
    expect(r.status).toBe(400);
    expect(r.errors![0].message).toMatch(/alias/i);
    expect(meSpy).not.toHaveBeenCalled();
  });

  it('refuses a query whose list-aware cost exceeds the limit, counting `first` from variables', async () => {
    const q = `query($n: Int) { auditLog(first: $n) { entries { seq action actorUserId organizationId targetId hash } } }`;
    const r = await t.gql(q, { n: 100 }, user.token);
    expect(r.status).toBe(400);
    expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'QUERY_TOO_COSTLY', maxCost: 300 });
    // the same query with a small page is within budget (and then fails on authorization, proving it ran)
    const small = await t.gql(q, { n: 5 }, user.token);
    expect(small.errors![0].extensions.code).toBe('FORBIDDEN');
  });

  it('accepts small batches and refuses batches above the limit', async () => {
    const ok = await t.request({
      method: 'POST',
      url: '/graphql',
      body: [{ query: '{ me { id } }' }, { query: '{ me { email } }' }],
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveLength(2);
    expect(ok.body[1].data.me.email).toBe(user.email);
    meSpy.mockClear();
    const big = await t.request({
      method: 'POST',
      url: '/graphql',
      body: Array.from({ length: 4 }, () => ({ query: '{ me { id } }' })),
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(big.status).toBe(400);
    expect(big.body.errors[0].extensions.reason).toBe('BATCH_TOO_LARGE');
    expect(meSpy).not.toHaveBeenCalled();
  });

  it('answers malformed queries and unknown fields with BAD_USER_INPUT, not INTERNAL', async () => {
    for (const q of ['{ me { id ', '{ nope }']) {
      const r = await t.gql(q, {}, user.token);
      expect(r.status).toBe(400);
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    }
  });

  it('allows introspection outside production', async () => {
    const r = await t.gql(`{ __schema { queryType { name } } }`);
    expect(r.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('serves GraphiQL from local assets (no CDN)', async () => {
    const page = await t.request({ method: 'GET', url: '/graphiql' });
    expect(page.status).toBe(200);
    expect(page.text).toContain('/graphiql/assets/graphiql.js');
    expect(page.text).not.toMatch(/https?:\/\/(unpkg|cdn|esm\.sh)/);
    const js = await t.request({ method: 'GET', url: '/graphiql/assets/graphiql.js' });
    expect(js.status).toBe(200);
    expect(js.text.length).toBeGreaterThan(100_000);
    const missing = await t.request({ method: 'GET', url: '/graphiql/assets/secrets.json' });
    expect(missing.status).toBe(404);
  });
});

describe('GraphQL in production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ nodeEnv: 'production' });
  });
  afterAll(() => t.close());

  it('refuses introspection', async () => {
    const r = await t.gql(`{ __schema { queryType { name } } }`);
    expect(r.status).toBe(400);
    expect(r.errors![0].message).toMatch(/introspection/i);
  });

  it('does not serve GraphiQL', async () => {
    const r = await t.request({ method: 'GET', url: '/graphiql' });
    expect(r.status).toBe(404);
  });

  it('hides internal error details', async () => {
    const r = await t.gql(`{ me { id } }`);
    expect(r.errors![0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
