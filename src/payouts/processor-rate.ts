/**
 * The pace of one process's requests to the payment processor while it
 * executes payouts: requests are spaced evenly (no bursts), at HEADROOM of the
 * configured maximum — requests sent exactly 1/max apart arrive with network
 * jitter, and a processor counting per second would see max + 1 of them in
 * some window. A 429 slows the pace down (by a quarter, recovered by a
 * fortieth of the maximum per successful request) and, with Retry-After,
 * pauses every request until then. Backoff between retries of one request is "full
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

/** The share of the maximum rate actually used (margin for jitter in arrival times). */
export const HEADROOM = 0.97;

export class ProcessorRateLimiter {
  private scheduled = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;
  private current: number;
  private readonly floorRate: number;
  private readonly ceiling: number;

  constructor(
    readonly maxPerSecond: number,
    private readonly clock: RateClock = realRateClock,
  ) {
    if (!(maxPerSecond > 0)) throw new RangeError('the request rate must be positive');
    this.ceiling = maxPerSecond * HEADROOM;
    this.current = this.ceiling;
    this.floorRate = Math.max(maxPerSecond / 16, 0.5);
  }

  /** The pace now (requests per second). */
  get rate(): number {
    return this.current;
  }

  /**
   * Waits until this request may go. Slots are 1/rate apart on a virtual
   * schedule: a request that wakes a little late (timers overshoot) does not
   * push the schedule back — the next one may go a little early, so the
   * average is the rate — but after a longer stall the schedule restarts from
   * now, so overdue requests are never released as a burst. The condition is
   * checked again on waking (many requests may be waiting).
   */
  async take(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      const interval = 1000 / this.current;
      const at = Math.max(this.scheduled, this.pausedUntil);
      if (now >= at) {
        this.scheduled = now - at < interval ? at + interval : now + interval;
        return;
      }
      await this.clock.sleep(at - now);
    }
  }

  /** The processor answered: the pace recovers towards the maximum. */
  succeeded(): void {
    if (this.current < this.ceiling) this.current = Math.min(this.ceiling, this.current + this.maxPerSecond / 40);
  }

  /** The processor answered 429: slow down, and pause every request for Retry-After when it was given. */
  rateLimited(retryAfterMs: number | null): void {
    this.current = Math.max(this.floorRate, this.current * 0.75);
    if (retryAfterMs !== null && retryAfterMs > 0) this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + retryAfterMs);
  }
}

/** Full-jitter backoff: a random wait in [0, min(capMs, baseMs·2^attempt)] (attempt from 0). */
export function fullJitterMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
