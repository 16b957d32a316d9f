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
import { Clock } from '../../platform/clock/clock';
import { UsageRepository } from './usage.repository';

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
  /** Pool agreements on a REFUSE plan: the plan's allowance, shared by the subscription's pool agreements (periodUsed and reserved are theirs). */
  poolAllowance?: bigint | null;
}

@Injectable()
export class UsageRecorder {
  /** Defaults so the recorder can also be built bare, outside the container (it holds no other state). */
  constructor(
    private readonly usage: UsageRepository = new UsageRepository(),
    private readonly clock: Clock = new Clock(),
  ) {}

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
    const rows = await this.usage.recordUsage(em, events, releaseReservations, opts.asyncCommit ?? false);
    if (rows.length !== events.length) throw new Error(`metering_record_usage returned ${rows.length} rows for ${events.length} events`);
    return rows.map((r) => ({ outcome: r.outcome, overageTokens: r.overageTokens }));
  }

  /**
   * Admits a gateway request that may use up to `estimate` tokens, or says
   * why not. Admission reserves the estimate until `record` releases it (or
   * `ttlMs` passes, should this process die mid-request).
   */
  async preauthorize(
    em: EntityManager,
    a: { agreementId: string; estimate: bigint; quota: bigint | null; perMinute: bigint | null; ttlMs: number; poolSubscriptionId?: string | null },
  ): Promise<Preauthorization> {
    // The period quota and the minute window are judged in business time, as the events are dated.
    return this.usage.preauthorize(em, { ...a, now: this.clock.now() });
  }

  /** Gives back an admitted request's reservation without recording usage (upstream failed). */
  async release(em: EntityManager, reservationId: string): Promise<void> {
    await this.usage.deleteReservation(em, reservationId);
  }
}
