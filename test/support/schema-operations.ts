/**
 * For schema-wide specs: every Query and Mutation field of the running schema,
 * and a well-typed operation calling it with generated arguments (so the
 * request passes GraphQL validation and reaches the resolver's guard).
 */
import type { INestApplication } from '@nestjs/common';
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

export interface SchemaOperation {
  kind: 'query' | 'mutation';
  field: GraphQLField<unknown, unknown>;
}

export interface SampleOptions {
  /** The value for ID arguments and `…Id` fields. */
  id: string;
  /** Fill optional arguments and input fields too (default: required only). */
  all?: boolean;
}

export function schemaOperations(app: INestApplication): SchemaOperation[] {
  const schema = app.get(GraphQLSchemaHost).schema;
  return [
    ...Object.values(schema.getQueryType()!.getFields()).map((field) => ({ kind: 'query' as const, field })),
    ...Object.values(schema.getMutationType()!.getFields()).map((field) => ({ kind: 'mutation' as const, field })),
  ];
}

export function sampleValue(type: GraphQLInputType, name: string, opts: SampleOptions): unknown {
  if (isNonNullType(type)) return sampleValue(type.ofType, name, opts);
  if (isListType(type)) return [sampleValue(type.ofType, name, opts)];
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isScalarType(type)) {
    if (type.name === 'ID' || /Id$/.test(name)) return opts.id;
    switch (type.name) {
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
    for (const f of Object.values(type.getFields())) {
      if (opts.all || isNonNullType(f.type)) out[f.name] = sampleValue(f.type, f.name, opts);
    }
    return out;
  }
  throw new Error(`no sample for ${String(type)}`);
}

/** The operation text and variables calling `field` (selecting only __typename). */
export function sampleOperation({ kind, field }: SchemaOperation, opts: SampleOptions): { query: string; variables: Record<string, unknown> } {
  const args = field.args.filter((a) => opts.all || isNonNullType(a.type));
  const decl = args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const call = args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isLeafType(getNamedType(field.type)) ? '' : '{ __typename }';
  return {
    query: `${kind}${decl ? `(${decl})` : ''} { ${field.name}${call ? `(${call})` : ''} ${selection} }`,
    variables: Object.fromEntries(args.map((a) => [a.name, sampleValue(a.type, a.name, opts)])),
  };
}
