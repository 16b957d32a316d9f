/**
 * The operation a client names is the one that runs, and input defaults keep
 * applying, however often a query text has been seen. Runs with the query
 * cache on, as in production (Mercurius keeps parsed documents — and used to
 * keep graphql-jit-compiled ones — per query text).
 */
import { ApiKeyService } from '../src/identity/api-key.service';
import { startTestApp, TestApp } from './support/app';
import { licensed, listedTeacher, REGISTER, studentInput } from './support/provenance';
import { signUp, TestUser } from './support/users';

describe('operations and defaults with the query cache on', () => {
  let t: TestApp;
  let owner: TestUser;
  let other: TestUser;
  beforeAll(async () => {
    t = await startTestApp({ graphqlQueryCache: 1024 });
    owner = await signUp(t, { country: 'FR' });
    other = await signUp(t);
  });
  afterAll(() => t.close());

  const QUERY_QUERY = `query A { __typename } query B { catalog(first: 1) { totalCount } }`;
  // Two operations a GraphiQL user may keep in one document: a read and a write.
  const QUERY_MUTATION = `query Read { me { id } } mutation Write { createApiKey(input: { organizationId: "ORG", name: "k", scopes: [READ] }) { __typename } }`;
  const MUTATION_QUERY = `mutation Write { createApiKey(input: { organizationId: "ORG", name: "k", scopes: [READ] }) { __typename } } query Read { me { id } }`;

  const run = (query: string, operationName?: string) =>
    t.request({ method: 'POST', url: '/graphql', body: { query, operationName }, headers: { authorization: `Bearer ${owner.token}` } });

  it('query + query: each call runs the operation it names, in any order, many times', async () => {
    for (const name of ['A', 'A', 'A', 'B', 'A', 'B', 'B', 'A', 'B']) {
      const r = await run(QUERY_QUERY, name);
      expect(r.status).toBe(200);
      expect(r.body.data).toEqual(name === 'A' ? { __typename: 'Query' } : { catalog: { totalCount: 0 } });
    }
  });

  it.each([
    ['query + mutation', QUERY_MUTATION],
    ['mutation + query', MUTATION_QUERY],
  ])('%s: the read never runs the write, and the write runs only when named', async (_label, text) => {
    const doc = text.replace(/ORG/g, owner.organizationId);
    const createApiKey = jest.spyOn(t.app.get(ApiKeyService), 'create');
    try {
      for (let i = 0; i < 5; i++) {
        const r = await run(doc, 'Read');
        expect(r.body).toEqual({ data: { me: { id: owner.userId } } });
      }
      expect(createApiKey).not.toHaveBeenCalled();
      const w = await run(doc, 'Write');
      expect(w.body.errors).toBeUndefined();
      expect(Object.keys(w.body.data)).toEqual(['createApiKey']);
      expect(createApiKey).toHaveBeenCalledTimes(1);
      for (let i = 0; i < 3; i++) expect((await run(doc, 'Read')).body).toEqual({ data: { me: { id: owner.userId } } });
      expect(createApiKey).toHaveBeenCalledTimes(1);
    } finally {
      createApiKey.mockRestore();
    }
  });

  it('a document with several operations and no operationName runs none of them', async () => {
    const createApiKey = jest.spyOn(t.app.get(ApiKeyService), 'create');
    try {
      const doc = MUTATION_QUERY.replace(/ORG/g, owner.organizationId);
      await run(doc, 'Read');
      await run(doc, 'Read'); // seen often: once compiled, a text used to run its first operation
      for (const r of [await run(doc), await run(doc)]) {
        expect(r.status).toBe(400);
        expect(r.body.errors[0].message).toMatch(/Must provide operation name/);
        expect(r.body.data ?? null).toBeNull();
      }
      expect(createApiKey).not.toHaveBeenCalled();
    } finally {
      createApiKey.mockRestore();
    }
  });

  it('an unknown operationName runs nothing and says so', async () => {
    await run(QUERY_QUERY, 'A');
    await run(QUERY_QUERY, 'A');
    for (let i = 0; i < 2; i++) {
      const r = await run(QUERY_QUERY, 'C');
      expect(r.status).toBe(400);
      expect(r.body.errors[0].message).toMatch(/Unknown operation named "C"/);
      expect(r.body.data ?? null).toBeNull();
    }
  });

  describe('input field defaults apply on every call', () => {
    const ADD = `mutation($i: AddOrganizationMemberInput!) { addOrganizationMember(input: $i) {
      __typename ... on OrganizationMember { role user { id } } ... on BusinessError { code } } }`;
    const REMOVE = `mutation($i: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $i) }`;

    it('addOrganizationMember without role adds a MEMBER on the 1st, 2nd, 3rd … 100th call', async () => {
      for (let call = 1; call <= 100; call++) {
        const add = await t.gql(ADD, { i: { email: other.email, organizationId: owner.organizationId } }, owner.token);
        expect({ call, errors: add.errors }).toEqual({ call, errors: undefined });
        expect(add.data!.addOrganizationMember).toEqual({ __typename: 'OrganizationMember', role: 'MEMBER', user: { id: other.userId } });
        const rm = await t.gql(REMOVE, { i: { organizationId: owner.organizationId, userId: other.userId } }, owner.token);
        expect(rm.errors).toBeUndefined();
      }
    }, 120_000);

    it('the same default written inline in the document (no variables)', async () => {
      const inline = `mutation { addOrganizationMember(input: { email: "${other.email}", organizationId: "${owner.organizationId}" }) {
        __typename ... on OrganizationMember { role } } }`;
      for (let call = 1; call <= 3; call++) {
        const add = await t.gql(inline, undefined, owner.token);
        expect(add.errors).toBeUndefined();
        expect(add.data!.addOrganizationMember).toEqual({ __typename: 'OrganizationMember', role: 'MEMBER' });
        await t.gql(REMOVE, { i: { organizationId: owner.organizationId, userId: other.userId } }, owner.token);
      }
    });

    it('registerStudentModel without commercialUse registers a commercial model on the 1st … 100th call', async () => {
      const vendor = await signUp(t, { country: 'US' });
      const parent = await licensed(t, owner, await listedTeacher(t, vendor));
      for (let call = 1; call <= 100; call++) {
        const input = studentInput(owner.organizationId, [parent]);
        expect(input).not.toHaveProperty('commercialUse');
        const r = await t.gql(REGISTER, { i: input }, owner.token);
        expect({ call, errors: r.errors }).toEqual({ call, errors: undefined });
        expect(r.data!.registerStudentModel).toMatchObject({ __typename: 'TeacherModel', commercialUse: true });
      }
    }, 120_000);
  });
});
