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
import { Turnstile } from './turnstile';
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
  /** RATE_LIMIT_ANONYMOUS_EXPENSIVE_CONCURRENCY: anonymous requests with points executing at once (0: no cap). */
  anonymousExpensiveConcurrency?: number;
  /** RATE_LIMIT_REFUSAL_DELAY_MS: how long a refusal to a client already told to wait is held (0: none). */
  refusalDelayMs?: number;
}

/** Refusals held at once; past this they are answered at once (holding costs a socket and a timer each). */
const MAX_HELD_REFUSALS = 1024;
/** Clients remembered as told to wait (a few hundred bytes each). */
const MAX_REMEMBERED_REFUSALS = 10_000;
/** Anonymous expensive requests waiting for a turn; past this they are refused (429, Retry-After 1). */
const MAX_WAITING_EXPENSIVE = 64;

type RequestWithPrincipal = FastifyRequest & { principal?: Principal | null };

export function installGraphQLRateLimits(fastify: FastifyInstance, deps: RateLimitHookDeps): void {
  const turnstile = deps.anonymousExpensiveConcurrency ? new Turnstile(deps.anonymousExpensiveConcurrency, MAX_WAITING_EXPENSIVE) : null;
  const delayMs = deps.refusalDelayMs ?? 0;
  /** Clients refused lately → until when they were told to wait (insertion order: the oldest is dropped first). */
  const toldToWait = new Map<string, number>();
  let held = 0;

  /**
   * Before a 429: a client that was already refused and has come back before
   * its Retry-After gets this refusal after `delayMs` (bounded by
   * MAX_HELD_REFUSALS at once). Then it is remembered as told to wait.
   */
  async function holdRefusal(clientKey: string, retryAfterSeconds: number): Promise<void> {
    const now = Date.now();
    const until = toldToWait.get(clientKey);
    if (delayMs > 0 && until !== undefined && until > now && held < MAX_HELD_REFUSALS) {
      held += 1;
      try {
        await new Promise((r) => setTimeout(r, Math.min(delayMs, until - now)));
      } finally {
        held -= 1;
      }
    }
    toldToWait.delete(clientKey);
    toldToWait.set(clientKey, Date.now() + retryAfterSeconds * 1000);
    if (toldToWait.size > MAX_REMEMBERED_REFUSALS) toldToWait.delete(toldToWait.keys().next().value!);
  }

  // An anonymous client that has spent its requests is refused on arrival: no body read, no parse.
  fastify.addHook('onRequest', async (request, reply) => {
    if (!isGraphQLPath(request.url) || request.headers.authorization !== undefined) return;
    if (request.method !== 'POST' && request.method !== 'GET') return;
    const client = rateLimitClientOf(null, request.ip);
    const spent = await deps.limits.exhausted(client);
    if (!spent) return;
    await holdRefusal(client.key, spent.retryAfterSeconds);
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
    const client = rateLimitClientOf(req.principal, req.ip);
    const outcome = await deps.limits.admit(client, () =>
      schema ? requestPoints(schema, req.method === 'GET' ? req.query : req.body, deps.maxTokens) : 0,
    );
    if (outcome.allowed) {
      // Anonymous work that costs points takes its turn: a burst of it cannot take every core from signed-in callers.
      if (turnstile && outcome.points > 0 && !req.principal) {
        if (!(await turnstile.enter())) {
          await reply
            .status(429)
            .header('retry-after', '1')
            .send({ data: null, errors: [{ message: 'Too many anonymous expensive requests are waiting; retry in a second', extensions: { code: ErrorCode.TOO_MANY_REQUESTS, reason: 'BUSY', retryAfterSeconds: 1 } }] });
          return;
        }
        const res = reply.raw;
        if (res.destroyed || res.writableFinished) turnstile.leave();
        else res.once('close', () => turnstile.leave());
      }
      return;
    }
    await holdRefusal(client.key, outcome.retryAfterSeconds);
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
