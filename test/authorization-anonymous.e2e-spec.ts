/**
 * Authorization matrix, part 1: every Query and Mutation field of the schema
 * (found by introspecting the running schema, so new operations are covered
 * automatically) called without a token answers UNAUTHENTICATED — except the
 * explicitly public ones, which must not. Arguments are generated from their
 * types, so the request always passes GraphQL validation and reaches the guard.
 */
import { startTestApp, TestApp } from './support/app';
import { SchemaOperation, sampleOperation, schemaOperations } from './support/schema-operations';

/** Operations anyone may call. Adding one here is a deliberate, reviewed decision. */
const PUBLIC = new Set(['signUp', 'logIn', 'catalog', 'teacherModel', 'licenseOffer', 'licenseOffers', 'verifyModel']);
const ID = { id: '00000000-0000-4000-8000-000000000000' };

describe('authorization: anonymous callers', () => {
  let t: TestApp;
  let ops: SchemaOperation[];
  beforeAll(async () => {
    t = await startTestApp();
    ops = schemaOperations(t.app);
  });
  afterAll(() => t.close());

  it('covers the whole schema', () => {
    expect(ops.length).toBeGreaterThan(10);
  });

  it('answers UNAUTHENTICATED for every non-public operation, and nothing is written', async () => {
    const before = await t.dataSource.query(`SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM users) AS n`);
    const failures: string[] = [];
    for (const op of ops) {
      if (PUBLIC.has(op.field.name)) continue;
      const { query, variables } = sampleOperation(op, ID);
      const r = await t.gql(query, variables);
      const code = r.errors?.[0]?.extensions.code;
      if (code !== 'UNAUTHENTICATED') failures.push(`${op.field.name}: ${code ?? 'no error'} ${r.errors?.[0]?.message ?? ''}`);
    }
    expect(failures).toEqual([]);
    const after = await t.dataSource.query(`SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM users) AS n`);
    expect(after[0].n).toBe(before[0].n);
  });

  it('lets anonymous callers reach the public operations', async () => {
    for (const op of ops) {
      if (!PUBLIC.has(op.field.name)) continue;
      const { query, variables } = sampleOperation(op, ID);
      const r = await t.gql(query, variables);
      expect(r.errors?.[0]?.extensions.code).not.toBe('UNAUTHENTICATED');
    }
  });
});
