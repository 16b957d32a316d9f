/**
 * GraphQL over HTTP at /graphql: the graphql-http conformance audit (no MUST
 * or SHOULD failure), the response media types, and malformed bodies answered
 * with a clear 400 before Mercurius sees them.
 */
import { auditServer } from 'graphql-http';
import type { AddressInfo } from 'node:net';
import { startTestApp, TestApp } from './support/app';
import { countGraphQLStages, GraphQLStages } from './support/graphql-stages';

describe('GraphQL over HTTP', () => {
  let t: TestApp;
  let stages: GraphQLStages;
  beforeAll(async () => {
    // as configured in production: query cache and public response cache on
    t = await startTestApp({ graphqlQueryCache: 1024, publicCacheTtlMs: 2000 });
    stages = countGraphQLStages(t);
  });
  afterAll(() => t.close());

  it('passes the graphql-http audit without a MUST or SHOULD failure', async () => {
    await t.app.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}/graphql`;
    const results = await auditServer({ url });
    expect(results.length).toBeGreaterThan(40);
    const failures = results.filter((r) => r.status === 'error' || r.status === 'warn').map((r) => `${r.id} ${r.name}: ${r.status === 'ok' ? '' : r.reason}`);
    expect(failures).toEqual([]);
  });

  describe('response media types', () => {
    const post = (accept: string | undefined, query: string) =>
      t.request({ method: 'POST', url: '/graphql', body: { query }, headers: accept ? { accept } : {} });

    it('application/graphql-response+json when accepted; a request that cannot execute is 400 without data', async () => {
      const ok = await post('application/graphql-response+json', '{ __typename }');
      expect(ok.status).toBe(200);
      expect(ok.headers['content-type']).toBe('application/graphql-response+json; charset=utf-8');
      expect(ok.body).toEqual({ data: { __typename: 'Query' } });
      const bad = await post('application/graphql-response+json, application/json;q=0.9', '{ nope }');
      expect(bad.status).toBe(400);
      expect(bad.headers['content-type']).toBe('application/graphql-response+json; charset=utf-8');
      expect(bad.body).not.toHaveProperty('data');
      expect(bad.body.errors[0]).toMatchObject({ message: expect.stringContaining('Cannot query field "nope"'), extensions: { code: 'BAD_USER_INPUT' } });
    });

    it('application/json asked for explicitly: the legacy answer, 200 even when the document does not validate', async () => {
      const bad = await post('application/json', '{ nope }');
      expect(bad.status).toBe(200);
      expect(bad.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(bad.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    });

    it('no Accept header or */*: application/json as always, 400 for a request that cannot execute', async () => {
      for (const accept of [undefined, '*/*']) {
        const ok = await post(accept, '{ __typename }');
        expect(ok.headers['content-type']).toBe('application/json; charset=utf-8');
        const bad = await post(accept, '{ nope');
        expect(bad.status).toBe(400);
        expect(bad.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(bad.body).toMatchObject({ data: null, errors: [{ message: expect.stringContaining('Syntax Error'), extensions: { code: 'BAD_USER_INPUT' } }] });
      }
    });
  });

  describe('malformed bodies: a clear 400, GraphQL never reached', () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['query is a number', { query: 123 }, /"query" must be a non-empty string holding a GraphQL document/],
      ['query is missing', { variables: {} }, /"query" is missing/],
      ['query is null', { query: null }, /"query" is missing/],
      ['query is empty', { query: '  ' }, /"query" must be a non-empty string/],
      ['query is an object (a pre-parsed AST)', { query: { kind: 'Document', definitions: [] } }, /"query" must be a non-empty string/],
      ['variables is a string that is not JSON', { query: '{ __typename }', variables: 'abc' }, /"variables" must be a JSON object/],
      ['variables is JSON text of an array', { query: '{ __typename }', variables: '[1]' }, /"variables" must be a JSON object/],
      ['variables is a number', { query: '{ __typename }', variables: 5 }, /"variables" must be a JSON object/],
      ['variables is an array', { query: '{ __typename }', variables: [] }, /"variables" must be a JSON object/],
      ['operationName is a number', { query: '{ __typename }', operationName: 5 }, /"operationName" must be a string/],
      ['extensions is a string', { query: '{ __typename }', extensions: 'x' }, /"extensions" must be a JSON object/],
      ['the body is a JSON string', 'hello', /expected a JSON object with a "query" string/],
      ['a batch item is not an object', [{ query: '{ __typename }' }, 7], /Batch request 1: expected a JSON object/],
    ];

    it.each(cases)('%s', async (_label, body, message) => {
      stages.reset();
      const r = await t.request({ method: 'POST', url: '/graphql', body: typeof body === 'string' ? JSON.stringify(body) : body });
      expect(r.status).toBe(400);
      expect(r.body.errors).toEqual([{ message: expect.stringMatching(message), extensions: { code: 'BAD_USER_INPUT', reason: 'MALFORMED_REQUEST' } }]);
      expect(stages.parsing).toBe(0);
    });

    it('a body that is not JSON at all', async () => {
      const r = await t.request({ method: 'POST', url: '/graphql', body: '{"query": ' });
      expect(r.status).toBe(400);
      expect(r.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(r.body.errors[0].message).toMatch(/JSON/i);
    });

    it('a GET without a query', async () => {
      const r = await t.request({ method: 'GET', url: '/graphql?variables=%7B%7D' });
      expect(r.status).toBe(400);
      expect(r.body.errors[0]).toMatchObject({ message: expect.stringMatching(/"query" is missing/), extensions: { reason: 'MALFORMED_REQUEST' } });
    });

    it('accepted as the specification allows: null extensions and variables, variables as JSON text of an object', async () => {
      const q = 'query($n: Int) { catalog(first: $n) { totalCount } }';
      for (const body of [
        { query: q, variables: null, extensions: null, operationName: null },
        { query: q, variables: '{"n": 1}' },
      ]) {
        const r = await t.request({ method: 'POST', url: '/graphql', body });
        expect(r.status).toBe(200);
        expect(r.body).toEqual({ data: { catalog: { totalCount: 0 } } });
      }
    });
  });
});
