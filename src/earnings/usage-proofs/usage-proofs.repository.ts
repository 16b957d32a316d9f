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
 * The bounds are read once per call, as text (timestamps keep their
 * microseconds; they never round-trip through a JS Date).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface AgreementParties {
  distillerOrganizationId: string;
  vendorOrganizationId: string;
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

/**
 * A closed period's bounds, as PostgreSQL prints timestamps (text keeps the
 * microseconds that a JS Date would drop); passed back as parameters, so the
 * page query is a plain range scan of the primary key with scalar filters.
 */
export interface ClosedPeriodBounds {
  period: string;
  start: string;
  end: string;
  closedAt: string;
  /** closed_at of the month before, null when that month is not closed (then no month before is). */
  previousClosedAt: string | null;
  /** The first closed month's start: events before it were never billed. */
  firstClosedStart: string;
}

const BILLED = `
  e.received_at <= $4::timestamptz
  AND ((e.occurred_at >= $2::timestamptz AND e.occurred_at < $3::timestamptz)
       OR (e.occurred_at >= $6::timestamptz AND e.occurred_at < $2::timestamptz AND e.received_at > $5::timestamptz))`;

const boundsParams = (b: ClosedPeriodBounds) => [b.start, b.end, b.closedAt, b.previousClosedAt, b.firstClosedStart];

@Injectable()
export class UsageProofsRepository {
  async agreementParties(em: EntityManager, agreementId: string): Promise<AgreementParties | null> {
    const [row]: { distiller: string; vendor: string }[] = await em.query(
      `SELECT distiller_organization_id AS distiller, vendor_organization_id AS vendor FROM license_agreements WHERE id = $1`,
      [agreementId],
    );
    return row ? { distillerOrganizationId: row.distiller, vendorOrganizationId: row.vendor } : null;
  }

  /** The period's bounds when it is CLOSED, else null. */
  async closedPeriodBounds(em: EntityManager, period: string): Promise<ClosedPeriodBounds | null> {
    const [row]: { start: string; end: string; closed_at: string; prev: string | null; first: string }[] = await em.query(
      `SELECT p.period_start::text AS start, p.period_end::text AS end, p.closed_at::text AS closed_at,
              (SELECT q.closed_at FROM billing_periods q WHERE q.period_end = p.period_start AND q.status = 'CLOSED')::text AS prev,
              (SELECT min(q.period_start) FROM billing_periods q WHERE q.status = 'CLOSED')::text AS first
         FROM billing_periods p
        WHERE p.period = $1 AND p.status = 'CLOSED'`,
      [period],
    );
    return row ? { period, start: row.start, end: row.end, closedAt: row.closed_at, previousClosedAt: row.prev, firstClosedStart: row.first } : null;
  }

  /**
   * Up to `limit` billed events with event_id > `after` (byte order), in
   * order: one range scan of the primary key per page.
   */
  async billedEventsPage(em: EntityManager, agreementId: string, bounds: ClosedPeriodBounds, after: string, limit: number): Promise<BilledEventRow[]> {
    return em.query(
      `SELECT e.event_id,
              to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at,
              e.input_tokens::text AS input_tokens, e.output_tokens::text AS output_tokens, e.source
         FROM usage_events e
        WHERE e.agreement_id = $1 AND e.event_id > $7 AND ${BILLED}
        ORDER BY e.event_id
        LIMIT $8`,
      [agreementId, ...boundsParams(bounds), after, limit],
    );
  }

  /** Where `eventId` sits among the period's billed events of the agreement. */
  async eventPosition(em: EntityManager, agreementId: string, bounds: ClosedPeriodBounds, eventId: string): Promise<EventPosition> {
    const [row]: { n: string; before: string; billed: boolean }[] = await em.query(
      `SELECT count(*)::text AS n, count(*) FILTER (WHERE e.event_id < $7)::text AS before,
              coalesce(bool_or(e.event_id = $7), false) AS billed
         FROM usage_events e
        WHERE e.agreement_id = $1 AND ${BILLED}`,
      [agreementId, ...boundsParams(bounds), eventId],
    );
    return { treeSize: Number(row.n), before: Number(row.before), billed: row.billed };
  }
}
