/**
 * The SQL of the period close, kept visible (hot queries are
 * reviewed as SQL). Every query reads the agreement-level rollups
 * (usage_period_totals, one row per agreement and month) and billing's own
 * tables — never usage_events — so a close costs per agreement, not per event.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AgreementStatus } from '../../licensing/license-agreement.entity';
import { PeriodRange } from '../billing-period';
import { BillingPeriodStatus } from '../billing.entity';
import { AgreementToRate, EarlierPeriod } from './period-rating';

/** One pg_advisory_xact_lock key for every close transaction of every period (see PeriodCloseService). */
export const BILLING_CLOSE_LOCK = 7_340_601;

export interface CurrencyTotal {
  currency: string;
  invoiceCount: number;
  totalMinor: bigint;
}

export interface PeriodStatusRow {
  status: BillingPeriodStatus;
  closedAt: Date | null;
}

@Injectable()
export class PeriodCloseRepository {
  /** Serializes every close transaction of every period (see PeriodCloseService). */
  async lockCloses(tx: EntityManager): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [BILLING_CLOSE_LOCK]);
  }

  async periodStatus(em: EntityManager, period: string): Promise<PeriodStatusRow | null> {
    const [row]: { status: BillingPeriodStatus; closed_at: Date | null }[] = await em.query(`SELECT status, closed_at FROM billing_periods WHERE period = $1`, [period]);
    return row ? { status: row.status, closedAt: row.closed_at ? new Date(row.closed_at) : null } : null;
  }

  /** The period's row, once (a concurrent or earlier call may have written it). */
  async startClose(em: EntityManager, p: PeriodRange, now: Date): Promise<void> {
    await em.query(
      `INSERT INTO billing_periods (period, period_start, period_end, close_started_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (period) DO NOTHING`,
      [p.period, p.start.toISOString(), p.end.toISOString(), now.toISOString()],
    );
  }

  /** `now`: business time (the platform Clock) — statements quote closed_at, which must not precede the period's end. */
  async markClosed(em: EntityManager, period: string, closedByUserId: string | null, invoiceCount: number, now: Date): Promise<void> {
    await em.query(
      `UPDATE billing_periods SET status = 'CLOSED', closed_at = $4, closed_by_user_id = $2, invoice_count = $3, updated_at = now()
        WHERE period = $1`,
      [period, closedByUserId, invoiceCount, now.toISOString()],
    );
  }

  /**
   * Distillers with something that may be billed at the close of `p`: an
   * agreement with usage in `p` or in an earlier month (late events of a closed
   * month are billed now), or a minimum commitment whose term began before the
   * end of `p`. Ordered, for chunking.
   */
  async candidateDistillers(em: EntityManager, p: PeriodRange): Promise<string[]> {
    const rows: { id: string }[] = await em.query(
      `SELECT DISTINCT a.distiller_organization_id AS id
         FROM license_agreements a
        WHERE a.pool_subscription_id IS NULL -- pool agreements are paid by the subscription
          AND (EXISTS (SELECT 1 FROM usage_period_totals t WHERE t.agreement_id = a.id AND t.period_start < $1)
           OR (a.starts_at < $1 AND a.status <> 'PENDING_PAYMENT'
               AND (a.pricing_snapshot ->> 'minimumCommitmentMinor')::numeric > 0))
        ORDER BY 1`,
      [p.end.toISOString()],
    );
    return rows.map((r) => r.id);
  }

  /** Distillers of the list that already have a PERIOD invoice for `period` (a previous or concurrent run wrote them). */
  async invoicedDistillers(em: EntityManager, period: string, distillers: readonly string[]): Promise<Set<string>> {
    const rows: { id: string }[] = await em.query(
      `SELECT DISTINCT distiller_organization_id AS id FROM invoices
        WHERE kind = 'PERIOD' AND period = $1 AND distiller_organization_id = ANY($2::uuid[])`,
      [period, distillers],
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Every agreement of the distillers with what rating needs: prices from the
   * accepted pricing snapshot, the term, the period's rollup (absent = no
   * usage), and for each earlier CLOSED month whose rollup differs from what
   * its lines billed, both sides (billed = usage + adjustment lines of that
   * month, whatever the invoice's status: a voided invoice was forgiven, not
   * left to be billed again) and the net true-up billed for it.
   */
  async agreementsToRate(em: EntityManager, distillers: readonly string[], p: PeriodRange): Promise<AgreementToRate[]> {
    const rows: Array<{
      id: string; distiller: string; vendor: string; model_id: string; model_name: string; status: AgreementStatus;
      starts_at: Date; ends_at: Date | null; status_changed_at: Date; currency: string; input_price: string; output_price: string;
      minimum: string; input_tokens: string | null; output_tokens: string | null; overage_tokens: string | null;
    }> = await em.query(
      `SELECT a.id, a.distiller_organization_id AS distiller, a.vendor_organization_id AS vendor, a.model_id, m.name AS model_name,
              a.status, a.starts_at, a.ends_at, a.status_changed_at,
              a.pricing_snapshot ->> 'currency' AS currency,
              a.pricing_snapshot ->> 'inputPerMillionMinor' AS input_price,
              a.pricing_snapshot ->> 'outputPerMillionMinor' AS output_price,
              a.pricing_snapshot ->> 'minimumCommitmentMinor' AS minimum,
              t.input_tokens::text, t.output_tokens::text, t.overage_tokens::text
         FROM license_agreements a
         JOIN models m ON m.id = a.model_id
         LEFT JOIN usage_period_totals t ON t.agreement_id = a.id AND t.period_start = $2
        WHERE a.distiller_organization_id = ANY($1::uuid[]) AND a.pool_subscription_id IS NULL
        ORDER BY a.distiller_organization_id, a.accepted_at, a.id`,
      [distillers, p.start.toISOString()],
    );
    if (rows.length === 0) return [];
    const earlier = await this.earlierPeriods(em, rows.map((r) => r.id), p);
    return rows.map((r): AgreementToRate => ({
      id: r.id,
      distillerOrganizationId: r.distiller,
      vendorOrganizationId: r.vendor,
      modelId: r.model_id,
      modelName: r.model_name,
      currency: r.currency,
      inputPrice: BigInt(r.input_price),
      outputPrice: BigInt(r.output_price),
      minimumCommitment: BigInt(r.minimum),
      termStart: new Date(r.starts_at),
      termEnd: termEnd(r.status, r.ends_at === null ? null : new Date(r.ends_at), new Date(r.status_changed_at)),
      commitmentApplies: r.status !== AgreementStatus.PENDING_PAYMENT,
      usage:
        r.input_tokens === null
          ? null
          : { input: BigInt(r.input_tokens), output: BigInt(r.output_tokens!), overage: BigInt(r.overage_tokens!) },
      earlier: earlier.get(r.id) ?? [],
    }));
  }

  private async earlierPeriods(em: EntityManager, agreementIds: readonly string[], p: PeriodRange): Promise<Map<string, EarlierPeriod[]>> {
    const rows: Array<{
      agreement_id: string; period: string; input_tokens: string; output_tokens: string; overage_tokens: string;
      billed_input: string; billed_output: string; billed_overage: string; true_up: string;
    }> = await em.query(
      `SELECT t.agreement_id, bp.period, t.input_tokens::text, t.output_tokens::text, t.overage_tokens::text,
              coalesce(b.billed_input, 0)::text AS billed_input, coalesce(b.billed_output, 0)::text AS billed_output,
              coalesce(b.billed_overage, 0)::text AS billed_overage, coalesce(b.true_up, 0)::text AS true_up
         FROM usage_period_totals t
         JOIN billing_periods bp ON bp.period_start = t.period_start AND bp.status = 'CLOSED'
         LEFT JOIN LATERAL (
           SELECT sum(l.quantity) FILTER (WHERE l.kind IN ('USAGE_INPUT', 'ADJUSTMENT_INPUT')) AS billed_input,
                  sum(l.quantity) FILTER (WHERE l.kind IN ('USAGE_OUTPUT', 'ADJUSTMENT_OUTPUT')) AS billed_output,
                  sum(l.overage_tokens) AS billed_overage,
                  sum(l.amount_minor) FILTER (WHERE l.kind = 'MINIMUM_COMMITMENT_TRUE_UP') AS true_up
             FROM invoice_lines l
            WHERE l.agreement_id = t.agreement_id AND l.usage_period = bp.period
         ) b ON true
        WHERE t.agreement_id = ANY($1::uuid[]) AND t.period_start < $2
          AND (t.input_tokens <> coalesce(b.billed_input, 0) OR t.output_tokens <> coalesce(b.billed_output, 0))`,
      [agreementIds, p.start.toISOString()],
    );
    const out = new Map<string, EarlierPeriod[]>();
    for (const r of rows) {
      const list = out.get(r.agreement_id) ?? [];
      list.push({
        period: r.period,
        rollup: { input: BigInt(r.input_tokens), output: BigInt(r.output_tokens), overage: BigInt(r.overage_tokens) },
        billed: { input: BigInt(r.billed_input), output: BigInt(r.billed_output), overage: BigInt(r.billed_overage) },
        trueUpBilled: BigInt(r.true_up) > 0n ? BigInt(r.true_up) : 0n,
      });
      out.set(r.agreement_id, list);
    }
    return out;
  }

  /** The first month (UTC) any agreement started in, or null when there is none. */
  async firstAgreementStart(em: EntityManager): Promise<Date | null> {
    const [row]: { first: Date | null }[] = await em.query(`SELECT min(starts_at) AS first FROM license_agreements`);
    return row?.first ? new Date(row.first) : null;
  }

  async closedPeriodsBetween(em: EntityManager, fromPeriod: string, beforePeriod: string): Promise<Set<string>> {
    const rows: { period: string }[] = await em.query(
      `SELECT period FROM billing_periods WHERE status = 'CLOSED' AND period >= $1 AND period < $2`,
      [fromPeriod, beforePeriod],
    );
    return new Set(rows.map((r) => r.period));
  }

  async totalsOf(em: EntityManager, period: string): Promise<CurrencyTotal[]> {
    const rows: { currency: string; n: number; total: string }[] = await em.query(
      `SELECT currency, count(*)::int AS n, sum(total_minor)::text AS total
         FROM invoices WHERE kind = 'PERIOD' AND period = $1 GROUP BY currency ORDER BY currency`,
      [period],
    );
    return rows.map((r) => ({ currency: r.currency, invoiceCount: r.n, totalMinor: BigInt(r.total) }));
  }
}

/**
 * When the term stopped for the minimum commitment: a terminated agreement at
 * its termination (or its end, if earlier), an expired one at its end.
 */
function termEnd(status: AgreementStatus, endsAt: Date | null, changedAt: Date): Date | null {
  if (status === AgreementStatus.TERMINATED) return endsAt && endsAt < changedAt ? endsAt : changedAt;
  if (status === AgreementStatus.EXPIRED) return endsAt ?? changedAt;
  return endsAt;
}
