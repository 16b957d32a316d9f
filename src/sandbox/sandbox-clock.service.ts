/**
 * The sandbox test clock (like a payment processor's test clocks): a platform
 * admin moves business time forward so a period can end, a holdback pass, an
 * agreement expire — without waiting. Only in sandbox payments mode; never
 * backwards. The offset is persisted (platform/clock) so every process shows
 * the same time; after the advance commits, the jobs whose schedules follow
 * business time run once, doing what their schedules would have done in the
 * time skipped (closing the periods that ended, expiring agreements,
 * collecting invoices that fell due).
 */
import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../platform/auth/principal';
import { Clock } from '../platform/clock/clock';
import { ClockStateRepository } from '../platform/clock/clock-state.repository';
import { ClockSync } from '../platform/clock/clock-sync.service';
import { afterCommit, Database } from '../platform/database/transaction';
import { BadInputError } from '../platform/errors/app-error';
import { ClockDrivenRun, JobsService } from '../platform/jobs/jobs.service';

export const MAX_AHEAD_YEARS = 10;
const MAX_AHEAD_MS = MAX_AHEAD_YEARS * 366 * 86_400_000;

export interface SandboxClockView {
  now: Date;
  realTime: Date;
  offsetMs: number;
  advanceable: boolean;
  advancedAt: Date | null;
}

export type AdvanceOutcome =
  | { kind: 'advanced'; from: Date; to: Date; clock: SandboxClockView; jobs: ClockDrivenRun[] }
  | { kind: 'unavailable' }
  | { kind: 'backwards'; now: Date; requested: Date };

@Injectable()
export class SandboxClockService {
  private readonly log = new Logger('SandboxClock');

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly sync: ClockSync,
    private readonly state: ClockStateRepository,
    private readonly audit: AuditService,
    private readonly jobs: JobsService,
  ) {}

  async view(): Promise<SandboxClockView> {
    if (!this.sync.enabled) return this.describe(null);
    await this.sync.refresh();
    const row = await this.state.read(this.db.reader);
    return this.describe(row.advancedAt);
  }

  /** Platform admins (the resolver's guard). */
  async advance(actor: Principal, to: Date): Promise<AdvanceOutcome> {
    if (Number.isNaN(to.getTime())) throw new BadInputError([{ field: 'to', message: 'to must be an ISO 8601 date-time, e.g. 2027-01-01T00:00:00Z' }]);
    // Each ended month is closed after an advance: a bound keeps one call's work (and the sandbox's story) sensible.
    if (to.getTime() > this.clock.realNow().getTime() + MAX_AHEAD_MS) {
      throw new BadInputError([{ field: 'to', message: `to must be at most ${MAX_AHEAD_YEARS} years after the real time` }]);
    }
    if (!this.sync.enabled) return { kind: 'unavailable' };
    const moved = await this.db.transaction(async (tx) => {
      // Serialises advances: the second waits here and compares with what the first wrote.
      const row = await this.state.lock(tx);
      const real = this.clock.realNow().getTime();
      const from = new Date(real + Math.max(row.offsetMs, this.clock.offsetMs));
      if (to.getTime() < from.getTime()) return { kind: 'backwards' as const, now: from, requested: to };
      const offsetMs = to.getTime() - real;
      const written = await this.state.advance(tx, offsetMs, actor.kind === 'user' ? actor.userId : null);
      if (!written) throw new Error('sandbox clock: the locked offset changed under the lock');
      await this.audit.record(tx, actor, {
        action: 'sandbox.clock_advanced',
        targetType: 'SandboxClock',
        targetId: null,
        data: { from: from.toISOString(), to: to.toISOString(), offsetMs },
      });
      afterCommit(tx, () => this.clock.adopt(offsetMs));
      return { kind: 'moved' as const, from };
    });
    if (moved.kind === 'backwards') return moved;
    this.log.log({ from: moved.from.toISOString(), to: to.toISOString() }, 'sandbox clock advanced');
    const jobs = await this.jobs.runBusinessTimeJobs();
    return { kind: 'advanced', from: moved.from, to, clock: await this.view(), jobs };
  }

  private describe(advancedAt: Date | null): SandboxClockView {
    const realTime = this.clock.realNow();
    const offsetMs = this.sync.enabled ? this.clock.offsetMs : 0;
    return { now: new Date(realTime.getTime() + offsetMs), realTime, offsetMs, advanceable: this.sync.enabled, advancedAt };
  }
}
