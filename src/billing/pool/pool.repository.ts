/**
 * The SQL of pool plans and subscriptions (billing's side of the pool).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { PoolDistributionMode, PoolOverage, PoolPlanRow, PoolPlanStatus, PoolSubscriptionRow, PoolSubscriptionStatus } from './pool.types';

/** Serialises renewals of pool subscriptions (any period): two renewals never invoice one subscription twice. */
export const POOL_RENEWAL_LOCK = 7_340_801;

type Raw = Record<string, unknown>;
const big = (v: unknown): bigint => BigInt(v as string);
const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string));

function planOf(r: Raw): PoolPlanRow {
  return {
    id: r.id as string,
    name: r.name as string,
    version: r.version as number,
    currency: (r.currency as string).trim(),
    monthlyFeeMinor: big(r.monthly_fee_minor),
    tokenAllowance: big(r.token_allowance),
    overage: r.overage as PoolOverage,
    overagePerMillionMinor: r.overage_per_million_minor === null ? null : big(r.overage_per_million_minor),
    distribution: r.distribution as PoolDistributionMode,
    minimumTokensToEarn: big(r.minimum_tokens_to_earn),
    platformFeeBps: r.platform_fee_bps as number,
    status: r.status as PoolPlanStatus,
    createdAt: date(r.created_at)!,
    retiredAt: date(r.retired_at),
  };
}

function subscriptionOf(r: Raw): PoolSubscriptionRow {
  return {
    id: r.id as string,
    planId: r.plan_id as string,
    distillerOrganizationId: r.distiller_organization_id as string,
    currency: (r.currency as string).trim(),
    status: r.status as PoolSubscriptionStatus,
    suspensionCause: (r.suspension_cause as string | null) ?? null,
    cancelAtPeriodEnd: r.cancel_at_period_end as boolean,
    startedAt: date(r.started_at)!,
    endedAt: date(r.ended_at),
  };
}

export interface NewPlan {
  name: string;
  currency: string;
  monthlyFeeMinor: bigint;
  tokenAllowance: bigint;
  overage: PoolOverage;
  overagePerMillionMinor: bigint | null;
  distribution: PoolDistributionMode;
  minimumTokensToEarn: bigint;
  platformFeeBps: number;
  createdByUserId: string | null;
}

export interface SubscriptionPeriodRow {
  subscriptionId: string;
  period: string;
  planId: string;
  invoiceId: string;
  feeMinor: bigint;
  overageTokens: bigint;
  overageMinor: bigint;
  invoiceStatus: string;
}

@Injectable()
export class PoolRepository {
  async lockRenewals(tx: EntityManager): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [POOL_RENEWAL_LOCK]);
  }

  /** The ACTIVE version of (name, currency), locked, or null. */
  async activeVersion(tx: EntityManager, name: string, currency: string): Promise<PoolPlanRow | null> {
    const [r]: Raw[] = await tx.query(`SELECT * FROM pool_plans WHERE name = $1 AND currency = $2 AND status = 'ACTIVE' FOR UPDATE`, [name, currency]);
    return r ? planOf(r) : null;
  }

  async lastVersion(tx: EntityManager, name: string, currency: string): Promise<number> {
    const [r]: { v: number | null }[] = await tx.query(`SELECT max(version) AS v FROM pool_plans WHERE name = $1 AND currency = $2`, [name, currency]);
    return r?.v ?? 0;
  }

  async supersede(tx: EntityManager, id: string): Promise<void> {
    await tx.query(`UPDATE pool_plans SET status = 'SUPERSEDED' WHERE id = $1 AND status = 'ACTIVE'`, [id]);
  }

  async insertPlan(tx: EntityManager, p: NewPlan, version: number): Promise<PoolPlanRow> {
    const [r]: Raw[] = await tx.query(
      `INSERT INTO pool_plans (name, version, currency, monthly_fee_minor, token_allowance, overage, overage_per_million_minor,
                               distribution, minimum_tokens_to_earn, platform_fee_bps, created_by_user_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
      [p.name, version, p.currency, p.monthlyFeeMinor.toString(), p.tokenAllowance.toString(), p.overage, p.overagePerMillionMinor?.toString() ?? null,
        p.distribution, p.minimumTokensToEarn.toString(), p.platformFeeBps, p.createdByUserId],
    );
    return planOf(r);
  }

  async plan(em: EntityManager, id: string, opts: { lock?: 'share' | 'update' } = {}): Promise<PoolPlanRow | null> {
    const lock = opts.lock === 'share' ? ' FOR SHARE' : opts.lock === 'update' ? ' FOR UPDATE' : '';
    const [r]: Raw[] = await em.query(`SELECT * FROM pool_plans WHERE id = $1${lock}`, [id]);
    return r ? planOf(r) : null;
  }

  async plans(em: EntityManager, includeInactive: boolean): Promise<PoolPlanRow[]> {
    const rows: Raw[] = await em.query(
      `SELECT * FROM pool_plans ${includeInactive ? '' : `WHERE status = 'ACTIVE'`} ORDER BY currency, name, version DESC`,
    );
    return rows.map(planOf);
  }

  async retire(tx: EntityManager, id: string, at: Date): Promise<void> {
    await tx.query(`UPDATE pool_plans SET status = 'RETIRED', retired_at = $2 WHERE id = $1`, [id, at.toISOString()]);
  }

  /** The live subscription of the distiller in the currency (FOR SHARE / FOR UPDATE when asked). */
  async liveSubscription(em: EntityManager, distillerOrganizationId: string, currency: string, lock: 'share' | 'update' | null): Promise<PoolSubscriptionRow | null> {
    const l = lock === 'share' ? ' FOR SHARE' : lock === 'update' ? ' FOR UPDATE' : '';
    const [r]: Raw[] = await em.query(
      `SELECT * FROM pool_subscriptions WHERE distiller_organization_id = $1 AND currency = $2 AND status IN ('ACTIVE', 'SUSPENDED')${l}`,
      [distillerOrganizationId, currency],
    );
    return r ? subscriptionOf(r) : null;
  }

  async subscription(em: EntityManager, id: string, lock = false): Promise<PoolSubscriptionRow | null> {
    const [r]: Raw[] = await em.query(`SELECT * FROM pool_subscriptions WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    return r ? subscriptionOf(r) : null;
  }

  async subscriptionsOf(em: EntityManager, distillerOrganizationId: string): Promise<PoolSubscriptionRow[]> {
    const rows: Raw[] = await em.query(`SELECT * FROM pool_subscriptions WHERE distiller_organization_id = $1 ORDER BY created_at DESC, id`, [distillerOrganizationId]);
    return rows.map(subscriptionOf);
  }

  async insertSubscription(tx: EntityManager, s: { planId: string; distillerOrganizationId: string; currency: string; startedAt: Date; createdByUserId: string | null }): Promise<PoolSubscriptionRow> {
    const [r]: Raw[] = await tx.query(
      `INSERT INTO pool_subscriptions (plan_id, distiller_organization_id, currency, status, started_at, created_by_user_id)
       VALUES ($1, $2, $3, 'ACTIVE', $4, $5) RETURNING *`,
      [s.planId, s.distillerOrganizationId, s.currency, s.startedAt.toISOString(), s.createdByUserId],
    );
    return subscriptionOf(r);
  }

  async setCancelAtPeriodEnd(tx: EntityManager, id: string): Promise<void> {
    await tx.query(`UPDATE pool_subscriptions SET cancel_at_period_end = true, updated_at = now() WHERE id = $1`, [id]);
  }

  async end(tx: EntityManager, id: string, at: Date): Promise<void> {
    await tx.query(`UPDATE pool_subscriptions SET status = 'ENDED', suspension_cause = NULL, ended_at = $2, updated_at = now() WHERE id = $1`, [id, at.toISOString()]);
  }

  async renewTo(tx: EntityManager, id: string, planId: string): Promise<void> {
    await tx.query(`UPDATE pool_subscriptions SET plan_id = $2, updated_at = now() WHERE id = $1`, [id, planId]);
  }

  /** ACTIVE → SUSPENDED (NON_PAYMENT) for the distiller's subscriptions; returns the ids. */
  async suspendForNonPayment(tx: EntityManager, distillerOrganizationId: string): Promise<string[]> {
    const [rows] = (await tx.query(
      `UPDATE pool_subscriptions SET status = 'SUSPENDED', suspension_cause = 'NON_PAYMENT', updated_at = now()
        WHERE distiller_organization_id = $1 AND status = 'ACTIVE' RETURNING id`,
      [distillerOrganizationId],
    )) as [{ id: string }[], number];
    return rows.map((r) => r.id);
  }

  async reinstateAfterPayment(tx: EntityManager, distillerOrganizationId: string): Promise<string[]> {
    const [rows] = (await tx.query(
      `UPDATE pool_subscriptions SET status = 'ACTIVE', suspension_cause = NULL, updated_at = now()
        WHERE distiller_organization_id = $1 AND status = 'SUSPENDED' AND suspension_cause = 'NON_PAYMENT' RETURNING id`,
      [distillerOrganizationId],
    )) as [{ id: string }[], number];
    return rows.map((r) => r.id);
  }

  /** The billing period row a POOL invoice names (invoices.period references it), once. */
  async ensureBillingPeriod(tx: EntityManager, p: { period: string; start: Date; end: Date }): Promise<void> {
    await tx.query(
      `INSERT INTO billing_periods (period, period_start, period_end) VALUES ($1, $2, $3) ON CONFLICT (period) DO NOTHING`,
      [p.period, p.start.toISOString(), p.end.toISOString()],
    );
  }

  async insertPeriod(
    tx: EntityManager,
    r: { subscriptionId: string; period: string; planId: string; invoiceId: string; feeMinor: bigint; daysCovered: number; daysInPeriod: number; overageTokens: bigint; overageMinor: bigint },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO pool_subscription_periods (subscription_id, period, plan_id, invoice_id, fee_minor, days_covered, days_in_period, overage_tokens, overage_minor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [r.subscriptionId, r.period, r.planId, r.invoiceId, r.feeMinor.toString(), r.daysCovered, r.daysInPeriod, r.overageTokens.toString(), r.overageMinor.toString()],
    );
  }

  async periodsOf(em: EntityManager, subscriptionId: string): Promise<SubscriptionPeriodRow[]> {
    const rows: Raw[] = await em.query(
      `SELECT sp.*, i.status AS invoice_status FROM pool_subscription_periods sp JOIN invoices i ON i.id = sp.invoice_id
        WHERE sp.subscription_id = $1 ORDER BY sp.period`,
      [subscriptionId],
    );
    return rows.map((r) => ({
      subscriptionId: r.subscription_id as string,
      period: r.period as string,
      planId: r.plan_id as string,
      invoiceId: r.invoice_id as string,
      feeMinor: big(r.fee_minor),
      overageTokens: big(r.overage_tokens),
      overageMinor: big(r.overage_minor),
      invoiceStatus: r.invoice_status as string,
    }));
  }

  /** Live subscriptions (ACTIVE or SUSPENDED) started before `before` without a row for `period`: what a renewal into `period` must invoice. */
  async toRenew(tx: EntityManager, period: string, before: Date): Promise<PoolSubscriptionRow[]> {
    const rows: Raw[] = await tx.query(
      `SELECT s.* FROM pool_subscriptions s
        WHERE s.status IN ('ACTIVE', 'SUSPENDED') AND s.started_at < $2
          AND NOT EXISTS (SELECT 1 FROM pool_subscription_periods sp WHERE sp.subscription_id = s.id AND sp.period = $1)
        ORDER BY s.id`,
      [period, before.toISOString()],
    );
    return rows.map(subscriptionOf);
  }

  async hasPeriod(em: EntityManager, subscriptionId: string, period: string): Promise<boolean> {
    const [r]: unknown[] = await em.query(`SELECT 1 FROM pool_subscription_periods WHERE subscription_id = $1 AND period = $2`, [subscriptionId, period]);
    return r !== undefined;
  }

  /** Tokens (input + output) of the subscription's pool agreements in the month starting at `periodStart`, from the rollups. */
  async pooledTokens(em: EntityManager, subscriptionId: string, periodStart: Date): Promise<bigint> {
    const [r]: { n: string }[] = await em.query(
      `SELECT coalesce(sum(t.input_tokens + t.output_tokens), 0)::text AS n
         FROM license_agreements a JOIN usage_period_totals t ON t.agreement_id = a.id AND t.period_start = $2
        WHERE a.pool_subscription_id = $1`,
      [subscriptionId, periodStart.toISOString()],
    );
    return BigInt(r.n);
  }

  async exitOf(em: EntityManager, modelId: string): Promise<{ fromPeriod: string } | null> {
    const [r]: { from_period: string }[] = await em.query(`SELECT from_period FROM pool_exits WHERE model_id = $1`, [modelId]);
    return r ? { fromPeriod: r.from_period } : null;
  }

  async insertExit(tx: EntityManager, modelId: string, fromPeriod: string, userId: string | null, at: Date): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      `INSERT INTO pool_exits (model_id, from_period, requested_by_user_id, requested_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (model_id) DO NOTHING RETURNING model_id`,
      [modelId, fromPeriod, userId, at.toISOString()],
    );
    return rows.length > 0;
  }
}
