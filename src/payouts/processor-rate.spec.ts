import { fullJitterMs, HEADROOM, ProcessorRateLimiter, RateClock } from './processor-rate';

/** A clock that only moves when slept on (or pushed). */
function fakeClock(): RateClock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

describe('ProcessorRateLimiter', () => {
  it('spaces requests evenly at the headroom share of the maximum: N requests take (N − 1) / rate', async () => {
    const clock = fakeClock();
    const limiter = new ProcessorRateLimiter(100, clock);
    for (let i = 0; i < 101; i++) await limiter.take();
    expect(clock.t).toBeCloseTo((100 * 1000) / (100 * HEADROOM), 6);
  });

  it('never releases a burst after a stall: the schedule restarts from now', async () => {
    const clock = fakeClock();
    const limiter = new ProcessorRateLimiter(10, clock);
    await limiter.take();
    clock.t += 5_000; // a stall
    const t0 = clock.t;
    await limiter.take();
    expect(clock.t).toBe(t0); // one goes at once
    await limiter.take();
    expect(clock.t - t0).toBeCloseTo(1000 / (10 * HEADROOM), 6); // the next waits a full interval
  });

  it('slows down on 429, pauses for Retry-After, and recovers on success', async () => {
    const clock = fakeClock();
    const limiter = new ProcessorRateLimiter(100, clock);
    await limiter.take();
    limiter.rateLimited(2_000);
    expect(limiter.rate).toBeCloseTo(100 * HEADROOM * 0.75, 6);
    const t0 = clock.t;
    await limiter.take();
    expect(clock.t - t0).toBeGreaterThanOrEqual(2_000);
    for (let i = 0; i < 20; i++) limiter.succeeded();
    expect(limiter.rate).toBeCloseTo(100 * HEADROOM, 6);
  });

  it('full jitter stays within [0, min(cap, base·2^attempt))', () => {
    for (let a = 0; a < 12; a++) {
      expect(fullJitterMs(a, 100, 5000, () => 0)).toBe(0);
      expect(fullJitterMs(a, 100, 5000, () => 0.999999)).toBeLessThan(Math.min(5000, 100 * 2 ** a));
    }
  });
});
