/**
 * The public catalog: filters, keyset pagination with totalCount, malformed
 * cursors, and the absence of N+1 queries when nodes select their vendor.
 */
import { randomUUID } from 'node:crypto';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { GqlResponse, startTestApp, TestApp } from './support/app';
import { signUp, TestUser } from './support/users';

const CATALOG = `query($f: CatalogFilterInput, $first: Int, $after: String) {
  catalog(filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id slug status } } } }`;

const CREATE = `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) { __typename ... on TeacherModel { id slug } } }`;
const LIST = `mutation($id: ID!) { listTeacherModel(id: $id) { id listedAt } }`;
const UNLIST = `mutation($id: ID!) { unlistTeacherModel(id: $id) { __typename } }`;

async function model(
  t: TestApp,
  u: TestUser,
  slug: string,
  name: string,
  card: { summary: string; parameterCount: string | null; modalities: string[] },
  status: 'DRAFT' | 'LISTED' | 'UNLISTED' = 'LISTED',
): Promise<string> {
  const r = await t.gql(CREATE, { i: { organizationId: u.organizationId, slug, name, card } }, u.token);
  if (r.data?.createTeacherModel.__typename !== 'TeacherModel') throw new Error(JSON.stringify(r));
  const id = r.data.createTeacherModel.id as string;
  if (status !== 'DRAFT') await t.gql(LIST, { id }, u.token);
  if (status === 'UNLISTED') await t.gql(UNLIST, { id }, u.token);
  return id;
}

/** A licence offer row, inserted directly (the catalog only reads license_offers). */
async function offer(t: TestApp, modelId: string, orgId: string, status: 'ACTIVE' | 'RETIRED', name = 'standard'): Promise<void> {
  await t.dataSource.query(
    `INSERT INTO license_offers (model_id, organization_id, name, version, terms, pricing, terms_hash, currency,
       upfront_fee_minor, input_per_million_minor, output_per_million_minor, minimum_commitment_minor, pool_eligible, status, retired_at)
     VALUES ($1, $2, $3, 1, '{}', '{}', repeat('0', 64), 'USD', 0, 0, 0, 0, false, $4, CASE WHEN $4 = 'RETIRED' THEN now() END)`,
    [modelId, orgId, name, status],
  );
}

const slugsOf = (r: { data: Record<string, any> | null }) => r.data!.catalog.edges.map((e: { node: { slug: string } }) => e.node.slug);
const fieldsOf = (r: GqlResponse): string[] =>
  ((r.errors?.[0]?.extensions.fields ?? []) as { field: string }[]).map((f) => f.field);

describe('catalog query: filters', () => {
  let t: TestApp;
  let a: TestUser;
  let b: TestUser;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp();
    a = await signUp(t, { organizationName: 'Vendor A' });
    b = await signUp(t, { organizationName: 'Vendor B' });
    // Listed in this order, so the catalog shows them newest first: audio, vision, coder.
    ids.coder = await model(t, a, 'alpha-coder', 'Alpha Coder', { summary: 'Writes code', parameterCount: '1000000000', modalities: ['TEXT', 'CODE'] });
    ids.vision = await model(t, b, 'vision', 'Vision 100%', { summary: 'Sees images_and more', parameterCount: '70000000000', modalities: ['IMAGE', 'TEXT'] });
    ids.audio = await model(t, a, 'audio', 'Audio Thing', { summary: 'Hears', parameterCount: null, modalities: ['AUDIO'] });
    ids.draft = await model(t, a, 'alpha-draft', 'Alpha Draft', { summary: 'Writes code too', parameterCount: '5', modalities: ['TEXT', 'CODE'] }, 'DRAFT');
    ids.unlisted = await model(t, b, 'alpha-gone', 'Alpha Gone', { summary: 'Writes code too', parameterCount: '5', modalities: ['TEXT', 'CODE'] }, 'UNLISTED');
    await offer(t, ids.coder, a.organizationId, 'ACTIVE');
    await offer(t, ids.vision, b.organizationId, 'RETIRED');
    await offer(t, ids.draft, a.organizationId, 'ACTIVE');
  });
  afterAll(() => t.close());

  it('lists only LISTED models, newest listing first, to anonymous callers', async () => {
    const r = await t.gql(CATALOG, {});
    expect(r.errors).toBeUndefined();
    expect(slugsOf(r)).toEqual(['audio', 'vision', 'alpha-coder']);
    expect(r.data!.catalog.totalCount).toBe(3);
    expect(r.data!.catalog.pageInfo.hasNextPage).toBe(false);
    expect(r.data!.catalog.edges.every((e: { node: { status: string } }) => e.node.status === 'LISTED')).toBe(true);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['search by name, case-insensitive', { search: 'ALPHA' }, ['alpha-coder']],
    ['search in the card summary', { search: 'hears' }, ['audio']],
    ['search with a literal %', { search: '100%' }, ['vision']],
    ['search for a lone % matches only names/summaries containing %', { search: '%' }, ['vision']],
    ['search for a lone _ matches only a literal underscore', { search: '_' }, ['vision']],
    ['search for a backslash matches nothing here', { search: '\\' }, []],
    ['search with surrounding blanks is trimmed', { search: '  coder ' }, ['alpha-coder']],
    ['search with no match', { search: 'zzz' }, []],
    ['modality CODE', { modality: 'CODE' }, ['alpha-coder']],
    ['modality TEXT', { modality: 'TEXT' }, ['vision', 'alpha-coder']],
    ['modality VIDEO', { modality: 'VIDEO' }, []],
    ['vendorId', { vendorId: 'A' }, ['audio', 'alpha-coder']],
    ['unknown vendorId', { vendorId: '00000000-0000-4000-8000-000000000000' }, []],
    ['minParameters (null counts excluded)', { minParameters: '10000000000' }, ['vision']],
    ['minParameters 0', { minParameters: '0' }, ['vision', 'alpha-coder']],
    ['maxParameters', { maxParameters: '10000000000' }, ['alpha-coder']],
    ['min = max (inclusive bounds)', { minParameters: '1000000000', maxParameters: '1000000000' }, ['alpha-coder']],
    ['min > max', { minParameters: '2', maxParameters: '1' }, []],
    ['huge maxParameters', { maxParameters: '9223372036854775807' }, ['vision', 'alpha-coder']],
    ['hasActiveOffer true', { hasActiveOffer: true }, ['alpha-coder']],
    ['hasActiveOffer false (a RETIRED offer is not active)', { hasActiveOffer: false }, ['audio', 'vision']],
    ['modality + hasActiveOffer combined', { modality: 'TEXT', hasActiveOffer: false }, ['vision']],
    ['search + vendor combined', { search: 'a', vendorId: 'B' }, ['vision']],
  ])('%s', async (_label, filter, expected) => {
    const f = { ...filter };
    if (f.vendorId === 'A') f.vendorId = a.organizationId;
    if (f.vendorId === 'B') f.vendorId = b.organizationId;
    const r = await t.gql(CATALOG, { f });
    expect(r.errors).toBeUndefined();
    expect(slugsOf(r)).toEqual(expected);
    expect(r.data!.catalog.totalCount).toBe(expected.length);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['negative minParameters', { f: { minParameters: '-1' } }, 'filter.minParameters'],
    ['non-numeric minParameters', { f: { minParameters: 'lots' } }, 'filter.minParameters'],
    ['decimal maxParameters', { f: { maxParameters: '1.5' } }, 'filter.maxParameters'],
    ['maxParameters beyond int8', { f: { maxParameters: '9223372036854775808' } }, 'filter.maxParameters'],
    ['vendorId not a UUID', { f: { vendorId: 'acme' } }, 'filter.vendorId'],
    ['search over 200 characters', { f: { search: 'x'.repeat(201) } }, 'filter.search'],
    ['first 0', { first: 0 }, 'first'],
    ['first -1', { first: -1 }, 'first'],
    ['first above the maximum page size', { first: 101 }, 'first'],
  ])('refuses %s with BAD_USER_INPUT on the field', async (_label, vars, field) => {
    const r = await t.gql(CATALOG, vars);
    expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(fieldsOf(r)).toContain(field);
    expect(r.data).toBeNull();
  });

  it('refuses an unknown modality (enum) with BAD_USER_INPUT', async () => {
    const r = await t.gql(CATALOG, { f: { modality: 'SMELL' } });
    expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('exposes the vendor and the whole node through the catalog', async () => {
    const r = await t.gql(`{ catalog(filter: { modality: CODE }) { edges { node { name parameterCount modalities card { summary } vendor { id name } } } } }`);
    expect(r.data!.catalog.edges).toEqual([
      {
        node: {
          name: 'Alpha Coder',
          parameterCount: '1000000000',
          modalities: ['TEXT', 'CODE'],
          card: { summary: 'Writes code' },
          vendor: { id: a.organizationId, name: 'Vendor A' },
        },
      },
    ]);
  });
});

describe('catalog query: pagination', () => {
  let t: TestApp;
  let u: TestUser;
  let expectedOrder: string[];

  beforeAll(async () => {
    t = await startTestApp();
    u = await signUp(t, { organizationName: 'Pager' });
    const card = { summary: 'Paged', parameterCount: '100', modalities: ['TEXT'] };
    for (let i = 0; i < 7; i += 1) await model(t, u, `p${i}`, `Paged ${i}`, card);
    // Ties and microsecond differences: the cursor must keep PostgreSQL's precision and break ties by id.
    await t.dataSource.query(`UPDATE models SET listed_at = '2026-01-01T00:00:00.000001Z' WHERE slug IN ('p0', 'p1', 'p2')`);
    await t.dataSource.query(`UPDATE models SET listed_at = '2026-01-01T00:00:00.000002Z' WHERE slug IN ('p3', 'p4')`);
    expectedOrder = (await t.dataSource.query(`SELECT slug FROM models WHERE status = 'LISTED' ORDER BY listed_at DESC, id DESC`)).map(
      (r: { slug: string }) => r.slug,
    );
  });
  afterAll(() => t.close());

  it('walks every page exactly once, in (listed_at DESC, id DESC) order, with a constant totalCount', async () => {
    const seen: string[] = [];
    const pages: { n: number; hasNextPage: boolean; totalCount: number }[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 10; guard += 1) {
      const r: GqlResponse = await t.gql(CATALOG, { first: 3, after });
      expect(r.errors).toBeUndefined();
      const c: Record<string, any> = r.data!.catalog;
      seen.push(...slugsOf(r));
      pages.push({ n: c.edges.length, hasNextPage: c.pageInfo.hasNextPage, totalCount: c.totalCount });
      expect(c.pageInfo.endCursor).toBe(c.edges.length ? c.edges[c.edges.length - 1].cursor : null);
      if (!c.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor;
    }
    expect(pages).toEqual([
      { n: 3, hasNextPage: true, totalCount: 7 },
      { n: 3, hasNextPage: true, totalCount: 7 },
      { n: 1, hasNextPage: false, totalCount: 7 },
    ]);
    expect(seen).toEqual(expectedOrder);
  });

  it('continues after any edge cursor; after the last edge the page is empty', async () => {
    const all = (await t.gql(CATALOG, { first: 100 })).data!.catalog;
    expect(all.edges).toHaveLength(7);
    const third = await t.gql(CATALOG, { first: 2, after: all.edges[2].cursor });
    expect(slugsOf(third)).toEqual(expectedOrder.slice(3, 5));
    const end = await t.gql(CATALOG, { after: all.edges[6].cursor });
    expect(end.data!.catalog).toMatchObject({ edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 7 });
  });

  it('defaults to 20 per page', async () => {
    const r = await t.gql(`{ catalog { edges { cursor } pageInfo { hasNextPage } } }`);
    expect(r.data!.catalog.edges).toHaveLength(7);
  });

  it('cursors are opaque base64url', async () => {
    const r = await t.gql(CATALOG, { first: 1 });
    expect(r.data!.catalog.pageInfo.endCursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    ['garbage', 'not a cursor!'],
    ['base64url of text', Buffer.from('hello world').toString('base64url')],
    ['a bad uuid', Buffer.from('1767225600000001:not-a-uuid-not-a-uuid-not-a-uuid-1234').toString('base64url')],
    ['a non-numeric time', Buffer.from(`abc:${randomUUID()}`).toString('base64url')],
    ['padding', Buffer.from(`1:${randomUUID()}`).toString('base64') + '=='],
    ['too long', 'a'.repeat(201)],
  ])('a malformed cursor (%s) is BAD_USER_INPUT on `after`', async (_label, after) => {
    const r = await t.gql(CATALOG, { after });
    expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(fieldsOf(r)).toEqual(['after']);
  });

  it('unlisting a model removes it from later pages and from totalCount', async () => {
    const first = await t.gql(CATALOG, { first: 2 });
    const id = (await t.dataSource.query(`SELECT id FROM models WHERE slug = $1`, [expectedOrder[4]]))[0].id;
    await t.gql(UNLIST, { id }, u.token);
    const rest = await t.gql(CATALOG, { first: 10, after: first.data!.catalog.pageInfo.endCursor });
    expect(slugsOf(rest)).toEqual(expectedOrder.slice(2).filter((s) => s !== expectedOrder[4]));
    expect(rest.data!.catalog.totalCount).toBe(6);
  });
});

describe('catalog query: no N+1', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  async function seed(count: number, vendors: string[], offset: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      const k = offset + i;
      await t.dataSource.query(
        `INSERT INTO models (organization_id, slug, name, card, parameter_count, modalities, status, listed_at)
         VALUES ($1, $2, $3, $4, 1000, '{TEXT}', 'LISTED', now() - ($5 || ' seconds')::interval)`,
        [vendors[k % vendors.length], `n-${k}`, `N ${k}`, JSON.stringify({ summary: `model ${k}`, modalities: ['TEXT'] }), k],
      );
    }
  }

  async function countQueries(doc: string): Promise<{ queries: number; data: Record<string, any> }> {
    const spy = jest.spyOn(PostgresQueryRunner.prototype, 'query');
    try {
      const r = await t.gql(doc);
      expect(r.errors).toBeUndefined();
      return { queries: spy.mock.calls.length, data: r.data! };
    } finally {
      spy.mockRestore();
    }
  }

  it('loads a whole page with its vendors in one query: the count does not grow from 10 to 30 models', async () => {
    const vendors: string[] = [];
    for (let v = 0; v < 5; v += 1) {
      vendors.push((await t.dataSource.query(`INSERT INTO organizations (name) VALUES ($1) RETURNING id`, [`Vendor ${v}`]))[0].id);
    }
    const doc = `{ catalog(first: 30) { edges { node { vendor { name } } } totalCount } }`;

    await seed(10, vendors, 0);
    const ten = await countQueries(doc);
    expect(ten.data.catalog.edges).toHaveLength(10);
    expect(ten.data.catalog.totalCount).toBe(10);

    await seed(20, vendors, 10);
    const thirty = await countQueries(doc);
    expect(thirty.data.catalog.edges).toHaveLength(30);
    expect(thirty.data.catalog.totalCount).toBe(30);
    expect(new Set(thirty.data.catalog.edges.map((e: { node: { vendor: { name: string } } }) => e.node.vendor.name)).size).toBe(5);

    // the page (with its vendors joined) + the count
    expect(thirty.queries).toBe(ten.queries);
    expect(thirty.queries).toBeLessThanOrEqual(2);
  });

  it('the spy sees queries at all (guards the test above against counting nothing)', async () => {
    const { queries } = await countQueries(`{ catalog(first: 1) { edges { node { vendor { name } } } } }`);
    expect(queries).toBe(1);
  });
});
