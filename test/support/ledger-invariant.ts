/**
 * The ledger's global invariant, checked from the outside with plain SQL:
 * - every currency sums to zero over all entries;
 * - every journal transaction has ≥ 2 entries and sums to zero per currency;
 * - no entry without its transaction or its account;
 * - every entry's currency is its account's.
 * Money specs call `useLedgerInvariant(() => t.dataSource)` so it runs after
 * every test; the database enforces the same rules, this catches a bypass.
 */
import type { DataSource } from 'typeorm';

const CHECKS: { name: string; sql: string }[] = [
  {
    name: 'currency does not sum to zero over all entries',
    sql: `SELECT currency, sum(amount_minor)::text AS total FROM ledger_entries GROUP BY currency HAVING sum(amount_minor) <> 0`,
  },
  {
    name: 'transaction with fewer than 2 entries',
    sql: `SELECT t.id, t.reference, count(e.id)::int AS entries
            FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id
           GROUP BY t.id, t.reference HAVING count(e.id) < 2`,
  },
  {
    name: 'transaction does not sum to zero in a currency',
    sql: `SELECT e.transaction_id, e.currency, sum(e.amount_minor)::text AS total
            FROM ledger_entries e GROUP BY e.transaction_id, e.currency HAVING sum(e.amount_minor) <> 0`,
  },
  {
    name: 'entry without its transaction',
    sql: `SELECT e.id::text, e.transaction_id FROM ledger_entries e
           WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.id = e.transaction_id)`,
  },
  {
    name: 'entry without its account',
    sql: `SELECT e.id::text, e.account_id FROM ledger_entries e
           WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = e.account_id)`,
  },
  {
    name: "entry currency differs from its account's",
    sql: `SELECT e.id::text, e.currency, a.currency AS account_currency
            FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE a.currency <> e.currency`,
  },
  {
    name: 'entry with a zero amount',
    sql: `SELECT e.id::text, e.transaction_id FROM ledger_entries e WHERE e.amount_minor = 0`,
  },
];

export class LedgerInvariantError extends Error {
  constructor(readonly violations: { check: string; rows: unknown[] }[]) {
    super(`Ledger invariant violated:\n${violations.map((v) => `- ${v.check}: ${JSON.stringify(v.rows)}`).join('\n')}`);
    this.name = 'LedgerInvariantError';
  }
}

/** Throws LedgerInvariantError listing every broken rule (up to 10 example rows each). */
export async function assertLedgerInvariant(dataSource: DataSource): Promise<void> {
  const violations: { check: string; rows: unknown[] }[] = [];
  for (const c of CHECKS) {
    const rows: unknown[] = await dataSource.query(`${c.sql} LIMIT 10`);
    if (rows.length > 0) violations.push({ check: c.name, rows });
  }
  if (violations.length > 0) throw new LedgerInvariantError(violations);
}

/** Registers an afterEach that asserts the invariant (the data source is read when the hook runs). */
export function useLedgerInvariant(getDataSource: () => DataSource | undefined): void {
  afterEach(async () => {
    const ds = getDataSource();
    if (ds?.isInitialized) await assertLedgerInvariant(ds);
  });
}
