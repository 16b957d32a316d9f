import { Module } from '@nestjs/common';
import { GraphQLModule as NestGraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, MercuriusDriverConfig } from '@nestjs/mercurius';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { formatGraphQLErrors } from './error-formatter';
import { costLimitHook, graphqlLimitRules } from './limits';

export const SCHEMA_FILE = join(process.cwd(), 'schema.gql');

@Module({
  imports: [
    NestGraphQLModule.forRootAsync<MercuriusDriverConfig>({
      driver: MercuriusDriver,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        path: '/graphql',
        // Written to the repo in development (and committed); test/schema.e2e-spec.ts fails when stale.
        autoSchemaFile: config.nodeEnv === 'development' ? SCHEMA_FILE : true,
        sortSchema: true,
        graphiql: false, // served from node_modules by GraphiqlController, never from a CDN
        allowBatchedQueries: true,
        cache: config.graphqlQueryCache === 0 ? false : config.graphqlQueryCache,
        // Compile a query text to JS (graphql-jit) once it has been seen twice; needs the query cache.
        jit: 1,
        validationRules: graphqlLimitRules(config),
        hooks: { preExecution: [costLimitHook(config)] },
        errorFormatter: formatGraphQLErrors as MercuriusDriverConfig['errorFormatter'],
        context: (request: unknown, reply: unknown) => ({ request, reply, loaders: new Map() }),
      }),
    }),
  ],
})
export class GraphQLModule {}
