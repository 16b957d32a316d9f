/**
 * A counting semaphore with a bounded queue: at most `limit` holders at a
 * time, at most `maxWaiting` callers waiting (FIFO) for a turn; a caller that
 * finds the queue full is refused at once rather than queued without bound.
 */
export class Turnstile {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly limit: number,
    readonly maxWaiting: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
  }

  /** Resolves true once the caller holds a turn (call `leave` exactly once), false when the queue is full. */
  enter(): Promise<boolean> {
    if (this.active < this.limit) {
      this.active += 1;
      return Promise.resolve(true);
    }
    if (this.waiting.length >= this.maxWaiting) return Promise.resolve(false);
    return new Promise((resolve) => this.waiting.push(() => resolve(true)));
  }

  leave(): void {
    const next = this.waiting.shift();
    if (next) next(); // the turn passes on: `active` is unchanged
    else if (this.active > 0) this.active -= 1;
  }

  get holders(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }
}
