/**
 * The pace of one process's requests to the payment processor while it
 * executes payouts: requests are spaced 1/rate apart (no bursts, so a
 * processor that counts requests per second never sees more than `rate` of
 * them from us), and a 429 slows the pace down — halved, then recovered by a
 * twentieth per successful request — and, with Retry-After, pauses every
 * request until then. Backoff between retries of one request is "full
 * jitter": a random wait in [0, min(cap, base·2^attempt)].
 */
export interface RateClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realRateClock: RateClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class ProcessorRateLimiter {
  private next = 0;
  private pausedUntil = 0;
  private current: number;
  private readonly floorRate: number;

  constructor(
    readonly maxPerSecond: number,
    private readonly clock: RateClock = realRateClock,
  ) {
    if (!(maxPerSecond > 0)) throw new RangeError('the request rate must be positive');
    this.current = maxPerSecond;
    this.floorRate = Math.max(maxPerSecond / 16, 0.5);
  }

  /** The pace now (requests per second). */
  get rate(): number {
    return this.current;
  }

  /** Waits for this request's slot. Slots are handed out in call order. */
  async take(): Promise<void> {
    const now = this.clock.now();
    const slot = Math.max(now, this.next, this.pausedUntil);
    this.next = slot + 1000 / this.current;
    if (slot > now) await this.clock.sleep(slot - now);
  }

  /** The processor answered: the pace recovers towards the maximum. */
  succeeded(): void {
    if (this.current < this.maxPerSecond) this.current = Math.min(this.maxPerSecond, this.current + this.maxPerSecond / 20);
  }

  /** The processor answered 429: slow down, and pause every request for Retry-After when it was given. */
  rateLimited(retryAfterMs: number | null): void {
    this.current = Math.max(this.floorRate, this.current / 2);
    if (retryAfterMs !== null && retryAfterMs > 0) this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + retryAfterMs);
  }
}

/** Full-jitter backoff: a random wait in [0, min(capMs, baseMs·2^attempt)] (attempt from 0). */
export function fullJitterMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
