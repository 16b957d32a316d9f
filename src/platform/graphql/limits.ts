/**
 * Limits that reject abusive operations before any resolver runs:
 * - depth and aliases (graphql-armor) and, in production, introspection: static
 *   validation rules, so Mercurius can cache the validation of a query text;
 * - list-aware cost (graphql-query-complexity): a connection's `first`
 *   multiplies the cost of what it selects, and expensive fields (exports,
 *   lineage) weigh what they cost. Cost depends on variables, so it is
 *   checked in Mercurius' preExecution hook, which runs after (cached)
 *   validation and before execution.
 * Batch size is limited in app.factory.ts (a request-level check).
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { DocumentNode, GraphQLError, GraphQLSchema, NoSchemaIntrospectionCustomRule, ValidationRule } from 'graphql';
import { ComplexityEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { AppConfig } from '../config/app-config';
import { expensiveFieldWeight } from '../rate-limit/expensive-fields';

export const MAX_PAGE_SIZE = 100;

const listEstimator: ComplexityEstimator = ({ args, childComplexity }) => {
  if (!('first' in args)) return undefined;
  const n = Number(args.first);
  const size = Number.isInteger(n) && n > 0 ? Math.min(n, MAX_PAGE_SIZE) : MAX_PAGE_SIZE;
  return 1 + size * Math.max(childComplexity, 1);
};

/** Exports, lineage views and the like weigh what they cost (rate-limit/expensive-fields.ts), not 1. */
const expensiveFieldEstimator: ComplexityEstimator = ({ type, field, childComplexity }) => {
  const weight = expensiveFieldWeight(type.name, field.name);
  return weight === undefined ? undefined : weight + childComplexity;
};

export function graphqlLimitRules(config: AppConfig): ValidationRule[] {
  const rules: ValidationRule[] = [
    maxDepthRule({ n: config.graphqlMaxDepth, exposeLimits: true, propagateOnRejection: true }) as unknown as ValidationRule,
    maxAliasesRule({ n: config.graphqlMaxAliases, exposeLimits: true, propagateOnRejection: true }) as unknown as ValidationRule,
  ];
  if (config.isProduction) rules.push(NoSchemaIntrospectionCustomRule);
  return rules;
}

/** Thrown from the hook; the error formatter flattens `errors` like a validation failure. */
class QueryRejected extends Error {
  readonly statusCode = 400;
  constructor(readonly errors: GraphQLError[]) {
    super(errors[0]?.message ?? 'Query rejected');
  }
}

const ESTIMATORS = [expensiveFieldEstimator, listEstimator, simpleEstimator({ defaultComplexity: 1 })];
const MAX_COSTS_PER_DOCUMENT = 64;

export function costLimitHook(config: AppConfig) {
  // Mercurius hands out the same (cached) DocumentNode for the same query text,
  // so the cost of a document with given variables is computed once, not per request.
  const costs = new WeakMap<DocumentNode, Map<string, number | null>>();
  const costOf = (schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>): number | null => {
    let byVariables = costs.get(document);
    if (!byVariables) costs.set(document, (byVariables = new Map()));
    const key = JSON.stringify(variables);
    let cost = byVariables.get(key);
    if (cost === undefined) {
      try {
        cost = getComplexity({ schema, query: document, variables, estimators: ESTIMATORS });
      } catch {
        cost = null; // invalid variables: graphql-js reports them precisely during execution
      }
      if (byVariables.size >= MAX_COSTS_PER_DOCUMENT) byVariables.clear();
      byVariables.set(key, cost);
    }
    return cost;
  };
  return async (
    schema: GraphQLSchema,
    document: DocumentNode,
    _context: unknown,
    variables: Record<string, unknown> | undefined,
  ): Promise<void> => {
    const cost = costOf(schema, document, variables ?? {});
    if (cost === null) return;
    if (cost > config.graphqlMaxCost) {
      throw new QueryRejected([
        new GraphQLError(`Query cost ${cost} exceeds the maximum of ${config.graphqlMaxCost}`, {
          extensions: { reason: 'QUERY_TOO_COSTLY', cost, maxCost: config.graphqlMaxCost },
        }),
      ]);
    }
  };
}
