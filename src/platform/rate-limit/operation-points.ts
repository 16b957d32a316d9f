/**
 * Points a GraphQL request spends from its client's points budget: one per
 * mutation root field and one per expensive field (expensive-fields.ts),
 * every occurrence counted — aliases, fragments and each operation of a
 * batch included. Computed from the request body before Mercurius runs, so
 * a refused request does no GraphQL work at all.
 */
import {
  DocumentNode,
  FragmentDefinitionNode,
  getNamedType,
  GraphQLSchema,
  isInterfaceType,
  isObjectType,
  Kind,
  OperationDefinitionNode,
  parse,
  SelectionSetNode,
} from 'graphql';
import { expensiveFieldWeight } from './expensive-fields';

/** Parses of recent query texts (a client repeating a query is not re-parsed). */
const MAX_CACHED = 500;
const parsed = new Map<string, DocumentNode | null>();
/** Default only: the app passes GRAPHQL_MAX_TOKENS, so an oversized query is not fully parsed here either (Mercurius reports it). */
const MAX_TOKENS = 50_000;

function parseCached(query: string, maxTokens: number): DocumentNode | null {
  let doc = parsed.get(query);
  if (doc === undefined) {
    try {
      doc = parse(query, { noLocation: true, maxTokens });
    } catch {
      doc = null; // Mercurius reports the syntax error
    }
    if (parsed.size >= MAX_CACHED) parsed.delete(parsed.keys().next().value as string);
    parsed.set(query, doc);
  }
  return doc;
}

interface OperationBody {
  query?: unknown;
  operationName?: unknown;
}

/** Points of a whole request body (one operation or a batch). */
export function requestPoints(schema: GraphQLSchema, body: unknown, maxTokens = MAX_TOKENS): number {
  const ops = Array.isArray(body) ? body : [body];
  let total = 0;
  for (const op of ops) {
    if (op && typeof op === 'object') total += operationPoints(schema, op as OperationBody, maxTokens);
  }
  return total;
}

function operationPoints(schema: GraphQLSchema, body: OperationBody, maxTokens: number): number {
  if (typeof body.query !== 'string') return 0;
  const doc = parseCached(body.query, maxTokens);
  if (!doc) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const d of doc.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    else if (d.kind === Kind.OPERATION_DEFINITION) operations.push(d);
  }
  // The operation that will run; when the name does not pick exactly one, all of them (the request fails anyway).
  const named = typeof body.operationName === 'string' ? operations.filter((o) => o.name?.value === body.operationName) : [];
  const selected = named.length === 1 ? named : operations;
  const counter = new PointCounter(schema, fragments);
  let total = 0;
  for (const op of selected) total += counter.operation(op);
  return total;
}

class PointCounter {
  /** Points of each fragment (independent of where it is spread), so nested spreads cost linear time. */
  private readonly fragmentPoints = new Map<string, number>();
  private readonly visiting = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
  ) {}

  operation(op: OperationDefinitionNode): number {
    const root = this.schema.getRootType(op.operation);
    if (!root) return 0;
    return this.selections(op.selectionSet, root.name, op.operation === 'mutation');
  }

  /** `rootMutation`: this is a mutation's root selection, where every field is a side effect. */
  private selections(set: SelectionSetNode, typeName: string, rootMutation: boolean): number {
    let points = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (name.startsWith('__')) continue;
        if (rootMutation) points += 1;
        if (expensiveFieldWeight(typeName, name) !== undefined) points += 1;
        if (sel.selectionSet) {
          const child = this.fieldType(typeName, name);
          if (child) points += this.selections(sel.selectionSet, child, false);
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        points += this.selections(sel.selectionSet, sel.typeCondition?.name.value ?? typeName, rootMutation);
      } else {
        points += this.fragment(sel.name.value, rootMutation);
      }
    }
    return points;
  }

  private fragment(name: string, rootMutation: boolean): number {
    const def = this.fragments.get(name);
    if (!def || this.visiting.has(name)) return 0; // unknown or cyclic: validation rejects the document
    const memoKey = rootMutation ? `!${name}` : name;
    let points = this.fragmentPoints.get(memoKey);
    if (points === undefined) {
      this.visiting.add(name);
      points = this.selections(def.selectionSet, def.typeCondition.name.value, rootMutation);
      this.visiting.delete(name);
      this.fragmentPoints.set(memoKey, points);
    }
    return points;
  }

  private fieldType(typeName: string, fieldName: string): string | undefined {
    const type = this.schema.getType(typeName);
    if (!isObjectType(type) && !isInterfaceType(type)) return undefined;
    const field = type.getFields()[fieldName];
    return field ? getNamedType(field.type).name : undefined;
  }
}
