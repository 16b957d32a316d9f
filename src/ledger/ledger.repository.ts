/**
 * The SQL of the ledger: posting (three statements per batch — claim the
 * references, create missing accounts, insert every entry), balances, and the
 * admin reads of transactions and accounts. Posting is a hot path, so its
 * statements are written out here and reviewed as SQL. Every method takes
 * the caller's EntityManager (the posting transaction's, or the reader), so
 * none can run outside it by accident. Money is bigint in every row.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AccountKind } from './accounts';

/** A journal transaction to claim: its reference and what is recorded with it. */
export interface ClaimInput {
  reference: string;
  kind: string;
  description: string;
  /** Business time (the LedgerService dates postings by the platform Clock). */
  occurredAt: Date;
  metadata: Record<string, unknown>;
}

export interface ClaimedRow {
  id: string;
  reference: string;
}

/** Entries to insert, column by column (one element per entry). */
export interface EntryColumns {
  tx: string[];
  no: number[];
  code: string[];
  currency: string[];
  amount: bigint[];
  memo: (string | null)[];
}

export interface AccountToEnsure {
  code: string;
  currency: string;
  kind: string;
  organizationId: string | null;
}

/** One account balance answering the n-th (1-based) requested (code, currency). */
export interface RequestedBalanceRow {
  n: number;
  code: string;
  currency: string;
  balanceMinor: bigint;
}

/** An entry of a transaction already holding a reference. */
export interface PostedLineRow {
  id: string;
  code: string;
  currency: string;
  amountMinor: bigint;
}

export interface TransactionQuery {
  accountCode: string | null;
  kind: string | null;
  reference: string | null;
  from: Date | null;
  to: Date | null;
  /** Keyset: rows before this (occurred_at in microseconds, id), newest first. */
  before: readonly [string, string] | null;
  limit: number;
}

export interface TransactionRow {
  id: string;
  reference: string;
  kind: string;
  description: string;
  occurredAt: Date;
  createdAt: Date;
  metadata: Record<string, string>;
  /** occurred_at in microseconds since the epoch, for the cursor. */
  micros: string;
}

export interface EntryOfTransactionRow {
  transactionId: string;
  id: string;
  code: string;
  currency: string;
  amountMinor: bigint;
  memo: string | null;
}

export interface AccountBalanceRow {
  kind: AccountKind;
  organizationId: string | null;
  currency: string;
  balanceMinor: bigint;
}

export interface AccountEntryRow {
  id: string;
  currency: string;
  amountMinor: bigint;
  memo: string | null;
  transactionId: string;
  reference: string;
  kind: string;
  description: string;
  occurredAt: Date;
}

@Injectable()
export class LedgerRepository {
  /**
   * Claims the references (a concurrent or repeated post waits for the first
   * and then claims nothing); returns the transactions this call created.
   */
  async claimReferences(tx: EntityManager, inputs: readonly ClaimInput[]): Promise<ClaimedRow[]> {
    return tx.query(
      `INSERT INTO ledger_transactions (reference, kind, description, occurred_at, metadata)
       SELECT r, k, d, o, m
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[]) AS u(r, k, d, o, m)
        -- In reference order: two batches sharing references wait for each other instead of deadlocking.
        ORDER BY r
       ON CONFLICT (reference) DO NOTHING
       RETURNING id, reference`,
      [
        inputs.map((i) => i.reference),
        inputs.map((i) => i.kind),
        inputs.map((i) => i.description),
        inputs.map((i) => i.occurredAt.toISOString()),
        inputs.map((i) => JSON.stringify(i.metadata)),
      ],
    );
  }

  /** Inserts every entry in one statement; returns how many were written. */
  async insertEntries(tx: EntityManager, cols: EntryColumns): Promise<number> {
    const [{ n }]: { n: string }[] = await tx.query(
      `WITH ins AS (
           INSERT INTO ledger_entries (transaction_id, line_no, account_id, currency, amount_minor, memo)
           SELECT l.tx, l.no, a.id, l.currency, l.amount, l.memo
             FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::text[]) AS l(tx, no, code, currency, amount, memo)
             JOIN ledger_accounts a ON a.code = l.code AND a.currency = l.currency
           RETURNING 1)
         SELECT count(*)::text AS n FROM ins`,
      [cols.tx, cols.no, cols.code, cols.currency, cols.amount.map((a) => a.toString()), cols.memo],
    );
    return Number(n);
  }

  /** Creates the missing accounts, in the given order (callers sort it so concurrent postings cannot deadlock). */
  async ensureAccounts(tx: EntityManager, accounts: readonly AccountToEnsure[]): Promise<void> {
    await tx.query(
      `INSERT INTO ledger_accounts (code, currency, kind, organization_id)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[])
         ON CONFLICT (code, currency) DO NOTHING`,
      [accounts.map((a) => a.code), accounts.map((a) => a.currency), accounts.map((a) => a.kind), accounts.map((a) => a.organizationId)],
    );
  }

  /** The entries of the transaction holding the reference (none when it cannot be read). */
  async postedLines(tx: EntityManager, reference: string): Promise<PostedLineRow[]> {
    const rows: { id: string; code: string; currency: string; amount: string }[] = await tx.query(
      `SELECT t.id, a.code, e.currency, e.amount_minor::text AS amount
         FROM ledger_transactions t
         JOIN ledger_entries e ON e.transaction_id = t.id
         JOIN ledger_accounts a ON a.id = e.account_id
        WHERE t.reference = $1`,
      [reference],
    );
    return rows.map((r) => ({ id: r.id, code: r.code, currency: r.currency, amountMinor: BigInt(r.amount) }));
  }

  /**
   * Balances of the requested (code, currency) pairs — a null currency asks
   * for every currency of the code — in request order, then by currency.
   */
  async balances(em: EntityManager, accounts: readonly { account: string; currency: string | null }[]): Promise<RequestedBalanceRow[]> {
    const rows: { n: string; code: string; currency: string; balance: string }[] = await em.query(
      `SELECT r.n::text AS n, a.code, a.currency,
              coalesce((SELECT sum(e.amount_minor) FROM ledger_entries e WHERE e.account_id = a.id), 0)::text AS balance
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(code, currency, n)
         JOIN ledger_accounts a ON a.code = r.code AND (r.currency IS NULL OR a.currency = r.currency)
        ORDER BY r.n, a.currency`,
      [accounts.map((a) => a.account), accounts.map((a) => a.currency)],
    );
    return rows.map((r) => ({ n: Number(r.n), code: r.code, currency: r.currency, balanceMinor: BigInt(r.balance) }));
  }

  /** Journal transactions, newest first, at most `limit` of them. */
  async transactions(em: EntityManager, q: TransactionQuery): Promise<TransactionRow[]> {
    const params: unknown[] = [];
    const where: string[] = [];
    const param = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (q.accountCode != null) {
      where.push(`EXISTS (SELECT 1 FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
                           WHERE e.transaction_id = t.id AND a.code = ${param(q.accountCode)})`);
    }
    if (q.kind != null) where.push(`t.kind = ${param(q.kind)}`);
    if (q.reference != null) where.push(`t.reference = ${param(q.reference)}`);
    if (q.from != null) where.push(`t.occurred_at >= ${param(q.from.toISOString())}`);
    if (q.to != null) where.push(`t.occurred_at < ${param(q.to.toISOString())}`);
    if (q.before) {
      where.push(`(t.occurred_at, t.id) < (timestamptz 'epoch' + ${param(q.before[0])}::bigint * interval '1 microsecond', ${param(q.before[1])}::uuid)`);
    }
    const rows: Array<{
      id: string; reference: string; kind: string; description: string; occurred_at: Date; created_at: Date;
      metadata: Record<string, string>; micros: string;
    }> = await em.query(
      `SELECT t.id, t.reference, t.kind, t.description, t.occurred_at, t.created_at, t.metadata,
              (extract(epoch FROM t.occurred_at) * 1000000)::bigint::text AS micros
         FROM ledger_transactions t
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY t.occurred_at DESC, t.id DESC
        LIMIT ${param(q.limit)}`,
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      reference: r.reference,
      kind: r.kind,
      description: r.description,
      occurredAt: new Date(r.occurred_at),
      createdAt: new Date(r.created_at),
      metadata: r.metadata,
      micros: r.micros,
    }));
  }

  /** The entries of the transactions, by transaction then line. */
  async entriesOf(em: EntityManager, transactionIds: string[]): Promise<EntryOfTransactionRow[]> {
    const rows: { transaction_id: string; id: string; code: string; currency: string; amount: string; memo: string | null }[] = await em.query(
      `SELECT e.transaction_id, e.id::text AS id, a.code, e.currency, e.amount_minor::text AS amount, e.memo
           FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
          WHERE e.transaction_id = ANY($1::uuid[])
          ORDER BY e.transaction_id, e.line_no`,
      [transactionIds],
    );
    return rows.map((r) => ({ transactionId: r.transaction_id, id: r.id, code: r.code, currency: r.currency, amountMinor: BigInt(r.amount), memo: r.memo }));
  }

  /** One row per currency of the code (none when nothing was ever posted to it). */
  async accountBalances(em: EntityManager, code: string): Promise<AccountBalanceRow[]> {
    const rows: { kind: AccountKind; organization_id: string | null; currency: string; balance: string }[] = await em.query(
      `SELECT a.kind, a.organization_id, a.currency,
              coalesce((SELECT sum(e.amount_minor) FROM ledger_entries e WHERE e.account_id = a.id), 0)::text AS balance
         FROM ledger_accounts a
        WHERE a.code = $1
        ORDER BY a.currency`,
      [code],
    );
    return rows.map((r) => ({ kind: r.kind, organizationId: r.organization_id, currency: r.currency, balanceMinor: BigInt(r.balance) }));
  }

  /** The account's entries, most recently recorded first, before entry id `beforeId`, at most `limit`. */
  async accountEntries(em: EntityManager, code: string, currency: string | null, beforeId: string | null, limit: number): Promise<AccountEntryRow[]> {
    const rows: Array<{
      id: string; currency: string; amount: string; memo: string | null; transaction_id: string; reference: string;
      kind: string; description: string; occurred_at: Date;
    }> = await em.query(
      `SELECT e.id::text AS id, e.currency, e.amount_minor::text AS amount, e.memo, t.id AS transaction_id,
              t.reference, t.kind, t.description, t.occurred_at
         FROM ledger_accounts a
         JOIN ledger_entries e ON e.account_id = a.id
         JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE a.code = $1 AND ($2::text IS NULL OR a.currency = $2) AND ($3::bigint IS NULL OR e.id < $3::bigint)
        ORDER BY e.id DESC
        LIMIT $4`,
      [code, currency, beforeId, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      currency: r.currency,
      amountMinor: BigInt(r.amount),
      memo: r.memo,
      transactionId: r.transaction_id,
      reference: r.reference,
      kind: r.kind,
      description: r.description,
      occurredAt: new Date(r.occurred_at),
    }));
  }
}
