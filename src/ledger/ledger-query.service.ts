/**
 * The ledger as admins read it: journal transactions (keyset-paged, newest
 * first, with their entries) and one account's balances and entries. Reads
 * only; authorization is the resolver's (@AdminOnly).
 */
import { Injectable } from '@nestjs/common';
import { Database } from '../platform/database/transaction';
import { BadInputError, NotFoundError } from '../platform/errors/app-error';
import { MAX_PAGE_SIZE } from '../platform/graphql/limits';
import { isCurrencyCode } from '../platform/validation/iso-codes';
import { AccountKind, isAccountCode } from './accounts';
import { CursorParts, defineCursor } from '../platform/paging/cursor';
import { Page, pageOf } from '../platform/paging/page';

export interface LedgerTransactionFilterInput {
  accountCode?: string | null;
  kind?: string | null;
  reference?: string | null;
  from?: Date | null;
  to?: Date | null;
}

export interface LedgerEntryRow {
  id: string;
  accountCode: string;
  currency: string;
  amountMinor: bigint;
  memo: string | null;
}

export interface LedgerTransactionRow {
  id: string;
  reference: string;
  kind: string;
  description: string;
  occurredAt: Date;
  createdAt: Date;
  metadata: Record<string, string>;
  entries: LedgerEntryRow[];
  cursor: string;
}

export interface LedgerAccountView {
  code: string;
  kind: AccountKind;
  organizationId: string | null;
  balances: { currency: string; balanceMinor: bigint }[];
}

export interface LedgerAccountEntryRow {
  id: string;
  currency: string;
  amountMinor: bigint;
  memo: string | null;
  transactionId: string;
  reference: string;
  kind: string;
  description: string;
  occurredAt: Date;
  cursor: string;
}

/** Journal transactions by (occurred_at in microseconds since the epoch, id): a JS Date would round to ms and repeat or skip rows. */
const TRANSACTION_CURSOR = defineCursor('ltx', [CursorParts.epochMicros, CursorParts.uuid]);
/** An account's entries by entry id. */
const ENTRY_CURSOR = defineCursor('lent', [CursorParts.bigserial]);

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 0, 1);

function checkFirst(first: number): void {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadInputError([{ field: 'first', message: `first must be between 1 and ${MAX_PAGE_SIZE}` }]);
  }
}

function checkAccountCode(field: string, code: string): void {
  if (!isAccountCode(code)) {
    throw new BadInputError([{ field, message: `${field} is not a ledger account code (e.g. "platform:fees", "vendor:<organization id>:payable")` }]);
  }
}

@Injectable()
export class LedgerQueryService {
  constructor(private readonly db: Database) {}

  async transactions(filter: LedgerTransactionFilterInput, first: number, after: string | null): Promise<Page<LedgerTransactionRow>> {
    checkFirst(first);
    const cursor = after == null ? null : TRANSACTION_CURSOR.decode(after);
    const params: unknown[] = [];
    const where: string[] = [];
    const param = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (filter.accountCode != null) {
      checkAccountCode('filter.accountCode', filter.accountCode);
      where.push(`EXISTS (SELECT 1 FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
                           WHERE e.transaction_id = t.id AND a.code = ${param(filter.accountCode)})`);
    }
    if (filter.kind != null) where.push(`t.kind = ${param(filter.kind)}`);
    if (filter.reference != null) where.push(`t.reference = ${param(filter.reference)}`);
    for (const [field, t] of [['from', filter.from], ['to', filter.to]] as const) {
      if (t != null && (Number.isNaN(t.getTime()) || t.getTime() < EARLIEST || t.getTime() >= LATEST)) {
        throw new BadInputError([{ field: `filter.${field}`, message: `${field} must be a date-time between 1970-01-01 and 9999-01-01` }]);
      }
    }
    if (filter.from != null && filter.to != null && filter.from.getTime() >= filter.to.getTime()) {
      throw new BadInputError([{ field: 'filter.to', message: 'to must be after from' }]);
    }
    if (filter.from != null) where.push(`t.occurred_at >= ${param(filter.from.toISOString())}`);
    if (filter.to != null) where.push(`t.occurred_at < ${param(filter.to.toISOString())}`);
    if (cursor) {
      where.push(`(t.occurred_at, t.id) < (timestamptz 'epoch' + ${param(cursor[0])}::bigint * interval '1 microsecond', ${param(cursor[1])}::uuid)`);
    }
    const rows: Array<{
      id: string; reference: string; kind: string; description: string; occurred_at: Date; created_at: Date;
      metadata: Record<string, string>; micros: string;
    }> = await this.db.reader.query(
      `SELECT t.id, t.reference, t.kind, t.description, t.occurred_at, t.created_at, t.metadata,
              (extract(epoch FROM t.occurred_at) * 1000000)::bigint::text AS micros
         FROM ledger_transactions t
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY t.occurred_at DESC, t.id DESC
        LIMIT ${param(first + 1)}`,
      params,
    );
    const entries = await this.entriesOf(rows.slice(0, first).map((r) => r.id));
    return pageOf(rows, first, (r) => ({
        id: r.id,
        reference: r.reference,
        kind: r.kind,
        description: r.description,
        occurredAt: new Date(r.occurred_at),
        createdAt: new Date(r.created_at),
        metadata: r.metadata,
        entries: entries.get(r.id) ?? [],
        cursor: TRANSACTION_CURSOR.encode([r.micros, r.id]),
      }));
  }

  /** NOT_FOUND when nothing was ever posted to the code; BAD_USER_INPUT when it is not an account code. */
  async account(code: string): Promise<LedgerAccountView> {
    checkAccountCode('code', code);
    const rows: { kind: AccountKind; organization_id: string | null; currency: string; balance: string }[] = await this.db.reader.query(
      `SELECT a.kind, a.organization_id, a.currency,
              coalesce((SELECT sum(e.amount_minor) FROM ledger_entries e WHERE e.account_id = a.id), 0)::text AS balance
         FROM ledger_accounts a
        WHERE a.code = $1
        ORDER BY a.currency`,
      [code],
    );
    if (rows.length === 0) throw new NotFoundError('LedgerAccount', code);
    return {
      code,
      kind: rows[0].kind,
      organizationId: rows[0].organization_id,
      balances: rows.map((r) => ({ currency: r.currency, balanceMinor: BigInt(r.balance) })),
    };
  }

  /** The account's entries, most recently recorded first. */
  async accountEntries(code: string, q: { first: number; after: string | null; currency: string | null }): Promise<Page<LedgerAccountEntryRow>> {
    checkFirst(q.first);
    checkAccountCode('code', code);
    if (q.currency != null && !isCurrencyCode(q.currency)) {
      throw new BadInputError([{ field: 'currency', message: 'currency must be an ISO 4217 code, upper-case' }]);
    }
    const after = q.after == null ? null : ENTRY_CURSOR.decode(q.after)[0];
    const rows: Array<{
      id: string; currency: string; amount: string; memo: string | null; transaction_id: string; reference: string;
      kind: string; description: string; occurred_at: Date;
    }> = await this.db.reader.query(
      `SELECT e.id::text AS id, e.currency, e.amount_minor::text AS amount, e.memo, t.id AS transaction_id,
              t.reference, t.kind, t.description, t.occurred_at
         FROM ledger_accounts a
         JOIN ledger_entries e ON e.account_id = a.id
         JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE a.code = $1 AND ($2::text IS NULL OR a.currency = $2) AND ($3::bigint IS NULL OR e.id < $3::bigint)
        ORDER BY e.id DESC
        LIMIT $4`,
      [code, q.currency ?? null, after, q.first + 1],
    );
    return pageOf(rows, q.first, (r) => ({
        id: r.id,
        currency: r.currency,
        amountMinor: BigInt(r.amount),
        memo: r.memo,
        transactionId: r.transaction_id,
        reference: r.reference,
        kind: r.kind,
        description: r.description,
        occurredAt: new Date(r.occurred_at),
        cursor: ENTRY_CURSOR.encode([r.id]),
      }));
  }

  private async entriesOf(transactionIds: string[]): Promise<Map<string, LedgerEntryRow[]>> {
    const out = new Map<string, LedgerEntryRow[]>();
    if (transactionIds.length === 0) return out;
    const rows: { transaction_id: string; id: string; code: string; currency: string; amount: string; memo: string | null }[] =
      await this.db.reader.query(
        `SELECT e.transaction_id, e.id::text AS id, a.code, e.currency, e.amount_minor::text AS amount, e.memo
           FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
          WHERE e.transaction_id = ANY($1::uuid[])
          ORDER BY e.transaction_id, e.line_no`,
        [transactionIds],
      );
    for (const r of rows) {
      const list = out.get(r.transaction_id) ?? [];
      list.push({ id: r.id, accountCode: r.code, currency: r.currency, amountMinor: BigInt(r.amount), memo: r.memo });
      out.set(r.transaction_id, list);
    }
    return out;
  }
}
