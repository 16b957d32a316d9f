/**
 * The SQL of usage proofs: which events a closed period billed for an
 * agreement, read page by page in primary-key order (agreement_id, event_id —
 * event_id is COLLATE "C", so this is byte order), never all at once.
 *
 * "Billed at the close of P" (see usage-merkle.service.ts for why):
 *   received_at ≤ closed_at(P), and either
 *   - occurred_at in P, or
 *   - occurred_at in an earlier closed month, and received_at > closed_at of
 *     the month before P (a late event: billed as an adjustment at the first
 *     close after it arrived).
 * Every bound is read from billing_periods inside the statement (timestamps
 * keep their microseconds; they never round-trip through a JS Date).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface AgreementParties {
  distillerOrganizationId: string;
  vendorOrganizationId: string;
}

export interface PeriodState {
  status: string;
  closedAt: string | null;
}

/** One billed event, every value as the leaf needs it (text). */
export interface BilledEventRow {
  event_id: string;
  occurred_at: string;
  input_tokens: string;
  output_tokens: string;
  source: 'GATEWAY' | 'REPORTED';
}

export interface EventPosition {
  /** Events billed in the period for the agreement. */
  treeSize: number;
  /** Billed events whose id sorts before the asked one. */
  before: number;
  /** Whether the asked event is one of them. */
  billed: boolean;
}

/** The period's bounds, computed in SQL: P must be CLOSED, or nothing is billed. */
const BOUNDS = `
  b AS (
    SELECT p.period_start AS start_at, p.period_end AS end_at, p.closed_at,
           (SELECT q.closed_at FROM billing_periods q WHERE q.period_end = p.period_start AND q.status = 'CLOSED') AS prev_closed_at,
           (SELECT min(q.period_start) FROM billing_periods q WHERE q.status = 'CLOSED') AS first_closed_start
      FROM billing_periods p
     WHERE p.period = $2 AND p.status = 'CLOSED')`;

const BILLED = `
  e.received_at <= b.closed_at
  AND ((e.occurred_at >= b.start_at AND e.occurred_at < b.end_at)
       OR (e.occurred_at >= b.first_closed_start AND e.occurred_at < b.start_at AND e.received_at > b.prev_closed_at))`;

@Injectable()
export class UsageProofsRepository {
  async agreementParties(em: EntityManager, agreementId: string): Promise<AgreementParties | null> {
    const [row]: { distiller: string; vendor: string }[] = await em.query(
      `SELECT distiller_organization_id AS distiller, vendor_organization_id AS vendor FROM license_agreements WHERE id = $1`,
      [agreementId],
    );
    return row ? { distillerOrganizationId: row.distiller, vendorOrganizationId: row.vendor } : null;
  }

  async periodState(em: EntityManager, period: string): Promise<PeriodState | null> {
    const [row]: { status: string; closed_at: string | null }[] = await em.query(
      `SELECT status, closed_at::text AS closed_at FROM billing_periods WHERE period = $1`,
      [period],
    );
    return row ? { status: row.status, closedAt: row.closed_at } : null;
  }

  /**
   * Up to `limit` billed events with event_id > `after` (byte order), in
   * order: one range scan of the primary key per page.
   */
  async billedEventsPage(em: EntityManager, agreementId: string, period: string, after: string, limit: number): Promise<BilledEventRow[]> {
    return em.query(
      `WITH ${BOUNDS}
       SELECT e.event_id,
              to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at,
              e.input_tokens::text AS input_tokens, e.output_tokens::text AS output_tokens, e.source
         FROM usage_events e, b
        WHERE e.agreement_id = $1 AND e.event_id > $3 AND ${BILLED}
        ORDER BY e.event_id
        LIMIT $4`,
      [agreementId, period, after, limit],
    );
  }

  /** Where `eventId` sits among the period's billed events of the agreement. */
  async eventPosition(em: EntityManager, agreementId: string, period: string, eventId: string): Promise<EventPosition> {
    const [row]: { n: string; before: string; billed: boolean }[] = await em.query(
      `WITH ${BOUNDS}
       SELECT count(*)::text AS n, count(*) FILTER (WHERE e.event_id < $3)::text AS before,
              coalesce(bool_or(e.event_id = $3), false) AS billed
         FROM usage_events e, b
        WHERE e.agreement_id = $1 AND ${BILLED}`,
      [agreementId, period, eventId],
    );
    return { treeSize: Number(row.n), before: Number(row.before), billed: row.billed };
  }
}
