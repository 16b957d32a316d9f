import { Global, Module } from '@nestjs/common';
import { GraphQLModule as NestGraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, MercuriusDriverConfig } from '@nestjs/mercurius';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { graphqlErrorFormatter } from './error-formatter';
import { costLimitHook, graphqlLimitRules } from './limits';
import { hasMutation, PublicResponseCache } from './public-response-cache';
import { graphqlRouteOptions } from './request-guard';

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
        graphiql: false, // GraphiqlController serves a bundle built with the app, never a CDN
        allowBatchedQueries: true,
        cache: config.graphqlQueryCache === 0 ? false : config.graphqlQueryCache,
        // No graphql-jit: Mercurius keys a compiled query by its text alone (a document with
        // several operations ran the one compiled first whatever operationName said), and
        // graphql-jit 0.8 does not apply the default of a missing non-null input field (so a
        // query failed from its second use on). Correctness first: an uncached catalog page
        // costs ~4.1 ms instead of ~2.5 ms in-process; cached anonymous reads are unaffected.
        jit: 0,
        // The parser gives up after this many tokens: an oversized query costs little to refuse.
        graphql: { parseOptions: { maxTokens: config.graphqlMaxTokens } },
        // Body limit, request shape, once-per-request credential fields, response media type.
        additionalRouteOptions: graphqlRouteOptions(config),
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
        errorFormatter: graphqlErrorFormatter(config) as MercuriusDriverConfig['errorFormatter'],
        context: (request: unknown, reply: unknown) => ({ request, reply, loaders: new Map() }),
      }),
    }),
  ],
})
export class GraphQLModule {}
