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
import { Clock } from '../platform/clock/clock';
import { Tx } from '../platform/database/transaction';
import { isForeignKeyViolation } from '../platform/database/pg-errors';
import { isCurrencyCode } from '../platform/validation/iso-codes';
import { isAccountCode, parseAccountCode } from './accounts';
import { InvalidPostingError, PostingErrorReason } from './ledger.errors';
import { LedgerRepository } from './ledger.repository';
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

  // The default lets a caller outside the Nest container construct the ledger on its own.
  constructor(
    private readonly ledger: LedgerRepository = new LedgerRepository(),
    private readonly clock: Clock = new Clock(),
  ) {}

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
    // Dated in business time unless the caller says when: the holdback and the statements' months read occurred_at against the Clock.
    const now = this.clock.now();
    const claimed = await this.ledger.claimReferences(
      tx,
      inputs.map((i) => ({ reference: i.reference, kind: i.kind, description: i.description, occurredAt: i.occurredAt ?? now, metadata: i.metadata ?? {} })),
    );
    const idOf = new Map(claimed.map((c) => [c.reference, c.id]));
    const fresh = inputs.filter((i) => idOf.has(i.reference));
    if (fresh.length > 0) {
      await this.ensureAccounts(tx, fresh.flatMap((i) => i.lines));
      const cols = { tx: [] as string[], no: [] as number[], code: [] as string[], currency: [] as string[], amount: [] as bigint[], memo: [] as (string | null)[] };
      for (const input of fresh) {
        input.lines.forEach((l, k) => {
          cols.tx.push(idOf.get(input.reference)!);
          cols.no.push(k + 1);
          cols.code.push(l.account);
          cols.currency.push(l.currency);
          cols.amount.push(l.amountMinor);
          cols.memo.push(l.memo ?? null);
        });
      }
      const n = await this.ledger.insertEntries(tx, cols);
      if (n !== cols.tx.length) throw new Error(`ledger batch: ${n} of ${cols.tx.length} entries written`);
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
    const rows = await this.ledger.balances(
      em,
      accounts.map((a) => ({ account: a.account, currency: a.currency ?? null })),
    );
    const byRequest = new Map<number, AccountBalance[]>();
    for (const r of rows) {
      const list = byRequest.get(r.n) ?? [];
      list.push({ account: r.code, currency: r.currency, balanceMinor: r.balanceMinor });
      byRequest.set(r.n, list);
    }
    return accounts.flatMap((a, i) => {
      const found = byRequest.get(i + 1);
      if (found) return found;
      return a.currency === undefined ? [] : [{ account: a.account, currency: a.currency, balanceMinor: 0n }];
    });
  }

  /** The id already holding this reference; warns when the repeat carries different lines (a caller bug, not an error). */
  private async alreadyPosted(tx: Tx, input: PostingInput): Promise<string> {
    const rows = await this.ledger.postedLines(tx, input.reference);
    if (rows.length === 0) throw new Error(`ledger reference ${input.reference} conflicted but cannot be read`);
    const existing = linesFingerprint(rows.map((r) => ({ account: r.code, currency: r.currency, amountMinor: r.amountMinor })));
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
      await this.ledger.ensureAccounts(
        tx,
        pairs.map(([code, currency], k) => ({ code, currency, kind: parts[k].kind, organizationId: parts[k].organizationId })),
      );
    } catch (err) {
      if (isForeignKeyViolation(err)) {
        throw new InvalidPostingError(PostingErrorReason.UNKNOWN_ORGANIZATION, 'an account names an organization that does not exist');
      }
      throw err;
    }
  }
}
