/**
 * The SQL of vendors' connected accounts (payout_accounts). Every method takes
 * the EntityManager of the caller's transaction (or the reader).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ConnectedAccount, PaymentsMode } from '../payments/payments.port';

export interface PayoutAccountRow {
  organizationId: string;
  mode: PaymentsMode;
  accountId: string;
  chargesEnabled: boolean;
  payoutsEnabled: boolean;
  detailsSubmitted: boolean;
  transfersCapability: 'active' | 'inactive' | 'pending' | null;
  currentlyDue: string[];
  pastDue: string[];
  disabledReason: string | null;
  syncRequested: bigint;
  syncedGeneration: bigint;
  syncedAt: Date | null;
  lastPayoutId: string | null;
  lastPayoutStatus: 'paid' | 'failed' | null;
  lastPayoutFailureCode: string | null;
  lastPayoutCreated: Date | null;
}

export interface PayoutEventFacts {
  payoutId: string;
  status: 'paid' | 'failed';
  failureCode: string | null;
  /** The payout's creation time, Unix seconds. */
  createdSeconds: number;
}

const COLUMNS = `organization_id, mode, account_id, charges_enabled, payouts_enabled, details_submitted, transfers_capability,
  currently_due, past_due, disabled_reason, sync_requested::text AS sync_requested, synced_generation::text AS synced_generation, synced_at,
  last_payout_id, last_payout_status, last_payout_failure_code, last_payout_created`;

interface RawRow {
  organization_id: string;
  mode: PaymentsMode;
  account_id: string;
  charges_enabled: boolean;
  payouts_enabled: boolean;
  details_submitted: boolean;
  transfers_capability: PayoutAccountRow['transfersCapability'];
  currently_due: string[];
  past_due: string[];
  disabled_reason: string | null;
  sync_requested: string;
  synced_generation: string;
  synced_at: Date | null;
  last_payout_id: string | null;
  last_payout_status: PayoutAccountRow['lastPayoutStatus'];
  last_payout_failure_code: string | null;
  last_payout_created: Date | null;
}

const toRow = (r: RawRow): PayoutAccountRow => ({
  organizationId: r.organization_id,
  mode: r.mode,
  accountId: r.account_id,
  chargesEnabled: r.charges_enabled,
  payoutsEnabled: r.payouts_enabled,
  detailsSubmitted: r.details_submitted,
  transfersCapability: r.transfers_capability,
  currentlyDue: r.currently_due,
  pastDue: r.past_due,
  disabledReason: r.disabled_reason,
  syncRequested: BigInt(r.sync_requested),
  syncedGeneration: BigInt(r.synced_generation),
  syncedAt: r.synced_at,
  lastPayoutId: r.last_payout_id,
  lastPayoutStatus: r.last_payout_status,
  lastPayoutFailureCode: r.last_payout_failure_code,
  lastPayoutCreated: r.last_payout_created,
});

/** UPDATE … RETURNING answers [rows, count] through TypeORM's postgres driver. */
function returnedRows(result: unknown): unknown[] {
  const r = result as unknown[];
  return Array.isArray(r[0]) ? (r[0] as unknown[]) : r;
}

@Injectable()
export class PayoutAccountsRepository {
  async byOrganization(em: EntityManager, organizationId: string): Promise<PayoutAccountRow | null> {
    const [row] = (await em.query(`SELECT ${COLUMNS} FROM payout_accounts WHERE organization_id = $1`, [organizationId])) as RawRow[];
    return row ? toRow(row) : null;
  }

  async byAccount(em: EntityManager, accountId: string): Promise<PayoutAccountRow | null> {
    const [row] = (await em.query(`SELECT ${COLUMNS} FROM payout_accounts WHERE account_id = $1`, [accountId])) as RawRow[];
    return row ? toRow(row) : null;
  }

  /** The organization's country (null when it has none), or undefined when there is no such organization. */
  async organizationCountry(em: EntityManager, organizationId: string): Promise<string | null | undefined> {
    const [org] = (await em.query(`SELECT country FROM organizations WHERE id = $1`, [organizationId])) as { country: string | null }[];
    return org ? org.country : undefined;
  }

  /**
   * Records the organization's account in `mode`: inserted, or replacing one
   * of the other mode (its state too); a row of the same mode is kept — the
   * first of concurrent calls wins. True when this call wrote the row.
   */
  async saveAccount(em: EntityManager, organizationId: string, mode: PaymentsMode, accountId: string): Promise<boolean> {
    const result = await em.query(
      `INSERT INTO payout_accounts (organization_id, mode, account_id) VALUES ($1, $2, $3)
       ON CONFLICT (organization_id) DO UPDATE
         SET mode = EXCLUDED.mode, account_id = EXCLUDED.account_id, charges_enabled = false, payouts_enabled = false,
             details_submitted = false, transfers_capability = NULL, currently_due = '{}', past_due = '{}', disabled_reason = NULL,
             sync_requested = 0, synced_generation = 0, synced_at = NULL, last_payout_id = NULL, last_payout_status = NULL,
             last_payout_failure_code = NULL, last_payout_created = NULL, updated_at = now()
       WHERE payout_accounts.mode <> EXCLUDED.mode
       RETURNING organization_id`,
      [organizationId, mode, accountId],
    );
    return returnedRows(result).length === 1;
  }

  /** An event said the account changed: one more generation to read. null when the account is not one of ours. */
  async requestSync(em: EntityManager, accountId: string): Promise<bigint | null> {
    const result = await em.query(
      `UPDATE payout_accounts SET sync_requested = sync_requested + 1, updated_at = now() WHERE account_id = $1 RETURNING sync_requested::text AS g`,
      [accountId],
    );
    const [row] = returnedRows(result) as { g: string }[];
    return row ? BigInt(row.g) : null;
  }

  /**
   * Stores the account's state as read from the processor after `generation`
   * events had been recorded — unless a state read after more events is
   * stored already (a slow read never overwrites a newer one). True when written.
   */
  async saveState(em: EntityManager, accountId: string, generation: bigint, a: ConnectedAccount): Promise<boolean> {
    const result = await em.query(
      `UPDATE payout_accounts
          SET charges_enabled = $3, payouts_enabled = $4, details_submitted = $5, transfers_capability = $6,
              currently_due = $7::text[], past_due = $8::text[], disabled_reason = $9,
              synced_generation = $2, synced_at = now(), updated_at = now()
        WHERE account_id = $1 AND synced_generation <= $2 AND sync_requested >= $2
        RETURNING organization_id`,
      [accountId, generation.toString(), a.chargesEnabled, a.payoutsEnabled, a.detailsSubmitted, a.transfersCapability, a.currentlyDue, a.pastDue, a.disabledReason],
    );
    return returnedRows(result).length === 1;
  }

  /** Accounts with an event newer than their stored state (the sweep's work), oldest change first. */
  async unsynced(em: EntityManager, limit: number): Promise<string[]> {
    const rows = (await em.query(
      `SELECT account_id FROM payout_accounts WHERE synced_generation < sync_requested ORDER BY updated_at LIMIT $1`,
      [limit],
    )) as { account_id: string }[];
    return rows.map((r) => r.account_id);
  }

  /**
   * Records a payout event on its account: the latest payout by creation time
   * wins, and `failed` overrides `paid` for the same payout (a paid payout can
   * still fail later; a failed one never becomes paid). So duplicates and any
   * delivery order end in the same state. False when nothing changed.
   */
  async recordPayout(em: EntityManager, accountId: string, p: PayoutEventFacts): Promise<boolean> {
    const result = await em.query(
      `UPDATE payout_accounts
          SET last_payout_id = $2, last_payout_status = $3, last_payout_failure_code = $4, last_payout_created = to_timestamp($5), updated_at = now()
        WHERE account_id = $1
          AND (last_payout_id IS NULL
               OR last_payout_created < to_timestamp($5)
               OR (last_payout_created = to_timestamp($5) AND last_payout_id < $2)
               OR (last_payout_id = $2 AND last_payout_status = 'paid' AND $3 = 'failed'))
        RETURNING organization_id`,
      [accountId, p.payoutId, p.status, p.failureCode, p.createdSeconds],
    );
    return returnedRows(result).length === 1;
  }
}
