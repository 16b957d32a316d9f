/**
 * The SQL of payout batches: their payouts, the ledger lines behind each
 * payout, the vendors a batch skipped, vendor-level holds, and the reads of
 * the review (batch, payouts, lines, progress) and of vendors' payout history.
 * Every method takes the EntityManager of the caller's transaction (or the
 * reader). Creation is set-based: one statement per kind of fact for all the
 * vendors of a currency, never one per vendor.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { OWN_PAYOUT_KINDS } from './payout-postings';

export type PayoutBatchStatus = 'IN_REVIEW' | 'APPROVED' | 'REJECTED' | 'EXECUTING' | 'COMPLETED' | 'PARTIALLY_FAILED';
export type PayoutStatus = 'PENDING' | 'HELD' | 'APPROVED' | 'SENDING' | 'SENT' | 'FAILED' | 'CANCELLED';

/** Statuses of a payout that may still be sent (the partial unique index's). */
export const OPEN_PAYOUT_STATUSES: readonly PayoutStatus[] = ['PENDING', 'HELD', 'APPROVED', 'SENDING'];

export interface PayoutBatchRow {
  id: string;
  currency: string;
  status: PayoutBatchStatus;
  minimumMinor: bigint;
  asOf: Date;
  holdbackDays: number;
  totalMinor: bigint;
  payoutCount: number;
  snapshotHash: string;
  createdBy: string;
  createdByEmail: string | null;
  createdAt: Date;
  approvedBy: string | null;
  approvedByEmail: string | null;
  approvedAt: Date | null;
  rejectedBy: string | null;
  rejectedAt: Date | null;
  rejectReason: string | null;
  completedAt: Date | null;
  /** `created_at` as microseconds-precision text, for the listing's cursor. */
  createdKey: string;
}

export interface NewBatch {
  id: string;
  currency: string;
  minimumMinor: bigint;
  asOf: Date;
  holdbackDays: number;
  totalMinor: bigint;
  payoutCount: number;
  snapshotHash: string;
  createdBy: string;
}

export interface NewPayout {
  id: string;
  organizationId: string;
  accountId: string;
  amountMinor: bigint;
  lines: { entryId: string; amountMinor: bigint }[];
}

export interface NewSkip {
  organizationId: string;
  reason: string;
  availableMinor: bigint;
  detail: string | null;
}

/** What createPayoutBatch needs to know about each candidate vendor, besides its balance. */
export interface VendorPayoutState {
  organizationId: string;
  accountId: string | null;
  transfersCapability: string | null;
  disabledReason: string | null;
  currentlyDue: string[];
  pastDue: string[];
  holdReason: string | null;
  openPayoutId: string | null;
  openPayoutStatus: PayoutStatus | null;
}

/** A ledger entry that may be paid out: what it adds to the vendor's payout (the entry negated: a credit to the payable adds). */
export interface CandidateLine {
  organizationId: string;
  entryId: string;
  amountMinor: bigint;
}

export interface PayoutRow {
  id: string;
  batchId: string;
  organizationId: string;
  organizationName: string | null;
  currency: string;
  amountMinor: bigint;
  accountId: string;
  status: PayoutStatus;
  holdReason: string | null;
  heldBy: string | null;
  heldAt: Date | null;
  transferId: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  reversedMinor: bigint;
  sentAt: Date | null;
  failedAt: Date | null;
  createdAt: Date;
  /** `created_at` as microseconds-precision text, for cursors. */
  createdKey: string;
  batchCreatedAt: Date;
}

/** The connected account as it is now (joined at read time, not the snapshot). */
export interface PayoutAccountNow {
  accountId: string;
  transfersCapability: string | null;
  disabledReason: string | null;
  currentlyDue: string[];
  pastDue: string[];
  payoutsEnabled: boolean;
}

export interface PayoutLineRow {
  payoutId: string;
  entryId: string;
  amountMinor: bigint;
  memo: string | null;
  transactionReference: string;
  transactionKind: string;
  occurredAt: Date;
}

export interface SkipRow {
  organizationId: string;
  organizationName: string | null;
  reason: string;
  availableMinor: bigint;
  detail: string | null;
}

export interface SnapshotPayout {
  id: string;
  organizationId: string;
  accountId: string;
  amountMinor: bigint;
  status: PayoutStatus;
  lines: { entryId: string; amountMinor: bigint }[];
}

export interface StatusCount {
  status: PayoutStatus;
  count: number;
  amountMinor: bigint;
  reversedMinor: bigint;
}

export interface VendorHoldRow {
  organizationId: string;
  organizationName: string;
  reason: string;
  heldBy: string;
  heldAt: Date;
}

interface RawVendorHold {
  organization_id: string;
  organization_name: string;
  reason: string;
  held_by: string;
  held_at: Date;
}

const toVendorHold = (r: RawVendorHold): VendorHoldRow => ({
  organizationId: r.organization_id,
  organizationName: r.organization_name,
  reason: r.reason,
  heldBy: r.held_by,
  heldAt: r.held_at,
});

const TIME_KEY = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;

const BATCH_COLUMNS = `b.id, b.currency, b.status, b.minimum_minor::text AS minimum_minor, b.as_of, b.holdback_days, b.total_minor::text AS total_minor,
  b.payout_count, b.snapshot_hash, b.created_by, cu.email AS created_by_email, b.created_at, b.approved_by, au.email AS approved_by_email, b.approved_at,
  b.rejected_by, b.rejected_at, b.reject_reason, b.completed_at, ${TIME_KEY('b.created_at')} AS created_key`;
const BATCH_FROM = `payout_batches b LEFT JOIN users cu ON cu.id = b.created_by LEFT JOIN users au ON au.id = b.approved_by`;

interface RawBatch {
  id: string;
  currency: string;
  status: PayoutBatchStatus;
  minimum_minor: string;
  as_of: Date;
  holdback_days: number;
  total_minor: string;
  payout_count: number;
  snapshot_hash: string;
  created_by: string;
  created_by_email: string | null;
  created_at: Date;
  approved_by: string | null;
  approved_by_email: string | null;
  approved_at: Date | null;
  rejected_by: string | null;
  rejected_at: Date | null;
  reject_reason: string | null;
  completed_at: Date | null;
  created_key: string;
}

const toBatch = (r: RawBatch): PayoutBatchRow => ({
  id: r.id,
  currency: r.currency,
  status: r.status,
  minimumMinor: BigInt(r.minimum_minor),
  asOf: r.as_of,
  holdbackDays: r.holdback_days,
  totalMinor: BigInt(r.total_minor),
  payoutCount: r.payout_count,
  snapshotHash: r.snapshot_hash,
  createdBy: r.created_by,
  createdByEmail: r.created_by_email,
  createdAt: r.created_at,
  approvedBy: r.approved_by,
  approvedByEmail: r.approved_by_email,
  approvedAt: r.approved_at,
  rejectedBy: r.rejected_by,
  rejectedAt: r.rejected_at,
  rejectReason: r.reject_reason,
  completedAt: r.completed_at,
  createdKey: r.created_key,
});

const PAYOUT_COLUMNS = `p.id, p.batch_id, p.organization_id, o.name AS organization_name, p.currency, p.amount_minor::text AS amount_minor, p.account_id,
  p.status, p.hold_reason, p.held_by, p.held_at, p.transfer_id, p.failure_code, p.failure_message, p.reversed_minor::text AS reversed_minor,
  p.sent_at, p.failed_at, p.created_at, ${TIME_KEY('p.created_at')} AS created_key, b.created_at AS batch_created_at`;
const PAYOUT_FROM = `payouts p JOIN payout_batches b ON b.id = p.batch_id LEFT JOIN organizations o ON o.id = p.organization_id`;

interface RawPayout {
  id: string;
  batch_id: string;
  organization_id: string;
  organization_name: string | null;
  currency: string;
  amount_minor: string;
  account_id: string;
  status: PayoutStatus;
  hold_reason: string | null;
  held_by: string | null;
  held_at: Date | null;
  transfer_id: string | null;
  failure_code: string | null;
  failure_message: string | null;
  reversed_minor: string;
  sent_at: Date | null;
  failed_at: Date | null;
  created_at: Date;
  created_key: string;
  batch_created_at: Date;
}

const toPayout = (r: RawPayout): PayoutRow => ({
  id: r.id,
  batchId: r.batch_id,
  organizationId: r.organization_id,
  organizationName: r.organization_name,
  currency: r.currency,
  amountMinor: BigInt(r.amount_minor),
  accountId: r.account_id,
  status: r.status,
  holdReason: r.hold_reason,
  heldBy: r.held_by,
  heldAt: r.held_at,
  transferId: r.transfer_id,
  failureCode: r.failure_code,
  failureMessage: r.failure_message,
  reversedMinor: BigInt(r.reversed_minor),
  sentAt: r.sent_at,
  failedAt: r.failed_at,
  createdAt: r.created_at,
  createdKey: r.created_key,
  batchCreatedAt: r.batch_created_at,
});

/** UPDATE … RETURNING answers [rows, count] through TypeORM's postgres driver. */
function returnedRows<T>(result: unknown): T[] {
  const r = result as unknown[];
  return (Array.isArray(r[0]) ? r[0] : r) as T[];
}

@Injectable()
export class PayoutBatchesRepository {
  /** Serialises batch creation in one currency until the transaction ends. */
  async lockCurrency(em: EntityManager, currency: string): Promise<void> {
    await em.query(`SELECT pg_advisory_xact_lock(hashtext('payout-batch:' || $1::text))`, [currency]);
  }

  /** Organizations with a vendor payable or paid account in the currency (anyone who may be owed something). */
  async vendorCandidates(em: EntityManager, currency: string): Promise<string[]> {
    const rows = (await em.query(
      `SELECT DISTINCT organization_id FROM ledger_accounts
        WHERE kind IN ('VENDOR_PAYABLE', 'VENDOR_PAID') AND currency = $1 AND organization_id IS NOT NULL
        ORDER BY organization_id`,
      [currency],
    )) as { organization_id: string }[];
    return rows.map((r) => r.organization_id);
  }

  /** Account, vendor hold and open payout of each organization, in one statement. */
  async vendorStates(em: EntityManager, organizationIds: readonly string[], currency: string): Promise<VendorPayoutState[]> {
    if (organizationIds.length === 0) return [];
    const rows = (await em.query(
      `SELECT o.id AS organization_id, a.account_id, a.transfers_capability, a.disabled_reason, a.currently_due, a.past_due,
              h.reason AS hold_reason, op.id AS open_payout_id, op.status AS open_payout_status
         FROM unnest($1::uuid[]) AS o(id)
         LEFT JOIN payout_accounts a ON a.organization_id = o.id
         LEFT JOIN payout_vendor_holds h ON h.organization_id = o.id
         LEFT JOIN payouts op ON op.organization_id = o.id AND op.currency = $2 AND op.status IN ('PENDING', 'HELD', 'APPROVED', 'SENDING')
        ORDER BY o.id`,
      [organizationIds, currency],
    )) as {
      organization_id: string; account_id: string | null; transfers_capability: string | null; disabled_reason: string | null;
      currently_due: string[] | null; past_due: string[] | null; hold_reason: string | null; open_payout_id: string | null; open_payout_status: PayoutStatus | null;
    }[];
    return rows.map((r) => ({
      organizationId: r.organization_id,
      accountId: r.account_id,
      transfersCapability: r.transfers_capability,
      disabledReason: r.disabled_reason,
      currentlyDue: r.currently_due ?? [],
      pastDue: r.past_due ?? [],
      holdReason: r.hold_reason,
      openPayoutId: r.open_payout_id,
      openPayoutStatus: r.open_payout_status,
    }));
  }

  /**
   * The ledger entries that may be paid out to each organization in the
   * currency: entries on `vendor:<org>:payable` and `vendor:<org>:paid`,
   * except a payout's own postings (PAYOUT, PAYOUT_FAILED), entries already
   * behind a payout that was not FAILED or CANCELLED, and entries of
   * transactions dated after `cutoff` whose net on the payable is a credit
   * (pending earnings: the same rule as the earnings balance). By
   * organization, then entry id. One statement.
   */
  async candidateLines(em: EntityManager, organizationIds: readonly string[], currency: string, cutoff: Date): Promise<CandidateLine[]> {
    if (organizationIds.length === 0) return [];
    const rows = (await em.query(
      `WITH acc AS (
           SELECT id, organization_id, kind FROM ledger_accounts
            WHERE organization_id = ANY($1::uuid[]) AND kind IN ('VENDOR_PAYABLE', 'VENDOR_PAID') AND currency = $2),
         recent_credit AS (
           SELECT acc.organization_id, e.transaction_id
             FROM acc
             JOIN ledger_entries e ON e.account_id = acc.id
             JOIN ledger_transactions t ON t.id = e.transaction_id
            WHERE acc.kind = 'VENDOR_PAYABLE' AND t.occurred_at > $3::timestamptz
            GROUP BY acc.organization_id, e.transaction_id
           HAVING sum(e.amount_minor) < 0)
       SELECT acc.organization_id, e.id::text AS entry_id, (-e.amount_minor)::text AS amount_minor
         FROM acc
         JOIN ledger_entries e ON e.account_id = acc.id
         JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE t.kind <> ALL ($4::text[])
          AND NOT EXISTS (SELECT 1 FROM recent_credit rc WHERE rc.organization_id = acc.organization_id AND rc.transaction_id = e.transaction_id)
          AND NOT EXISTS (SELECT 1 FROM payout_lines pl JOIN payouts p ON p.id = pl.payout_id
                           WHERE pl.ledger_entry_id = e.id AND p.status NOT IN ('FAILED', 'CANCELLED'))
        ORDER BY acc.organization_id, e.id`,
      [organizationIds, currency, cutoff.toISOString(), OWN_PAYOUT_KINDS],
    )) as { organization_id: string; entry_id: string; amount_minor: string }[];
    return rows.map((r) => ({ organizationId: r.organization_id, entryId: r.entry_id, amountMinor: BigInt(r.amount_minor) }));
  }

  async insertBatch(em: EntityManager, b: NewBatch, createdAt: Date): Promise<void> {
    await em.query(
      `INSERT INTO payout_batches (id, currency, status, minimum_minor, as_of, holdback_days, total_minor, payout_count, snapshot_hash, created_by, created_at)
       VALUES ($1, $2, 'IN_REVIEW', $3, $4, $5, $6, $7, $8, $9, $10)`,
      [b.id, b.currency, b.minimumMinor.toString(), b.asOf.toISOString(), b.holdbackDays, b.totalMinor.toString(), b.payoutCount, b.snapshotHash, b.createdBy, createdAt.toISOString()],
    );
  }

  /** The batch's payouts (PENDING, key `payout:<id>`) and their lines: two statements for any number of payouts. */
  async insertPayouts(em: EntityManager, batchId: string, currency: string, payouts: readonly NewPayout[], createdAt: Date): Promise<void> {
    if (payouts.length === 0) return;
    await em.query(
      `INSERT INTO payouts (id, batch_id, organization_id, currency, amount_minor, account_id, status, idempotency_key, created_at, updated_at)
       SELECT x.id, $1, x.org, $2, x.amount, x.account, 'PENDING', 'payout:' || x.id::text, $6, $6
         FROM unnest($3::uuid[], $4::uuid[], $5::bigint[], $7::text[]) AS x(id, org, amount, account)`,
      [batchId, currency, payouts.map((p) => p.id), payouts.map((p) => p.organizationId), payouts.map((p) => p.amountMinor.toString()), createdAt.toISOString(),
        payouts.map((p) => p.accountId)],
    );
    const lines = payouts.flatMap((p) => p.lines.map((l) => ({ payoutId: p.id, entryId: l.entryId, amount: l.amountMinor.toString() })));
    // Chunked only to bound one statement's parameter arrays.
    for (let i = 0; i < lines.length; i += 20_000) {
      const chunk = lines.slice(i, i + 20_000);
      await em.query(
        `INSERT INTO payout_lines (payout_id, ledger_entry_id, amount_minor)
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[])`,
        [chunk.map((l) => l.payoutId), chunk.map((l) => l.entryId), chunk.map((l) => l.amount)],
      );
    }
  }

  async insertSkips(em: EntityManager, batchId: string, skips: readonly NewSkip[]): Promise<void> {
    if (skips.length === 0) return;
    await em.query(
      `INSERT INTO payout_batch_skips (batch_id, organization_id, reason, available_minor, detail)
       SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::bigint[], $5::text[])`,
      [batchId, skips.map((s) => s.organizationId), skips.map((s) => s.reason), skips.map((s) => s.availableMinor.toString()), skips.map((s) => s.detail)],
    );
  }

  async batch(em: EntityManager, id: string): Promise<PayoutBatchRow | null> {
    const [row] = (await em.query(`SELECT ${BATCH_COLUMNS} FROM ${BATCH_FROM} WHERE b.id = $1`, [id])) as RawBatch[];
    return row ? toBatch(row) : null;
  }

  /** Locks the batch row (every review transition takes it first, then the payout rows). */
  async lockBatch(em: EntityManager, id: string): Promise<PayoutBatchRow | null> {
    const locked = (await em.query(`SELECT id FROM payout_batches WHERE id = $1 FOR UPDATE`, [id])) as unknown[];
    return locked.length ? this.batch(em, id) : null;
  }

  /** Batches newest first, keyset (created_at, id) descending. */
  async listBatches(
    em: EntityManager,
    filter: { status: PayoutBatchStatus | null; currency: string | null },
    after: { createdKey: string; id: string } | null,
    limit: number,
  ): Promise<PayoutBatchRow[]> {
    const rows = (await em.query(
      `SELECT ${BATCH_COLUMNS} FROM ${BATCH_FROM}
        WHERE ($1::text IS NULL OR b.status = $1) AND ($2::text IS NULL OR b.currency = $2)
          AND ($3::timestamptz IS NULL OR (b.created_at, b.id) < ($3::timestamptz, $4::uuid))
        ORDER BY b.created_at DESC, b.id DESC
        LIMIT $5`,
      [filter.status, filter.currency, after ? `${after.createdKey}Z` : null, after?.id ?? null, limit],
    )) as RawBatch[];
    return rows.map(toBatch);
  }

  /** The payouts of a batch with their lines, in the snapshot's order (vendor, then payout; lines by entry id). */
  async snapshotPayouts(em: EntityManager, batchId: string): Promise<SnapshotPayout[]> {
    const rows = (await em.query(
      `SELECT p.id, p.organization_id, p.account_id, p.amount_minor::text AS amount_minor, p.status,
              coalesce(json_agg(json_build_array(l.ledger_entry_id::text, l.amount_minor::text) ORDER BY l.ledger_entry_id)
                       FILTER (WHERE l.payout_id IS NOT NULL), '[]') AS lines
         FROM payouts p LEFT JOIN payout_lines l ON l.payout_id = p.id
        WHERE p.batch_id = $1
        GROUP BY p.id
        ORDER BY p.organization_id, p.id`,
      [batchId],
    )) as { id: string; organization_id: string; account_id: string; amount_minor: string; status: PayoutStatus; lines: [string, string][] }[];
    return rows.map((r) => ({
      id: r.id,
      organizationId: r.organization_id,
      accountId: r.account_id,
      amountMinor: BigInt(r.amount_minor),
      status: r.status,
      lines: r.lines.map(([entryId, amount]) => ({ entryId, amountMinor: BigInt(amount) })),
    }));
  }

  async setSnapshotHash(em: EntityManager, batchId: string, hash: string): Promise<void> {
    await em.query(`UPDATE payout_batches SET snapshot_hash = $2 WHERE id = $1`, [batchId, hash]);
  }

  /** IN_REVIEW → APPROVED. */
  async approveBatch(em: EntityManager, batchId: string, approvedBy: string, at: Date): Promise<void> {
    await em.query(
      `UPDATE payout_batches SET status = 'APPROVED', approved_by = $2, approved_at = $3 WHERE id = $1 AND status = 'IN_REVIEW'`,
      [batchId, approvedBy, at.toISOString()],
    );
  }

  /** The batch's PENDING payouts → APPROVED, due now (held ones stay HELD). Their ids. */
  async approvePayouts(em: EntityManager, batchId: string, at: Date): Promise<string[]> {
    const result = await em.query(
      `UPDATE payouts SET status = 'APPROVED', next_attempt_at = $2, updated_at = $2
        WHERE batch_id = $1 AND status = 'PENDING' RETURNING id`,
      [batchId, at.toISOString()],
    );
    return returnedRows<{ id: string }>(result).map((r) => r.id);
  }

  /** IN_REVIEW → REJECTED; its PENDING and HELD payouts → CANCELLED (their lines may be paid again). Cancelled count. */
  async rejectBatch(em: EntityManager, batchId: string, rejectedBy: string, reason: string, at: Date): Promise<number> {
    await em.query(
      `UPDATE payout_batches SET status = 'REJECTED', rejected_by = $2, rejected_at = $3, reject_reason = $4 WHERE id = $1 AND status = 'IN_REVIEW'`,
      [batchId, rejectedBy, at.toISOString(), reason],
    );
    const result = await em.query(
      `UPDATE payouts SET status = 'CANCELLED', updated_at = $2 WHERE batch_id = $1 AND status IN ('PENDING', 'HELD') RETURNING id`,
      [batchId, at.toISOString()],
    );
    return returnedRows(result).length;
  }

  /** The payout's batch id (no lock), or null when there is no such payout. */
  async batchOfPayout(em: EntityManager, payoutId: string): Promise<string | null> {
    const [row] = (await em.query(`SELECT batch_id FROM payouts WHERE id = $1`, [payoutId])) as { batch_id: string }[];
    return row ? row.batch_id : null;
  }

  async lockPayout(em: EntityManager, payoutId: string): Promise<PayoutRow | null> {
    const locked = (await em.query(`SELECT id FROM payouts WHERE id = $1 FOR UPDATE`, [payoutId])) as unknown[];
    return locked.length ? this.payout(em, payoutId) : null;
  }

  async payout(em: EntityManager, payoutId: string): Promise<PayoutRow | null> {
    const [row] = (await em.query(`SELECT ${PAYOUT_COLUMNS} FROM ${PAYOUT_FROM} WHERE p.id = $1`, [payoutId])) as RawPayout[];
    return row ? toPayout(row) : null;
  }

  /** PENDING or APPROVED → HELD. False when the payout was in another status. */
  async holdPayout(em: EntityManager, payoutId: string, reason: string, heldBy: string, at: Date): Promise<boolean> {
    const result = await em.query(
      `UPDATE payouts SET status = 'HELD', hold_reason = $2, held_by = $3, held_at = $4, updated_at = $4
        WHERE id = $1 AND status IN ('PENDING', 'APPROVED') RETURNING id`,
      [payoutId, reason, heldBy, at.toISOString()],
    );
    return returnedRows(result).length === 1;
  }

  /** HELD → PENDING (the hold's facts stay in the audit log). */
  async releasePayout(em: EntityManager, payoutId: string, at: Date): Promise<boolean> {
    const result = await em.query(
      `UPDATE payouts SET status = 'PENDING', hold_reason = NULL, held_by = NULL, held_at = NULL, updated_at = $2
        WHERE id = $1 AND status = 'HELD' RETURNING id`,
      [payoutId, at.toISOString()],
    );
    return returnedRows(result).length === 1;
  }

  async userEmail(em: EntityManager, userId: string): Promise<string | null> {
    const [row] = (await em.query(`SELECT email FROM users WHERE id = $1`, [userId])) as { email: string }[];
    return row ? row.email : null;
  }

  async organizationExists(em: EntityManager, id: string): Promise<boolean> {
    const rows = (await em.query(`SELECT 1 FROM organizations WHERE id = $1`, [id])) as unknown[];
    return rows.length > 0;
  }

  async vendorHold(em: EntityManager, organizationId: string): Promise<VendorHoldRow | null> {
    const [row] = (await em.query(
      `SELECT h.organization_id, o.name AS organization_name, h.reason, h.held_by, h.held_at
         FROM payout_vendor_holds h JOIN organizations o ON o.id = h.organization_id WHERE h.organization_id = $1`,
      [organizationId],
    )) as RawVendorHold[];
    return row ? toVendorHold(row) : null;
  }

  /** Every vendor on hold, longest held first (holds are few: an admin places each). */
  async vendorHolds(em: EntityManager): Promise<VendorHoldRow[]> {
    const rows = (await em.query(
      `SELECT h.organization_id, o.name AS organization_name, h.reason, h.held_by, h.held_at
         FROM payout_vendor_holds h JOIN organizations o ON o.id = h.organization_id ORDER BY h.held_at, h.organization_id`,
    )) as RawVendorHold[];
    return rows.map(toVendorHold);
  }

  /** Places (or replaces the reason of) a vendor hold; the row as stored. */
  async putVendorHold(em: EntityManager, organizationId: string, reason: string, heldBy: string, at: Date): Promise<VendorHoldRow> {
    await em.query(
      `INSERT INTO payout_vendor_holds (organization_id, reason, held_by, held_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (organization_id) DO UPDATE SET reason = EXCLUDED.reason, held_by = EXCLUDED.held_by, held_at = EXCLUDED.held_at`,
      [organizationId, reason, heldBy, at.toISOString()],
    );
    return (await this.vendorHold(em, organizationId))!;
  }

  /** The removed hold, or null when the vendor was not on hold. */
  async deleteVendorHold(em: EntityManager, organizationId: string): Promise<VendorHoldRow | null> {
    const [row] = (await em.query(
      `WITH d AS (DELETE FROM payout_vendor_holds WHERE organization_id = $1 RETURNING organization_id, reason, held_by, held_at)
       SELECT d.organization_id, o.name AS organization_name, d.reason, d.held_by, d.held_at FROM d JOIN organizations o ON o.id = d.organization_id`,
      [organizationId],
    )) as RawVendorHold[];
    return row ? toVendorHold(row) : null;
  }

  /** A page of the batch's payouts by organization id. */
  async batchPayouts(em: EntityManager, batchId: string, afterOrganizationId: string | null, limit: number): Promise<PayoutRow[]> {
    const rows = (await em.query(
      `SELECT ${PAYOUT_COLUMNS} FROM ${PAYOUT_FROM}
        WHERE p.batch_id = $1 AND ($2::uuid IS NULL OR p.organization_id > $2::uuid)
        ORDER BY p.organization_id LIMIT $3`,
      [batchId, afterOrganizationId, limit],
    )) as RawPayout[];
    return rows.map(toPayout);
  }

  /** An organization's payouts, newest first, keyset (created_at, id) descending. */
  async organizationPayouts(em: EntityManager, organizationId: string, after: { createdKey: string; id: string } | null, limit: number): Promise<PayoutRow[]> {
    const rows = (await em.query(
      `SELECT ${PAYOUT_COLUMNS} FROM ${PAYOUT_FROM}
        WHERE p.organization_id = $1
          AND ($2::timestamptz IS NULL OR (p.created_at, p.id) < ($2::timestamptz, $3::uuid))
        ORDER BY p.created_at DESC, p.id DESC LIMIT $4`,
      [organizationId, after ? `${after.createdKey}Z` : null, after?.id ?? null, limit],
    )) as RawPayout[];
    return rows.map(toPayout);
  }

  /** The lines of the payouts with their journal transactions, by payout then entry id. */
  async linesOf(em: EntityManager, payoutIds: readonly string[]): Promise<PayoutLineRow[]> {
    if (payoutIds.length === 0) return [];
    const rows = (await em.query(
      `SELECT l.payout_id, l.ledger_entry_id::text AS entry_id, l.amount_minor::text AS amount_minor, e.memo, t.reference, t.kind, t.occurred_at
         FROM payout_lines l
         JOIN ledger_entries e ON e.id = l.ledger_entry_id
         JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE l.payout_id = ANY($1::uuid[])
        ORDER BY l.payout_id, l.ledger_entry_id`,
      [payoutIds],
    )) as { payout_id: string; entry_id: string; amount_minor: string; memo: string | null; reference: string; kind: string; occurred_at: Date }[];
    return rows.map((r) => ({
      payoutId: r.payout_id,
      entryId: r.entry_id,
      amountMinor: BigInt(r.amount_minor),
      memo: r.memo,
      transactionReference: r.reference,
      transactionKind: r.kind,
      occurredAt: r.occurred_at,
    }));
  }

  /** The connected accounts of the organizations as they are now. */
  async accountsNow(em: EntityManager, organizationIds: readonly string[]): Promise<Map<string, PayoutAccountNow>> {
    if (organizationIds.length === 0) return new Map();
    const rows = (await em.query(
      `SELECT organization_id, account_id, transfers_capability, disabled_reason, currently_due, past_due, payouts_enabled
         FROM payout_accounts WHERE organization_id = ANY($1::uuid[])`,
      [organizationIds],
    )) as { organization_id: string; account_id: string; transfers_capability: string | null; disabled_reason: string | null; currently_due: string[]; past_due: string[]; payouts_enabled: boolean }[];
    return new Map(
      rows.map((r) => [
        r.organization_id,
        { accountId: r.account_id, transfersCapability: r.transfers_capability, disabledReason: r.disabled_reason, currentlyDue: r.currently_due, pastDue: r.past_due, payoutsEnabled: r.payouts_enabled },
      ]),
    );
  }

  /** A page of the vendors the batch skipped, by organization id. */
  async batchSkips(em: EntityManager, batchId: string, afterOrganizationId: string | null, limit: number): Promise<SkipRow[]> {
    const rows = (await em.query(
      `SELECT s.organization_id, o.name AS organization_name, s.reason, s.available_minor::text AS available_minor, s.detail
         FROM payout_batch_skips s LEFT JOIN organizations o ON o.id = s.organization_id
        WHERE s.batch_id = $1 AND ($2::uuid IS NULL OR s.organization_id > $2::uuid)
        ORDER BY s.organization_id LIMIT $3`,
      [batchId, afterOrganizationId, limit],
    )) as { organization_id: string; organization_name: string | null; reason: string; available_minor: string; detail: string | null }[];
    return rows.map((r) => ({ organizationId: r.organization_id, organizationName: r.organization_name, reason: r.reason, availableMinor: BigInt(r.available_minor), detail: r.detail }));
  }

  /** Skips by reason. */
  async skipCounts(em: EntityManager, batchId: string): Promise<{ reason: string; count: number }[]> {
    const rows = (await em.query(
      `SELECT reason, count(*)::int AS n FROM payout_batch_skips WHERE batch_id = $1 GROUP BY reason ORDER BY reason`,
      [batchId],
    )) as { reason: string; n: number }[];
    return rows.map((r) => ({ reason: r.reason, count: r.n }));
  }

  /** Payouts of the batch by status: count, amount and amount reversed. */
  async statusCounts(em: EntityManager, batchId: string): Promise<StatusCount[]> {
    const rows = (await em.query(
      `SELECT status, count(*)::int AS n, sum(amount_minor)::text AS amount, sum(reversed_minor)::text AS reversed
         FROM payouts WHERE batch_id = $1 GROUP BY status ORDER BY status`,
      [batchId],
    )) as { status: PayoutStatus; n: number; amount: string; reversed: string }[];
    return rows.map((r) => ({ status: r.status, count: r.n, amountMinor: BigInt(r.amount), reversedMinor: BigInt(r.reversed) }));
  }
}
