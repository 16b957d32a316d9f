/**
 * The SQL of transfer reversals: the payout row they change (locked), admin
 * reversal requests (PENDING while the processor is asked), the booked
 * reversals keyed by the processor's id, and the "read the transfer again"
 * flag set by `transfer.reversed`. Every method takes the caller's
 * EntityManager.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface ReversiblePayoutRow {
  id: string;
  batchId: string;
  organizationId: string;
  currency: string;
  status: string;
  amountMinor: bigint;
  reversedMinor: bigint;
  transferId: string | null;
}

export interface ReversalRequestRow {
  id: string;
  payoutId: string;
  requestKey: string | null;
  amountMinor: bigint;
  currency: string;
  reason: string;
  requestedBy: string;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED';
  idempotencyKey: string;
  reversalId: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  createdAt: Date;
}

export interface BookedReversalRow {
  id: string;
  payoutId: string;
  amountMinor: bigint;
  currency: string;
  reason: string | null;
  requestedBy: string | null;
  createdAt: Date;
}

const PAYOUT_COLUMNS = `id, batch_id, organization_id, currency, status, amount_minor::text, reversed_minor::text, transfer_id`;
const REQUEST_COLUMNS = `id, payout_id, request_key, amount_minor::text, currency, reason, requested_by, status, idempotency_key, reversal_id, failure_code, failure_message, created_at`;

type Raw = Record<string, any>;

const payoutRow = (r: Raw): ReversiblePayoutRow => ({
  id: r.id,
  batchId: r.batch_id,
  organizationId: r.organization_id,
  currency: r.currency,
  status: r.status,
  amountMinor: BigInt(r.amount_minor),
  reversedMinor: BigInt(r.reversed_minor),
  transferId: r.transfer_id,
});

const requestRow = (r: Raw): ReversalRequestRow => ({
  id: r.id,
  payoutId: r.payout_id,
  requestKey: r.request_key,
  amountMinor: BigInt(r.amount_minor),
  currency: r.currency,
  reason: r.reason,
  requestedBy: r.requested_by,
  status: r.status,
  idempotencyKey: r.idempotency_key,
  reversalId: r.reversal_id,
  failureCode: r.failure_code,
  failureMessage: r.failure_message,
  createdAt: new Date(r.created_at),
});

@Injectable()
export class PayoutReversalsRepository {
  /** The payout, locked FOR UPDATE when asked (every change of its reversals holds this lock). */
  async payout(em: EntityManager, payoutId: string, lock: boolean): Promise<ReversiblePayoutRow | null> {
    const [r] = await em.query(`SELECT ${PAYOUT_COLUMNS} FROM payouts WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [payoutId]);
    return r ? payoutRow(r) : null;
  }

  async payoutOfTransfer(em: EntityManager, transferId: string): Promise<string | null> {
    const [r] = await em.query(`SELECT id FROM payouts WHERE transfer_id = $1`, [transferId]);
    return r?.id ?? null;
  }

  /** Σ of the PENDING requests' amounts: reserved until the processor answers. */
  async pendingMinor(em: EntityManager, payoutId: string): Promise<bigint> {
    const [r] = await em.query(`SELECT coalesce(sum(amount_minor), 0)::text AS s FROM payout_reversal_requests WHERE payout_id = $1 AND status = 'PENDING'`, [payoutId]);
    return BigInt(r.s);
  }

  async requestByKey(em: EntityManager, payoutId: string, requestKey: string): Promise<ReversalRequestRow | null> {
    const [r] = await em.query(`SELECT ${REQUEST_COLUMNS} FROM payout_reversal_requests WHERE payout_id = $1 AND request_key = $2`, [payoutId, requestKey]);
    return r ? requestRow(r) : null;
  }

  async request(em: EntityManager, id: string): Promise<ReversalRequestRow | null> {
    const [r] = await em.query(`SELECT ${REQUEST_COLUMNS} FROM payout_reversal_requests WHERE id = $1`, [id]);
    return r ? requestRow(r) : null;
  }

  /**
   * A request of the same admin with the same amount and reason whose outcome
   * the admin has not been told yet (PENDING, or SUCCEEDED through the
   * processor's event): asking again finishes it.
   */
  async unansweredLike(em: EntityManager, payoutId: string, amountMinor: bigint, reason: string, requestedBy: string): Promise<ReversalRequestRow | null> {
    const [r] = await em.query(
      `SELECT ${REQUEST_COLUMNS} FROM payout_reversal_requests
        WHERE payout_id = $1 AND status IN ('PENDING', 'SUCCEEDED') AND answered_at IS NULL
          AND amount_minor = $2 AND reason = $3 AND requested_by = $4 AND request_key IS NULL
        ORDER BY created_at LIMIT 1`,
      [payoutId, amountMinor.toString(), reason, requestedBy],
    );
    return r ? requestRow(r) : null;
  }

  async insertRequest(
    em: EntityManager,
    r: { id: string; payoutId: string; requestKey: string | null; amountMinor: bigint; currency: string; reason: string; requestedBy: string; idempotencyKey: string; createdAt: Date },
  ): Promise<ReversalRequestRow> {
    const [row] = await em.query(
      `INSERT INTO payout_reversal_requests (id, payout_id, request_key, amount_minor, currency, reason, requested_by, idempotency_key, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${REQUEST_COLUMNS}`,
      [r.id, r.payoutId, r.requestKey, r.amountMinor.toString(), r.currency, r.reason, r.requestedBy, r.idempotencyKey, r.createdAt.toISOString()],
    );
    return requestRow(row);
  }

  /** PENDING → SUCCEEDED with the processor's reversal; false when it was no longer pending. */
  async succeed(em: EntityManager, requestId: string, reversalId: string, at: Date): Promise<boolean> {
    const rows = await em.query(
      `UPDATE payout_reversal_requests SET status = 'SUCCEEDED', reversal_id = $2, completed_at = $3 WHERE id = $1 AND status = 'PENDING' RETURNING id`,
      [requestId, reversalId, at.toISOString()],
    );
    return rows.length > 0;
  }

  /** The admin has been told the outcome. */
  async answered(em: EntityManager, requestId: string, at: Date): Promise<void> {
    await em.query(`UPDATE payout_reversal_requests SET answered_at = coalesce(answered_at, $2) WHERE id = $1`, [requestId, at.toISOString()]);
  }

  async fail(em: EntityManager, requestId: string, code: string, message: string, at: Date): Promise<boolean> {
    const rows = await em.query(
      `UPDATE payout_reversal_requests SET status = 'FAILED', failure_code = $2, failure_message = $3, completed_at = $4, answered_at = $4 WHERE id = $1 AND status = 'PENDING' RETURNING id`,
      [requestId, code, message.slice(0, 1000), at.toISOString()],
    );
    return rows.length > 0;
  }

  /** Records a reversal once (keyed by the processor's id); false when it was already booked. */
  async insertReversal(em: EntityManager, r: BookedReversalRow): Promise<boolean> {
    const rows = await em.query(
      `INSERT INTO payout_reversals (id, payout_id, amount_minor, currency, reason, requested_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [r.id, r.payoutId, r.amountMinor.toString(), r.currency, r.reason, r.requestedBy, r.createdAt.toISOString()],
    );
    return rows.length > 0;
  }

  async addReversed(em: EntityManager, payoutId: string, amountMinor: bigint): Promise<void> {
    await em.query(`UPDATE payouts SET reversed_minor = reversed_minor + $2, updated_at = now() WHERE id = $1`, [payoutId, amountMinor.toString()]);
  }

  async reversalsOf(em: EntityManager, payoutId: string): Promise<BookedReversalRow[]> {
    const rows: Raw[] = await em.query(
      `SELECT id, payout_id, amount_minor::text, currency, reason, requested_by, created_at FROM payout_reversals WHERE payout_id = $1 ORDER BY created_at, id`,
      [payoutId],
    );
    return rows.map((r) => ({
      id: r.id,
      payoutId: r.payout_id,
      amountMinor: BigInt(r.amount_minor),
      currency: r.currency,
      reason: r.reason,
      requestedBy: r.requested_by,
      createdAt: new Date(r.created_at),
    }));
  }

  /** `transfer.reversed` arrived: the transfer must be read again. Returns the stamp to clear it with. */
  async requestSync(em: EntityManager, payoutId: string, at: Date): Promise<Date> {
    const [r] = await em.query(`UPDATE payouts SET reversal_sync_requested_at = $2 WHERE id = $1 RETURNING reversal_sync_requested_at`, [payoutId, at.toISOString()]);
    return new Date(r.reversal_sync_requested_at);
  }

  async syncRequestedAt(em: EntityManager, payoutId: string): Promise<Date | null> {
    const [r] = await em.query(`SELECT reversal_sync_requested_at FROM payouts WHERE id = $1`, [payoutId]);
    return r?.reversal_sync_requested_at ? new Date(r.reversal_sync_requested_at) : null;
  }

  /** Clears the flag unless a newer event set it again after `seen` was read. */
  async clearSync(em: EntityManager, payoutId: string, seen: Date): Promise<void> {
    await em.query(`UPDATE payouts SET reversal_sync_requested_at = NULL WHERE id = $1 AND reversal_sync_requested_at <= $2`, [payoutId, seen.toISOString()]);
  }

  /** PENDING requests created before `before`: their answer was lost and nobody asked again. */
  async stalePending(em: EntityManager, before: Date, limit: number): Promise<ReversalRequestRow[]> {
    const rows: Raw[] = await em.query(
      `SELECT ${REQUEST_COLUMNS} FROM payout_reversal_requests WHERE status = 'PENDING' AND created_at < $1 ORDER BY created_at LIMIT $2`,
      [before.toISOString(), limit],
    );
    return rows.map(requestRow);
  }

  async payoutsToSync(em: EntityManager, limit: number): Promise<string[]> {
    const rows: Raw[] = await em.query(
      `SELECT id FROM payouts WHERE reversal_sync_requested_at IS NOT NULL AND transfer_id IS NOT NULL ORDER BY reversal_sync_requested_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }
}
