/**
 * The SQL of the pool distribution: what was paid into a plan's pool, the
 * period's pool usage from the rollups (usage_period_totals, one row per
 * agreement and month — never usage_events), and the stored results.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/**
 * pg_advisory_xact_lock(POOL_CLOSE_LOCK, hashtext(name/currency)): one
 * distribution of a plan at a time — of all the versions of the plan, since a
 * distribution nets the clawback of every version's earlier distributions.
 */
export const POOL_CLOSE_LOCK = 7_340_901;

/** What the distribution needs of a plan version. */
export interface PoolPlanTerms {
  id: string;
  name: string;
  version: number;
  currency: string;
  distribution: 'PRO_RATA' | 'USER_CENTRIC';
  minimumTokensToEarn: bigint;
  platformFeeBps: number;
}

export interface PoolContributionRow {
  subscriptionId: string;
  distillerOrganizationId: string;
  period: string;
  /** Paid, less anything refunded (or lost in a dispute) before the distribution. */
  amountMinor: bigint;
}

/** A refund of an already distributed subscription period that no distribution has netted yet. */
export interface PoolClawbackRow {
  subscriptionId: string;
  distillerOrganizationId: string;
  /** The period whose pool (`pool:<period>`) the refund debited. */
  period: string;
  invoiceId: string;
  amountMinor: bigint;
}

/** Which model a vendor entry of a pool posting is for (by its position in the posting's lines). */
export interface PoolLedgerAttribution {
  /** 0-based index in the posted lines (the entry's line_no − 1). */
  index: number;
  role: 'SHARE' | 'HELD' | 'ROYALTY_PAID' | 'ROYALTY_RECEIVED';
  modelId: string;
  agreementId: string | null;
  counterpartyOrganizationId: string | null;
}

export interface PoolUsageRow {
  distillerOrganizationId: string;
  modelId: string;
  vendorOrganizationId: string;
  tokens: bigint;
}

export interface DistributionRow {
  planId: string;
  period: string;
  currency: string;
  distribution: string;
  grossMinor: bigint;
  feeMinor: bigint;
  distributedMinor: bigint;
  carriedMinor: bigint;
  /** Refunds of earlier distributed periods netted by this distribution (off the gross before the fee). */
  clawbackMinor: bigint;
  /** Outstanding clawback this distribution could not net (beyond its gross): the following one nets it. */
  clawbackCarriedMinor: bigint;
  remainderMinor: bigint;
  totalEligibleTokens: bigint;
  minimumTokensToEarn: bigint;
  platformFeeBps: number;
  ledgerReference: string | null;
  closedAt: Date;
}

export interface DistributionLineRow {
  modelId: string;
  modelName: string;
  vendorOrganizationId: string;
  tokens: bigint;
  eligible: boolean;
  amountMinor: bigint;
  flags: string[];
  held: boolean;
  releasedAt: Date | null;
}

export interface DistributionSubscriberRow {
  distillerOrganizationId: string;
  paidMinor: bigint;
  netMinor: bigint;
  eligibleTokens: bigint;
  toRemainder: boolean;
}

/**
 * What a PAID POOL invoice `i` still holds in its pool: paid less refunded
 * less disputes lost (both take the money back out of `pool:<period>`).
 */
const STILL_HELD = `greatest(i.total_minor - i.amount_refunded_minor
  - coalesce((SELECT sum(x.amount_minor) FROM invoice_disputes x WHERE x.invoice_id = i.id AND x.status = 'LOST'), 0), 0)::text`;

type Raw = Record<string, unknown>;
const big = (v: unknown): bigint => BigInt(v as string);

@Injectable()
export class PoolDistributionRepository {
  /** The statement timeout of the rest of the transaction, in ms (0: none). */
  async setStatementTimeout(tx: EntityManager, ms: number): Promise<void> {
    await tx.query(`SET LOCAL statement_timeout = ${Math.max(0, Math.trunc(ms))}`);
  }

  async lockPlan(tx: EntityManager, planId: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock($1, hashtext(p.name || '/' || p.currency)) FROM pool_plans p WHERE p.id = $2`, [POOL_CLOSE_LOCK, planId]);
  }

  async planIdsFor(em: EntityManager, period: string): Promise<string[]> {
    const rows: { plan_id: string }[] = await em.query(
      `SELECT DISTINCT plan_id FROM pool_subscription_periods WHERE period <= $1 AND distributed_period IS NULL
       UNION SELECT DISTINCT plan_id FROM pool_subscription_periods WHERE period = $1 ORDER BY 1`,
      [period],
    );
    return rows.map((r) => r.plan_id);
  }

  /** The earliest period of a subscription period not distributed whose plan has not closed that period (the undistributed index). */
  async firstUndistributedPeriod(em: EntityManager): Promise<string | null> {
    const [r]: { period: string | null }[] = await em.query(
      `SELECT min(sp.period) AS period FROM pool_subscription_periods sp
        WHERE sp.distributed_period IS NULL
          AND NOT EXISTS (SELECT 1 FROM pool_distributions d WHERE d.plan_id = sp.plan_id AND d.period = sp.period)`,
    );
    return r?.period ?? null;
  }

  async plan(em: EntityManager, planId: string): Promise<PoolPlanTerms | null> {
    const [r]: Raw[] = await em.query(
      `SELECT id, name, version, currency, distribution, minimum_tokens_to_earn::text, platform_fee_bps FROM pool_plans WHERE id = $1`,
      [planId],
    );
    return r
      ? {
          id: r.id as string,
          name: r.name as string,
          version: r.version as number,
          currency: (r.currency as string).trim(),
          distribution: r.distribution as 'PRO_RATA' | 'USER_CENTRIC',
          minimumTokensToEarn: big(r.minimum_tokens_to_earn),
          platformFeeBps: r.platform_fee_bps as number,
        }
      : null;
  }

  async existing(em: EntityManager, planId: string, period: string): Promise<DistributionRow | null> {
    const [r]: Raw[] = await em.query(`SELECT * FROM pool_distributions WHERE plan_id = $1 AND period = $2`, [planId, period]);
    return r ? toDistribution(r) : null;
  }

  /**
   * What subscribers paid into the plan for this or an earlier period and has
   * not been distributed yet (a payment that arrived after its period was
   * distributed joins the next distribution). Unpaid invoices are left out.
   */
  async contributions(tx: EntityManager, planId: string, period: string): Promise<PoolContributionRow[]> {
    const rows: Raw[] = await tx.query(
      `SELECT sp.subscription_id, s.distiller_organization_id, sp.period, ${STILL_HELD} AS amount
         FROM pool_subscription_periods sp
         JOIN invoices i ON i.id = sp.invoice_id AND i.status = 'PAID'
         JOIN pool_subscriptions s ON s.id = sp.subscription_id
        WHERE sp.plan_id = $1 AND sp.period <= $2 AND sp.distributed_period IS NULL
        ORDER BY sp.subscription_id, sp.period
        FOR UPDATE OF sp`,
      [planId, period],
    );
    return rows.map((r) => ({
      subscriptionId: r.subscription_id as string,
      distillerOrganizationId: r.distiller_organization_id as string,
      period: r.period as string,
      amountMinor: big(r.amount),
    }));
  }

  /**
   * Refunds (and disputes lost) not netted yet of subscription periods
   * already distributed by any version of the plan (name, currency): per
   * period, what the distribution took less what the invoice still holds
   * (paid − refunded − lost now) less what earlier distributions netted. Read under the plan's lock, which
   * every distribution that nets takes, so two distributions never net one
   * refund; a refund committing after this read is netted by the next one.
   */
  async outstandingClawbacks(tx: EntityManager, planId: string): Promise<PoolClawbackRow[]> {
    const rows: Raw[] = await tx.query(
      `SELECT sp.subscription_id, s.distiller_organization_id, sp.period, sp.invoice_id,
              (sp.distributed_minor - ${STILL_HELD}::bigint - sp.clawed_back_minor)::text AS amount
         FROM pool_plans me
         JOIN pool_plans dp ON dp.name = me.name AND dp.currency = me.currency
         JOIN pool_subscription_periods sp ON sp.distributed_plan_id = dp.id
         JOIN invoices i ON i.id = sp.invoice_id
         JOIN pool_subscriptions s ON s.id = sp.subscription_id
        WHERE me.id = $1 AND sp.distributed_minor - ${STILL_HELD}::bigint - sp.clawed_back_minor > 0
        ORDER BY sp.period, sp.subscription_id`,
      [planId],
    );
    return rows.map((r) => ({
      subscriptionId: r.subscription_id as string,
      distillerOrganizationId: r.distiller_organization_id as string,
      period: r.period as string,
      invoiceId: r.invoice_id as string,
      amountMinor: big(r.amount),
    }));
  }

  /** Records what a distribution netted of each subscription period's refunds. */
  async applyClawbacks(tx: EntityManager, planId: string, period: string, netted: readonly PoolClawbackRow[]): Promise<void> {
    if (netted.length === 0) return;
    const subs = netted.map((n) => n.subscriptionId);
    const periods = netted.map((n) => n.period);
    const amounts = netted.map((n) => n.amountMinor.toString());
    await tx.query(
      `UPDATE pool_subscription_periods sp SET clawed_back_minor = sp.clawed_back_minor + k.amount
         FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS k(sub, period, amount)
        WHERE sp.subscription_id = k.sub AND sp.period = k.period`,
      [subs, periods, amounts],
    );
    await tx.query(
      `INSERT INTO pool_distribution_clawbacks (plan_id, period, subscription_id, from_period, invoice_id, amount_minor)
       SELECT $1, $2, * FROM unnest($3::uuid[], $4::text[], $5::uuid[], $6::bigint[])`,
      [planId, period, subs, periods, netted.map((n) => n.invoiceId), amounts],
    );
  }

  async insertAttributions(tx: EntityManager, reference: string, rows: readonly PoolLedgerAttribution[]): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `INSERT INTO pool_ledger_attributions (ledger_reference, line_no, role, model_id, agreement_id, counterparty_organization_id)
       SELECT $1, * FROM unnest($2::int[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[]) ON CONFLICT DO NOTHING`,
      [reference, rows.map((r) => r.index + 1), rows.map((r) => r.role), rows.map((r) => r.modelId), rows.map((r) => r.agreementId), rows.map((r) => r.counterpartyOrganizationId)],
    );
  }

  /** What a distribution netted, per subscription period (the statement's admin view). */
  async clawbacks(em: EntityManager, planId: string, period: string): Promise<PoolClawbackRow[]> {
    const rows: Raw[] = await em.query(
      `SELECT c.subscription_id, s.distiller_organization_id, c.from_period, c.invoice_id, c.amount_minor::text AS amount
         FROM pool_distribution_clawbacks c JOIN pool_subscriptions s ON s.id = c.subscription_id
        WHERE c.plan_id = $1 AND c.period = $2 ORDER BY c.from_period, c.subscription_id`,
      [planId, period],
    );
    return rows.map((r) => ({
      subscriptionId: r.subscription_id as string,
      distillerOrganizationId: r.distiller_organization_id as string,
      period: r.from_period as string,
      invoiceId: r.invoice_id as string,
      amountMinor: big(r.amount),
    }));
  }

  /**
   * Pool tokens of the period per (subscriber, teacher model), from the
   * monthly rollups of the pool agreements of the plan's subscriptions for
   * that period; models that left the pool by then are not in it.
   */
  async usage(em: EntityManager, planId: string, period: string, periodStart: Date): Promise<PoolUsageRow[]> {
    const rows: Raw[] = await em.query(
      `SELECT a.distiller_organization_id AS distiller, a.model_id, a.vendor_organization_id AS vendor,
              sum(t.input_tokens + t.output_tokens)::text AS tokens
         FROM pool_subscription_periods sp
         JOIN license_agreements a ON a.pool_subscription_id = sp.subscription_id
         JOIN usage_period_totals t ON t.agreement_id = a.id AND t.period_start = $3
        WHERE sp.plan_id = $1 AND sp.period = $2
          AND NOT EXISTS (SELECT 1 FROM pool_exits e WHERE e.model_id = a.model_id AND e.from_period <= $2)
        GROUP BY a.distiller_organization_id, a.model_id, a.vendor_organization_id`,
      [planId, period, periodStart.toISOString()],
    );
    return rows.map((r) => ({
      distillerOrganizationId: r.distiller as string,
      modelId: r.model_id as string,
      vendorOrganizationId: r.vendor as string,
      tokens: big(r.tokens),
    }));
  }

  async insertDistribution(tx: EntityManager, d: Omit<DistributionRow, 'closedAt'>, closedAt: Date): Promise<void> {
    await tx.query(
      `INSERT INTO pool_distributions (plan_id, period, currency, distribution, gross_minor, fee_minor, distributed_minor, carried_minor,
                                       remainder_minor, total_eligible_tokens, minimum_tokens_to_earn, platform_fee_bps, ledger_reference, closed_at,
                                       clawback_minor, clawback_carried_minor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
      [d.planId, d.period, d.currency, d.distribution, d.grossMinor.toString(), d.feeMinor.toString(), d.distributedMinor.toString(), d.carriedMinor.toString(),
        d.remainderMinor.toString(), d.totalEligibleTokens.toString(), d.minimumTokensToEarn.toString(), d.platformFeeBps, d.ledgerReference, closedAt.toISOString(),
        d.clawbackMinor.toString(), d.clawbackCarriedMinor.toString()],
    );
  }

  async insertLines(tx: EntityManager, planId: string, period: string, lines: readonly Omit<DistributionLineRow, 'modelName' | 'releasedAt'>[]): Promise<void> {
    if (lines.length === 0) return;
    await tx.query(
      `INSERT INTO pool_distribution_lines (plan_id, period, model_id, vendor_organization_id, tokens, eligible, amount_minor, flags, held)
       SELECT $1, $2, t.model, t.vendor, t.tokens, t.eligible, t.amount, string_to_array(t.flags, ',')::text[], t.held
         FROM unnest($3::uuid[], $4::uuid[], $5::bigint[], $6::boolean[], $7::bigint[], $8::text[], $9::boolean[])
              AS t(model, vendor, tokens, eligible, amount, flags, held)`,
      [planId, period, lines.map((l) => l.modelId), lines.map((l) => l.vendorOrganizationId), lines.map((l) => l.tokens.toString()),
        lines.map((l) => l.eligible), lines.map((l) => l.amountMinor.toString()), lines.map((l) => l.flags.join(',')), lines.map((l) => l.held)],
    );
  }

  async insertSubscribers(tx: EntityManager, planId: string, period: string, rows: readonly DistributionSubscriberRow[]): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `INSERT INTO pool_distribution_subscribers (plan_id, period, distiller_organization_id, paid_minor, net_minor, eligible_tokens, to_remainder)
       SELECT $1, $2, * FROM unnest($3::uuid[], $4::bigint[], $5::bigint[], $6::bigint[], $7::boolean[])`,
      [planId, period, rows.map((r) => r.distillerOrganizationId), rows.map((r) => r.paidMinor.toString()), rows.map((r) => r.netMinor.toString()),
        rows.map((r) => r.eligibleTokens.toString()), rows.map((r) => r.toRemainder)],
    );
  }

  /** Marks the contributions distributed, each with the amount the distribution took (what later refunds are netted against). */
  async markDistributed(tx: EntityManager, planId: string, period: string, keys: readonly { subscriptionId: string; period: string; amountMinor: bigint }[]): Promise<void> {
    if (keys.length === 0) return;
    await tx.query(
      `UPDATE pool_subscription_periods sp SET distributed_plan_id = $1, distributed_period = $2, distributed_minor = k.amount
         FROM unnest($3::uuid[], $4::text[], $5::bigint[]) AS k(sub, period, amount)
        WHERE sp.subscription_id = k.sub AND sp.period = k.period`,
      [planId, period, keys.map((k) => k.subscriptionId), keys.map((k) => k.period), keys.map((k) => k.amountMinor.toString())],
    );
  }

  async lines(em: EntityManager, planId: string, period: string, vendorOrganizationId: string | null): Promise<DistributionLineRow[]> {
    const rows: Raw[] = await em.query(
      `SELECT l.*, m.name AS model_name FROM pool_distribution_lines l JOIN models m ON m.id = l.model_id
        WHERE l.plan_id = $1 AND l.period = $2 ${vendorOrganizationId ? 'AND l.vendor_organization_id = $3' : ''}
        ORDER BY l.amount_minor DESC, l.model_id`,
      vendorOrganizationId ? [planId, period, vendorOrganizationId] : [planId, period],
    );
    return rows.map(toLine);
  }

  async line(tx: EntityManager, planId: string, period: string, modelId: string): Promise<DistributionLineRow | null> {
    const [r]: Raw[] = await tx.query(
      `SELECT l.*, m.name AS model_name FROM pool_distribution_lines l JOIN models m ON m.id = l.model_id
        WHERE l.plan_id = $1 AND l.period = $2 AND l.model_id = $3 FOR UPDATE OF l`,
      [planId, period, modelId],
    );
    return r ? toLine(r) : null;
  }

  async markReleased(tx: EntityManager, planId: string, period: string, modelId: string, at: Date): Promise<void> {
    await tx.query(`UPDATE pool_distribution_lines SET released_at = $4 WHERE plan_id = $1 AND period = $2 AND model_id = $3`, [planId, period, modelId, at.toISOString()]);
  }

  async subscribers(em: EntityManager, planId: string, period: string, distillerOrganizationId: string | null): Promise<DistributionSubscriberRow[]> {
    const rows: Raw[] = await em.query(
      `SELECT * FROM pool_distribution_subscribers WHERE plan_id = $1 AND period = $2 ${distillerOrganizationId ? 'AND distiller_organization_id = $3' : ''}
        ORDER BY distiller_organization_id`,
      distillerOrganizationId ? [planId, period, distillerOrganizationId] : [planId, period],
    );
    return rows.map((r) => ({
      distillerOrganizationId: r.distiller_organization_id as string,
      paidMinor: big(r.paid_minor),
      netMinor: big(r.net_minor),
      eligibleTokens: big(r.eligible_tokens),
      toRemainder: r.to_remainder as boolean,
    }));
  }

  /** One subscriber's pool tokens of the period per teacher (for its USER_CENTRIC explanation), from the rollups. */
  async usageOf(em: EntityManager, planId: string, period: string, periodStart: Date, distillerOrganizationId: string): Promise<PoolUsageRow[]> {
    const rows: Raw[] = await em.query(
      `SELECT a.model_id, a.vendor_organization_id AS vendor, sum(t.input_tokens + t.output_tokens)::text AS tokens
         FROM pool_subscription_periods sp
         JOIN pool_subscriptions s ON s.id = sp.subscription_id AND s.distiller_organization_id = $4
         JOIN license_agreements a ON a.pool_subscription_id = sp.subscription_id
         JOIN usage_period_totals t ON t.agreement_id = a.id AND t.period_start = $3
        WHERE sp.plan_id = $1 AND sp.period = $2
        GROUP BY a.model_id, a.vendor_organization_id`,
      [planId, period, periodStart.toISOString(), distillerOrganizationId],
    );
    return rows.map((r) => ({ distillerOrganizationId, modelId: r.model_id as string, vendorOrganizationId: r.vendor as string, tokens: big(r.tokens) }));
  }

  /** The vendor organizations with a line in the distribution (for the statement's authorization). */
  async isVendorIn(em: EntityManager, planId: string, period: string, organizationId: string): Promise<boolean> {
    const [r]: unknown[] = await em.query(`SELECT 1 FROM pool_distribution_lines WHERE plan_id = $1 AND period = $2 AND vendor_organization_id = $3 LIMIT 1`, [planId, period, organizationId]);
    return r !== undefined;
  }
}

function toDistribution(r: Raw): DistributionRow {
  return {
    planId: r.plan_id as string,
    period: r.period as string,
    currency: (r.currency as string).trim(),
    distribution: r.distribution as string,
    grossMinor: big(r.gross_minor),
    feeMinor: big(r.fee_minor),
    distributedMinor: big(r.distributed_minor),
    carriedMinor: big(r.carried_minor),
    clawbackMinor: big(r.clawback_minor),
    clawbackCarriedMinor: big(r.clawback_carried_minor),
    remainderMinor: big(r.remainder_minor),
    totalEligibleTokens: big(r.total_eligible_tokens),
    minimumTokensToEarn: big(r.minimum_tokens_to_earn),
    platformFeeBps: r.platform_fee_bps as number,
    ledgerReference: (r.ledger_reference as string | null) ?? null,
    closedAt: new Date(r.closed_at as string),
  };
}

function toLine(r: Raw): DistributionLineRow {
  return {
    modelId: r.model_id as string,
    modelName: r.model_name as string,
    vendorOrganizationId: r.vendor_organization_id as string,
    tokens: big(r.tokens),
    eligible: r.eligible as boolean,
    amountMinor: big(r.amount_minor),
    flags: (r.flags as string[]) ?? [],
    held: r.held as boolean,
    releasedAt: r.released_at ? new Date(r.released_at as string) : null,
  };
}
