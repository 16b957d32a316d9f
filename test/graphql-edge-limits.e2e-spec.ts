/**
 * Requests refused cheaply, before the work they would cause: oversized
 * bodies and documents (before Mercurius parses them fully), more than one
 * credential operation per request (before anything executes), and no schema
 * suggestions in production.
 */
import { Parser } from 'graphql/language/parser';
import { AuthService } from '../src/identity/auth.service';
import { startTestApp, TestApp } from './support/app';
import { countGraphQLStages, GraphQLStages } from './support/graphql-stages';

const SIGN_UP_FIELDS = `__typename ... on AuthPayload { accessToken }`;
let n = 0;
const signUpInput = () => `{ email: "edge-${Date.now()}-${++n}@example.test", password: "correct horse battery staple", organizationName: "Edge" }`;
const signUpField = (alias: string) => `${alias}: signUp(input: ${signUpInput()}) { ${SIGN_UP_FIELDS} }`;

describe('GraphQL edge limits', () => {
  let t: TestApp;
  let stages: GraphQLStages;
  beforeAll(async () => {
    t = await startTestApp({ graphqlMaxTokens: 1000, graphqlMaxBodyBytes: 64 * 1024, graphqlMaxAliases: 15, graphqlMaxBatch: 10 });
    stages = countGraphQLStages(t);
  });
  afterAll(() => t.close());
  beforeEach(() => stages.reset());

  const users = async () => Number((await t.dataSource.query(`SELECT count(*) AS n FROM users`))[0].n);

  describe('token limit (GRAPHQL_MAX_TOKENS)', () => {
    it('refuses a document with too many tokens while parsing, before validation', async () => {
      const advance = jest.spyOn(Parser.prototype, 'advanceLexer');
      try {
        const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ');
        const r = await t.request({ method: 'POST', url: '/graphql', body: { query: `{ ${aliases} }` } });
        expect(r.status).toBe(400);
        expect(r.body.errors).toEqual([{ message: 'The query has more than 1000 tokens', extensions: { code: 'BAD_USER_INPUT', reason: 'TOO_MANY_TOKENS', maxTokens: 1000 } }]);
        expect(stages.parsing).toBe(1);
        expect(stages.validation).toBe(0);
        // Two parsers read it (the rate limiter's points count, then Mercurius): each gave up
        // at the limit, so most of the 3,000 tokens were never read.
        expect(advance.mock.calls.length).toBeLessThanOrEqual(2 * 1001);
      } finally {
        advance.mockRestore();
      }
    });

    it('accepts a document within the limit', async () => {
      const aliases = Array.from({ length: 10 }, (_, i) => `a${i}: __typename`).join(' ');
      const r = await t.request({ method: 'POST', url: '/graphql', body: { query: `{ ${aliases} }` } });
      expect(r.status).toBe(200);
      expect(Object.keys(r.body.data)).toHaveLength(10);
    });
  });

  describe('body limit (GRAPHQL_MAX_BODY_BYTES)', () => {
    it('refuses a larger /graphql body with 413 and a GraphQL-shaped error, before GraphQL sees it', async () => {
      const r = await t.request({ method: 'POST', url: '/graphql', body: { query: `{ __typename }${' '.repeat(70 * 1024)}` } });
      expect(r.status).toBe(413);
      expect(r.body.errors).toEqual([
        { message: `The request body exceeds ${64 * 1024} bytes`, extensions: { code: 'BAD_USER_INPUT', reason: 'BODY_TOO_LARGE', maxBytes: 64 * 1024 } },
      ]);
      expect(stages.parsing).toBe(0);
    });

    it('leaves other routes their own limit', async () => {
      const r = await t.request({ method: 'POST', url: '/v1/usage/events', body: { events: [], pad: 'x'.repeat(70 * 1024) } });
      expect(r.status).not.toBe(413);
    });
  });

  describe('signUp and logIn at most once per request', () => {
    let signUp: jest.SpyInstance;
    let logIn: jest.SpyInstance;
    beforeEach(() => {
      signUp = jest.spyOn(t.app.get(AuthService), 'signUp');
      logIn = jest.spyOn(t.app.get(AuthService), 'logIn');
    });
    afterEach(() => {
      signUp.mockRestore();
      logIn.mockRestore();
    });

    const expectRefused = (r: { status: number; body: any }, occurrences: number) => {
      expect(r.status).toBe(400);
      const errors = Array.isArray(r.body) ? r.body.flatMap((b: { errors: unknown[] }) => b.errors) : r.body.errors;
      expect(errors).toEqual([
        {
          message: `A request may call signUp or logIn only once (this one asks ${occurrences} times, counting aliases and batched operations)`,
          extensions: { code: 'BAD_USER_INPUT', reason: 'ONCE_PER_REQUEST', fields: ['signUp', 'logIn'], occurrences },
        },
      ]);
      expect(signUp).not.toHaveBeenCalled();
      expect(logIn).not.toHaveBeenCalled();
      expect(stages.parsing).toBe(0);
    };

    it('a batch of 10 operations × 15 aliased signUp creates nobody', async () => {
      const before = await users();
      const batch = Array.from({ length: 10 }, () => ({
        query: `mutation { ${Array.from({ length: 15 }, (_, i) => signUpField(`s${i}`)).join(' ')} }`,
      }));
      expectRefused(await t.request({ method: 'POST', url: '/graphql', body: batch }), 150);
      expect(await users()).toBe(before);
    });

    it('two aliases in one operation', async () => {
      const before = await users();
      expectRefused(await t.request({ method: 'POST', url: '/graphql', body: { query: `mutation { ${signUpField('a')} ${signUpField('b')} }` } }), 2);
      expect(await users()).toBe(before);
    });

    it('one signUp in each of two batched operations, and signUp with logIn', async () => {
      expectRefused(await t.request({ method: 'POST', url: '/graphql', body: [{ query: `mutation { ${signUpField('a')} }` }, { query: `mutation { ${signUpField('b')} }` }] }), 2);
      const logInField = `logIn(input: { email: "x@example.test", password: "wrong password here" }) { __typename }`;
      expectRefused(await t.request({ method: 'POST', url: '/graphql', body: [{ query: `mutation { ${signUpField('a')} }` }, { query: `mutation { ${logInField} }` }] }), 2);
    });

    it('through fragments and inline fragments', async () => {
      const query = `mutation { ...Twice ... on Mutation { ${signUpField('c')} } } fragment Twice on Mutation { ${signUpField('a')} }`;
      expectRefused(await t.request({ method: 'POST', url: '/graphql', body: { query } }), 2);
    });

    it('one signUp, alone or batched with reads, still works', async () => {
      const before = await users();
      const one = await t.request({ method: 'POST', url: '/graphql', body: { query: `mutation { ${signUpField('a')} }` } });
      expect(one.status).toBe(200);
      expect(one.body.data.a.__typename).toBe('AuthPayload');
      const batched = await t.request({
        method: 'POST',
        url: '/graphql',
        body: [{ query: `mutation { ${signUpField('b')} }` }, { query: '{ __typename }' }, { query: '{ catalog(first: 1) { totalCount } }' }],
      });
      expect(batched.status).toBe(200);
      expect(batched.body[0].data.b.__typename).toBe('AuthPayload');
      expect(signUp).toHaveBeenCalledTimes(2);
      expect(await users()).toBe(before + 2);
    });
  });
});

describe('schema suggestions', () => {
  const unknownField = '{ catalg { totalCount } }';
  const badEnum = `mutation($i: AddOrganizationMemberInput!) { addOrganizationMember(input: $i) { __typename } }`;
  const badEnumVars = { i: { email: 'a@example.test', organizationId: '00000000-0000-4000-8000-000000000000', role: 'MEMBR' } };

  it('are answered outside production', async () => {
    const t = await startTestApp();
    try {
      expect((await t.gql(unknownField)).errors![0].message).toMatch(/Did you mean "catalog"\?/);
      expect((await t.gql(badEnum, badEnumVars)).errors![0].message).toMatch(/Did you mean the enum value "MEMBER"\?/);
    } finally {
      await t.close();
    }
  });

  it('are not answered in production', async () => {
    const t = await startTestApp({ nodeEnv: 'production' });
    try {
      const field = await t.gql(unknownField);
      expect(field.status).toBe(400);
      expect(field.errors).toEqual([expect.objectContaining({ message: 'Cannot query field "catalg" on type "Query".', extensions: { code: 'BAD_USER_INPUT' } })]);
      const value = await t.gql(badEnum, badEnumVars);
      expect(value.errors![0].message).toMatch(/^Variable "\$i" got invalid value "MEMBR" at "i.role"; Value "MEMBR" does not exist in "MembershipRole" enum\.$/);
      expect(JSON.stringify([field, value])).not.toContain('Did you mean');
    } finally {
      await t.close();
    }
  });
});
