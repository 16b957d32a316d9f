/**
 * Closing a pool plan's period: the distribution (pool-distribution.ts)
 * written to the ledger and recorded for statements.
 *
 * - Inputs from the rollups only (usage_period_totals of the plan's pool
 *   agreements) and from what was actually paid: the POOL invoices of the
 *   plan that are PAID and not distributed yet, for this period or an earlier
 *   one (a late payment joins the next distribution; an unpaid subscription's
 *   usage earns nobody anything).
 * - One ledger transaction per plan and period (POOL_DISTRIBUTED, reference
 *   `pool:<plan>:<period>:distributed`): the pool of each contribution's
 *   period (`pool:<YYYY-MM>`) debited, the platform fee credited to
 *   platform:fees, each teacher's amount credited to its vendor's payable and
 *   run down the model's royalty stack (the same cascade as any revenue,
 *   fee 0 — the plan's fee is already taken), or, when a gaming flag holds
 *   it, credited to the vendor's held account until an admin releases it.
 * - Gaming flags: one subscriber supplying more than
 *   POOL_FLAG_SUBSCRIBER_SHARE_BPS of a teacher's pool tokens
 *   (CONCENTRATED_SUBSCRIBER), or a subscriber that owns the teacher
 *   (SELF_DEALING).
 * - Idempotent and safe under concurrent closes: each plan's close takes a
 *   transaction advisory lock on the plan and writes nothing when the
 *   (plan, period) distribution exists; the primary key and the ledger
 *   reference are the backstops.
 * - Nothing eligible used at all: no fee, no posting; the money stays in the
 *   pool, undistributed, for the next period (carried).
 * - Refunds after a distribution (clawback): each distributed subscription
 *   period records what the distribution took; a later refund of its invoice
 *   leaves `pool:<that period>` short (debited by the refund). The next
 *   distribution of the plan (any version) nets every such refund not netted
 *   yet: it comes off the gross before the fee, and the posting credits each
 *   old `pool:<period>` back by what it nets. A clawback larger than the
 *   gross takes the whole gross (teachers get nothing, never anything
 *   negative) and the rest waits for the following distribution. The
 *   outstanding amounts are read under the plan's lock (no two distributions
 *   net one refund); a refund that commits after that read is outstanding for
 *   the next distribution — netted exactly once either way.
 */
import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Accounts } from '../../ledger/accounts';
import { LedgerService, PostingLine } from '../../ledger/ledger.service';
import { Principal } from '../../platform/auth/principal';
import { Clock } from '../../platform/clock/clock';
import { AppConfig } from '../../platform/config/app-config';
import { Database, Tx } from '../../platform/database/transaction';
import { BadInputError, ConflictError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { BPS_WHOLE } from '../../platform/money/allocation';
import { RoyaltyLineages } from '../../provenance/lineage/royalty-lineages';
import { allocatePayment } from '../allocation/payment-allocation';
import { PoolCloseComputation, PoolCloseProgress, PoolFlagInputs } from './pool-close-computation.repository';
import { PoolDistribution } from './pool-distribution';
import { DistributionRow, PoolClawbackRow, PoolDistributionRepository, PoolLedgerAttribution, PoolUsageRow } from './pool-distribution.repository';

export const POOL_DISTRIBUTED = 'POOL_DISTRIBUTED';
export const POOL_EARNINGS_RELEASED = 'POOL_EARNINGS_RELEASED';

export enum PoolFlag {
  CONCENTRATED_SUBSCRIBER = 'CONCENTRATED_SUBSCRIBER',
  SELF_DEALING = 'SELF_DEALING',
}

export type PoolCloseOutcome =
  | { kind: 'closed'; distributions: Array<{ distribution: DistributionRow; createdNow: boolean }> }
  | { kind: 'not-ended'; period: string; currentPeriod: string };

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

function rangeOf(period: unknown): { period: string; start: Date; end: Date } {
  const m = typeof period === 'string' ? PERIOD.exec(period) : null;
  if (!m || Number(m[1]) < 2000) throw new BadInputError([{ field: 'period', message: 'period must be a month as YYYY-MM (UTC), e.g. 2026-10' }]);
  const start = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
  return { period: period as string, start, end: new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1)) };
}

/**
 * The gaming flags of a distribution (pure): per earning teacher,
 * CONCENTRATED_SUBSCRIBER when one paying subscriber supplied more than
 * `maxSubscriberShareBps` of its pool tokens (10000: never), SELF_DEALING
 * when a paying subscriber is the teacher's own vendor organization.
 */
export function poolFlagsOf(
  teachers: readonly { teacherId: string; tokens: bigint; eligible: boolean; amountMinor: bigint }[],
  inputs: ReadonlyMap<string, PoolFlagInputs>,
  maxSubscriberShareBps: number,
): Map<string, string[]> {
  const limit = BigInt(maxSubscriberShareBps);
  const out = new Map<string, string[]>();
  for (const t of teachers) {
    if (!t.eligible || t.amountMinor === 0n) continue;
    const i = inputs.get(t.teacherId);
    const f: string[] = [];
    if (limit < BPS_WHOLE && (i?.maxSubscriberTokens ?? 0n) * BPS_WHOLE > t.tokens * limit) f.push(PoolFlag.CONCENTRATED_SUBSCRIBER);
    if (i?.selfDealing) f.push(PoolFlag.SELF_DEALING);
    if (f.length > 0) out.set(t.teacherId, f);
  }
  return out;
}

/** The flags from the usage rows in memory (the reference for the set-based close, which aggregates the same inputs in SQL). */
export function poolFlags(d: PoolDistribution, usage: readonly PoolUsageRow[], maxSubscriberShareBps: number): Map<string, string[]> {
  const paying = new Set(d.subscribers.map((s) => s.subscriberId));
  const inputs = new Map<string, PoolFlagInputs>();
  for (const u of usage) {
    if (!paying.has(u.distillerOrganizationId) || u.tokens === 0n) continue;
    let i = inputs.get(u.modelId);
    if (!i) inputs.set(u.modelId, (i = { maxSubscriberTokens: 0n, selfDealing: false }));
    if (i.maxSubscriberTokens < u.tokens) i.maxSubscriberTokens = u.tokens;
    if (u.distillerOrganizationId === u.vendorOrganizationId) i.selfDealing = true;
  }
  return poolFlagsOf(d.teachers, inputs, maxSubscriberShareBps);
}

/**
 * Which outstanding refunds a clawback of `amount` nets (pure): the oldest
 * periods first (then by subscription id), the last one partly.
 */
export function nettedClawbacks(outstanding: readonly PoolClawbackRow[], amount: bigint): PoolClawbackRow[] {
  const out: PoolClawbackRow[] = [];
  let left = amount;
  for (const o of outstanding) {
    if (left <= 0n) break;
    const take = o.amountMinor < left ? o.amountMinor : left;
    out.push({ ...o, amountMinor: take });
    left -= take;
  }
  if (left !== 0n) throw new Error('clawback beyond what is outstanding');
  return out;
}

const monthOf = (t: Date) => `${t.getUTCFullYear()}-${String(t.getUTCMonth() + 1).padStart(2, '0')}`;

@Injectable()
export class PoolCloseService {
  private readonly log = new Logger('Pool');

  constructor(
    private readonly db: Database,
    private readonly repo: PoolDistributionRepository,
    private readonly ledger: LedgerService,
    private readonly lineages: RoyaltyLineages,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly computation: PoolCloseComputation,
  ) {}

  /** Distributes `period` for every plan with subscriptions in it (or money waiting). `actor` null = the job. */
  async close(actor: Principal | null, periodText: string): Promise<PoolCloseOutcome> {
    const p = rangeOf(periodText);
    const now = this.clock.now();
    if (p.end.getTime() > now.getTime()) return { kind: 'not-ended', period: p.period, currentPeriod: monthOf(now) };
    const out: Array<{ distribution: DistributionRow; createdNow: boolean }> = [];
    for (const planId of await this.repo.planIdsFor(this.db.reader, p.period)) out.push(await this.closePlan(actor, planId, p));
    return { kind: 'closed', distributions: out };
  }

  /** The earliest period with a subscription period whose plan has no distribution of it yet (null: none). */
  firstUndistributedPeriod(): Promise<string | null> {
    return this.repo.firstUndistributedPeriod(this.db.reader);
  }

  async closePlan(actor: Principal | null, planId: string, p: { period: string; start: Date }): Promise<{ distribution: DistributionRow; createdNow: boolean }> {
    return this.db.transaction(async (tx) => {
      // A big pool's close (and a close waiting for it on the plan's lock) runs longer than an API request may.
      await this.repo.setStatementTimeout(tx, this.config.poolCloseStatementTimeoutMs);
      await this.repo.lockPlan(tx, planId);
      const existing = await this.repo.existing(tx, planId, p.period);
      if (existing) return { distribution: existing, createdNow: false };
      const plan = await this.repo.plan(tx, planId);
      if (!plan) throw new NotFoundError('PoolPlan', planId);
      const progress = this.progress(plan.id, p.period);
      const contributions = await this.repo.contributions(tx, planId, p.period);
      const outstanding = await this.repo.outstandingClawbacks(tx, planId);
      progress('contributions', contributions.length);
      const d = await this.computation.compute(tx, plan, p, contributions, outstanding.reduce((sum, c) => sum + c.amountMinor, 0n), progress);
      const netted = nettedClawbacks(outstanding, d.clawbackMinor);
      const vendorOf = d.vendorOf;
      const flags = poolFlagsOf(d.teachers, d.flagInputs, this.config.poolFlagSubscriberShareBps);
      // Posted whenever the contributions are used up: by the teachers, the fee or a clawback.
      const reference = d.grossMinor - d.carriedMinor > 0n ? `pool:${plan.id}:${p.period}:distributed` : null;
      const row: Omit<DistributionRow, 'closedAt'> = {
        planId: plan.id,
        period: p.period,
        currency: plan.currency,
        distribution: plan.distribution,
        grossMinor: d.grossMinor,
        feeMinor: d.feeMinor,
        distributedMinor: d.distributedMinor,
        carriedMinor: d.carriedMinor,
        clawbackMinor: d.clawbackMinor,
        clawbackCarriedMinor: d.clawbackCarriedMinor,
        remainderMinor: d.remainderMinor,
        totalEligibleTokens: d.totalEligibleTokens,
        minimumTokensToEarn: plan.minimumTokensToEarn,
        platformFeeBps: plan.platformFeeBps,
        ledgerReference: reference,
      };
      const closedAt = this.clock.now();
      await this.repo.insertDistribution(tx, row, closedAt);
      await this.repo.insertLines(
        tx,
        plan.id,
        p.period,
        d.teachers.map((t) => {
          const f = flags.get(t.teacherId) ?? [];
          return { modelId: t.teacherId, vendorOrganizationId: vendorOf.get(t.teacherId)!, tokens: t.tokens, eligible: t.eligible, amountMinor: t.amountMinor, flags: f, held: f.length > 0 && t.amountMinor > 0n };
        }),
      );
      await this.computation.insertSubscribers(tx, plan.id, p.period, d);
      progress('lines and subscribers stored', d.teachers.length + d.subscriberCount);
      if (reference) {
        const attributions: PoolLedgerAttribution[] = [];
        const lines = await this.postingLines(tx, plan.currency, `${plan.name} v${plan.version} ${p.period}`, contributions, netted, d, vendorOf, flags, attributions);
        await this.ledger.post(tx, {
          reference,
          kind: POOL_DISTRIBUTED,
          occurredAt: closedAt,
          description: `Pool plan "${plan.name}" v${plan.version} (${plan.distribution}): distribution of ${p.period}`,
          lines,
          metadata: { planId: plan.id, period: p.period },
        });
        await this.repo.insertAttributions(tx, reference, attributions);
        await this.repo.markDistributed(tx, plan.id, p.period, contributions);
        await this.repo.applyClawbacks(tx, plan.id, p.period, netted);
        progress('ledger posted', lines.length);
      }
      await this.audit.record(tx, actor, {
        action: 'earnings.pool.distributed',
        targetType: 'PoolPlan',
        targetId: plan.id,
        data: {
          period: p.period, distribution: plan.distribution, grossMinor: d.grossMinor.toString(), feeMinor: d.feeMinor.toString(),
          distributedMinor: d.distributedMinor.toString(), carriedMinor: d.carriedMinor.toString(), teachers: d.teachers.length,
          clawbackMinor: d.clawbackMinor.toString(), clawbackCarriedMinor: d.clawbackCarriedMinor.toString(),
          flagged: [...flags.keys()], by: actor ? 'admin' : 'job',
        },
      });
      this.log.log({ planId: plan.id, period: p.period, gross: d.grossMinor.toString(), teachers: d.teachers.length, subscribers: d.subscriberCount }, 'pool distributed');
      return { distribution: { ...row, closedAt }, createdNow: true };
    });
  }

  /**
   * Progress lines of a close (phase, rows, ms of the phase): logged at
   * info once the close has run for a second (a big pool), debug before.
   */
  private progress(planId: string, period: string): PoolCloseProgress {
    // Durations, not business time: the monotonic clock.
    const started = performance.now();
    let last = started;
    return (phase, rows) => {
      const now = performance.now();
      const line = { planId, period, phase, rows: rows === null ? null : Number(rows), ms: Math.round(now - last), totalMs: Math.round(now - started) };
      last = now;
      if (line.totalMs >= 1000) this.log.log(line, 'pool close progress');
      else this.log.debug(line, 'pool close progress');
    };
  }

  /**
   * Platform admins: releases a held teacher's pool earnings (after review):
   * held → the vendor's payable, down the model's royalty stack. Idempotent.
   */
  async release(actor: Principal, planId: string, period: string, modelId: string): Promise<void> {
    assertUuid('planId', planId);
    assertUuid('modelId', modelId);
    rangeOf(period);
    await this.db.transaction(async (tx) => {
      await this.repo.lockPlan(tx, planId);
      const line = await this.repo.line(tx, planId, period, modelId);
      const plan = await this.repo.plan(tx, planId);
      if (!line || !plan) throw new NotFoundError('PoolDistributionLine', `${planId}/${period}/${modelId}`);
      if (!line.held) throw new ConflictError('These pool earnings are not held');
      if (line.releasedAt) return;
      const c = plan.currency;
      const memo = `pool ${plan.name} v${plan.version} ${period} released`;
      const lines: PostingLine[] = [{ account: Accounts.vendorHeld(line.vendorOrganizationId), currency: c, amountMinor: line.amountMinor, memo }];
      const attributions: PoolLedgerAttribution[] = [{ index: 0, role: 'HELD', modelId, agreementId: null, counterpartyOrganizationId: null }];
      await this.cascadeLines(tx, c, memo, [{ modelId, vendor: line.vendorOrganizationId, amount: line.amountMinor }], lines, attributions);
      const reference = `pool:${planId}:${period}:${modelId}:released`;
      await this.ledger.post(tx, {
        reference,
        kind: POOL_EARNINGS_RELEASED,
        description: `Held pool earnings of model ${line.modelName} (${period}) released after review`,
        lines,
        metadata: { planId, period, modelId },
      });
      await this.repo.insertAttributions(tx, reference, attributions);
      const now = this.clock.now();
      await this.repo.markReleased(tx, planId, period, modelId, now);
      await this.audit.record(tx, actor, {
        action: 'earnings.pool.released',
        targetType: 'PoolPlan',
        targetId: planId,
        organizationId: line.vendorOrganizationId,
        data: { period, modelId, amountMinor: line.amountMinor.toString(), flags: line.flags },
      });
    });
  }

  private async postingLines(
    tx: Tx,
    c: string,
    label: string,
    contributions: readonly { period: string; amountMinor: bigint }[],
    netted: readonly PoolClawbackRow[],
    d: Pick<PoolDistribution, 'feeMinor' | 'teachers'>,
    vendorOf: Map<string, string>,
    flags: Map<string, string[]>,
    attributions: PoolLedgerAttribution[],
  ): Promise<PostingLine[]> {
    const byPeriod = new Map<string, bigint>();
    for (const x of contributions) byPeriod.set(x.period, (byPeriod.get(x.period) ?? 0n) + x.amountMinor);
    const lines: PostingLine[] = [];
    // The clawback: each old pool credited back by the refunds netted now, from this distribution's contributions.
    for (const x of netted) byPeriod.set(x.period, (byPeriod.get(x.period) ?? 0n) - x.amountMinor);
    for (const [period, amount] of [...byPeriod].sort()) if (amount !== 0n) lines.push({ account: Accounts.pool(period), currency: c, amountMinor: amount, memo: `pool ${label}` });
    if (d.feeMinor !== 0n) lines.push({ account: Accounts.platformFees, currency: c, amountMinor: -d.feeMinor, memo: `pool ${label} platform fee` });
    const paid: Array<{ modelId: string; vendor: string; amount: bigint }> = [];
    for (const t of d.teachers) {
      if (t.amountMinor === 0n) continue;
      const vendor = vendorOf.get(t.teacherId)!;
      if (flags.has(t.teacherId)) {
        attributions.push({ index: lines.length, role: 'HELD', modelId: t.teacherId, agreementId: null, counterpartyOrganizationId: null });
        lines.push({ account: Accounts.vendorHeld(vendor), currency: c, amountMinor: -t.amountMinor, memo: `pool ${label} held for review (${flags.get(t.teacherId)!.join(', ')}), model ${t.teacherId}` });
      } else {
        paid.push({ modelId: t.teacherId, vendor, amount: t.amountMinor });
      }
    }
    await this.cascadeLines(tx, c, `pool ${label}`, paid, lines, attributions);
    return lines;
  }

  /**
   * Each teacher's amount credited to its vendor and run down its royalty
   * stack (no fee: the plan's is taken), appended to `lines`; each vendor
   * entry's model (and royalty agreement, other vendor) to `attributions`.
   */
  private async cascadeLines(
    tx: Tx,
    c: string,
    memo: string,
    teachers: readonly { modelId: string; vendor: string; amount: bigint }[],
    lines: PostingLine[],
    attributions: PoolLedgerAttribution[],
  ): Promise<void> {
    if (teachers.length === 0) return;
    const lineages = await this.lineages.lineagesOf(tx, teachers.map((t) => t.modelId));
    const byVendor = new Map<string, { vendorOrganizationId: string; feeBps: number; groups: Array<{ modelId: string; basis: 'REVENUE'; grossMinor: bigint; lineage: ReturnType<typeof lineages.get> | null }> }>();
    for (const t of teachers) {
      let v = byVendor.get(t.vendor);
      if (!v) byVendor.set(t.vendor, (v = { vendorOrganizationId: t.vendor, feeBps: 0, groups: [] }));
      v.groups.push({ modelId: t.modelId, basis: 'REVENUE', grossMinor: t.amount, lineage: lineages.get(t.modelId) ?? null });
    }
    const a = allocatePayment([...byVendor.values()].map((v) => ({ ...v, groups: v.groups.map((g) => ({ ...g, lineage: g.lineage ?? null })) })));
    for (const s of a.shares) {
      if (s.amount === 0n) continue;
      attributions.push({ index: lines.length, role: 'SHARE', modelId: s.modelId, agreementId: null, counterpartyOrganizationId: null });
      lines.push({ account: Accounts.vendorPayable(s.vendorOrganizationId), currency: c, amountMinor: -s.amount, memo: `${memo} share of model ${s.modelId}` });
    }
    for (const f of a.royalties) {
      const why = `${memo} royalty ${f.policy} ${f.shareBps} bps, agreement ${f.agreementId}, model ${f.payerModelId} to ${f.modelId}`;
      attributions.push({ index: lines.length, role: 'ROYALTY_PAID', modelId: f.payerModelId, agreementId: f.agreementId, counterpartyOrganizationId: f.organizationId });
      lines.push({ account: Accounts.vendorPayable(f.payerOrganizationId), currency: c, amountMinor: f.amount, memo: why });
      attributions.push({ index: lines.length, role: 'ROYALTY_RECEIVED', modelId: f.modelId, agreementId: f.agreementId, counterpartyOrganizationId: f.payerOrganizationId });
      lines.push({ account: Accounts.vendorPayable(f.organizationId), currency: c, amountMinor: -f.amount, memo: why });
    }
  }
}
