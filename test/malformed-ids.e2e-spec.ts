/**
 * Robustness across the whole schema: every operation, called by a logged-in
 * user with malformed ids (not UUIDs) and otherwise well-typed arguments (all
 * of them, optional ones included), answers a typed client error — never
 * INTERNAL — and writes nothing. Operations are found by introspection, so new
 * ones are covered automatically.
 */
import { startTestApp, TestApp } from './support/app';
import { sampleOperation, schemaOperations } from './support/schema-operations';
import { signUp, TestUser } from './support/users';

describe('malformed ids', () => {
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await startTestApp();
    user = await signUp(t);
  });
  afterAll(() => t.close());

  it('never answer INTERNAL, and write nothing', async () => {
    const ops = schemaOperations(t.app).filter(({ field }) => field.args.length > 0);
    expect(ops.length).toBeGreaterThan(10);
    const count = async () =>
      (await t.dataSource.query(`SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM models) + (SELECT count(*) FROM license_offers) AS n`))[0].n;
    const before = await count();
    const failures: string[] = [];
    for (const op of ops) {
      const { query, variables } = sampleOperation(op, { id: 'not-a-uuid', all: true });
      const r = await t.gql(query, variables, user.token);
      const codes = (r.errors ?? []).map((e) => e.extensions.code);
      if (codes.includes('INTERNAL')) failures.push(`${op.field.name}: INTERNAL (${JSON.stringify(variables)})`);
    }
    expect(failures).toEqual([]);
    expect(await count()).toBe(before);
  });
});
