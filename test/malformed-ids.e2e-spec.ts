/**
 * Robustness across the whole schema: every operation, called by a logged-in
 * user with malformed ids (not UUIDs) and otherwise well-typed arguments,
 * answers a typed client error — never INTERNAL — and writes nothing.
 * Operations are found by introspection, so new ones are covered automatically.
 */
import { GraphQLSchemaHost } from '@nestjs/graphql';
import {
  getNamedType,
  GraphQLField,
  GraphQLInputType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import { startTestApp, TestApp } from './support/app';
import { signUp, TestUser } from './support/users';

function sample(type: GraphQLInputType, name: string): unknown {
  if (isNonNullType(type)) return sample(type.ofType, name);
  if (isListType(type)) return [sample(type.ofType, name)];
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isScalarType(type)) {
    if (type.name === 'ID' || /Id$/.test(name)) return 'not-a-uuid';
    if (type.name === 'Int') return 1;
    if (type.name === 'Float') return 1.5;
    if (type.name === 'Boolean') return true;
    if (type.name === 'DateTime') return new Date().toISOString();
    if (type.name === 'JSON') return {};
    return 'x';
  }
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) out[f.name] = sample(f.type, f.name);
    return out;
  }
  throw new Error(`no sample for ${String(type)}`);
}

function operation(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>) {
  const decl = field.args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const call = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isLeafType(getNamedType(field.type)) ? '' : '{ __typename }';
  return {
    query: `${kind}${decl ? `(${decl})` : ''} { ${field.name}${call ? `(${call})` : ''} ${selection} }`,
    variables: Object.fromEntries(field.args.map((a) => [a.name, sample(a.type, a.name)])),
  };
}

describe('malformed ids', () => {
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await startTestApp();
    user = await signUp(t);
  });
  afterAll(() => t.close());

  it('never answer INTERNAL, and write nothing', async () => {
    const schema = t.app.get(GraphQLSchemaHost).schema;
    const ops = [
      ...Object.values(schema.getQueryType()!.getFields()).map((field) => ({ kind: 'query' as const, field })),
      ...Object.values(schema.getMutationType()!.getFields()).map((field) => ({ kind: 'mutation' as const, field })),
    ].filter(({ field }) => field.args.length > 0);
    expect(ops.length).toBeGreaterThan(10);
    const count = async () =>
      (await t.dataSource.query(`SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM models) + (SELECT count(*) FROM license_offers) AS n`))[0].n;
    const before = await count();
    const failures: string[] = [];
    for (const { kind, field } of ops) {
      const { query, variables } = operation(kind, field);
      const r = await t.gql(query, variables, user.token);
      const codes = (r.errors ?? []).map((e) => e.extensions.code);
      if (codes.includes('INTERNAL')) failures.push(`${field.name}: INTERNAL (${JSON.stringify(variables)})`);
    }
    expect(failures).toEqual([]);
    expect(await count()).toBe(before);
  });
});
