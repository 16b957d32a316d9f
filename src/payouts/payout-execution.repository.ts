/**
 * The SQL of payout execution: what is due, the claim (the outbox row's
 * conditional transitions), leases, recording a transfer, failure, the batch's
 * completion and progress. Every method takes the caller's EntityManager.
 * Status guards live in the WHERE clauses: a transition that lost a race
 * changes nothing and returns null, and the caller reads that as "someone
 * else did it".
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export type PayoutStatus = 'PENDING' | 'HELD' | 'APPROVED' | 'SENDING' | 'SENT' | 'FAILED' | 'CANCELLED';

export interface ExecPayoutRow {
  id: string;
  batchId: string;
  organizationId: string;
  currency: string;
  amountMinor: bigint;
  accountId: string;
  status: PayoutStatus;
  idempotencyKey: string;
  transferId: string | null;
  attempts: number;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  sendingSince: Date | null;
}

const COLUMNS = `id, batch_id, organization_id, currency, amount_minor::text AS amount_minor, account_id, status, idempotency_key,
  transfer_id, attempts, lease_owner, lease_until, sending_since`;

interface Raw {
  id: string;
  batch_id: string;
  organization_id: string;
  currency: string;
  amount_minor: string;
  account_id: string;
  status: PayoutStatus;
  idempotency_key: string;
  transfer_id: string | null;
  attempts: number;
  lease_owner: string | null;
  lease_until: Date | null;
  sending_since: Date | null;
}

const toRow = (r: Raw): ExecPayoutRow => ({
  id: r.id,
  batchId: r.batch_id,
  organizationId: r.organization_id,
  currency: r.currency,
  amountMinor: BigInt(r.amount_minor),
  accountId: r.account_id,
  status: r.status,
  idempotencyKey: r.idempotency_key,
  transferId: r.transfer_id,
  attempts: r.attempts,
  leaseOwner: r.lease_owner,
  leaseUntil: r.lease_until,
  sendingSince: r.sending_since,
});

/** UPDATE … RETURNING answers [rows, count] through TypeORM's postgres driver. */
function returned<T>(result: unknown): T[] {
  const r = result as unknown[];
  return (Array.isArray(r[0]) ? r[0] : r) as T[];
}

export interface BatchProgressRow {
  batchId: string;
  batchStatus: string;
  byStatus: Record<PayoutStatus, number>;
  sentMinor: bigint;
  failedMinor: bigint;
}

/** pg_advisory_xact_lock(int, int) namespace of payouts per vendor and currency. */
const PAYOUT_VENDOR_LOCK_NAMESPACE = 7_340_613;

@Injectable()
export class PayoutExecutionRepository {
  /** Serializes payouts of one vendor in one currency until the transaction ends (the available check and the posting). */
  async lockVendor(em: EntityManager, organizationId: string, currency: string): Promise<void> {
    await em.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [PAYOUT_VENDOR_LOCK_NAMESPACE, `payout:${organizationId}:${currency}`]);
  }

  async byId(em: EntityManager, id: string): Promise<ExecPayoutRow | null> {
    const [row] = (await em.query(`SELECT ${COLUMNS} FROM payouts WHERE id = $1`, [id])) as Raw[];
    return row ? toRow(row) : null;
  }

  /**
   * What an executor may pick up now: APPROVED payouts whose next attempt has
   * come, and SENDING ones whose lease ran out (their process died, or a
   * retry was scheduled). Oldest first.
   */
  async due(em: EntityManager, now: Date, limit: number, batchId: string | null): Promise<string[]> {
    const rows = (await em.query(
      `SELECT id FROM payouts
        WHERE ((status = 'APPROVED' AND (next_attempt_at IS NULL OR next_attempt_at <= $1))
            OR (status = 'SENDING' AND (lease_until IS NULL OR lease_until <= $1)))
          AND ($3::uuid IS NULL OR batch_id = $3)
        ORDER BY coalesce(next_attempt_at, created_at), id
        LIMIT $2`,
      [now, limit, batchId],
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /** Takes over a SENDING payout whose lease ran out; null when it is not (anymore) SENDING or its lease is still running. */
  async takeOverSending(em: EntityManager, id: string, owner: string, now: Date, leaseUntil: Date): Promise<ExecPayoutRow | null> {
    const result = await em.query(
      `UPDATE payouts SET lease_owner = $2, lease_until = $4, attempts = attempts + 1, updated_at = $3
        WHERE id = $1 AND status = 'SENDING' AND transfer_id IS NULL AND (lease_until IS NULL OR lease_until <= $3)
        RETURNING ${COLUMNS}`,
      [id, owner, now, leaseUntil],
    );
    const [row] = returned<Raw>(result);
    return row ? toRow(row) : null;
  }

  /**
   * Gives a SENDING payout back until `until` (retry later: balance, 429 with
   * Stripe-Should-Retry false, processor unavailable), if this process still
   * holds it. The payout stays SENDING: its ledger posting stands.
   */
  async release(em: EntityManager, id: string, owner: string, until: Date, error: string, now: Date): Promise<boolean> {
    const result = await em.query(
      `UPDATE payouts SET lease_owner = NULL, lease_until = $3, next_attempt_at = $3, last_error = $4, updated_at = $5
        WHERE id = $1 AND status = 'SENDING' AND lease_owner = $2 RETURNING id`,
      [id, owner, until, error.slice(0, 1000), now],
    );
    return returned(result).length === 1;
  }

  /** SENDING (no transfer) → SENT with the transfer; false when the payout is not SENDING or already has a transfer. */
  async recordTransfer(em: EntityManager, id: string, transferId: string, transferCreatedAt: Date, now: Date): Promise<boolean> {
    const result = await em.query(
      `UPDATE payouts SET status = 'SENT', transfer_id = $2, transfer_created_at = $3, sent_at = $4,
              lease_owner = NULL, lease_until = NULL, next_attempt_at = NULL, last_error = NULL, updated_at = $4
        WHERE id = $1 AND status = 'SENDING' AND transfer_id IS NULL RETURNING id`,
      [id, transferId, transferCreatedAt, now],
    );
    return returned(result).length === 1;
  }

  /** → FAILED from one of `from`; false when the payout was not in one of them. */
  async markFailed(em: EntityManager, id: string, from: PayoutStatus[], code: string, message: string, now: Date): Promise<boolean> {
    const result = await em.query(
      `UPDATE payouts SET status = 'FAILED', failure_code = $3, failure_message = $4, failed_at = $5,
              lease_owner = NULL, lease_until = NULL, next_attempt_at = NULL, updated_at = $5
        WHERE id = $1 AND status = ANY($2::text[]) AND transfer_id IS NULL RETURNING id`,
      [id, from, code, message.slice(0, 1000), now],
    );
    return returned(result).length === 1;
  }

  async markBatchExecuting(em: EntityManager, batchId: string): Promise<void> {
    await em.query(`UPDATE payout_batches SET status = 'EXECUTING' WHERE id = $1 AND status = 'APPROVED'`, [batchId]);
  }

  /**
   * A charge the payout can be funded from (Stripe's source_transaction):
   * only when every ledger entry behind the payout comes from the settlement
   * of one invoice whose charge is known. null otherwise (the payout is then
   * paid from the available balance).
   */
  async sourceCharge(em: EntityManager, payoutId: string): Promise<string | null> {
    const [row] = (await em.query(
      `SELECT count(DISTINCT lt.id)::int AS txs, min(ic.charge_id) AS charge_id,
              bool_and(lt.kind = 'INVOICE_PAID' AND ic.charge_id IS NOT NULL) AS all_paid
         FROM payout_lines pl
         JOIN ledger_entries le ON le.id = pl.ledger_entry_id
         JOIN ledger_transactions lt ON lt.id = le.transaction_id
         LEFT JOIN invoice_collections ic ON lt.reference = 'invoice:' || ic.invoice_id::text || ':paid'
        WHERE pl.payout_id = $1`,
      [payoutId],
    )) as { txs: number; charge_id: string | null; all_paid: boolean | null }[];
    return row && row.txs === 1 && row.all_paid === true ? row.charge_id : null;
  }

  /**
   * Batches being executed whose payouts are all settled (none APPROVED or
   * SENDING): payouts still HELD are CANCELLED, and the batch becomes
   * COMPLETED, or PARTIALLY_FAILED when one of its payouts FAILED.
   */
  async finishBatches(em: EntityManager, now: Date): Promise<{ id: string; status: string }[]> {
    const done = (await em.query(
      `SELECT b.id FROM payout_batches b
        WHERE b.status IN ('APPROVED', 'EXECUTING')
          AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.batch_id = b.id AND p.status IN ('APPROVED', 'SENDING', 'PENDING'))
        FOR UPDATE SKIP LOCKED`,
    )) as { id: string }[];
    if (done.length === 0) return [];
    const ids = done.map((d) => d.id);
    await em.query(`UPDATE payouts SET status = 'CANCELLED', updated_at = $2 WHERE batch_id = ANY($1::uuid[]) AND status = 'HELD'`, [ids, now]);
    const result = await em.query(
      `UPDATE payout_batches b
          SET status = CASE WHEN EXISTS (SELECT 1 FROM payouts p WHERE p.batch_id = b.id AND p.status = 'FAILED') THEN 'PARTIALLY_FAILED' ELSE 'COMPLETED' END,
              completed_at = $2
        WHERE b.id = ANY($1::uuid[]) AND b.status IN ('APPROVED', 'EXECUTING')
        RETURNING b.id, b.status`,
      [ids, now],
    );
    return returned<{ id: string; status: string }>(result);
  }

  async batchProgress(em: EntityManager, batchId: string): Promise<BatchProgressRow | null> {
    const rows = (await em.query(
      `SELECT b.status AS batch_status, p.status, count(p.id)::int AS n, coalesce(sum(p.amount_minor), 0)::text AS total
         FROM payout_batches b LEFT JOIN payouts p ON p.batch_id = b.id
        WHERE b.id = $1 GROUP BY b.status, p.status`,
      [batchId],
    )) as { batch_status: string; status: PayoutStatus | null; n: number; total: string }[];
    if (rows.length === 0) return null;
    const byStatus = { PENDING: 0, HELD: 0, APPROVED: 0, SENDING: 0, SENT: 0, FAILED: 0, CANCELLED: 0 } as Record<PayoutStatus, number>;
    let sentMinor = 0n;
    let failedMinor = 0n;
    for (const r of rows) {
      if (!r.status) continue;
      byStatus[r.status] = r.n;
      if (r.status === 'SENT') sentMinor = BigInt(r.total);
      if (r.status === 'FAILED') failedMinor = BigInt(r.total);
    }
    return { batchId, batchStatus: rows[0].batch_status, byStatus, sentMinor, failedMinor };
  }

  // ---- the same, for many payouts at once (the executor claims and records in chunks)

  async byIds(em: EntityManager, ids: readonly string[]): Promise<ExecPayoutRow[]> {
    const rows = (await em.query(`SELECT ${COLUMNS} FROM payouts WHERE id = ANY($1::uuid[]) ORDER BY id`, [ids])) as Raw[];
    return rows.map(toRow);
  }

  /** Locks several vendors (organization + currency keys), in one order every process uses, so two chunks cannot deadlock. */
  async lockVendors(em: EntityManager, keys: readonly { organizationId: string; currency: string }[]): Promise<void> {
    if (keys.length === 0) return;
    await em.query(
      `SELECT pg_advisory_xact_lock($1, h) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) k ORDER BY 1) s`,
      [PAYOUT_VENDOR_LOCK_NAMESPACE, keys.map((k) => `payout:${k.organizationId}:${k.currency}`)],
    );
  }

  /** APPROVED → SENDING for every payout of `ids` still APPROVED and due; the rows claimed. */
  async claimManyApproved(em: EntityManager, ids: readonly string[], owner: string, now: Date, leaseUntil: Date): Promise<ExecPayoutRow[]> {
    const result = await em.query(
      `UPDATE payouts
          SET status = 'SENDING', lease_owner = $2, lease_until = $4, sending_since = $3, attempts = attempts + 1,
              next_attempt_at = NULL, updated_at = $3
        WHERE id = ANY($1::uuid[]) AND status = 'APPROVED' AND (next_attempt_at IS NULL OR next_attempt_at <= $3)
        RETURNING ${COLUMNS}`,
      [ids, owner, now, leaseUntil],
    );
    return returned<Raw>(result).map(toRow);
  }

  async markBatchesExecuting(em: EntityManager, batchIds: readonly string[]): Promise<void> {
    await em.query(`UPDATE payout_batches SET status = 'EXECUTING' WHERE id = ANY($1::uuid[]) AND status = 'APPROVED'`, [batchIds]);
  }

  /** The transfer state of several organizations' connected accounts. */
  async accountsOf(
    em: EntityManager,
    organizationIds: readonly string[],
  ): Promise<Map<string, { accountId: string; transfersCapability: 'active' | 'inactive' | 'pending' | null; disabledReason: string | null }>> {
    const rows = (await em.query(
      `SELECT organization_id, account_id, transfers_capability, disabled_reason FROM payout_accounts WHERE organization_id = ANY($1::uuid[])`,
      [organizationIds],
    )) as { organization_id: string; account_id: string; transfers_capability: 'active' | 'inactive' | 'pending' | null; disabled_reason: string | null }[];
    return new Map(rows.map((r) => [r.organization_id, { accountId: r.account_id, transfersCapability: r.transfers_capability, disabledReason: r.disabled_reason }]));
  }

  /** `sourceCharge` for several payouts: payout id → charge (only payouts that can be tied to one charge). */
  async sourceCharges(em: EntityManager, payoutIds: readonly string[]): Promise<Map<string, string>> {
    const rows = (await em.query(
      `SELECT pl.payout_id, min(ic.charge_id) AS charge_id
         FROM payout_lines pl
         JOIN ledger_entries le ON le.id = pl.ledger_entry_id
         JOIN ledger_transactions lt ON lt.id = le.transaction_id
         LEFT JOIN invoice_collections ic ON lt.reference = 'invoice:' || ic.invoice_id::text || ':paid'
        WHERE pl.payout_id = ANY($1::uuid[])
        GROUP BY pl.payout_id
       HAVING count(DISTINCT lt.id) = 1 AND bool_and(lt.kind = 'INVOICE_PAID' AND ic.charge_id IS NOT NULL)`,
      [payoutIds],
    )) as { payout_id: string; charge_id: string }[];
    return new Map(rows.map((r) => [r.payout_id, r.charge_id]));
  }

  /** `recordTransfer` for several payouts in one statement; the ids recorded. */
  async recordTransfers(em: EntityManager, items: readonly { payoutId: string; transferId: string; createdAt: Date }[], now: Date): Promise<Set<string>> {
    const result = await em.query(
      `UPDATE payouts p SET status = 'SENT', transfer_id = v.tr, transfer_created_at = v.at, sent_at = $4,
              lease_owner = NULL, lease_until = NULL, next_attempt_at = NULL, last_error = NULL, updated_at = $4
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS v(id, tr, at)
        WHERE p.id = v.id AND p.status = 'SENDING' AND p.transfer_id IS NULL
        RETURNING p.id`,
      [items.map((i) => i.payoutId), items.map((i) => i.transferId), items.map((i) => i.createdAt), now],
    );
    return new Set(returned<{ id: string }>(result).map((r) => r.id));
  }
}
