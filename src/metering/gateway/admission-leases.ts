/**
 * Gateway admission with leases. Pre-authorising every request with its own
 * reservation costs a database round trip under the agreement's lock per
 * request (about 0.8 ms here, and the same counter rows churned thousands of
 * times a minute). Instead, a process reserves a block of an agreement's
 * limits at once — an ordinary reservation, checked by `metering_preauthorize`
 * exactly like a request's — and admits requests against it in memory for
 * GATEWAY_ADMISSION_LEASE_MS. The block stays reserved until the last request
 * admitted under it has been recorded, then it is released, so it never lets
 * more through than the limits allow:
 *
 *  - every grant sees recorded usage + every live reservation (other
 *    processes' leases included) + the new block;
 *  - a request admitted locally is covered by its lease's reservation until
 *    its own usage is recorded (while both count, the check errs on the safe
 *    side);
 *  - near a limit (no block fits, or the block would be no larger than the
 *    request), admission falls back to the exact per-request reservation, so
 *    two requests racing for the last of a quota are still arbitrated by the
 *    database, and refusals carry the same figures as before.
 *
 * Leases are per process and per agreement; concurrent requests of one
 * agreement wait for one grant rather than asking for several. A crashed
 * process leaves its lease reserved until its TTL, like any reservation.
 */
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { Database } from '../../platform/database/transaction';
import type { AgreementMeteringView } from '../../licensing/license-agreement.service';
import { Preauthorization, UsageRecorder } from '../usage/usage-recorder.service';

interface Lease {
  reservationId: string;
  granted: bigint;
  consumed: bigint;
  inflight: number;
  admitUntil: number;
  retired: boolean;
  released: boolean;
  timer: NodeJS.Timeout;
}

export type Admission =
  | {
      admitted: true;
      /** The request's own reservation (per-request path), released when its usage is recorded; null under a lease. */
      reservationId: string | null;
      /** Call once the request's usage is recorded (or it failed): lets a retired lease go. */
      done: () => void;
      /** 'lease' (admitted in memory), 'lease-granted' (this request obtained the lease) or 'request' (exact per-request path). */
      via: 'lease' | 'lease-granted' | 'request';
    }
  | { admitted: false; pre: Preauthorization };

const NOOP = () => undefined;

@Injectable()
export class AdmissionLeases implements OnModuleDestroy {
  private readonly log = new Logger('AdmissionLeases');
  private readonly leases = new Map<string, Lease>();
  private readonly granting = new Map<string, Promise<void>>();
  /** Agreements whose last block request was refused: per-request admission until then. */
  private readonly noBlockUntil = new Map<string, number>();

  constructor(
    private readonly recorder: UsageRecorder,
    private readonly db: Database,
    private readonly config: AppConfig,
  ) {}

  async admit(view: AgreementMeteringView, estimate: bigint, requestTtlMs: number): Promise<Admission> {
    const block = this.blockFor(view, estimate);
    if (block > 0n) {
      const local = this.takeFromLease(view.id, estimate);
      if (local) return local;
      if ((this.noBlockUntil.get(view.id) ?? 0) <= Date.now()) {
        let granting = this.granting.get(view.id);
        const mine = !granting;
        if (!granting) {
          granting = this.grant(view, block, requestTtlMs).finally(() => this.granting.delete(view.id));
          this.granting.set(view.id, granting);
        }
        await granting;
        const after = this.takeFromLease(view.id, estimate);
        if (after) return mine ? { ...after, via: 'lease-granted' } : after;
      }
    }
    const pre = await this.recorder.preauthorize(this.db.reader, {
      agreementId: view.id,
      estimate,
      quota: view.tokensPerPeriod,
      perMinute: view.tokensPerMinute,
      ttlMs: requestTtlMs,
      poolSubscriptionId: view.poolSubscriptionId,
    });
    if (!pre.admitted) return { admitted: false, pre };
    return { admitted: true, reservationId: pre.reservationId, done: NOOP, via: 'request' };
  }

  /** Live leases (for tests and diagnostics): agreement → tokens granted / consumed / in flight. */
  snapshot(): Map<string, { granted: bigint; consumed: bigint; inflight: number; retired: boolean }> {
    return new Map([...this.leases].map(([id, l]) => [id, { granted: l.granted, consumed: l.consumed, inflight: l.inflight, retired: l.retired }]));
  }

  async onModuleDestroy(): Promise<void> {
    const all = [...this.leases.values()];
    this.leases.clear();
    await Promise.all(all.map((l) => this.release(l)));
  }

  /** The block to ask for: the configured size, capped by the agreement's limits; 0 when not worth a lease. */
  private blockFor(view: AgreementMeteringView, estimate: bigint): bigint {
    let block = BigInt(this.config.gatewayAdmissionLeaseTokens);
    if (view.tokensPerPeriod !== null && view.tokensPerPeriod / 20n < block) block = view.tokensPerPeriod / 20n;
    if (view.tokensPerMinute !== null && view.tokensPerMinute / 4n < block) block = view.tokensPerMinute / 4n;
    return block > estimate ? block : 0n;
  }

  private takeFromLease(agreementId: string, estimate: bigint): Extract<Admission, { admitted: true }> | null {
    const l = this.leases.get(agreementId);
    if (!l || l.retired || Date.now() >= l.admitUntil || l.consumed + estimate > l.granted) return null;
    l.consumed += estimate;
    l.inflight += 1;
    let finished = false;
    return {
      admitted: true,
      reservationId: null,
      via: 'lease',
      done: () => {
        if (finished) return;
        finished = true;
        l.inflight -= 1;
        if (l.retired && l.inflight === 0) void this.release(l);
      },
    };
  }

  private async grant(view: AgreementMeteringView, block: bigint, requestTtlMs: number): Promise<void> {
    const windowMs = this.config.gatewayAdmissionLeaseMs;
    const pre = await this.recorder.preauthorize(this.db.reader, {
      agreementId: view.id,
      estimate: block,
      quota: view.tokensPerPeriod,
      perMinute: view.tokensPerMinute,
      // Covers the last request admitted under it for as long as a request's own reservation would.
      ttlMs: windowMs + requestTtlMs,
      poolSubscriptionId: view.poolSubscriptionId,
    });
    if (!pre.admitted || !pre.reservationId) {
      this.noBlockUntil.set(view.id, Date.now() + windowMs);
      if (this.noBlockUntil.size > 10_000) this.noBlockUntil.clear();
      return;
    }
    const previous = this.leases.get(view.id);
    if (previous) this.retire(previous);
    const lease: Lease = {
      reservationId: pre.reservationId,
      granted: block,
      consumed: 0n,
      inflight: 0,
      admitUntil: Date.now() + windowMs,
      retired: false,
      released: false,
      timer: setTimeout(() => this.retire(lease), windowMs),
    };
    lease.timer.unref();
    this.leases.set(view.id, lease);
  }

  /** No more admissions under it; released once its requests are recorded. */
  private retire(l: Lease): void {
    if (l.retired) return;
    l.retired = true;
    clearTimeout(l.timer);
    for (const [id, current] of this.leases) if (current === l) this.leases.delete(id);
    if (l.inflight === 0) void this.release(l);
  }

  private async release(l: Lease): Promise<void> {
    if (l.released) return;
    l.released = true;
    clearTimeout(l.timer);
    // Its requests' usage is recorded: the block's tokens go back (if this fails, the reservation's TTL does it).
    await this.recorder.release(this.db.reader, l.reservationId).catch((err: unknown) => this.log.warn({ err, reservationId: l.reservationId }, 'could not release an admission lease'));
  }
}
