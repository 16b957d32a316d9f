/**
 * Authorization matrix, part 1: every Query and Mutation field of the schema
 * (found by introspecting the running schema, so new operations are covered
 * automatically) called without a token answers UNAUTHENTICATED — except the
 * explicitly public ones, which must not. Arguments are generated from their
 * types, so the request always passes GraphQL validation and reaches the guard.
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

/** Operations anyone may call. Adding one here is a deliberate, reviewed decision. */
const PUBLIC = new Set(['signUp', 'logIn', 'catalog', 'teacherModel', 'licenseOffer', 'licenseOffers']);

const UUID = '00000000-0000-4000-8000-000000000000';

function sample(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sample(type.ofType);
  if (isListType(type)) return [sample(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isScalarType(type)) {
    switch (type.name) {
      case 'ID':
        return UUID;
      case 'Int':
        return 1;
      case 'Float':
        return 1.5;
      case 'Boolean':
        return true;
      case 'DateTime':
        return new Date().toISOString();
      case 'JSON':
        return {};
      default:
        return '1';
    }
  }
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) if (isNonNullType(f.type)) out[f.name] = sample(f.type);
    return out;
  }
  throw new Error(`no sample for ${String(type)}`);
}

function operation(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): { query: string; variables: Record<string, unknown> } {
  const required = field.args.filter((a) => isNonNullType(a.type));
  const decl = required.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const call = required.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isLeafType(getNamedType(field.type)) ? '' : '{ __typename }';
  const variables = Object.fromEntries(required.map((a) => [a.name, sample(a.type)]));
  return {
    query: `${kind}${decl ? `(${decl})` : ''} { ${field.name}${call ? `(${call})` : ''} ${selection} }`,
    variables,
  };
}

describe('authorization: anonymous callers', () => {
  let t: TestApp;
  let ops: { kind: 'query' | 'mutation'; field: GraphQLField<unknown, unknown> }[];
  beforeAll(async () => {
    t = await startTestApp();
    const schema = t.app.get(GraphQLSchemaHost).schema;
    ops = [
      ...Object.values(schema.getQueryType()!.getFields()).map((field) => ({ kind: 'query' as const, field })),
      ...Object.values(schema.getMutationType()!.getFields()).map((field) => ({ kind: 'mutation' as const, field })),
    ];
  });
  afterAll(() => t.close());

  it('covers the whole schema', () => {
    expect(ops.length).toBeGreaterThan(10);
  });

  it('answers UNAUTHENTICATED for every non-public operation, and nothing is written', async () => {
    const before = await t.dataSource.query(`SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM users) AS n`);
    const failures: string[] = [];
    for (const { kind, field } of ops) {
      if (PUBLIC.has(field.name)) continue;
      const { query, variables } = operation(kind, field);
      const r = await t.gql(query, variables);
      const code = r.errors?.[0]?.extensions.code;
      if (code !== 'UNAUTHENTICATED') failures.push(`${field.name}: ${code ?? 'no error'} ${r.errors?.[0]?.message ?? ''}`);
    }
    expect(failures).toEqual([]);
    const after = await t.dataSource.query(`SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM users) AS n`);
    expect(after[0].n).toBe(before[0].n);
  });

  it('lets anonymous callers reach the public operations', async () => {
    for (const { kind, field } of ops) {
      if (!PUBLIC.has(field.name)) continue;
      const { query, variables } = operation(kind, field);
      const r = await t.gql(query, variables);
      expect(r.errors?.[0]?.extensions.code).not.toBe('UNAUTHENTICATED');
    }
  });
});
