import { Global, Module } from '@nestjs/common';
import { GraphQLModule as NestGraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, MercuriusDriverConfig } from '@nestjs/mercurius';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { formatGraphQLErrors } from './error-formatter';
import { costLimitHook, graphqlLimitRules } from './limits';
import { hasMutation, PublicResponseCache } from './public-response-cache';

export const SCHEMA_FILE = join(process.cwd(), 'schema.gql');

/** The public response cache, shared by the GraphQL hooks and the HTTP hooks in app.factory.ts. */
@Global()
@Module({ providers: [PublicResponseCache], exports: [PublicResponseCache] })
export class PublicResponseCacheModule {}

interface HookContext {
  beimingMutation?: boolean;
}

@Module({
  imports: [
    PublicResponseCacheModule,
    NestGraphQLModule.forRootAsync<MercuriusDriverConfig>({
      driver: MercuriusDriver,
      inject: [AppConfig, PublicResponseCache],
      useFactory: (config: AppConfig, publicCache: PublicResponseCache) => ({
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
        hooks: {
          preExecution: [
            costLimitHook(config),
            async (_schema, document, context) => {
              if (hasMutation(document)) (context as HookContext).beimingMutation = true;
            },
          ],
          // Mutations have committed by now: what the public cache holds may be stale.
          onResolution: [
            async (_execution, context) => {
              if ((context as HookContext).beimingMutation) publicCache.invalidate();
            },
          ],
        },
        errorFormatter: formatGraphQLErrors as MercuriusDriverConfig['errorFormatter'],
        context: (request: unknown, reply: unknown) => ({ request, reply, loaders: new Map() }),
      }),
    }),
  ],
})
export class GraphQLModule {}
