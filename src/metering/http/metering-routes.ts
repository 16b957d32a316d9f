/**
 * The REST side of metering, registered directly on Fastify (the gateway
 * streams and needs its own body limit; both answer OpenAI-style errors):
 *   POST /v1/gateway/chat/completions   distiller GATEWAY key
 *   POST /v1/usage/events               vendor USAGE_REPORT key
 *   GET  /openapi.json                  the OpenAPI document of these endpoints
 */
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyService } from '../../identity/api-key.service';
import { ApiKeyScope } from '../../platform/auth/principal';
import { AppConfig } from '../../platform/config/app-config';
import { refusalMessage } from '../../platform/rate-limit/rate-limit.hook';
import { rateLimitClientOf, RateLimitService } from '../../platform/rate-limit/rate-limit.service';
import { GatewayService } from '../gateway/gateway.service';
import { UsageIngestService } from '../usage/usage-ingest.service';
import { MAX_BATCH_BYTES, MAX_EVENTS_PER_BATCH } from '../usage/usage-event.validation';
import { requireApiKey } from './api-key-auth';
import { openApiDocument } from './openapi';
import { RestError, restErrorHandler } from './rest-errors';

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

    fastify.post('/v1/usage/events', { bodyLimit: MAX_BATCH_BYTES, errorHandler }, (req, reply) => this.ingest(req, reply));
    fastify.post('/v1/gateway/chat/completions', { bodyLimit: this.config.gatewayMaxBodyBytes, errorHandler }, (req, reply) =>
      this.gateway.chatCompletions(req, reply),
    );
    fastify.get('/openapi.json', (_req, reply) => reply.type('application/json; charset=utf-8').send(document));
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
