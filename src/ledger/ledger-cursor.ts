/**
 * Opaque keyset cursors of the ledger's admin lists, base64url of
 * `<list>:<key>`: journal transactions by (occurred_at in microseconds since
 * the epoch, id) and an account's entries by entry id. Microseconds keep
 * PostgreSQL's full precision (a JS Date would round to milliseconds and
 * repeat or skip rows). Anything this module did not produce is BAD_USER_INPUT.
 */
import { BadInputError } from '../platform/errors/app-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TX = /^ltx:(-?[0-9]{1,17}):([0-9a-f-]{36})$/;
const ENTRY = /^lent:([1-9][0-9]{0,18})$/;

const invalid = () => new BadInputError([{ field: 'after', message: 'after is not a valid cursor (use pageInfo.endCursor)' }]);

function raw(cursor: string): string {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw invalid();
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

export interface TransactionCursor {
  occurredAtMicros: string;
  id: string;
}

export const encodeTransactionCursor = (c: TransactionCursor): string => Buffer.from(`ltx:${c.occurredAtMicros}:${c.id}`).toString('base64url');

export function decodeTransactionCursor(cursor: string): TransactionCursor {
  const m = TX.exec(raw(cursor));
  if (!m || !UUID.test(m[2])) throw invalid();
  const c = { occurredAtMicros: m[1], id: m[2] };
  // Only the canonical encoding (no padding tricks or trailing bits).
  if (encodeTransactionCursor(c) !== cursor) throw invalid();
  return c;
}

export const encodeEntryCursor = (id: string): string => Buffer.from(`lent:${id}`).toString('base64url');

export function decodeEntryCursor(cursor: string): string {
  const m = ENTRY.exec(raw(cursor));
  if (!m || BigInt(m[1]) > 2n ** 63n - 1n || encodeEntryCursor(m[1]) !== cursor) throw invalid();
  return m[1];
}
