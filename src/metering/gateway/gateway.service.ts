/**
 * The distillation gateway: `POST /v1/gateway/chat/completions`, an
 * OpenAI-compatible proxy in front of the vendor's upstream.
 *
 * 1. The distiller's GATEWAY key names the agreement; it must be ACTIVE and in
 *    term (a suspended one answers 403 and is flagged).
 * 2. Pre-authorisation reserves the request's worst case (prompt estimate +
 *    max_tokens) against the period quota and the per-minute limit, atomically
 *    under the agreement's metering lock — two requests racing for the last of
 *    a quota cannot both pass.
 * 3. The request goes to the upstream (undici pool, keep-alive) with the
 *    vendor's sealed credential; a streamed answer is passed through event by
 *    event as it arrives.
 * 4. The usage the upstream reports is recorded as one event whose id is this
 *    request's id (returned in `x-request-id`), releasing the reservation.
 *    Upstream failures are not billed; an answer without usage is recorded as
 *    ESTIMATED (and flagged), never free; a client that leaves mid-stream
 *    aborts the upstream request and what was reported or streamed is recorded.
 */
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { once } from 'node:events';
import { errors as undiciErrors, Pool } from 'undici';
import { ApiKeyService } from '../../identity/api-key.service';
import { AgreementStatus } from '../../licensing/license-agreement.entity';
import { AgreementMeteringView, LicenseAgreementService } from '../../licensing/license-agreement.service';
import { ApiKeyPrincipal, ApiKeyScope } from '../../platform/auth/principal';
import { AppConfig } from '../../platform/config/app-config';
import { Database } from '../../platform/database/transaction';
import { AnomalyFlagService } from '../anomaly/anomaly-flag.service';
import { AnomalyKind, AnomalySignal, hourOf } from '../anomaly/anomaly-flag.kinds';
import { requireApiKey } from '../http/api-key-auth';
import { RestError } from '../http/rest-errors';
import { GatewayUpstream, TeacherUpstreamService } from '../upstream/teacher-upstream.service';
import { usagePayloadHash } from '../usage/usage-event.validation';
import { Preauthorization, UsageRecorder } from '../usage/usage-recorder.service';
import { contentChars, readUsage, SseUsageScanner, TokenUsage } from './sse-usage-scanner';
import { AdmissionLeases } from './admission-leases';
import { GatewayUsageBatcher } from './usage-batcher';
import { assertPublicHost, NonPublicUpstreamError, publicOnlyLookup } from './upstream-address-guard';
import { isUuid, normalizeUuid } from '../../platform/validation/uuid';

/** A reservation outlives any sane request; it only matters if this process dies mid-request. */
const RESERVATION_TTL_MS = 15 * 60_000;
const MAX_TOKENS_PARAM = 1_000_000_000;

interface ChatRequest {
  body: Record<string, unknown>;
  stream: boolean;
  clientWantsUsage: boolean;
  promptChars: number;
  maxTokens: number | null;
}

/** Rough tokens for text when an upstream does not count: ~4 characters per token, rounded up. */
export const estimateTokens = (chars: number): bigint => BigInt(Math.ceil(chars / 4));

function textOf(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (Array.isArray(content)) {
    let n = 0;
    for (const p of content) if (p && typeof (p as { text?: unknown }).text === 'string') n += (p as { text: string }).text.length;
    return n;
  }
  return 0;
}

function parseChatRequest(raw: unknown): ChatRequest {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new RestError(400, 'invalid_request_error', 'invalid_body', 'The body must be a JSON object (an OpenAI chat-completions request)');
  }
  const body = raw as Record<string, unknown>;
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw new RestError(400, 'invalid_request_error', 'missing_messages', 'messages must be a non-empty array', 'messages');
  }
  let promptChars = 0;
  for (const m of body.messages) {
    if (m === null || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string') {
      throw new RestError(400, 'invalid_request_error', 'invalid_message', 'each message must be an object with a role', 'messages');
    }
    promptChars += textOf((m as { content?: unknown }).content);
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    throw new RestError(400, 'invalid_request_error', 'invalid_stream', 'stream must be a boolean', 'stream');
  }
  let maxTokens: number | null = null;
  for (const param of ['max_completion_tokens', 'max_tokens'] as const) {
    const v = body[param];
    if (v === undefined || v === null) continue;
    if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > MAX_TOKENS_PARAM) {
      throw new RestError(400, 'invalid_request_error', 'invalid_max_tokens', `${param} must be a positive integer`, param);
    }
    maxTokens = v as number;
    break;
  }
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
  return {
    body,
    stream: body.stream === true,
    clientWantsUsage: streamOptions?.include_usage === true,
    promptChars,
    maxTokens,
  };
}

@Injectable()
export class GatewayService implements OnModuleDestroy {
  private readonly pools = new Map<string, Pool>();
  private readonly logger = new Logger('Gateway');

  constructor(
    private readonly config: AppConfig,
    private readonly db: Database,
    private readonly apiKeys: ApiKeyService,
    private readonly agreements: LicenseAgreementService,
    private readonly upstreams: TeacherUpstreamService,
    private readonly recorder: UsageRecorder,
    private readonly flags: AnomalyFlagService,
    private readonly batcher: GatewayUsageBatcher,
    private readonly admissions: AdmissionLeases,
  ) {}

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
    this.pools.clear();
  }

  async chatCompletions(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const startedAt = new Date();
    const key = await requireApiKey(this.apiKeys, req, ApiKeyScope.GATEWAY);
    if (!key.agreementId) {
      throw new RestError(403, 'permission_error', 'key_not_bound', 'This API key is not bound to an agreement; create a GATEWAY key for one of your agreements');
    }
    const chat = parseChatRequest(req.body);
    const view = await this.agreements.meteringView(key.agreementId);
    if (!view) throw new RestError(404, 'not_found_error', 'agreement_not_found', `Agreement ${key.agreementId} not found`);
    const model = chat.body.model;
    if (isUuid(model) && normalizeUuid(model) !== view.id && normalizeUuid(model) !== view.modelId) {
      throw new RestError(404, 'not_found_error', 'model_not_found', `This API key is bound to agreement ${view.id} (model ${view.modelId}); it cannot reach ${model}`, 'model');
    }
    await this.requireActive(view, startedAt);

    const upstream = await this.upstreams.resolveForGateway(view.modelId);
    if (!upstream) {
      throw new RestError(503, 'upstream_error', 'upstream_not_configured', "The vendor has not connected this teacher's inference endpoint yet");
    }
    // Pre-authorisation only where the licence sets limits: there is nothing to reserve against otherwise.
    // Usually from this process's admission lease (see admission-leases.ts), else a reservation of its own.
    let reservationId: string | null = null;
    let done: () => void = () => undefined;
    if (view.tokensPerPeriod !== null || view.tokensPerMinute !== null) {
      const maxTokens = BigInt(chat.maxTokens ?? this.config.gatewayDefaultMaxTokens);
      const estimate = estimateTokens(chat.promptChars) + maxTokens;
      this.requireWithinLimits(view, estimate, chat.maxTokens !== null);
      const admission = await this.admissions.admit(view, estimate, RESERVATION_TTL_MS);
      if (!admission.admitted) throw this.refusal(view, admission.pre, estimate);
      reservationId = admission.reservationId;
      done = admission.done;
    }

    const call = { req, reply, key, view, chat, upstream, startedAt, reservationId };
    try {
      if (chat.stream) await this.forwardStream(call);
      else await this.forward(call);
    } catch (e) {
      if (reservationId) await this.recorder.release(this.db.reader, reservationId).catch(() => undefined);
      throw e;
    } finally {
      done();
    }
  }

  private async requireActive(view: AgreementMeteringView, now: Date): Promise<void> {
    const ended = view.status === AgreementStatus.TERMINATED || view.status === AgreementStatus.EXPIRED || (view.endsAt !== null && view.endsAt <= now);
    if (view.status === AgreementStatus.SUSPENDED || ended) {
      await this.flags
        .raise(this.db.reader, [
          {
            agreementId: view.id,
            vendorOrganizationId: view.vendorOrganizationId,
            distillerOrganizationId: view.distillerOrganizationId,
            kind: AnomalyKind.USAGE_AFTER_SUSPENSION,
            windowStart: hourOf(now),
            observedTokens: null,
            detail: { status: view.status, ended, source: 'GATEWAY', lastAttemptAt: now.toISOString() },
          },
        ])
        .catch((err: unknown) => this.logger.error({ err, agreementId: view.id }, 'could not flag usage after suspension'));
    }
    if (view.status === AgreementStatus.SUSPENDED) {
      throw new RestError(403, 'permission_error', 'agreement_suspended', `Agreement ${view.id} is suspended by the vendor or the platform; requests are refused until it is reinstated`);
    }
    if (ended) throw new RestError(403, 'permission_error', 'agreement_ended', `Agreement ${view.id} has ended (${view.status === AgreementStatus.TERMINATED ? 'terminated' : 'expired'})`);
    if (view.status === AgreementStatus.PENDING_PAYMENT) {
      throw new RestError(403, 'permission_error', 'agreement_pending_payment', `Agreement ${view.id} awaits payment of its upfront fee`);
    }
    if (view.startsAt > now) throw new RestError(403, 'permission_error', 'agreement_not_started', `Agreement ${view.id} starts at ${view.startsAt.toISOString()}`);
  }

  /** A request that could never fit is a client error, not a wait. */
  private requireWithinLimits(view: AgreementMeteringView, estimate: bigint, explicitMax: boolean): void {
    const param = explicitMax ? 'max_tokens' : null;
    const hint = explicitMax ? 'lower max_tokens or shorten the prompt' : 'set a smaller max_tokens or shorten the prompt';
    if (view.tokensPerMinute !== null && estimate > view.tokensPerMinute) {
      throw new RestError(400, 'invalid_request_error', 'request_exceeds_rate_limit', `This request may use up to ${estimate} tokens, more than the licence's ${view.tokensPerMinute} tokens per minute; ${hint}`, param);
    }
    if (view.tokensPerPeriod !== null && estimate > view.tokensPerPeriod) {
      throw new RestError(400, 'invalid_request_error', 'request_exceeds_quota', `This request may use up to ${estimate} tokens, more than the licence's ${view.tokensPerPeriod} tokens per period; ${hint}`, param);
    }
  }

  private refusal(view: AgreementMeteringView, pre: Preauthorization, estimate: bigint): RestError {
    const now = Date.now();
    if (pre.refusal === 'QUOTA') {
      const quota = view.tokensPerPeriod!;
      const remaining = quota - pre.periodUsed - pre.reserved;
      const retryAfter = Math.max(1, Math.ceil((pre.periodEnd.getTime() - now) / 1000));
      return new RestError(
        429,
        'rate_limit_error',
        'insufficient_quota',
        `The agreement's period quota is exhausted for this request: it may use up to ${estimate} tokens and ${remaining > 0n ? remaining : 0n} of ${quota} remain (including requests in flight) until ${pre.periodEnd.toISOString()}`,
        null,
        { 'retry-after': String(retryAfter), 'x-ratelimit-limit-tokens': quota.toString(), 'x-ratelimit-remaining-tokens': String(remaining > 0n ? remaining : 0n) },
      );
    }
    const limit = view.tokensPerMinute!;
    const remaining = limit - pre.windowUsed - pre.reserved;
    const retryAfter = Math.max(1, Math.ceil((60_000 - (now % 60_000)) / 1000));
    return new RestError(
      429,
      'rate_limit_error',
      'rate_limit_exceeded',
      `Rate limit of ${limit} tokens per minute reached: this request may use up to ${estimate} tokens and ${remaining > 0n ? remaining : 0n} are free in the current window`,
      null,
      { 'retry-after': String(retryAfter), 'x-ratelimit-limit-tokens': limit.toString(), 'x-ratelimit-remaining-tokens': String(remaining > 0n ? remaining : 0n) },
    );
  }

  private pool(baseUrl: string): { pool: Pool; path: string } {
    const url = new URL(baseUrl);
    let pool = this.pools.get(url.origin);
    if (!pool) {
      const publicOnly = !this.config.gatewayAllowPrivateUpstreams;
      if (publicOnly) assertPublicHost(url.hostname);
      pool = new Pool(url.origin, {
        connections: 128,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        connect: publicOnly ? { lookup: publicOnlyLookup } : undefined,
      });
      this.pools.set(url.origin, pool);
    }
    return { pool, path: `${url.pathname.replace(/\/+$/, '')}/chat/completions` };
  }

  private async send(
    upstream: GatewayUpstream,
    chat: ChatRequest,
    signal: AbortSignal,
  ): Promise<Awaited<ReturnType<Pool['request']>>> {
    let target: { pool: Pool; path: string };
    try {
      target = this.pool(upstream.baseUrl);
    } catch (e) {
      throw this.upstreamFailure(e, upstream);
    }
    const { pool, path } = target;
    const body: Record<string, unknown> = { ...chat.body, model: upstream.upstreamModel };
    if (chat.stream) body.stream_options = { ...(chat.body.stream_options as object | undefined), include_usage: true };
    try {
      return await pool.request({
        path,
        method: 'POST',
        headers: {
          authorization: `Bearer ${upstream.apiKey}`,
          'content-type': 'application/json',
          accept: chat.stream ? 'text/event-stream' : 'application/json',
        },
        body: JSON.stringify(body),
        headersTimeout: upstream.timeoutMs,
        bodyTimeout: upstream.timeoutMs,
        signal,
      });
    } catch (e) {
      throw this.upstreamFailure(e, upstream);
    }
  }

  private upstreamFailure(e: unknown, upstream: GatewayUpstream): RestError {
    if (e instanceof RestError) return e;
    if (e instanceof NonPublicUpstreamError || (e as { code?: unknown } | null)?.code === 'UPSTREAM_ADDRESS_NOT_PUBLIC') {
      this.logger.warn({ modelId: upstream.modelId, baseUrl: upstream.baseUrl }, 'gateway refused a non-public upstream address');
      return new RestError(502, 'upstream_error', 'upstream_address_not_public', "The teacher's upstream resolves to a private address, which the gateway does not call; nothing was billed");
    }
    if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError) {
      return new RestError(504, 'upstream_error', 'upstream_timeout', `The teacher's upstream did not answer within ${upstream.timeoutMs} ms; nothing was billed`);
    }
    this.logger.warn({ err: e, modelId: upstream.modelId }, 'gateway upstream request failed');
    return new RestError(502, 'upstream_error', 'upstream_unreachable', "The teacher's upstream could not be reached; nothing was billed");
  }

  private async upstreamStatusError(res: Awaited<ReturnType<Pool['request']>>): Promise<RestError> {
    const text = await res.body.text().catch(() => '');
    let detail = '';
    try {
      const m = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
      if (typeof m === 'string') detail = `: ${m.slice(0, 300)}`;
    } catch {
      /* not JSON: the status says enough */
    }
    return new RestError(502, 'upstream_error', 'upstream_error', `The teacher's upstream answered ${res.statusCode}${detail}; nothing was billed`);
  }

  private async forward(c: Call): Promise<void> {
    const ac = new AbortController();
    const res = await this.send(c.upstream, c.chat, ac.signal);
    if (res.statusCode >= 400) throw await this.upstreamStatusError(res);
    let text: string;
    try {
      text = await res.body.text();
    } catch (e) {
      throw this.upstreamFailure(e, c.upstream);
    }
    let json: { usage?: unknown; choices?: unknown };
    try {
      json = JSON.parse(text) as typeof json;
      if (json === null || typeof json !== 'object' || !Array.isArray(json.choices)) throw new Error('not a chat completion');
    } catch {
      throw new RestError(502, 'upstream_error', 'upstream_malformed', "The teacher's upstream sent an answer that is not a chat completion; nothing was billed");
    }
    const reported = readUsage(json.usage);
    await this.recordUsage(c, reported, contentChars(json.choices), reported ? null : 'UPSTREAM_REPORTED_NO_USAGE');
    await c.reply.status(200).type('application/json').send(text);
  }

  private async forwardStream(c: Call): Promise<void> {
    const ac = new AbortController();
    const res = await this.send(c.upstream, c.chat, ac.signal);
    if (res.statusCode >= 400) throw await this.upstreamStatusError(res);
    const type = String(res.headers['content-type'] ?? '');
    if (!type.startsWith('text/event-stream')) {
      await res.body.dump().catch(() => undefined);
      throw new RestError(502, 'upstream_error', 'upstream_malformed', "The teacher's upstream did not answer with an event stream; nothing was billed");
    }
    // From here on the answer is ours to write: headers now, events as they come.
    c.reply.hijack();
    const raw = c.reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'x-request-id': c.req.id,
    });
    let clientGone = false;
    const onClose = () => {
      if (!raw.writableFinished) {
        clientGone = true;
        ac.abort();
      }
    };
    raw.on('close', onClose);
    const scanner = new SseUsageScanner(c.chat.clientWantsUsage);
    let failure: 'CLIENT_DISCONNECTED' | 'UPSTREAM_FAILED' | null = null;
    try {
      for await (const chunk of res.body) {
        const out = scanner.push(chunk as Buffer);
        if (out !== '' && !clientGone && !raw.write(out)) {
          await Promise.race([once(raw, 'drain'), once(raw, 'close')]);
        }
      }
      const rest = scanner.end();
      if (rest !== '' && !clientGone) raw.write(rest);
    } catch (e) {
      failure = clientGone ? 'CLIENT_DISCONNECTED' : 'UPSTREAM_FAILED';
      if (!clientGone) {
        const err = this.upstreamFailure(e, c.upstream);
        raw.write(`data: ${JSON.stringify({ error: { message: err.message, type: err.type, code: err.code, param: null } })}\n\n`);
      }
    } finally {
      raw.off('close', onClose);
      if (clientGone && failure === null) failure = 'CLIENT_DISCONNECTED';
    }
    // Every byte has been passed on: end the answer now, then record (a failure is logged with the event).
    if (!raw.writableEnded) raw.end();
    const reason = scanner.usage ? null : failure ?? 'UPSTREAM_REPORTED_NO_USAGE';
    await this.recordUsage(c, scanner.usage, scanner.contentChars, reason);
  }

  /**
   * One usage event per request, id = the request id. `estimatedBecause` is
   * set when the upstream gave no usage: the prompt and the text seen are
   * estimated, the event marked ESTIMATED and the agreement flagged.
   */
  private async recordUsage(c: Call, reported: TokenUsage | null, seenChars: number, estimatedBecause: string | null): Promise<void> {
    const usage = reported ?? { inputTokens: estimateTokens(c.chat.promptChars), outputTokens: estimateTokens(seenChars) };
    const estimated = reported === null;
    const metadata: Record<string, unknown> = { stream: c.chat.stream, upstreamModel: c.upstream.upstreamModel };
    if (estimatedBecause) metadata.estimatedBecause = estimatedBecause;
    const event = {
      agreementId: c.view.id,
      eventId: c.req.id,
      source: 'GATEWAY' as const,
      occurredAt: c.startedAt,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      estimated,
      metadata,
      apiKeyId: c.key.apiKeyId,
      quota: c.view.tokensPerPeriod,
      payloadHash: usagePayloadHash({ occurredAt: c.startedAt, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, metadata }),
    };
    try {
      const result = await this.batcher.record(event, c.reservationId);
      const signals: AnomalySignal[] = [];
      const base = { agreementId: c.view.id, vendorOrganizationId: c.view.vendorOrganizationId, distillerOrganizationId: c.view.distillerOrganizationId, windowStart: hourOf(c.startedAt) };
      if (estimated) signals.push({ ...base, kind: AnomalyKind.ESTIMATED_USAGE, observedTokens: usage.inputTokens + usage.outputTokens, detail: { reason: estimatedBecause } });
      if (result.overageTokens > 0n) signals.push({ ...base, kind: AnomalyKind.QUOTA_OVERAGE, observedTokens: result.overageTokens, detail: { quota: String(c.view.tokensPerPeriod) } });
      if (signals.length > 0) await this.flags.raise(this.db.reader, signals);
    } catch (err) {
      // The answer exists; losing its usage would make it free. Log everything needed to replay it.
      this.logger.error({ err, usageEvent: { ...event, inputTokens: String(event.inputTokens), outputTokens: String(event.outputTokens), payloadHash: undefined } }, 'could not record gateway usage');
      if (!c.chat.stream) {
        throw new RestError(500, 'server_error', 'usage_not_recorded', 'The answer could not be metered, so it is withheld; retry shortly');
      }
    }
  }
}

interface Call {
  req: FastifyRequest;
  reply: FastifyReply;
  key: ApiKeyPrincipal;
  view: AgreementMeteringView;
  chat: ChatRequest;
  upstream: GatewayUpstream;
  startedAt: Date;
  reservationId: string | null;
}
