/**
 * Per-client budgets (rate-limiter-flexible, fixed one-minute windows):
 * requests per minute and points per minute (operation-points.ts), each with
 * a separate allowance for anonymous callers (keyed by client address) and
 * authenticated ones (keyed by user or API key).
 *
 * The counters live in this process's memory (RateLimiterMemory). The limits
 * exist to keep the database pool for real work; a PostgreSQL-backed store
 * would spend a pooled round trip on every request — refused ones included —
 * exactly when the pool is under attack (measured 2026-12-07 on the shared
 * 2-core machine: RateLimiterPostgres consume p50 3.9 ms / p99 31 ms and about
 * 475 consumes/s through 4 connections; the memory store 0.002 ms). The price:
 * with N replicas a client can get up to N times the allowance.
 */
import { Injectable } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '../auth/principal';
import { AppConfig } from '../config/app-config';

export type RateLimitBudget = 'requests' | 'points';

export interface RateLimitClient {
  /** `ip:…`, `user:…` or `key:…` */
  key: string;
  authenticated: boolean;
}

export type RateLimitOutcome =
  | { allowed: true }
  | { allowed: false; budget: RateLimitBudget; limitPerMinute: number; retryAfterSeconds: number };

const WINDOW_SECONDS = 60;

export function rateLimitClientOf(principal: Principal | null | undefined, address: string): RateLimitClient {
  if (!principal) return { key: `ip:${address}`, authenticated: false };
  return principal.kind === 'user'
    ? { key: `user:${principal.userId}`, authenticated: true }
    : { key: `key:${principal.apiKeyId}`, authenticated: true };
}

@Injectable()
export class RateLimitService {
  private readonly limiters: Record<'anonymous' | 'authenticated', Record<RateLimitBudget, RateLimiterMemory | null>>;

  constructor(config: AppConfig) {
    const limiter = (points: number, keyPrefix: string) => (points > 0 ? new RateLimiterMemory({ points, duration: WINDOW_SECONDS, keyPrefix }) : null);
    this.limiters = {
      anonymous: {
        requests: limiter(config.rateLimitAnonymousPerMinute, 'anon-req'),
        points: limiter(config.rateLimitAnonymousPointsPerMinute, 'anon-pts'),
      },
      authenticated: {
        requests: limiter(config.rateLimitAuthenticatedPerMinute, 'auth-req'),
        points: limiter(config.rateLimitAuthenticatedPointsPerMinute, 'auth-pts'),
      },
    };
  }

  /**
   * Charges one request and then the request's points to the client. A
   * request refused for its rate does not spend points; a request whose
   * points do not fit is refused whole (nothing of it runs). `pointsOf` (it
   * parses the query) is not called for a request refused for its rate.
   */
  async admit(client: RateLimitClient, pointsOf: () => number): Promise<RateLimitOutcome & { points: number }> {
    const budgets = this.limiters[client.authenticated ? 'authenticated' : 'anonymous'];
    const byRate = await this.consume(budgets.requests, 'requests', client.key, 1);
    if (!byRate.allowed) return { ...byRate, points: 0 };
    const points = pointsOf();
    if (points <= 0) return { allowed: true, points };
    return { ...(await this.consume(budgets.points, 'points', client.key, points)), points };
  }

  /**
   * Whether an anonymous client has already spent its requests of this window:
   * such a request is refused as soon as it arrives, before its body is read
   * or parsed — what an attacker in a closed loop sends most. Charges nothing.
   * (A client out of points may still send cheap queries, so points are only
   * judged once the query is read.) Authenticated callers are identified later
   * (their credential is checked), so this answers null for them.
   */
  async exhausted(client: RateLimitClient): Promise<(RateLimitOutcome & { allowed: false }) | null> {
    const limiter = this.limiters.anonymous.requests;
    if (client.authenticated || !limiter) return null;
    const state = await limiter.get(client.key);
    if (!state || state.remainingPoints > 0) return null;
    return { allowed: false, budget: 'requests', limitPerMinute: limiter.points, retryAfterSeconds: Math.max(1, Math.ceil(state.msBeforeNext / 1000)) };
  }

  private async consume(limiter: RateLimiterMemory | null, budget: RateLimitBudget, key: string, points: number): Promise<RateLimitOutcome> {
    if (!limiter) return { allowed: true };
    try {
      await limiter.consume(key, points);
      return { allowed: true };
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      return { allowed: false, budget, limitPerMinute: limiter.points, retryAfterSeconds: Math.max(1, Math.ceil(e.msBeforeNext / 1000)) };
    }
  }
}
