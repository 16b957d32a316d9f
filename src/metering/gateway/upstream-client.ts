/**
 * The gateway's HTTP client for teacher upstreams: one undici pool per origin
 * (keep-alive), public addresses only unless configured otherwise, and the
 * vendor's credential sent as a bearer token. Failures come back as
 * `UpstreamFailure`s, which say what happened without anything the upstream
 * wrote: the gateway decides what the distiller and the vendor are told.
 */
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { errors as undiciErrors, Pool } from 'undici';
import { AppConfig } from '../../platform/config/app-config';
import type { GatewayUpstream } from '../upstream/teacher-upstream.service';
import type { ChatRequest } from './chat-request';
import { assertPublicHost, NonPublicUpstreamError, publicOnlyLookup } from './upstream-address-guard';

export type UpstreamResponse = Awaited<ReturnType<Pool['request']>>;

export type UpstreamFailureKind =
  /** The upstream answered an HTTP error status. */
  | 'STATUS'
  /** Its event stream carried an `{"error": …}` event. */
  | 'STREAM_ERROR'
  /** No byte for the upstream's `timeoutMs` (before the headers, or between chunks). */
  | 'IDLE_TIMEOUT'
  /** GATEWAY_MAX_REQUEST_MS passed since the request started. */
  | 'DEADLINE'
  | 'UNREACHABLE'
  | 'NOT_PUBLIC'
  | 'MALFORMED';

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    /** For the vendor's error log and our log, never for the distiller; redacted before it is stored. */
    readonly detail: string,
    readonly upstreamStatus: number | null = null,
  ) {
    super(`${kind}: ${detail}`);
  }
}

/** Why the gateway aborted its own upstream request, if it did. */
export type AbortReason = 'DEADLINE' | 'CLIENT_DISCONNECTED';

@Injectable()
export class UpstreamClient implements OnModuleDestroy {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly config: AppConfig) {}

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
    this.pools.clear();
  }

  /** Every header value sent upstream that is secret: redacted from whatever comes back. */
  secretsOf(upstream: GatewayUpstream): string[] {
    return [upstream.apiKey, `Bearer ${upstream.apiKey}`];
  }

  async send(upstream: GatewayUpstream, chat: ChatRequest, signal: AbortSignal, aborted: () => AbortReason | null): Promise<UpstreamResponse> {
    let target: { pool: Pool; path: string };
    try {
      target = this.pool(upstream.baseUrl);
    } catch (e) {
      throw this.failure(e, upstream, aborted());
    }
    const body: Record<string, unknown> = { ...chat.body, model: upstream.upstreamModel };
    if (chat.stream) body.stream_options = { ...(chat.body.stream_options as object | undefined), include_usage: true };
    try {
      return await target.pool.request({
        path: target.path,
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
      throw this.failure(e, upstream, aborted());
    }
  }

  /** What an error thrown while talking to the upstream means. */
  failure(e: unknown, upstream: GatewayUpstream, aborted: AbortReason | null): UpstreamFailure {
    if (e instanceof UpstreamFailure) return e;
    if (aborted === 'DEADLINE') return new UpstreamFailure('DEADLINE', `the request was still running after the gateway's ${this.config.gatewayMaxRequestMs} ms limit`);
    if (e instanceof NonPublicUpstreamError || (e as { code?: unknown } | null)?.code === 'UPSTREAM_ADDRESS_NOT_PUBLIC') {
      return new UpstreamFailure('NOT_PUBLIC', `${upstream.baseUrl} resolves to a non-public address`);
    }
    if (e instanceof undiciErrors.HeadersTimeoutError) return new UpstreamFailure('IDLE_TIMEOUT', `no response headers within ${upstream.timeoutMs} ms`);
    if (e instanceof undiciErrors.BodyTimeoutError) return new UpstreamFailure('IDLE_TIMEOUT', `no data for ${upstream.timeoutMs} ms while reading the answer`);
    const code = (e as { code?: unknown } | null)?.code;
    return new UpstreamFailure('UNREACHABLE', `${e instanceof Error ? e.message : String(e)}${typeof code === 'string' ? ` (${code})` : ''}`);
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
}
