/**
 * Rate limits of the GraphQL endpoint, as a Fastify hook that runs before
 * Mercurius (and before the public response cache): the caller is identified
 * (its credential checked once, the principal kept on the request for the
 * auth guard), its request and points charged, and a refused request is
 * answered 429 with Retry-After without any GraphQL work.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { Principal } from '../auth/principal';
import { ErrorCode } from '../errors/app-error';
import { requestPoints } from './operation-points';
import { rateLimitClientOf, RateLimitOutcome, RateLimitService } from './rate-limit.service';

export interface RateLimitHookDeps {
  limits: RateLimitService;
  /** Resolves an Authorization header (throws for a bad credential: the auth guard reports it). */
  resolvePrincipal(header: string | string[] | undefined): Promise<Principal | null>;
  schema(): GraphQLSchema | undefined;
  /** Larger batches are refused by the batch-size check (app.factory.ts): not worth counting. */
  maxBatch: number;
  /** GRAPHQL_MAX_TOKENS: the points parser gives up there, as Mercurius' parser does. */
  maxTokens?: number;
}

type RequestWithPrincipal = FastifyRequest & { principal?: Principal | null };

export function installGraphQLRateLimits(fastify: FastifyInstance, deps: RateLimitHookDeps): void {
  // An anonymous client that has spent its requests is refused on arrival: no body read, no parse.
  fastify.addHook('onRequest', async (request, reply) => {
    if (!isGraphQLPath(request.url) || request.headers.authorization !== undefined) return;
    if (request.method !== 'POST' && request.method !== 'GET') return;
    const spent = await deps.limits.exhausted(rateLimitClientOf(null, request.ip));
    if (!spent) return;
    await reply
      .status(429)
      .header('retry-after', String(spent.retryAfterSeconds))
      .send({ data: null, errors: [{ message: refusalMessage(spent, 0), extensions: refusalExtensions(spent) }] });
  });
  fastify.addHook('preHandler', async (request, reply) => {
    const req = request as RequestWithPrincipal;
    if (!isGraphQLPath(req.url) || (req.method !== 'POST' && req.method !== 'GET')) return;
    if (req.principal === undefined && req.headers.authorization !== undefined) {
      try {
        req.principal = await deps.resolvePrincipal(req.headers.authorization);
      } catch {
        // Left unresolved: the auth guard answers UNAUTHENTICATED; meanwhile it counts as its address.
      }
    }
    if (Array.isArray(req.body) && req.body.length > deps.maxBatch) return;
    const schema = deps.schema();
    const outcome = await deps.limits.admit(rateLimitClientOf(req.principal, req.ip), () =>
      schema ? requestPoints(schema, req.method === 'GET' ? req.query : req.body, deps.maxTokens) : 0,
    );
    if (outcome.allowed) return;
    await reply
      .status(429)
      .header('retry-after', String(outcome.retryAfterSeconds))
      .send({ data: null, errors: [{ message: refusalMessage(outcome, outcome.points), extensions: refusalExtensions(outcome) }] });
  });
}

function isGraphQLPath(url: string): boolean {
  return url === '/graphql' || url.startsWith('/graphql?');
}

type Refused = Extract<RateLimitOutcome, { allowed: false }>;

export function refusalExtensions(outcome: Refused): Record<string, unknown> {
  return {
    code: ErrorCode.TOO_MANY_REQUESTS,
    reason: 'RATE_LIMITED',
    budget: outcome.budget,
    limitPerMinute: outcome.limitPerMinute,
    retryAfterSeconds: outcome.retryAfterSeconds,
  };
}

/** `points`: what the refused request needed, 0 when it was refused without counting them. */
export function refusalMessage(outcome: Refused, points: number): string {
  if (outcome.budget === 'requests') {
    return `Rate limit exceeded: at most ${outcome.limitPerMinute} requests per minute; retry in ${outcome.retryAfterSeconds} s`;
  }
  if (points > outcome.limitPerMinute) {
    return `This request needs ${points} points (mutations and expensive fields count one each), more than the ${outcome.limitPerMinute} allowed per minute: split it`;
  }
  const needs = points > 0 ? `; this request needs ${points}` : '';
  return `Rate limit exceeded: at most ${outcome.limitPerMinute} points (mutations and expensive fields) per minute${needs}; retry in ${outcome.retryAfterSeconds} s`;
}
