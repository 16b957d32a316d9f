/**
 * The SQL behind vendors' earnings balances. Everything is read from the
 * ledger (no table of its own): the three vendor accounts per currency —
 * `vendor:<org>:payable`, `vendor:<org>:held`, `vendor:<org>:paid` — and the
 * journal transactions that touched the payable inside the holdback window.
 *
 * Cost: `balances` is one statement for any number of organizations. Account
 * balances are index-only sums over `IDX_ledger_entries_account`; the recent
 * credits are a join of the payable's entries with the transactions dated
 * after the cutoff, which PostgreSQL can drive either from the account's
 * entries (`IDX_ledger_entries_account`) or from the window's transactions
 * (`IDX_ledger_transactions_occurred`, then `UQ_ledger_entries_line`),
 * whichever its statistics say is smaller. Nothing scans the whole ledger.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/** One organization's vendor accounts in one currency, signed as the ledger stores them (debit positive). */
export interface EarningsLedgerRow {
  organizationId: string;
  currency: string;
  /** Signed balance of `vendor:<org>:payable` (credit-normal: negative when the platform owes the vendor). */
  payableSigned: bigint;
  heldSigned: bigint;
  paidSigned: bigint;
  /** Σ over transactions dated after the cutoff whose net on the payable is a credit, of that net (as a positive amount). */
  recentCredits: bigint;
  /** occurred_at of the oldest such transaction, in whole milliseconds rounded up; null when there is none. */
  oldestRecentCreditMs: number | null;
}

@Injectable()
export class EarningsBalanceRepository {
  /**
   * The vendor accounts of the organizations (every currency, or only
   * `currency`), with the credits to their payables dated after `cutoff`. One
   * row per (organization, currency) holding at least one of the three
   * accounts, ordered by organization then currency. One statement: the
   * balances and the recent credits come from the same snapshot.
   */
  async balances(em: EntityManager, organizationIds: readonly string[], currency: string | null, cutoff: Date): Promise<EarningsLedgerRow[]> {
    if (organizationIds.length === 0) return [];
    const rows: Array<{
      organization_id: string; currency: string; payable: string; held: string; paid: string; recent: string; oldest_ms: string | null;
    }> = await em.query(
      `WITH acc AS (
           SELECT a.id, a.organization_id, a.currency, a.kind
             FROM ledger_accounts a
            WHERE a.organization_id = ANY($1::uuid[])
              AND a.kind IN ('VENDOR_PAYABLE', 'VENDOR_HELD', 'VENDOR_PAID')
              AND ($2::text IS NULL OR a.currency = $2::text)),
         balance AS (
           SELECT acc.organization_id, acc.currency,
                  coalesce(sum(b.total) FILTER (WHERE acc.kind = 'VENDOR_PAYABLE'), 0) AS payable,
                  coalesce(sum(b.total) FILTER (WHERE acc.kind = 'VENDOR_HELD'), 0) AS held,
                  coalesce(sum(b.total) FILTER (WHERE acc.kind = 'VENDOR_PAID'), 0) AS paid
             FROM acc
             CROSS JOIN LATERAL (SELECT coalesce(sum(e.amount_minor), 0) AS total FROM ledger_entries e WHERE e.account_id = acc.id) b
            GROUP BY acc.organization_id, acc.currency),
         -- The net of each recent transaction on a payable; only credits (negative nets) are fresh earnings.
         recent AS (
           SELECT acc.organization_id, acc.currency, t.occurred_at, sum(e.amount_minor) AS net
             FROM acc
             JOIN ledger_entries e ON e.account_id = acc.id
             JOIN ledger_transactions t ON t.id = e.transaction_id
            WHERE acc.kind = 'VENDOR_PAYABLE' AND t.occurred_at > $3::timestamptz
            GROUP BY acc.organization_id, acc.currency, t.id
           HAVING sum(e.amount_minor) < 0),
         pending AS (
           SELECT organization_id, currency, -sum(net) AS credits, min(occurred_at) AS oldest
             FROM recent
            GROUP BY organization_id, currency)
       SELECT b.organization_id, b.currency, b.payable::text AS payable, b.held::text AS held, b.paid::text AS paid,
              coalesce(p.credits, 0)::text AS recent,
              ceil(extract(epoch FROM p.oldest) * 1000)::bigint::text AS oldest_ms
         FROM balance b
         LEFT JOIN pending p ON p.organization_id = b.organization_id AND p.currency = b.currency
        ORDER BY b.organization_id, b.currency`,
      [organizationIds, currency, cutoff.toISOString()],
    );
    return rows.map((r) => ({
      organizationId: r.organization_id,
      currency: r.currency,
      payableSigned: BigInt(r.payable),
      heldSigned: BigInt(r.held),
      paidSigned: BigInt(r.paid),
      recentCredits: BigInt(r.recent),
      oldestRecentCreditMs: r.oldest_ms === null ? null : Number(r.oldest_ms),
    }));
  }

  /**
   * Vendor organizations with a non-zero payable (net of what was paid out)
   * or held balance in `currency`, by organization id after
   * `afterOrganizationId`, at most `limit`.
   */
  async vendorsWithBalance(em: EntityManager, currency: string, afterOrganizationId: string | null, limit: number): Promise<string[]> {
    const rows: { organization_id: string }[] = await em.query(
      `SELECT a.organization_id
         FROM ledger_accounts a
         CROSS JOIN LATERAL (SELECT coalesce(sum(e.amount_minor), 0) AS total FROM ledger_entries e WHERE e.account_id = a.id) b
        WHERE a.organization_id IS NOT NULL
          AND a.kind IN ('VENDOR_PAYABLE', 'VENDOR_PAID', 'VENDOR_HELD')
          AND a.currency = $1
          AND ($2::uuid IS NULL OR a.organization_id > $2::uuid)
        GROUP BY a.organization_id
       HAVING coalesce(sum(b.total) FILTER (WHERE a.kind IN ('VENDOR_PAYABLE', 'VENDOR_PAID')), 0) <> 0
           OR coalesce(sum(b.total) FILTER (WHERE a.kind = 'VENDOR_HELD'), 0) <> 0
        ORDER BY a.organization_id
        LIMIT $3`,
      [currency, afterOrganizationId, limit],
    );
    return rows.map((r) => r.organization_id);
  }

  async organizationExists(em: EntityManager, id: string): Promise<boolean> {
    const rows: unknown[] = await em.query(`SELECT 1 FROM organizations WHERE id = $1::uuid`, [id]);
    return rows.length > 0;
  }
}
