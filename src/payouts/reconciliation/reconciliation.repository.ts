/**
 * The SQL of reconciliation: the ledger's cash movements in a time range
 * (every journal transaction touching platform:cash, with the processor ids
 * its metadata and the payouts table give it), what our records know of
 * disputes, and the stored runs.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface LedgerCashRow {
  transactionId: string;
  reference: string;
  kind: string;
  occurredAt: Date;
  metadata: Record<string, any>;
  currency: string;
  /** Σ of the transaction's entries on platform:cash (signed, debit positive: money in). */
  cashMinor: bigint;
  /** The charge of the invoice the posting is about (when it is about one). */
  invoiceChargeId: string | null;
  /** For PAYOUT / PAYOUT_FAILED: the payout's transfer (null until recorded). */
  payoutTransferId: string | null;
}

export interface DisputeRecord {
  disputeId: string;
  status: 'OPEN' | 'WON' | 'LOST';
  openedAt: Date;
  closedAt: Date | null;
}

export interface StoredRunRow {
  id: string;
  day: string;
  mode: string;
  trigger: string;
  requestedBy: string | null;
  ranAt: Date;
  matchedCount: number;
  differenceCount: number;
  timingCount: number;
  result: any;
}

type Raw = Record<string, any>;

const runRow = (r: Raw): StoredRunRow => ({
  id: r.id,
  day: r.day,
  mode: r.mode,
  trigger: r.trigger,
  requestedBy: r.requested_by,
  ranAt: new Date(r.ran_at),
  matchedCount: r.matched_count,
  differenceCount: r.difference_count,
  timingCount: r.timing_count,
  result: r.result,
});

@Injectable()
export class ReconciliationRepository {
  async ledgerCash(em: EntityManager, from: Date, to: Date): Promise<LedgerCashRow[]> {
    const rows: Raw[] = await em.query(
      `SELECT t.id, t.reference, t.kind, t.occurred_at, t.metadata, e.currency, sum(e.amount_minor)::text AS cash,
              c.charge_id AS invoice_charge_id, p.transfer_id AS payout_transfer_id
         FROM ledger_transactions t
         JOIN ledger_entries e ON e.transaction_id = t.id
         JOIN ledger_accounts a ON a.id = e.account_id AND a.code = 'platform:cash'
         LEFT JOIN invoice_collections c ON c.invoice_id::text = t.metadata->>'invoiceId'
         LEFT JOIN payouts p ON p.id::text = t.metadata->>'payout_id'
        WHERE t.occurred_at >= $1 AND t.occurred_at < $2
        GROUP BY t.id, e.currency, c.charge_id, p.transfer_id
        ORDER BY t.occurred_at, t.id`,
      [from.toISOString(), to.toISOString()],
    );
    return rows.map((r) => ({
      transactionId: r.id,
      reference: r.reference,
      kind: r.kind,
      occurredAt: new Date(r.occurred_at),
      metadata: r.metadata ?? {},
      currency: r.currency,
      cashMinor: BigInt(r.cash),
      invoiceChargeId: r.invoice_charge_id,
      payoutTransferId: r.payout_transfer_id,
    }));
  }

  async disputes(em: EntityManager, ids: readonly string[]): Promise<DisputeRecord[]> {
    if (ids.length === 0) return [];
    const rows: Raw[] = await em.query(`SELECT dispute_id, status, opened_at, closed_at FROM invoice_disputes WHERE dispute_id = ANY($1::text[])`, [ids]);
    return rows.map((r) => ({ disputeId: r.dispute_id, status: r.status, openedAt: new Date(r.opened_at), closedAt: r.closed_at ? new Date(r.closed_at) : null }));
  }

  async insertRun(
    em: EntityManager,
    r: { day: string; mode: string; trigger: 'ADMIN' | 'JOB'; requestedBy: string | null; ranAt: Date; matchedCount: number; differenceCount: number; timingCount: number; result: unknown },
  ): Promise<StoredRunRow> {
    const [row] = await em.query(
      `INSERT INTO reconciliation_runs (day, mode, trigger, requested_by, ran_at, matched_count, difference_count, timing_count, result)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
       RETURNING id, day::text, mode, trigger, requested_by, ran_at, matched_count, difference_count, timing_count, result`,
      [r.day, r.mode, r.trigger, r.requestedBy, r.ranAt.toISOString(), r.matchedCount, r.differenceCount, r.timingCount, JSON.stringify(r.result)],
    );
    return runRow(row);
  }

  async latestRun(em: EntityManager, day: string): Promise<StoredRunRow | null> {
    const [row] = await em.query(
      `SELECT id, day::text, mode, trigger, requested_by, ran_at, matched_count, difference_count, timing_count, result
         FROM reconciliation_runs WHERE day = $1 ORDER BY ran_at DESC, id DESC LIMIT 1`,
      [day],
    );
    return row ? runRow(row) : null;
  }

  async runs(em: EntityManager, day: string, limit: number): Promise<StoredRunRow[]> {
    const rows: Raw[] = await em.query(
      `SELECT id, day::text, mode, trigger, requested_by, ran_at, matched_count, difference_count, timing_count, result
         FROM reconciliation_runs WHERE day = $1 ORDER BY ran_at DESC, id DESC LIMIT $2`,
      [day, limit],
    );
    return rows.map(runRow);
  }
}
