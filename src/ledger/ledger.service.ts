/**
 * Writes journal transactions and reads balances. Other modules post inside
 * their own database transaction (the `Tx` of the business change that
 * caused the movement), so the ledger commits or rolls back with it.
 *
 * A posting — or a batch of them — is three statements: claim the references
 * (INSERT … ON CONFLICT DO NOTHING — a concurrent or repeated post waits for
 * the first and then writes nothing), create missing accounts, insert every
 * entry at once. The database re-checks the balance at COMMIT (see the
 * migration).
 */
import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Tx } from '../platform/database/transaction';
import { isForeignKeyViolation } from '../platform/database/pg-errors';
import { isCurrencyCode } from '../platform/validation/iso-codes';
import { isAccountCode, parseAccountCode } from './accounts';
import { InvalidPostingError, PostingErrorReason } from './ledger.errors';
import { linesFingerprint, PostingInput, PostingResult, validatePosting } from './posting';

export type { PostingInput, PostingLine, PostingResult } from './posting';

export interface AccountBalance {
  account: string;
  currency: string;
  /** Signed: debit positive, credit negative. */
  balanceMinor: bigint;
}

@Injectable()
export class LedgerService {
  private readonly log = new Logger(LedgerService.name);

  async post(tx: Tx, input: PostingInput): Promise<PostingResult> {
    return (await this.postMany(tx, [input]))[0];
  }

  /**
   * Many postings in one go (a period close issues thousands of invoices):
   * the same rules and the same idempotency per reference as `post`, in three
   * statements for the whole batch instead of three per posting. Results are
   * in input order. References must be distinct within the batch.
   */
  async postMany(tx: Tx, inputs: readonly PostingInput[]): Promise<PostingResult[]> {
    if (inputs.length === 0) return [];
    for (const input of inputs) validatePosting(input);
    const refs = inputs.map((i) => i.reference);
    if (new Set(refs).size !== refs.length) throw new InvalidPostingError(PostingErrorReason.BAD_REFERENCE, 'a batch of postings repeats a reference');
    const claimed: { id: string; reference: string }[] = await tx.query(
      `INSERT INTO ledger_transactions (reference, kind, description, occurred_at, metadata)
       SELECT r, k, d, coalesce(o, now()), m
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[]) AS u(r, k, d, o, m)
        -- In reference order: two batches sharing references wait for each other instead of deadlocking.
        ORDER BY r
       ON CONFLICT (reference) DO NOTHING
       RETURNING id, reference`,
      [
        refs,
        inputs.map((i) => i.kind),
        inputs.map((i) => i.description),
        inputs.map((i) => i.occurredAt?.toISOString() ?? null),
        inputs.map((i) => JSON.stringify(i.metadata ?? {})),
      ],
    );
    const idOf = new Map(claimed.map((c) => [c.reference, c.id]));
    const fresh = inputs.filter((i) => idOf.has(i.reference));
    if (fresh.length > 0) {
      await this.ensureAccounts(tx, fresh.flatMap((i) => i.lines));
      const cols = { tx: [] as string[], no: [] as number[], code: [] as string[], currency: [] as string[], amount: [] as string[], memo: [] as (string | null)[] };
      for (const input of fresh) {
        input.lines.forEach((l, k) => {
          cols.tx.push(idOf.get(input.reference)!);
          cols.no.push(k + 1);
          cols.code.push(l.account);
          cols.currency.push(l.currency);
          cols.amount.push(l.amountMinor.toString());
          cols.memo.push(l.memo ?? null);
        });
      }
      const [{ n }]: { n: string }[] = await tx.query(
        `WITH ins AS (
           INSERT INTO ledger_entries (transaction_id, line_no, account_id, currency, amount_minor, memo)
           SELECT l.tx, l.no, a.id, l.currency, l.amount, l.memo
             FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::text[]) AS l(tx, no, code, currency, amount, memo)
             JOIN ledger_accounts a ON a.code = l.code AND a.currency = l.currency
           RETURNING 1)
         SELECT count(*)::text AS n FROM ins`,
        [cols.tx, cols.no, cols.code, cols.currency, cols.amount, cols.memo],
      );
      if (Number(n) !== cols.tx.length) throw new Error(`ledger batch: ${n} of ${cols.tx.length} entries written`);
    }
    const out: PostingResult[] = [];
    for (const input of inputs) {
      const id = idOf.get(input.reference);
      out.push(id ? { transactionId: id, created: true } : { transactionId: await this.alreadyPosted(tx, input), created: false });
    }
    return out;
  }

  /**
   * Balances of the given accounts (debit positive). With a currency: exactly
   * that (code, currency), zero when never posted. Without: one row per
   * currency the account has, none if it has never been posted to.
   */
  async balances(em: EntityManager, accounts: { account: string; currency?: string }[]): Promise<AccountBalance[]> {
    if (accounts.length === 0) return [];
    for (const a of accounts) {
      if (!isAccountCode(a.account)) throw new InvalidPostingError(PostingErrorReason.BAD_ACCOUNT, `unknown account code ${a.account}`);
      if (a.currency !== undefined && !isCurrencyCode(a.currency)) {
        throw new InvalidPostingError(PostingErrorReason.BAD_CURRENCY, `unknown currency ${a.currency}`);
      }
    }
    const rows: { n: string; code: string; currency: string; balance: string }[] = await em.query(
      `SELECT r.n::text AS n, a.code, a.currency,
              coalesce((SELECT sum(e.amount_minor) FROM ledger_entries e WHERE e.account_id = a.id), 0)::text AS balance
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(code, currency, n)
         JOIN ledger_accounts a ON a.code = r.code AND (r.currency IS NULL OR a.currency = r.currency)
        ORDER BY r.n, a.currency`,
      [accounts.map((a) => a.account), accounts.map((a) => a.currency ?? null)],
    );
    const byRequest = new Map<number, AccountBalance[]>();
    for (const r of rows) {
      const list = byRequest.get(Number(r.n)) ?? [];
      list.push({ account: r.code, currency: r.currency, balanceMinor: BigInt(r.balance) });
      byRequest.set(Number(r.n), list);
    }
    return accounts.flatMap((a, i) => {
      const found = byRequest.get(i + 1);
      if (found) return found;
      return a.currency === undefined ? [] : [{ account: a.account, currency: a.currency, balanceMinor: 0n }];
    });
  }

  /** The id already holding this reference; warns when the repeat carries different lines (a caller bug, not an error). */
  private async alreadyPosted(tx: Tx, input: PostingInput): Promise<string> {
    const rows: { id: string; code: string; currency: string; amount: string }[] = await tx.query(
      `SELECT t.id, a.code, e.currency, e.amount_minor::text AS amount
         FROM ledger_transactions t
         JOIN ledger_entries e ON e.transaction_id = t.id
         JOIN ledger_accounts a ON a.id = e.account_id
        WHERE t.reference = $1`,
      [input.reference],
    );
    if (rows.length === 0) throw new Error(`ledger reference ${input.reference} conflicted but cannot be read`);
    const existing = linesFingerprint(rows.map((r) => ({ account: r.code, currency: r.currency, amountMinor: BigInt(r.amount) })));
    if (existing !== linesFingerprint(input.lines)) {
      this.log.warn({ reference: input.reference, transactionId: rows[0].id }, 'ledger reference posted again with different lines; the first posting stands');
    }
    return rows[0].id;
  }

  /** Missing (code, currency) accounts, inserted in a fixed order so concurrent postings cannot deadlock on them. */
  private async ensureAccounts(tx: Tx, lines: PostingInput['lines']): Promise<void> {
    const keys = [...new Set(lines.map((l) => `${l.account} ${l.currency}`))].sort();
    const pairs = keys.map((k) => k.split(' ') as [string, string]);
    const parts = pairs.map(([code]) => parseAccountCode(code));
    try {
      await tx.query(
        `INSERT INTO ledger_accounts (code, currency, kind, organization_id)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[])
         ON CONFLICT (code, currency) DO NOTHING`,
        [pairs.map((p) => p[0]), pairs.map((p) => p[1]), parts.map((p) => p.kind), parts.map((p) => p.organizationId)],
      );
    } catch (err) {
      if (isForeignKeyViolation(err)) {
        throw new InvalidPostingError(PostingErrorReason.UNKNOWN_ORGANIZATION, 'an account names an organization that does not exist');
      }
      throw err;
    }
  }
}
