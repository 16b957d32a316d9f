/**
 * Counts how far requests got into Mercurius (its preParsing hook runs before
 * a document is parsed, preValidation after parsing and before validation), so
 * a spec can show a refusal happened before any of it.
 */
import type { TestApp } from './app';

export interface GraphQLStages {
  parsing: number;
  validation: number;
  reset(): void;
}

export function countGraphQLStages(t: TestApp): GraphQLStages {
  const stages: GraphQLStages = {
    parsing: 0,
    validation: 0,
    reset() {
      stages.parsing = 0;
      stages.validation = 0;
    },
  };
  const graphql = (t.app.getHttpAdapter().getInstance() as unknown as { graphql: { addHook(name: string, fn: () => Promise<void>): void } }).graphql;
  graphql.addHook('preParsing', async () => {
    stages.parsing += 1;
  });
  graphql.addHook('preValidation', async () => {
    stages.validation += 1;
  });
  return stages;
}
