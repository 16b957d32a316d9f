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
import { AccountEntryRow, LedgerRepository, TransactionRow } from './ledger.repository';
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

export interface LedgerTransactionRow extends Omit<TransactionRow, 'micros'> {
  entries: LedgerEntryRow[];
  cursor: string;
}

export interface LedgerAccountView {
  code: string;
  kind: AccountKind;
  organizationId: string | null;
  balances: { currency: string; balanceMinor: bigint }[];
}

export interface LedgerAccountEntryRow extends AccountEntryRow {
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
  constructor(
    private readonly db: Database,
    private readonly ledger: LedgerRepository,
  ) {}

  async transactions(filter: LedgerTransactionFilterInput, first: number, after: string | null): Promise<Page<LedgerTransactionRow>> {
    checkFirst(first);
    const cursor = after == null ? null : TRANSACTION_CURSOR.decode(after);
    if (filter.accountCode != null) checkAccountCode('filter.accountCode', filter.accountCode);
    for (const [field, t] of [['from', filter.from], ['to', filter.to]] as const) {
      if (t != null && (Number.isNaN(t.getTime()) || t.getTime() < EARLIEST || t.getTime() >= LATEST)) {
        throw new BadInputError([{ field: `filter.${field}`, message: `${field} must be a date-time between 1970-01-01 and 9999-01-01` }]);
      }
    }
    if (filter.from != null && filter.to != null && filter.from.getTime() >= filter.to.getTime()) {
      throw new BadInputError([{ field: 'filter.to', message: 'to must be after from' }]);
    }
    const rows = await this.ledger.transactions(this.db.reader, {
      accountCode: filter.accountCode ?? null,
      kind: filter.kind ?? null,
      reference: filter.reference ?? null,
      from: filter.from ?? null,
      to: filter.to ?? null,
      before: cursor,
      limit: first + 1,
    });
    const entries = await this.entriesOf(rows.slice(0, first).map((r) => r.id));
    return pageOf(rows, first, (r) => ({
        id: r.id,
        reference: r.reference,
        kind: r.kind,
        description: r.description,
        occurredAt: r.occurredAt,
        createdAt: r.createdAt,
        metadata: r.metadata,
        entries: entries.get(r.id) ?? [],
        cursor: TRANSACTION_CURSOR.encode([r.micros, r.id]),
      }));
  }

  /** NOT_FOUND when nothing was ever posted to the code; BAD_USER_INPUT when it is not an account code. */
  async account(code: string): Promise<LedgerAccountView> {
    checkAccountCode('code', code);
    const rows = await this.ledger.accountBalances(this.db.reader, code);
    if (rows.length === 0) throw new NotFoundError('LedgerAccount', code);
    return {
      code,
      kind: rows[0].kind,
      organizationId: rows[0].organizationId,
      balances: rows.map((r) => ({ currency: r.currency, balanceMinor: r.balanceMinor })),
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
    const rows = await this.ledger.accountEntries(this.db.reader, code, q.currency ?? null, after, q.first + 1);
    return pageOf(rows, q.first, (r) => ({ ...r, cursor: ENTRY_CURSOR.encode([r.id]) }));
  }

  private async entriesOf(transactionIds: string[]): Promise<Map<string, LedgerEntryRow[]>> {
    const out = new Map<string, LedgerEntryRow[]>();
    if (transactionIds.length === 0) return out;
    const rows = await this.ledger.entriesOf(this.db.reader, transactionIds);
    for (const r of rows) {
      const list = out.get(r.transactionId) ?? [];
      list.push({ id: r.id, accountCode: r.code, currency: r.currency, amountMinor: r.amountMinor, memo: r.memo });
      out.set(r.transactionId, list);
    }
    return out;
  }
}
