/**
 * The SQL of usage: the write path (metering_record_usage and
 * metering_preauthorize, both under the same per-agreement lock, one statement
 * each: the gateway's hot path) and the reads of rollups and raw events. Every
 * method takes the EntityManager of the caller's transaction (or the reader).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { timeKeySql } from '../../platform/paging/cursor';
import type { Preauthorization, RecordOutcome, Refusal, UsageSource, UsageToRecord } from './usage-recorder.service';

export interface RecordedRow {
  ord: number;
  outcome: RecordOutcome;
  overageTokens: bigint;
}

/** The pre-authorisation as the SQL function answers it (bigint counts), what the recorder returns. */
export type PreauthorizationRow = Preauthorization;

export interface UsageBucketRow {
  start: Date;
  inputTokens: bigint;
  outputTokens: bigint;
  overageTokens: bigint;
  events: bigint;
  estimatedEvents: bigint;
}

export interface PeriodTotalRow {
  start: Date;
  end: Date;
  inputTokens: bigint;
  outputTokens: bigint;
  overageTokens: bigint;
  events: bigint;
}

export interface UsageEventRecordRow {
  eventId: string;
  source: UsageSource;
  occurredAt: Date;
  receivedAt: Date;
  inputTokens: bigint;
  outputTokens: bigint;
  overageTokens: bigint;
  estimated: boolean;
  metadata: Record<string, unknown> | null;
  /** The keyset cursor's time part (microseconds, UTC). */
  timeKey: string;
}

@Injectable()
export class UsageRepository {
  /** Stores `events` and releases `releaseReservations` in one statement; one row per event, by `ord`. */
  async recordUsage(
    em: EntityManager,
    events: readonly UsageToRecord[],
    releaseReservations: readonly string[],
    asyncCommit: boolean,
  ): Promise<RecordedRow[]> {
    const rows: Array<{ ord: number; outcome: RecordOutcome; overage_tokens: string }> = await em.query(
      `SELECT ord, outcome, overage_tokens FROM metering_record_usage(
         $1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[], $6::bigint[], $7::boolean[],
         $8::bytea[], $9::jsonb[], $10::uuid[], $11::bigint[], $12::uuid[], $13::boolean)`,
      [
        events.map((e) => e.agreementId),
        events.map((e) => e.eventId),
        events.map((e) => e.source),
        events.map((e) => e.occurredAt.toISOString()),
        events.map((e) => e.inputTokens.toString()),
        events.map((e) => e.outputTokens.toString()),
        events.map((e) => e.estimated),
        events.map((e) => e.payloadHash),
        events.map((e) => (e.metadata === null ? null : JSON.stringify(e.metadata))),
        events.map((e) => e.apiKeyId),
        events.map((e) => (e.quota === null ? null : e.quota.toString())),
        releaseReservations,
        asyncCommit,
      ],
    );
    return rows.map((r) => ({ ord: r.ord, outcome: r.outcome, overageTokens: BigInt(r.overage_tokens) }));
  }

  async preauthorize(
    em: EntityManager,
    a: { agreementId: string; estimate: bigint; quota: bigint | null; perMinute: bigint | null; ttlMs: number; now: Date; poolSubscriptionId?: string | null },
  ): Promise<PreauthorizationRow> {
    const args = [a.agreementId, a.estimate.toString(), a.quota === null ? null : a.quota.toString(), a.perMinute === null ? null : a.perMinute.toString(), a.ttlMs, a.now.toISOString()];
    // A pool agreement: first the plan's allowance shared by the subscription's pool agreements (metering_pool_preauthorize).
    const [r]: Array<{
      admitted: boolean; refusal: Refusal | null; period_used: string; reserved: string; window_used: string;
      period_end: Date; reservation_id: string | null; pool_allowance?: string | null;
    }> = a.poolSubscriptionId
      ? await em.query(`SELECT * FROM metering_pool_preauthorize($1, $2, $3, $4, $5, $6, $7)`, [...args, a.poolSubscriptionId])
      : await em.query(`SELECT * FROM metering_preauthorize($1, $2, $3, $4, $5, $6)`, args);
    return {
      admitted: r.admitted,
      refusal: r.refusal,
      periodUsed: BigInt(r.period_used),
      reserved: BigInt(r.reserved),
      windowUsed: BigInt(r.window_used),
      periodEnd: r.period_end,
      reservationId: r.reservation_id,
      poolAllowance: r.pool_allowance === undefined || r.pool_allowance === null ? null : BigInt(r.pool_allowance),
    };
  }

  async deleteReservation(em: EntityManager, reservationId: string): Promise<void> {
    await em.query(`DELETE FROM usage_reservations WHERE id = $1`, [reservationId]);
  }

  /**
   * Every bucket of [from, to) in UTC, zeros where nothing happened. Day buckets
   * sum hour rows; arithmetic on `timestamp` (UTC wall time) so the session's
   * time zone and its DST never shift a bucket.
   */
  async hourRollupBuckets(em: EntityManager, agreementId: string, from: Date, to: Date, unit: 'hour' | 'day'): Promise<UsageBucketRow[]> {
    const rows: Array<{ start: Date; i: string; o: string; v: string; n: string; e: string }> = await em.query(
      `WITH buckets AS (
         SELECT s AT TIME ZONE 'UTC' AS start
           FROM generate_series($2::timestamptz AT TIME ZONE 'UTC', $3::timestamptz AT TIME ZONE 'UTC' - $5::interval, $5::interval) AS s
       ), sums AS (
         SELECT date_trunc($4, r.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start,
                sum(r.input_tokens) AS i, sum(r.output_tokens) AS o, sum(r.overage_tokens) AS v,
                sum(r.events) AS n, sum(r.estimated_events) AS e
           FROM usage_rollups_hour r
          WHERE r.agreement_id = $1 AND r.bucket_start >= $2 AND r.bucket_start < $3
          GROUP BY 1
       )
       SELECT b.start, coalesce(s.i, 0)::text AS i, coalesce(s.o, 0)::text AS o, coalesce(s.v, 0)::text AS v,
              coalesce(s.n, 0)::text AS n, coalesce(s.e, 0)::text AS e
         FROM buckets b LEFT JOIN sums s ON s.start = b.start
        ORDER BY b.start`,
      [agreementId, from.toISOString(), to.toISOString(), unit, `1 ${unit}`],
    );
    return rows.map((r) => ({
      start: new Date(r.start),
      inputTokens: BigInt(r.i),
      outputTokens: BigInt(r.o),
      overageTokens: BigInt(r.v),
      events: BigInt(r.n),
      estimatedEvents: BigInt(r.e),
    }));
  }

  /** The calendar month (UTC) holding `now` (business time) and the agreement's rollup for it (zeros when it has none). */
  async currentPeriodTotal(em: EntityManager, agreementId: string, now: Date): Promise<PeriodTotalRow> {
    const [p]: Array<{ start: Date; end: Date; i: string; o: string; v: string; n: string }> = await em.query(
      `WITH p AS (SELECT date_trunc('month', $2::timestamptz AT TIME ZONE 'UTC') AS s)
       SELECT p.s AT TIME ZONE 'UTC' AS start, (p.s + interval '1 month') AT TIME ZONE 'UTC' AS "end",
              coalesce(t.input_tokens, 0)::text AS i, coalesce(t.output_tokens, 0)::text AS o,
              coalesce(t.overage_tokens, 0)::text AS v, coalesce(t.events, 0)::text AS n
         FROM p LEFT JOIN usage_period_totals t ON t.agreement_id = $1 AND t.period_start = p.s AT TIME ZONE 'UTC'`,
      [agreementId, now.toISOString()],
    );
    return {
      start: new Date(p.start),
      end: new Date(p.end),
      inputTokens: BigInt(p.i),
      outputTokens: BigInt(p.o),
      overageTokens: BigInt(p.v),
      events: BigInt(p.n),
    };
  }

  /**
   * Up to `limit` raw events of the agreement, newest first by (occurred_at,
   * event_id), after the keyset `after` (time key, event id) when given.
   */
  async eventsPage(em: EntityManager, agreementId: string, limit: number, after: readonly [string, string] | null): Promise<UsageEventRecordRow[]> {
    const params: unknown[] = [agreementId, limit];
    let keyset = '';
    if (after) {
      params.push(...after);
      keyset = `AND (e.occurred_at, e.event_id) < ($3::timestamp AT TIME ZONE 'UTC', $4::text)`;
    }
    const rows: Array<{
      event_id: string; source: UsageSource; occurred_at: Date; received_at: Date; input_tokens: string;
      output_tokens: string; overage_tokens: string; estimated: boolean; metadata: Record<string, unknown> | null; time_key: string;
    }> = await em.query(
      `SELECT e.event_id, e.source, e.occurred_at, e.received_at, e.input_tokens::text, e.output_tokens::text,
              e.overage_tokens::text, e.estimated, e.metadata, ${timeKeySql('e.occurred_at')} AS time_key
         FROM usage_events e
        WHERE e.agreement_id = $1 ${keyset}
        ORDER BY e.occurred_at DESC, e.event_id DESC
        LIMIT $2`,
      params,
    );
    return rows.map((r) => ({
      eventId: r.event_id,
      source: r.source,
      occurredAt: new Date(r.occurred_at),
      receivedAt: new Date(r.received_at),
      inputTokens: BigInt(r.input_tokens),
      outputTokens: BigInt(r.output_tokens),
      overageTokens: BigInt(r.overage_tokens),
      estimated: r.estimated,
      metadata: r.metadata,
      timeKey: r.time_key,
    }));
  }
}
