import { NestFactory } from '@nestjs/core';
import { PinoLogger } from 'nestjs-pino';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { AppConfig } from './platform/config/app-config';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { PrincipalResolver } from './identity/principal-resolver';
import { PublicResponseCache } from './platform/graphql/public-response-cache';
import { installGraphQLRateLimits } from './platform/rate-limit/rate-limit.hook';
import { RateLimitService } from './platform/rate-limit/rate-limit.service';
import { AppLogger } from './platform/logging/logger-options';

/** Builds the application (used by main.ts, the e2e tests and the benchmarks). */
export async function createApp(config: AppConfig, options: { bufferLogs?: boolean } = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: 1024 * 1024,
    // Fastify accepts a hop count too; the adapter's option type omits it.
    trustProxy: config.trustProxy as boolean | string,
    // request ids are returned to clients (x-request-id) and logged
    genReqId: () => crypto.randomUUID(),
    requestIdHeader: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: options.bufferLogs ?? true,
    logger: config.logLevel === 'silent' ? false : undefined,
    abortOnError: false,
  });
  app.useLogger(app.get(AppLogger));
  if (config.corsOrigins.length > 0) {
    // Bearer tokens, not cookies: no credentials mode needed.
    app.enableCors({ origin: config.corsOrigins, methods: ['GET', 'POST'], allowedHeaders: ['authorization', 'content-type'], exposedHeaders: ['x-request-id', 'retry-after'], maxAge: 600 });
  }
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onSend', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });
  const httpLog = PinoLogger.root.child({ context: 'http' });
  fastify.addHook('onResponse', async (req, reply) => {
    if (req.url === '/health') return;
    const failed = reply.statusCode >= 500;
    if (!httpLog.isLevelEnabled(failed ? 'error' : 'info')) return;
    const fields = { reqId: req.id, method: req.method, url: req.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    if (failed) httpLog.error(fields, 'request failed');
    else httpLog.info(fields, 'request completed');
  });
  const principals = app.get(PrincipalResolver);
  const schemaHost = app.get(GraphQLSchemaHost);
  installGraphQLRateLimits(fastify, {
    limits: app.get(RateLimitService),
    resolvePrincipal: (header) => principals.resolve(header),
    schema: () => {
      try {
        return schemaHost.schema;
      } catch {
        return undefined; // not built yet
      }
    },
    maxBatch: config.graphqlMaxBatch,
    maxTokens: config.graphqlMaxTokens,
    anonymousExpensiveConcurrency: config.rateLimitAnonymousExpensiveConcurrency,
    refusalDelayMs: config.rateLimitRefusalDelayMs,
  });
  const publicCache = app.get(PublicResponseCache);
  const cacheState = new WeakMap<object, { key: string; generation: number }>();
  // Batched GraphQL requests are allowed, but only a few operations per request.
  fastify.addHook('preHandler', async (req, reply) => {
    if (req.url.startsWith('/graphql') && Array.isArray(req.body) && req.body.length > config.graphqlMaxBatch) {
      await reply.status(400).send({
        errors: [
          {
            message: `A batch may hold at most ${config.graphqlMaxBatch} operations (got ${req.body.length})`,
            extensions: { code: 'BAD_USER_INPUT', reason: 'BATCH_TOO_LARGE' },
          },
        ],
      });
      return;
    }
    // Anonymous public reads may be answered from the response cache (see public-response-cache.ts).
    if (req.method === 'POST' && req.url === '/graphql') {
      const key = publicCache.keyOf(req.body, req.headers.authorization !== undefined);
      if (key === null) return;
      const hit = publicCache.get(key);
      if (hit !== undefined) {
        await reply.header('x-cache', 'HIT').type('application/json; charset=utf-8').send(hit);
        return;
      }
      cacheState.set(req, { key, generation: publicCache.generation });
    }
  });
  fastify.addHook('onSend', async (req, reply, payload) => {
    const pending = cacheState.get(req);
    if (pending && reply.statusCode === 200) {
      publicCache.store(pending.key, payload, pending.generation, req.body as object);
    }
    return payload;
  });
  return app;
}
