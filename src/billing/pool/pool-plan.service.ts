/**
 * Pool plans (platform admins): created versioned by (name, currency) — a new
 * plan under an existing name supersedes the ACTIVE version (subscribers keep
 * theirs until renewal, then move to the newest) — and retired (no new
 * subscriptions, no renewals). Vendors leave the pool per model, from the
 * next period.
 */
import { Injectable } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { CatalogService } from '../../catalog/catalog.service';
import { AccessService } from '../../identity/access.service';
import { Principal } from '../../platform/auth/principal';
import { Clock } from '../../platform/clock/clock';
import { Database } from '../../platform/database/transaction';
import { BadInputError, FieldError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { decimalIntegerProblem } from '../../platform/validation/decimal-integer';
import { isCurrencyCode } from '../../platform/validation/iso-codes';
import { nextPeriod, periodOf } from '../billing-period';
import { PoolRepository } from './pool.repository';
import { PoolDistributionMode, PoolOverage, PoolPlanRow, PoolPlanStatus } from './pool.types';

export interface CreatePoolPlanInput {
  name: string;
  currency: string;
  monthlyFeeMinor: string;
  tokenAllowance: string;
  overage: PoolOverage;
  overagePerMillionMinor?: string | null;
  distribution: PoolDistributionMode;
  minimumTokensToEarn: string;
  platformFeeBps: number;
}

export type RetireOutcome = { kind: 'retired'; plan: PoolPlanRow } | { kind: 'already-retired'; plan: PoolPlanRow };

@Injectable()
export class PoolPlanService {
  constructor(
    private readonly db: Database,
    private readonly repo: PoolRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly access: AccessService,
    private readonly catalog: CatalogService,
  ) {}

  /** Platform admins (the resolver checks). */
  async create(actor: Principal, input: CreatePoolPlanInput): Promise<{ plan: PoolPlanRow; superseded: PoolPlanRow | null }> {
    const errors: FieldError[] = [];
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (name.length < 1 || name.length > 100) errors.push({ field: 'name', message: 'name must be 1 to 100 characters' });
    if (!isCurrencyCode(input.currency)) errors.push({ field: 'currency', message: 'currency must be an ISO 4217 code, upper-case (e.g. USD)' });
    const int = (field: keyof CreatePoolPlanInput, min: bigint): bigint => {
      const problem = decimalIntegerProblem(input[field], min);
      if (problem) {
        errors.push({ field, message: `${field} ${problem}` });
        return 0n;
      }
      return BigInt(input[field] as string);
    };
    const fee = int('monthlyFeeMinor', 1n);
    const allowance = int('tokenAllowance', 1n);
    const minimum = int('minimumTokensToEarn', 0n);
    let overagePrice: bigint | null = null;
    if (input.overage === PoolOverage.BILL) {
      if (input.overagePerMillionMinor === undefined || input.overagePerMillionMinor === null) errors.push({ field: 'overagePerMillionMinor', message: 'overagePerMillionMinor is required when overage is BILL' });
      else overagePrice = int('overagePerMillionMinor', 0n);
    } else if (input.overagePerMillionMinor !== undefined && input.overagePerMillionMinor !== null) {
      errors.push({ field: 'overagePerMillionMinor', message: 'overagePerMillionMinor is only for overage BILL' });
    }
    if (!Number.isInteger(input.platformFeeBps) || input.platformFeeBps < 0 || input.platformFeeBps > 10_000) {
      errors.push({ field: 'platformFeeBps', message: 'platformFeeBps must be an integer from 0 to 10000' });
    }
    if (errors.length > 0) throw new BadInputError(errors);

    return this.db.transaction(async (tx) => {
      const current = await this.repo.activeVersion(tx, name, input.currency);
      if (current) await this.repo.supersede(tx, current.id);
      const version = (await this.repo.lastVersion(tx, name, input.currency)) + 1;
      const plan = await this.repo.insertPlan(
        tx,
        {
          name,
          currency: input.currency,
          monthlyFeeMinor: fee,
          tokenAllowance: allowance,
          overage: input.overage,
          overagePerMillionMinor: overagePrice,
          distribution: input.distribution,
          minimumTokensToEarn: minimum,
          platformFeeBps: input.platformFeeBps,
          createdByUserId: actor.kind === 'user' ? actor.userId : null,
        },
        version,
      );
      await this.audit.record(tx, actor, {
        action: 'billing.pool_plan.created',
        targetType: 'PoolPlan',
        targetId: plan.id,
        data: {
          name, version, currency: plan.currency, monthlyFeeMinor: fee.toString(), tokenAllowance: allowance.toString(), overage: plan.overage,
          overagePerMillionMinor: overagePrice?.toString() ?? null, distribution: plan.distribution, minimumTokensToEarn: minimum.toString(),
          platformFeeBps: plan.platformFeeBps, supersedes: current?.id ?? null,
        },
      });
      return { plan, superseded: current ? { ...current, status: PoolPlanStatus.SUPERSEDED } : null };
    });
  }

  /** Platform admins. No new subscriptions, no renewals: every subscription ends at the end of its period. */
  async retire(actor: Principal, planId: string): Promise<RetireOutcome> {
    assertUuid('planId', planId);
    return this.db.transaction(async (tx) => {
      const plan = await this.repo.plan(tx, planId, { lock: 'update' });
      if (!plan) throw new NotFoundError('PoolPlan', planId);
      if (plan.status === PoolPlanStatus.RETIRED) return { kind: 'already-retired', plan };
      const at = this.clock.now();
      await this.repo.retire(tx, plan.id, at);
      await this.audit.record(tx, actor, { action: 'billing.pool_plan.retired', targetType: 'PoolPlan', targetId: plan.id, data: { name: plan.name, version: plan.version, from: plan.status } });
      return { kind: 'retired', plan: { ...plan, status: PoolPlanStatus.RETIRED, retiredAt: at } };
    });
  }

  /** Anyone signed in: the ACTIVE plans (admins may ask for every version). */
  async list(principal: Principal, includeInactive: boolean): Promise<PoolPlanRow[]> {
    return this.repo.plans(this.db.reader, includeInactive && principal.isAdmin);
  }

  async get(planId: string): Promise<PoolPlanRow> {
    assertUuid('planId', planId);
    const plan = await this.repo.plan(this.db.reader, planId);
    if (!plan) throw new NotFoundError('PoolPlan', planId);
    return plan;
  }

  /**
   * The model's vendor (write) takes it out of the pool from the next period:
   * its usage in this period still counts; from the next one its tokens earn
   * nothing from any plan, and new pool agreements on it are refused at once.
   * Idempotent (the first request's period stands).
   */
  async leavePool(actor: Principal, modelId: string): Promise<{ modelId: string; fromPeriod: string }> {
    assertUuid('modelId', modelId);
    return this.db.transaction(async (tx) => {
      const model = await this.catalog.findModelRef(tx, modelId, { lock: true });
      if (!model) throw new NotFoundError('Model', modelId);
      await this.access.requireOrganization(tx, actor, model.organizationId, 'write', { entity: 'Model', id: modelId });
      const existing = await this.repo.exitOf(tx, modelId);
      if (existing) return { modelId, fromPeriod: existing.fromPeriod };
      const now = this.clock.now();
      const fromPeriod = nextPeriod(periodOf(now)).period;
      await this.repo.insertExit(tx, modelId, fromPeriod, actor.kind === 'user' ? actor.userId : null, now);
      await this.audit.record(tx, actor, { action: 'billing.pool.left', targetType: 'Model', targetId: modelId, organizationId: model.organizationId, data: { fromPeriod } });
      return { modelId, fromPeriod };
    });
  }
}
