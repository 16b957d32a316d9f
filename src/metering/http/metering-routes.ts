/**
 * The REST side of metering, registered directly on Fastify (the gateway
 * streams and needs its own body limit; both answer OpenAI-style errors):
 *   POST /v1/gateway/chat/completions   distiller GATEWAY key
 *   GET  /v1/gateway/models[/{id}]      distiller GATEWAY key: the agreement's teacher
 *   POST /v1/usage/events               vendor USAGE_REPORT key
 *   GET  /openapi.json                  the OpenAPI document of these endpoints
 * `/v1/gateway` is an OpenAI base URL: any other path under it (or under
 * `/v1/usage`) answers 404 / 405 in the same error shape, as OpenAI clients expect.
 */
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyService } from '../../identity/api-key.service';
import { ApiKeyScope } from '../../platform/auth/principal';
import { AppConfig } from '../../platform/config/app-config';
import { jsonDepth, MAX_JSON_DEPTH } from '../../platform/http/json-limits';
import { RestError, restErrorHandler, sendRestError } from '../../platform/http/rest-errors';
import { refusalMessage } from '../../platform/rate-limit/rate-limit.hook';
import { rateLimitClientOf, RateLimitService } from '../../platform/rate-limit/rate-limit.service';
import { GatewayService } from '../gateway/gateway.service';
import { UsageIngestService } from '../usage/usage-ingest.service';
import { MAX_BATCH_BYTES, MAX_EVENTS_PER_BATCH } from '../usage/usage-event.validation';
import { requireApiKey } from './api-key-auth';
import { openApiDocument } from './openapi';

/** Known paths under the REST prefixes, with their methods (for 405 vs 404). */
const ROUTES: ReadonlyArray<{ path: RegExp; methods: string[] }> = [
  { path: /^\/v1\/gateway\/chat\/completions$/, methods: ['POST'] },
  { path: /^\/v1\/gateway\/models(\/[^/]+)?$/, methods: ['GET', 'HEAD'] },
  { path: /^\/v1\/usage\/events$/, methods: ['POST'] },
];

/** Refuses a body nested deeper than the handlers can safely walk (before any of them does). */
async function requireShallowJson(req: FastifyRequest): Promise<void> {
  if (jsonDepth(req.body) > MAX_JSON_DEPTH) {
    throw new RestError(400, 'invalid_request_error', 'json_too_deep', `The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep (the limit)`);
  }
}

@Injectable()
export class MeteringRoutes implements OnModuleInit {
  private readonly log = new Logger('REST');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
    private readonly apiKeys: ApiKeyService,
    private readonly ingestService: UsageIngestService,
    private readonly gateway: GatewayService,
    private readonly limits: RateLimitService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const errorHandler = restErrorHandler({ error: (obj, msg) => this.log.error(obj, msg) });
    const document = JSON.stringify(openApiDocument({ gatewayMaxBodyBytes: this.config.gatewayMaxBodyBytes }));
    const preValidation = requireShallowJson;

    fastify.post('/v1/usage/events', { bodyLimit: MAX_BATCH_BYTES, errorHandler, preValidation }, (req, reply) => this.ingest(req, reply));
    fastify.post('/v1/gateway/chat/completions', { bodyLimit: this.config.gatewayMaxBodyBytes, errorHandler, preValidation }, (req, reply) =>
      this.gateway.chatCompletions(req, reply),
    );
    fastify.get('/v1/gateway/models', { errorHandler }, async (req, reply) => {
      await reply.send({ object: 'list', data: await this.gateway.models(req) });
    });
    fastify.get<{ Params: { id: string } }>('/v1/gateway/models/:id', { errorHandler }, async (req, reply) => {
      const model = (await this.gateway.models(req)).find((m) => m.id === req.params.id.toLowerCase());
      if (!model) throw new RestError(404, 'not_found_error', 'model_not_found', `The model '${req.params.id}' does not exist or this API key cannot reach it`, 'model');
      await reply.send(model);
    });
    for (const prefix of ['/v1/gateway', '/v1/usage']) {
      for (const url of [prefix, `${prefix}/*`]) fastify.all(url, { errorHandler }, (req, reply) => this.unknownRoute(req, reply));
    }
    fastify.get('/openapi.json', (_req, reply) => reply.type('application/json; charset=utf-8').send(document));
  }

  private async unknownRoute(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const path = req.url.split('?')[0].replace(/\/+$/, '');
    const known = ROUTES.find((r) => r.path.test(path));
    if (known) {
      void reply.header('allow', known.methods.join(', '));
      return sendRestError(reply, new RestError(405, 'invalid_request_error', 'method_not_allowed', `${req.method} is not supported on ${path} (allowed: ${known.methods.join(', ')})`));
    }
    return sendRestError(reply, new RestError(404, 'not_found_error', 'unknown_url', `Invalid URL (${req.method} ${path})`));
  }

  private async ingest(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const key = await requireApiKey(this.apiKeys, req, ApiKeyScope.USAGE_REPORT);
    // The caller's request budget (the gateway is limited per agreement instead, by tokens).
    const admitted = await this.limits.admit(rateLimitClientOf(key, req.ip), () => 0);
    if (!admitted.allowed) {
      throw new RestError(429, 'rate_limit_error', 'rate_limit_exceeded', refusalMessage(admitted, 0), null, { 'retry-after': String(admitted.retryAfterSeconds) });
    }
    const body = req.body as { events?: unknown } | null;
    if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray(body.events)) {
      throw new RestError(400, 'invalid_request_error', 'invalid_body', 'The body must be {"events": [...]}', 'events');
    }
    if (body.events.length > MAX_EVENTS_PER_BATCH) {
      throw new RestError(413, 'request_too_large', 'too_many_events', `A batch holds at most ${MAX_EVENTS_PER_BATCH} events (got ${body.events.length}); split it`, 'events');
    }
    const result = await this.ingestService.ingest({ organizationId: key.organizationId, apiKeyId: key.apiKeyId }, body.events);
    await reply.status(200).send(result);
  }
}
