/**
 * POST /v1/stripe/webhooks — Stripe's deliveries. The signature is checked on
 * the raw bytes before anything else (parsing and re-serialising JSON would
 * change them); a bad, missing, tampered or out-of-date signature (timestamp
 * more than 300 s in the past or in the future) is a 400 and nothing is
 * stored. A verified event goes into the inbox (a redelivery is acknowledged
 * as a duplicate) and processing is kicked without making Stripe wait for it.
 *
 * The route lives in its own Fastify plugin whose only body parser keeps the
 * raw bytes, so GraphQL, the gateway and usage ingestion keep their JSON parser.
 * Without STRIPE_WEBHOOK_SECRET it answers 503 (the sandbox needs no webhooks).
 *
 * POST /v1/stripe/connect-webhooks — the Connect endpoint: the same checks
 * with STRIPE_CONNECT_WEBHOOK_SECRET (a body signed with the platform
 * endpoint's secret is refused there, and the other way round), every event
 * must name its connected account (`account`), and an event whose `livemode`
 * is not the secret key's mode is acknowledged, logged and not stored (a test
 * account's events reaching a live deployment, or the reverse, change nothing).
 * Only the Connect types this service handles are stored (CONNECT_EVENT_TYPES):
 * a connected account's payment events must not reach the platform's payment
 * handlers. Stored with the source `stripe_connect`, processed by the same inbox.
 */
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Stripe from 'stripe';
import { RestError, restErrorHandler, sendRestError } from '../../platform/http/rest-errors';
import { AppConfig } from '../../platform/config/app-config';
import { Database } from '../../platform/database/transaction';
import { WebhookInboxService } from './webhook-inbox.service';
import type { StripeEventLike } from './webhook-handlers';

export const STRIPE_WEBHOOK_PATH = '/v1/stripe/webhooks';
/** Connect deliveries (events of connected accounts) come to their own endpoint, signed with its own secret. */
export const STRIPE_CONNECT_WEBHOOK_PATH = '/v1/stripe/connect-webhooks';
/**
 * The only Connect event types stored. A connected account's other events
 * (its own charges, refunds, …) share type names with the platform's, whose
 * handlers must never act on them: they are acknowledged and dropped.
 */
export const CONNECT_EVENT_TYPES: ReadonlySet<string> = new Set(['account.updated', 'payout.paid', 'payout.failed']);
/** Stripe's default: a signature timestamped further than this from now, either way, is refused (replay protection). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;
const MAX_WEBHOOK_BYTES = 1024 * 1024;

@Injectable()
export class StripeWebhookRoutes implements OnModuleInit {
  private readonly log = new Logger('StripeWebhooks');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
    private readonly db: Database,
    private readonly inbox: WebhookInboxService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const errorHandler = restErrorHandler({ error: (obj, msg) => this.log.error(obj, msg) });
    void fastify.register(async (scope) => {
      // Encapsulated: these parsers exist only inside this plugin.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_WEBHOOK_BYTES }, (_req, body, done) => done(null, body));
      scope.post(STRIPE_WEBHOOK_PATH, { errorHandler }, (req, reply) => this.receive(req, reply, 'stripe'));
      scope.post(STRIPE_CONNECT_WEBHOOK_PATH, { errorHandler }, (req, reply) => this.receive(req, reply, 'stripe_connect'));
    });
  }

  private async receive(req: FastifyRequest, reply: FastifyReply, source: 'stripe' | 'stripe_connect'): Promise<void> {
    const connect = source === 'stripe_connect';
    const secret = connect ? this.config.stripeConnectWebhookSecret : this.config.stripeWebhookSecret;
    if (!secret) {
      const variable = connect ? 'STRIPE_CONNECT_WEBHOOK_SECRET' : 'STRIPE_WEBHOOK_SECRET';
      return sendRestError(
        reply,
        new RestError(503, 'server_error', 'webhooks_not_configured', `Stripe ${connect ? 'Connect ' : ''}webhooks are not configured on this server (${variable} is unset); the sandbox processor needs none`),
      );
    }
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const header = req.headers['stripe-signature'];
    if (typeof header !== 'string' || header.length === 0) {
      throw new RestError(400, 'invalid_request_error', 'missing_signature', 'The Stripe-Signature header is missing');
    }
    let event: StripeEventLike;
    try {
      event = Stripe.webhooks.constructEvent(raw, header, secret, WEBHOOK_TOLERANCE_SECONDS) as unknown as StripeEventLike;
    } catch (err) {
      this.log.warn({ reqId: req.id, reason: err instanceof Error ? err.message : String(err) }, 'webhook refused: bad signature');
      throw new RestError(400, 'invalid_request_error', 'invalid_signature', `The webhook signature could not be verified: ${err instanceof Error ? err.message : 'invalid'}`);
    }
    // The SDK refuses only old timestamps: one signed for the future would be
    // replayable until then (a clock far ahead, or a leaked signed request).
    const skew = Math.abs(Math.floor(Date.now() / 1000) - signedTimestamp(header));
    if (!(skew <= WEBHOOK_TOLERANCE_SECONDS)) {
      this.log.warn({ reqId: req.id, skewSeconds: skew }, 'webhook refused: timestamp outside the tolerance');
      throw new RestError(400, 'invalid_request_error', 'invalid_signature', `The webhook signature could not be verified: timestamp more than ${WEBHOOK_TOLERANCE_SECONDS} s from now`);
    }
    const shapeProblem = checkEventShape(event) ?? (connect ? checkConnectShape(event) : null);
    if (shapeProblem) throw new RestError(400, 'invalid_request_error', 'invalid_event', `Not a Stripe ${connect ? 'Connect ' : ''}event: ${shapeProblem}`);
    if (connect) {
      const keyIsLive = /^(sk|rk)_live_/.test(this.config.stripeSecretKey ?? '');
      if (event.livemode !== keyIsLive) {
        this.log.warn({ reqId: req.id, eventId: event.id, type: event.type, account: event.account, livemode: event.livemode }, 'Connect event ignored: its livemode is not the secret key\'s mode');
        return void (await reply.status(200).send({ received: true, duplicate: false, ignored: 'livemode_mismatch' }));
      }
      if (!CONNECT_EVENT_TYPES.has(event.type)) {
        this.log.log({ reqId: req.id, eventId: event.id, type: event.type, account: event.account }, 'Connect event of a type this service does not handle: acknowledged, not stored');
        return void (await reply.status(200).send({ received: true, duplicate: false, ignored: 'unhandled_type' }));
      }
    }
    const { stored } = await this.inbox.store(this.db.reader, event, source);
    if (stored) void this.inbox.kick();
    await reply.status(200).send({ received: true, duplicate: !stored });
  }
}

/** The `t=` the signature covers, read as the Stripe SDK reads it (the last `t`, parseInt); NaN when absent. */
function signedTimestamp(header: string): number {
  let t = NaN;
  for (const item of header.split(',')) {
    const [k, v] = item.split('=');
    if (k === 't') t = parseInt(v, 10);
  }
  return t;
}

/** Connect events name the connected account they are about. */
function checkConnectShape(event: StripeEventLike): string | null {
  if (typeof event.account !== 'string' || !/^acct_[A-Za-z0-9_]{1,250}$/.test(event.account)) return 'account must be a connected account id (acct_…)';
  return null;
}

/** A signed body that is not an event (another integration's secret, a test tool) is refused, not stored. */
function checkEventShape(e: unknown): string | null {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return 'the body is not a JSON object';
  const event = e as Record<string, unknown>;
  if (typeof event.id !== 'string' || !/^evt_[A-Za-z0-9_]{1,250}$/.test(event.id)) return 'id must be an event id (evt_…)';
  if (typeof event.type !== 'string' || !/^[a-z_]+(\.[a-z_]+)+$/.test(event.type)) return 'type must be an event type';
  if (typeof event.created !== 'number') return 'created must be a timestamp';
  if (typeof event.livemode !== 'boolean') return 'livemode must be a boolean';
  const data = event.data as Record<string, unknown> | undefined;
  if (!data || typeof data !== 'object' || !data.object || typeof data.object !== 'object') return 'data.object is missing';
  return null;
}
