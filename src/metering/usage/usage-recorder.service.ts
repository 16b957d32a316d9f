/**
 * The one write path for usage, used by the gateway and by vendor ingestion:
 * stores events idempotently per (agreement, event id), counts tokens beyond
 * the period quota as overage, and updates the rollups in the same statement
 * (SQL function `metering_record_usage`, migrations/1795800200000-Metering.ts).
 * Pre-authorisation for the gateway (`metering_preauthorize`) lives here too:
 * both take the same per-agreement lock.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export type UsageSource = 'GATEWAY' | 'REPORTED';

export interface UsageToRecord {
  agreementId: string;
  eventId: string;
  source: UsageSource;
  occurredAt: Date;
  inputTokens: bigint;
  outputTokens: bigint;
  estimated: boolean;
  payloadHash: Buffer;
  metadata: Record<string, unknown> | null;
  apiKeyId: string | null;
  /** The agreement's period quota (total tokens per calendar month, UTC); null = unlimited. */
  quota: bigint | null;
}

export type RecordOutcome = 'ACCEPTED' | 'DUPLICATE' | 'ID_REUSED';

export interface RecordResult {
  outcome: RecordOutcome;
  /** Tokens of this event beyond the period quota (0 when within it, or not stored). */
  overageTokens: bigint;
}

export type Refusal = 'QUOTA' | 'RATE';

export interface Preauthorization {
  admitted: boolean;
  refusal: Refusal | null;
  periodUsed: bigint;
  reserved: bigint;
  windowUsed: bigint;
  periodEnd: Date;
  reservationId: string | null;
}

@Injectable()
export class UsageRecorder {
  /** Records `events` (any agreements) and returns one result per event, in order. */
  async record(
    em: EntityManager,
    events: readonly UsageToRecord[],
    releaseReservations: readonly string[] = [],
    opts: { asyncCommit?: boolean } = {},
  ): Promise<RecordResult[]> {
    if (events.length === 0) {
      for (const id of releaseReservations) await this.release(em, id);
      return [];
    }
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
        opts.asyncCommit ?? false,
      ],
    );
    if (rows.length !== events.length) throw new Error(`metering_record_usage returned ${rows.length} rows for ${events.length} events`);
    return rows.map((r) => ({ outcome: r.outcome, overageTokens: BigInt(r.overage_tokens) }));
  }

  /**
   * Admits a gateway request that may use up to `estimate` tokens, or says
   * why not. Admission reserves the estimate until `record` releases it (or
   * `ttlMs` passes, should this process die mid-request).
   */
  async preauthorize(
    em: EntityManager,
    a: { agreementId: string; estimate: bigint; quota: bigint | null; perMinute: bigint | null; ttlMs: number },
  ): Promise<Preauthorization> {
    const [r]: Array<{
      admitted: boolean; refusal: Refusal | null; period_used: string; reserved: string; window_used: string;
      period_end: Date; reservation_id: string | null;
    }> = await em.query(`SELECT * FROM metering_preauthorize($1, $2, $3, $4, $5)`, [
      a.agreementId,
      a.estimate.toString(),
      a.quota === null ? null : a.quota.toString(),
      a.perMinute === null ? null : a.perMinute.toString(),
      a.ttlMs,
    ]);
    return {
      admitted: r.admitted,
      refusal: r.refusal,
      periodUsed: BigInt(r.period_used),
      reserved: BigInt(r.reserved),
      windowUsed: BigInt(r.window_used),
      periodEnd: r.period_end,
      reservationId: r.reservation_id,
    };
  }

  /** Gives back an admitted request's reservation without recording usage (upstream failed). */
  async release(em: EntityManager, reservationId: string): Promise<void> {
    await em.query(`DELETE FROM usage_reservations WHERE id = $1`, [reservationId]);
  }
}
