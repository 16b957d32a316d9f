import { Injectable } from '@nestjs/common';

/**
 * The time every time-dependent business rule decides by: which billing
 * period is current and which are due, when held earnings become available,
 * whether an agreement or a certification has expired, when an invoice is due,
 * whether a usage event is dated in the future. One seam, so a test — or the
 * sandbox test clock (`advanceSandboxClock`) — moves "now" for all of them at
 * once instead of waiting for it.
 *
 * The sandbox clock is an offset from real time, kept in the database
 * (`sandbox_clock`) so every process of the service shows the same time
 * (ClockSync adopts it); it only ever grows, so business time never runs
 * backwards. With a real payment processor configured it is always 0.
 *
 * Real time stays for what is not business time: rate limits, sessions and
 * token expiry, caches, leases, retries and job bookkeeping, row
 * created_at/updated_at stamps and the audit log (src/time-reads.spec.ts
 * lists every such read with its reason).
 */
@Injectable()
export class Clock {
  private offset = 0;

  /** Business time: real time plus the sandbox offset. */
  now(): Date {
    return new Date(Date.now() + this.offset);
  }

  /** Wall-clock time, for what must not move with the test clock. */
  realNow(): Date {
    return new Date();
  }

  /** How far business time is ahead of real time, in milliseconds (0 unless the sandbox clock was advanced). */
  get offsetMs(): number {
    return this.offset;
  }

  /**
   * Takes the persisted offset. Never moves back: offsets only grow in the
   * database, so an older value (a late notification, a refresh that read
   * before an advance committed) is ignored.
   */
  adopt(offsetMs: number): void {
    if (Number.isSafeInteger(offsetMs) && offsetMs > this.offset) this.offset = offsetMs;
  }
}
