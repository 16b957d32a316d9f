/**
 * The public response cache: anonymous catalog reads are served from memory,
 * never a stale answer after a mutation on this process, never for callers
 * with a token, never an answer with errors, and never longer than the TTL.
 */
import { startTestApp, TestApp } from './support/app';
import { signUp, TestUser } from './support/users';

const CATALOG = `{ catalog(first: 5) { totalCount edges { node { name } } } }`;
const CARD = { summary: 'A teacher', modalities: ['TEXT'] };

describe('public response cache', () => {
  let t: TestApp;
  let vendor: TestUser;

  async function anonymous(query: string, variables?: Record<string, unknown>) {
    const r = await t.request({ method: 'POST', url: '/graphql', body: { query, variables } });
    return { body: r.body, cache: r.headers['x-cache'] };
  }

  async function createListed(slug: string): Promise<string> {
    const r = await t.gql(
      `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) { ... on TeacherModel { id } } }`,
      { i: { organizationId: vendor.organizationId, slug, name: `Model ${slug}`, card: CARD } },
      vendor.token,
    );
    const id = r.data!.createTeacherModel.id as string;
    await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id }, vendor.token);
    return id;
  }

  beforeAll(async () => {
    t = await startTestApp({ publicCacheTtlMs: 60_000 });
    vendor = await signUp(t);
    await createListed('first');
  });
  afterAll(() => t.close());

  it('serves a repeated anonymous catalog query from the cache, with the same answer', async () => {
    const a = await anonymous(CATALOG);
    const b = await anonymous(CATALOG);
    expect(a.cache).toBeUndefined();
    expect(b.cache).toBe('HIT');
    expect(b.body).toEqual(a.body);
    expect(b.body.data.catalog.totalCount).toBe(1);
  });

  it('is cleared by any mutation, so a read after a write sees the write', async () => {
    await anonymous(CATALOG);
    expect((await anonymous(CATALOG)).cache).toBe('HIT');
    await createListed('second');
    const after = await anonymous(CATALOG);
    expect(after.cache).toBeUndefined();
    expect(after.body.data.catalog.totalCount).toBe(2);
  });

  it('does not store an answer computed while a mutation completed (generation check)', async () => {
    const { PublicResponseCache } = await import('../src/platform/graphql/public-response-cache');
    const cache = t.app.get(PublicResponseCache);
    const key = cache.keyOf({ query: CATALOG }, false)!;
    const generation = cache.generation;
    cache.invalidate(); // a mutation completes while the read is running
    cache.store(key, '{"data":{"catalog":null}}', generation, { query: CATALOG });
    expect(cache.get(key)).toBeUndefined();
  });

  it('keys on variables and never serves callers with a token', async () => {
    const q = `query($n: Int) { catalog(first: $n) { edges { node { name } } } }`;
    await anonymous(q, { n: 1 });
    expect((await anonymous(q, { n: 1 })).cache).toBe('HIT');
    const two = await anonymous(q, { n: 2 });
    expect(two.cache).toBeUndefined();
    expect(two.body.data.catalog.edges).toHaveLength(2);
    const withToken = await t.request({
      method: 'POST',
      url: '/graphql',
      body: { query: q, variables: { n: 1 } },
      headers: { authorization: `Bearer ${vendor.token}` },
    });
    expect(withToken.headers['x-cache']).toBeUndefined();
  });

  it('never caches errors, non-public operations or mutations', async () => {
    const missing = `{ teacherModel(id: "00000000-0000-4000-8000-000000000000") { id } }`;
    await anonymous(missing);
    const again = await anonymous(missing);
    expect(again.cache).toBeUndefined();
    expect(again.body.errors[0].extensions.code).toBe('NOT_FOUND');

    const typename = `{ __typename }`;
    await anonymous(typename);
    expect((await anonymous(typename)).cache).toBeUndefined();

    const login = `mutation { logIn(input: { email: "nobody@example.test", password: "wrong password 1" }) { __typename } }`;
    await anonymous(login);
    expect((await anonymous(login)).cache).toBeUndefined();
  });

  it('expires entries after the TTL', async () => {
    const { PublicResponseCache } = await import('../src/platform/graphql/public-response-cache');
    const cache = t.app.get(PublicResponseCache);
    await anonymous(CATALOG);
    expect((await anonymous(CATALOG)).cache).toBe('HIT');
    const now = Date.now();
    const spy = jest.spyOn(Date, 'now').mockReturnValue(now + cache.ttlMs + 1);
    try {
      expect((await anonymous(CATALOG)).cache).toBeUndefined();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('public response cache, off', () => {
  it('PUBLIC_CACHE_TTL_MS=0 serves every request fresh', async () => {
    const t = await startTestApp({ publicCacheTtlMs: 0 });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await t.request({ method: 'POST', url: '/graphql', body: { query: CATALOG } });
        expect(r.headers['x-cache']).toBeUndefined();
        expect(r.body.data.catalog.totalCount).toBe(0);
      }
    } finally {
      await t.close();
    }
  });
});
