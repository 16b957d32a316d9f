/**
 * Records HTTP and GraphQL metrics from Fastify's and Mercurius' hooks, so
 * no controller or resolver has to. HTTP: every request by route pattern
 * (404s without a route are `unmatched`). GraphQL: each operation of a
 * request (batched ones separately) by name, type and outcome — `ok`, or the
 * code of its first error — timed from the start of the HTTP request.
 * Requests answered before an operation ran (unparsable or invalid
 * documents, batches over the limit, public-cache hits) are still counted,
 * with the name the client sent.
 */
import { Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DocumentNode, GraphQLError, Kind, OperationDefinitionNode } from 'graphql';
import { AppConfig } from '../config/app-config';
import { AppError, ErrorCode } from '../errors/app-error';
import { registerMetricsEndpoint } from './metrics.endpoint';
import { MetricsService } from './metrics.service';

interface RecordedOperation {
  /** Position in a batched request (0 otherwise). */
  index: number;
  operation: string;
  type: string;
  outcome: string | null;
}

interface MercuriusContext {
  reply?: FastifyReply;
  /** Set by Mercurius on each operation of a batch. */
  operationId?: number;
  beimingMetricsOperation?: RecordedOperation;
}

const GATEWAY_ROUTE = '/v1/gateway/chat/completions';
const ERROR_CODES = new Set<string>(Object.values(ErrorCode));

/** `ok`, or the code of the first error (one of ErrorCode; anything else is `INTERNAL`). */
export function outcomeOf(errors: readonly GraphQLError[] | undefined): string {
  const first = errors?.[0];
  if (!first) return 'ok';
  const code = first.originalError instanceof AppError ? first.originalError.code : first.extensions?.code;
  if (typeof code === 'string' && ERROR_CODES.has(code)) return code;
  // Errors without a code at this stage are GraphQL's own (variables, coercion): request errors.
  return first.originalError ? ErrorCode.INTERNAL : ErrorCode.BAD_USER_INPUT;
}

@Injectable()
export class MetricsHooks implements OnModuleInit, OnApplicationBootstrap {
  private readonly operations = new WeakMap<FastifyRequest, RecordedOperation[]>();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  private get fastify(): FastifyInstance {
    return this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
  }

  onModuleInit(): void {
    registerMetricsEndpoint(this.fastify, this.config, this.metrics);
    this.fastify.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions?.url ?? 'unmatched';
      const seconds = reply.elapsedTime / 1000;
      this.metrics.httpRequest(req.method, route, reply.statusCode, seconds);
      if (route === GATEWAY_ROUTE) this.metrics.gatewayRequest(reply.statusCode);
      if (route === '/graphql') this.recordGraphql(req, reply, seconds);
    });
  }

  /** Mercurius exists once the GraphQL module has initialised. */
  onApplicationBootstrap(): void {
    const graphql = (this.fastify as unknown as { graphql?: { addHook(name: string, fn: (...args: never[]) => Promise<void>): void } }).graphql;
    if (!graphql) return;
    graphql.addHook('preExecution', async (_schema: unknown, document: DocumentNode, context: MercuriusContext) => {
      const request = context.reply?.request;
      if (!request) return;
      const op = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
      const recorded: RecordedOperation = { index: context.operationId ?? 0, operation: this.metrics.operationNames.label(op?.name?.value), type: op?.operation ?? 'unknown', outcome: null };
      // Batched operations each get their own context object (inheriting the request's).
      context.beimingMetricsOperation = recorded;
      const list = this.operations.get(request) ?? [];
      list.push(recorded);
      this.operations.set(request, list);
    });
    graphql.addHook('onResolution', async (execution: { errors?: readonly GraphQLError[] }, context: MercuriusContext) => {
      if (context.beimingMetricsOperation) context.beimingMetricsOperation.outcome = outcomeOf(execution.errors);
    });
  }

  private recordGraphql(req: FastifyRequest, reply: FastifyReply, seconds: number): void {
    const ran = this.operations.get(req) ?? [];
    for (const op of ran) this.metrics.graphqlOperation(op.operation, op.type, op.outcome ?? ErrorCode.INTERNAL, seconds);
    const sent = Array.isArray(req.body) ? req.body : [req.body];
    const ranAt = new Set(ran.map((op) => op.index));
    const notRun = sent.filter((_, i) => !ranAt.has(i));
    if (notRun.length === 0) return;
    const cacheHit = reply.getHeader('x-cache') === 'HIT';
    // Validation failures are answered with 400 (or 200 inside a batch); both are request errors.
    const outcome = cacheHit ? 'ok' : reply.statusCode >= 500 ? ErrorCode.INTERNAL : ErrorCode.BAD_USER_INPUT;
    for (const body of notRun) {
      const { operation, type } = this.declaredOperation(body);
      this.metrics.graphqlOperation(operation, type, outcome, seconds);
    }
  }

  /**
   * The name and type a request declares, for operations that never parsed
   * or validated: `operationName`, else the first `query|mutation Name` of the
   * text (a cheap look, not a parse; bounded by OperationNames all the same).
   */
  private declaredOperation(body: unknown): { operation: string; type: string } {
    const { query, operationName } = (body ?? {}) as { query?: unknown; operationName?: unknown };
    const head = typeof query === 'string' ? /^\s*(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?/.exec(query) : null;
    const name = typeof operationName === 'string' ? operationName : head?.[2];
    if (name === undefined && !head) return { operation: 'unknown', type: 'unknown' };
    return { operation: this.metrics.operationNames.label(name), type: head?.[1] ?? (typeof query === 'string' && query.trimStart().startsWith('{') ? 'query' : 'unknown') };
  }
}
