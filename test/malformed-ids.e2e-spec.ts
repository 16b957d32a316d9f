/**
 * Robustness across the whole schema: every operation, called by a logged-in
 * user with malformed ids (not UUIDs) and otherwise well-typed arguments (all
 * of them, optional ones included), answers a typed client error — never
 * INTERNAL — and writes nothing. Operations are found by introspection, so new
 * ones are covered automatically. Well-formed ids in upper case are not
 * malformed: UUIDs are case-insensitive on input (RFC 9562) and name the same
 * object as their lower-case form.
 */
import { startTestApp, TestApp } from './support/app';
import { createApiKey } from './support/metering';
import { sampleOperation, schemaOperations } from './support/schema-operations';
import { signUp, TestUser } from './support/users';

const INVOICES = `query($org: ID!) { invoices(organizationId: $org) { totalCount } }`;

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

  it('a malformed id is BAD_USER_INPUT on its field', async () => {
    const r = await t.gql(INVOICES, { org: 'not-a-uuid' }, user.token);
    expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'organizationId', message: 'organizationId must be a UUID' }] });
  });

  it('an id in upper case names the same organization as its lower-case form, for a user and for an API key', async () => {
    const upper = user.organizationId.toUpperCase();
    const key = await createApiKey(t, user, ['READ']);
    for (const token of [user.token, key.secret]) {
      const r = await t.gql(INVOICES, { org: upper }, token);
      expect({ errors: r.errors, data: r.data }).toEqual({ errors: undefined, data: { invoices: { totalCount: 0 } } });
    }
  });
});
