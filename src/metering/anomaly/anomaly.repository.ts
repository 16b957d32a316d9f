/**
 * The SQL of anomaly flags: raising them (from the gateway, ingestion and the
 * burst job), the burst detection itself, the keyset-paged list and
 * acknowledgement. Every method takes the EntityManager of the caller's
 * transaction (or the reader).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { timeKeySql } from '../../platform/paging/cursor';
import { AnomalyKind, AnomalySignal } from './anomaly-flag.kinds';

/** Minutes examined per run: a run that was late or failed is caught up by the next ones. */
const LOOKBACK_MINUTES = 10;
/** Minute rollups older than this are deleted (the gateway's rate window needs two minutes, bursts a day). */
const MINUTE_RETENTION = '2 days';

/*
 * For every minute that completed in the last LOOKBACK_MINUTES (per agreement,
 * from usage_rollups_minute) with at least $2 tokens: its baseline is the
 * agreement's tokens in the 24 hours before it, excluding the minute itself —
 * the 23 whole hours before the minute's hour from usage_rollups_hour, and the
 * minutes of the two partial hours at the window's ends from
 * usage_rollups_minute. Flag when tokens × 1440 > k × baseline (the minute is
 * more than k times the per-minute average of the previous day). Exact integer
 * arithmetic (numeric: no bigint overflow, no float). Timestamps are truncated
 * in UTC whatever the session's time zone.
 *
 * ON CONFLICT DO NOTHING on (agreement, kind, window): a minute is flagged
 * once, however often the job re-examines it.
 */
const DETECT_SQL = `
WITH clock AS (
  SELECT date_trunc('minute', coalesce($1::timestamptz, now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS minute
), candidates AS (
  SELECT m.agreement_id, m.bucket_start, m.tokens,
         date_trunc('hour', m.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour_start
    FROM usage_rollups_minute m, clock c
   WHERE m.bucket_start >= c.minute - make_interval(mins => ${LOOKBACK_MINUTES})
     AND m.bucket_start < c.minute
     AND m.tokens >= $2
), scored AS (
  SELECT c.agreement_id, c.bucket_start, c.tokens,
         coalesce((SELECT sum(h.input_tokens + h.output_tokens)
                     FROM usage_rollups_hour h
                    WHERE h.agreement_id = c.agreement_id
                      AND h.bucket_start >= c.hour_start - interval '23 hours'
                      AND h.bucket_start < c.hour_start), 0)
       + coalesce((SELECT sum(x.tokens)
                     FROM usage_rollups_minute x
                    WHERE x.agreement_id = c.agreement_id
                      AND ((x.bucket_start >= c.bucket_start - interval '24 hours' AND x.bucket_start < c.hour_start - interval '23 hours')
                        OR (x.bucket_start >= c.hour_start AND x.bucket_start < c.bucket_start))), 0) AS day_tokens
    FROM candidates c
)
INSERT INTO anomaly_flags (agreement_id, vendor_organization_id, distiller_organization_id, kind, window_start,
                           observed_tokens, baseline_tokens, detail)
SELECT s.agreement_id, a.vendor_organization_id, a.distiller_organization_id, 'BURST', s.bucket_start,
       s.tokens, div(s.day_tokens, 1440)::bigint,
       jsonb_build_object('factor', $3::integer, 'previousDayTokens', s.day_tokens::text)
  FROM scored s
  JOIN license_agreements a ON a.id = s.agreement_id
 WHERE s.tokens::numeric * 1440 > $3::numeric * s.day_tokens
ON CONFLICT (agreement_id, kind, window_start) DO NOTHING
RETURNING id`;

const PURGE_SQL = `
DELETE FROM usage_rollups_minute
 WHERE bucket_start < coalesce($1::timestamptz, now()) - interval '${MINUTE_RETENTION}'`;

/** A flag as stored (token counts as bigint) with the time part of its keyset cursor. */
export interface AnomalyFlagRecord {
  id: string;
  agreementId: string;
  vendorOrganizationId: string;
  distillerOrganizationId: string;
  kind: AnomalyKind;
  windowStart: Date;
  occurrences: number;
  observedTokens: bigint | null;
  baselineTokens: bigint | null;
  detail: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  acknowledgedAt: Date | null;
  acknowledgedByUserId: string | null;
  acknowledgementNote: string | null;
  /** created_at to the microsecond, UTC (the keyset's time part). */
  timeKey: string;
}

export interface AnomalyFlagFilter {
  vendorOrganizationId: string | null;
  agreementId: string | null;
  kinds: readonly AnomalyKind[] | null;
  acknowledged: boolean | null;
  /** Keyset: flags older than this (time key, id), newest first. */
  after: readonly [string, string] | null;
  limit: number;
}

interface RawFlag {
  id: string;
  agreement_id: string;
  vendor_organization_id: string;
  distiller_organization_id: string;
  kind: AnomalyKind;
  window_start: Date;
  occurrences: number;
  observed_tokens: string | null;
  baseline_tokens: string | null;
  detail: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by_user_id: string | null;
  acknowledgement_note: string | null;
  time_key: string;
}

const COLUMNS = `f.id, f.agreement_id, f.vendor_organization_id, f.distiller_organization_id, f.kind, f.window_start,
  f.occurrences, f.observed_tokens::text, f.baseline_tokens::text, f.detail, f.created_at, f.updated_at,
  f.acknowledged_at, f.acknowledged_by_user_id, f.acknowledgement_note, ${timeKeySql('f.created_at')} AS time_key`;

function toRecord(r: RawFlag): AnomalyFlagRecord {
  return {
    id: r.id,
    agreementId: r.agreement_id,
    vendorOrganizationId: r.vendor_organization_id,
    distillerOrganizationId: r.distiller_organization_id,
    kind: r.kind,
    windowStart: new Date(r.window_start),
    occurrences: r.occurrences,
    observedTokens: r.observed_tokens === null ? null : BigInt(r.observed_tokens),
    baselineTokens: r.baseline_tokens === null ? null : BigInt(r.baseline_tokens),
    detail: r.detail,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    acknowledgedAt: r.acknowledged_at === null ? null : new Date(r.acknowledged_at),
    acknowledgedByUserId: r.acknowledged_by_user_id,
    acknowledgementNote: r.acknowledgement_note,
    timeKey: r.time_key,
  };
}

@Injectable()
export class AnomalyRepository {
  /**
   * Signals already folded to one per (agreement, kind, window): ON CONFLICT
   * cannot touch a row twice in one statement. A repeated signal counts an
   * occurrence and adds its tokens to the existing row.
   */
  async upsertSignals(em: EntityManager, signals: readonly (AnomalySignal & { occurrences: number })[]): Promise<void> {
    await em.query(
      `INSERT INTO anomaly_flags AS f (agreement_id, vendor_organization_id, distiller_organization_id, kind,
                                      window_start, observed_tokens, baseline_tokens, detail, occurrences)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::bigint[],
                            $7::bigint[], $8::jsonb[], $9::int[])
       ON CONFLICT (agreement_id, kind, window_start) DO UPDATE
         SET occurrences = f.occurrences + excluded.occurrences,
             observed_tokens = CASE WHEN f.observed_tokens IS NULL AND excluded.observed_tokens IS NULL THEN NULL
                                    ELSE coalesce(f.observed_tokens, 0) + coalesce(excluded.observed_tokens, 0) END,
             detail = f.detail || excluded.detail,
             updated_at = now()`,
      [
        signals.map((s) => s.agreementId),
        signals.map((s) => s.vendorOrganizationId),
        signals.map((s) => s.distillerOrganizationId),
        signals.map((s) => s.kind),
        signals.map((s) => s.windowStart.toISOString()),
        signals.map((s) => (s.observedTokens === null ? null : s.observedTokens.toString())),
        signals.map((s) => (s.baselineTokens == null ? null : s.baselineTokens.toString())),
        signals.map((s) => JSON.stringify(s.detail ?? {})),
        signals.map((s) => s.occurrences),
      ],
    );
  }

  /** Flags the burst minutes of the last LOOKBACK_MINUTES before `now` (null: the database's now()); returns how many are new. */
  async flagBursts(em: EntityManager, now: string | null, minTokens: number, factor: number): Promise<number> {
    // (TypeORM answers an INSERT with its rows)
    const flags = (await em.query(DETECT_SQL, [now, minTokens, factor])) as unknown[];
    return flags.length;
  }

  /** Deletes minute rollups past retention; returns how many. */
  async purgeMinuteRollups(em: EntityManager, now: string | null): Promise<number> {
    // (TypeORM answers a DELETE with [rows, count])
    const [, purged] = (await em.query(PURGE_SQL, [now])) as [unknown, number];
    return purged;
  }

  /** `limit` flags matching the filter, newest first by (created_at, id). */
  async list(em: EntityManager, q: AnomalyFlagFilter): Promise<AnomalyFlagRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.vendorOrganizationId !== null) where.push(`f.vendor_organization_id = $${params.push(q.vendorOrganizationId)}`);
    if (q.agreementId !== null) where.push(`f.agreement_id = $${params.push(q.agreementId)}`);
    if (q.kinds !== null) where.push(`f.kind = ANY($${params.push([...new Set(q.kinds)])}::text[])`);
    if (q.acknowledged === true) where.push('f.acknowledged_at IS NOT NULL');
    if (q.acknowledged === false) where.push('f.acknowledged_at IS NULL');
    if (q.after) {
      where.push(`(f.created_at, f.id) < ($${params.push(q.after[0])}::timestamp AT TIME ZONE 'UTC', $${params.push(q.after[1])}::uuid)`);
    }
    const rows: RawFlag[] = await em.query(
      `SELECT ${COLUMNS} FROM anomaly_flags f
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY f.created_at DESC, f.id DESC
        LIMIT $${params.push(q.limit)}`,
      params,
    );
    return rows.map(toRecord);
  }

  /** The flag with its row lock (acknowledgement holds it). */
  async byIdForUpdate(em: EntityManager, id: string): Promise<AnomalyFlagRecord | null> {
    const [flag]: RawFlag[] = await em.query(`SELECT ${COLUMNS} FROM anomaly_flags f WHERE f.id = $1 FOR UPDATE`, [id]);
    return flag ? toRecord(flag) : null;
  }

  async acknowledge(em: EntityManager, id: string, userId: string | null, note: string | null): Promise<AnomalyFlagRecord> {
    // (TypeORM answers an UPDATE with [rows, count])
    const [[updated]] = (await em.query(
      `UPDATE anomaly_flags f
          SET acknowledged_at = now(), acknowledged_by_user_id = $2, acknowledgement_note = $3, updated_at = now()
        WHERE f.id = $1
        RETURNING ${COLUMNS}`,
      [id, userId, note],
    )) as [RawFlag[], number];
    return toRecord(updated);
  }

  /** The agreement's vendor organization, or null when there is no such agreement. */
  async agreementVendor(em: EntityManager, agreementId: string): Promise<string | null> {
    const rows: Array<{ vendor_organization_id: string }> = await em.query(
      `SELECT vendor_organization_id FROM license_agreements WHERE id = $1`,
      [agreementId],
    );
    return rows.length === 0 ? null : rows[0].vendor_organization_id;
  }
}
