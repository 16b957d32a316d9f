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
 *    An answer without usage is recorded as ESTIMATED (and flagged), never
 *    free. A request that fails — the upstream errs, goes silent for its
 *    `timeoutMs`, passes GATEWAY_MAX_REQUEST_MS, or the client leaves — is
 *    billed for what was delivered and nothing more (see gateway-errors.ts).
 * 5. What the upstream writes in an error never reaches the distiller: it gets
 *    a status, a code and the request id; the vendor's upstream error log gets
 *    the detail, with the credential and the header values sent redacted.
 */
import { Injectable, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { once } from 'node:events';
import { ApiKeyService } from '../../identity/api-key.service';
import { AgreementStatus } from '../../licensing/license-agreement.entity';
import { AgreementMeteringView, LicenseAgreementService } from '../../licensing/license-agreement.service';
import { ApiKeyPrincipal, ApiKeyScope } from '../../platform/auth/principal';
import { AppConfig } from '../../platform/config/app-config';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { Database } from '../../platform/database/transaction';
import { RestError } from '../../platform/http/rest-errors';
import { AnomalyFlagService } from '../anomaly/anomaly-flag.service';
import { AnomalyKind, AnomalySignal, hourOf } from '../anomaly/anomaly-flag.kinds';
import { requireApiKey } from '../http/api-key-auth';
import { GatewayUpstream, TeacherUpstreamService } from '../upstream/teacher-upstream.service';
import { UpstreamErrorLog } from '../upstream/upstream-error-log.service';
import { usagePayloadHash } from '../usage/usage-event.validation';
import { Preauthorization, UsageRecorder } from '../usage/usage-recorder.service';
import { AdmissionLeases } from './admission-leases';
import { ChatRequest, estimateTokens, parseChatRequest } from './chat-request';
import { distillerError, FailureBilling } from './gateway-errors';
import { Redactor, secretRedactor } from './redact';
import { contentChars, readUsage, SseUsageScanner, TokenUsage } from './sse-usage-scanner';
import { AbortReason, UpstreamClient, UpstreamFailure } from './upstream-client';
import { GatewayUsageBatcher } from './usage-batcher';
import { isUuid, normalizeUuid } from '../../platform/validation/uuid';
import { Clock } from '../../platform/clock/clock';

export { estimateTokens } from './chat-request';

/** A reservation outlives any sane request; it only matters if this process dies mid-request. */
const RESERVATION_TTL_MS = 15 * 60_000;
/** How much of an upstream's error body is kept for the vendor. */
const ERROR_BODY_MAX_CHARS = 2000;

/** A model in OpenAI's list shape (`GET /v1/gateway/models`). */
export interface GatewayModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

@Injectable()
export class GatewayService {
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
    private readonly client: UpstreamClient,
    private readonly errorLog: UpstreamErrorLog,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
  ) {}

  /**
   * The models a GATEWAY key may call: its agreement's teacher, by model id.
   * (Any `model` is accepted by chat completions; a UUID must be this one.)
   */
  async models(req: FastifyRequest): Promise<GatewayModel[]> {
    const { view } = await this.keyAndAgreement(req);
    return [{ id: view.modelId, object: 'model', created: Math.floor(view.startsAt.getTime() / 1000), owned_by: view.vendorOrganizationId }];
  }

  async chatCompletions(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    // Business time: the event's date (its billing period) and the agreement's term are judged on the platform Clock.
    const startedAt = this.clock.now();
    const { key, view } = await this.keyAndAgreement(req);
    const chat = parseChatRequest(req.body);
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

    // The upstream's `timeoutMs` bounds silences; this bounds the whole request, however the upstream trickles.
    const ac = new AbortController();
    const call: Call = {
      req, reply, key, view, chat, upstream, startedAt, reservationId, ac, abortReason: null,
      redact: secretRedactor(this.client.secretsOf(upstream)),
    };
    const deadline = setTimeout(() => {
      call.abortReason ??= 'DEADLINE';
      ac.abort();
    }, this.config.gatewayMaxRequestMs);
    try {
      if (chat.stream) await this.forwardStream(call);
      else await this.forward(call);
    } catch (e) {
      if (reservationId) await this.recorder.release(this.db.reader, reservationId).catch(() => undefined);
      throw e;
    } finally {
      clearTimeout(deadline);
      done();
    }
  }

  private async keyAndAgreement(req: FastifyRequest): Promise<{ key: ApiKeyPrincipal; view: AgreementMeteringView }> {
    const key = await requireApiKey(this.apiKeys, req, ApiKeyScope.GATEWAY);
    if (!key.agreementId) {
      throw new RestError(403, 'permission_error', 'key_not_bound', 'This API key is not bound to an agreement; create a GATEWAY key for one of your agreements');
    }
    const view = await this.agreements.meteringView(key.agreementId);
    if (!view) throw new RestError(404, 'not_found_error', 'agreement_not_found', `Agreement ${key.agreementId} not found`);
    return { key, view };
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
    // The period end and the minute window were judged in business time (metering_preauthorize's p_now).
    const now = this.clock.now().getTime();
    if (pre.refusal === 'QUOTA') {
      const quota = pre.poolAllowance ?? view.tokensPerPeriod!;
      const remaining = quota - pre.periodUsed - pre.reserved;
      const retryAfter = Math.max(1, Math.ceil((pre.periodEnd.getTime() - now) / 1000));
      return new RestError(
        429,
        'rate_limit_error',
        'insufficient_quota',
        `${pre.poolAllowance != null ? "The pool subscription's shared allowance" : "The agreement's period quota"} is exhausted for this request: it may use up to ${estimate} tokens and ${remaining > 0n ? remaining : 0n} of ${quota} remain (including requests in flight) until ${pre.periodEnd.toISOString()}`,
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

  /**
   * An upstream failure before anything was delivered: logged and kept for the
   * vendor with the detail redacted; the distiller gets a status and a code.
   */
  private async failed(c: Call, f: UpstreamFailure, billing: FailureBilling): Promise<RestError> {
    const detail = c.redact(f.detail);
    this.logger.warn({ requestId: c.req.id, agreementId: c.view.id, modelId: c.upstream.modelId, kind: f.kind, upstreamStatus: f.upstreamStatus, detail }, 'gateway upstream request failed');
    const err = distillerError(f, c.upstream, this.config.gatewayMaxRequestMs, billing);
    await this.errorLog
      .record({ agreementId: c.view.id, requestId: c.req.id, streamed: c.chat.stream, upstreamStatus: f.upstreamStatus, code: err.code, detail })
      .catch((e: unknown) => this.logger.error({ err: e, requestId: c.req.id }, 'could not store an upstream error for the vendor'));
    return err;
  }

  private async send(c: Call): Promise<UpstreamResponseOf> {
    let res: UpstreamResponseOf;
    const timed = this.metrics.gatewayUpstreamTimer();
    try {
      res = await this.client.send(c.upstream, c.chat, c.ac.signal, () => c.abortReason);
      timed(res.statusCode);
    } catch (e) {
      const failure = this.client.failure(e, c.upstream, c.abortReason);
      timed(failure.kind);
      throw await this.failed(c, failure, { kind: 'NOTHING' });
    }
    if (res.statusCode >= 400) {
      const text = await res.body.text().catch(() => '');
      const f = new UpstreamFailure('STATUS', `HTTP ${res.statusCode}: ${text.slice(0, ERROR_BODY_MAX_CHARS)}`, res.statusCode);
      throw await this.failed(c, f, { kind: 'NOTHING' });
    }
    return res;
  }

  private async forward(c: Call): Promise<void> {
    const res = await this.send(c);
    let text: string;
    try {
      text = c.redact(await res.body.text());
    } catch (e) {
      throw await this.failed(c, this.client.failure(e, c.upstream, c.abortReason), { kind: 'NOTHING' });
    }
    let json: { usage?: unknown; choices?: unknown };
    try {
      json = JSON.parse(text) as typeof json;
      if (json === null || typeof json !== 'object' || !Array.isArray(json.choices)) throw new Error('not a chat completion');
    } catch {
      throw await this.failed(c, new UpstreamFailure('MALFORMED', `answer is not a chat completion: ${text.slice(0, 300)}`), { kind: 'NOTHING' });
    }
    const reported = readUsage(json.usage);
    await this.recordUsage(c, reported, contentChars(json.choices), reported ? null : 'UPSTREAM_REPORTED_NO_USAGE');
    await c.reply.status(200).type('application/json').send(text);
  }

  private async forwardStream(c: Call): Promise<void> {
    const res = await this.send(c);
    const type = String(res.headers['content-type'] ?? '');
    if (!type.startsWith('text/event-stream')) {
      await res.body.dump().catch(() => undefined);
      throw await this.failed(c, new UpstreamFailure('MALFORMED', `answered content-type "${type}" to a streamed request`), { kind: 'NOTHING' });
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
    const onClose = () => {
      if (!raw.writableFinished) {
        c.abortReason ??= 'CLIENT_DISCONNECTED';
        c.ac.abort();
      }
    };
    raw.on('close', onClose);
    const clientGone = () => c.abortReason === 'CLIENT_DISCONNECTED';
    const scanner = new SseUsageScanner(c.chat.clientWantsUsage, c.redact);
    let failure: UpstreamFailure | null = null;
    try {
      for await (const chunk of res.body) {
        const out = scanner.push(chunk as Buffer);
        if (out !== '' && !clientGone() && !raw.write(out)) {
          await Promise.race([once(raw, 'drain'), once(raw, 'close')]);
        }
        if (scanner.upstreamError !== null) break;
      }
      const rest = scanner.upstreamError === null ? scanner.end() : '';
      if (rest !== '' && !clientGone()) raw.write(rest);
    } catch (e) {
      if (!clientGone()) failure = this.client.failure(e, c.upstream, c.abortReason);
    } finally {
      raw.off('close', onClose);
    }
    if (scanner.upstreamError !== null) {
      failure = new UpstreamFailure('STREAM_ERROR', `error event in the stream: ${scanner.upstreamError.slice(0, ERROR_BODY_MAX_CHARS)}`);
      if (!res.body.destroyed) res.body.destroy();
    }

    // A cut-short answer is billed for what was delivered, and the error event says exactly what that is.
    const cutShort = failure !== null || clientGone();
    const billing = cutShort ? this.billingOfPartial(c, scanner) : null;
    if (failure && !clientGone()) {
      const err = await this.failed(c, failure, billing!);
      raw.write(`data: ${JSON.stringify({ error: { message: err.message, type: err.type, code: err.code, param: null, request_id: c.req.id } })}\n\n`);
    }
    // Every byte has been passed on: end the answer now, then record (a failure is logged with the event).
    if (!raw.writableEnded) raw.end();
    if (billing?.kind === 'NOTHING') {
      if (c.reservationId) await this.recorder.release(this.db.reader, c.reservationId).catch(() => undefined);
      return;
    }
    const reason = scanner.usage ? null : failure ? (failure.kind === 'DEADLINE' || failure.kind === 'IDLE_TIMEOUT' ? 'UPSTREAM_TIMED_OUT' : 'UPSTREAM_FAILED') : clientGone() ? 'CLIENT_DISCONNECTED' : 'UPSTREAM_REPORTED_NO_USAGE';
    await this.recordUsage(c, scanner.usage, scanner.contentChars, reason);
  }

  /** The one rule for a stream cut short: what the upstream reported, else what was delivered (estimated), else nothing. */
  private billingOfPartial(c: Call, scanner: SseUsageScanner): FailureBilling {
    if (scanner.usage) return { kind: 'REPORTED', ...scanner.usage };
    if (scanner.contentChars === 0) return { kind: 'NOTHING' };
    return { kind: 'ESTIMATED', inputTokens: estimateTokens(c.chat.promptChars), outputTokens: estimateTokens(scanner.contentChars) };
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
      this.metrics.gatewayUsage(usage.inputTokens, usage.outputTokens, estimated);
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

type UpstreamResponseOf = Awaited<ReturnType<UpstreamClient['send']>>;

interface Call {
  req: FastifyRequest;
  reply: FastifyReply;
  key: ApiKeyPrincipal;
  view: AgreementMeteringView;
  chat: ChatRequest;
  upstream: GatewayUpstream;
  startedAt: Date;
  reservationId: string | null;
  ac: AbortController;
  /** Set when the gateway aborts the upstream request itself, so the abort is not mistaken for an upstream failure. */
  abortReason: AbortReason | null;
  /** Removes the upstream credential and the header values sent from anything passed on or stored. */
  redact: Redactor;
}
