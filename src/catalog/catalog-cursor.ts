/**
 * The catalog's keyset cursor: opaque to clients, base64url of
 * `<listed_at in microseconds since the epoch>:<model id>`. Microseconds keep
 * PostgreSQL's full timestamp precision (a JS Date would round to ms and make
 * pages repeat or skip rows listed within the same millisecond).
 */
import { BadInputError } from '../platform/errors/app-error';

export interface CatalogCursor {
  /** listed_at as integer microseconds since 1970-01-01 UTC (decimal string). */
  listedAtMicros: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RAW = /^(-?[0-9]{1,18}):([0-9a-f-]{36})$/;

export function encodeCursor(c: CatalogCursor): string {
  return Buffer.from(`${c.listedAtMicros}:${c.id}`, 'utf8').toString('base64url');
}

/** Throws BAD_USER_INPUT (field `after`) for anything encodeCursor could not have produced. */
export function decodeCursor(cursor: string, field = 'after'): CatalogCursor {
  const bad = () => new BadInputError([{ field, message: `${field} is not a valid cursor (use pageInfo.endCursor)` }]);
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw bad();
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = RAW.exec(raw);
  if (!m || !UUID.test(m[2])) throw bad();
  // Re-encoding must give the same text (rejects padding tricks and trailing bits).
  if (encodeCursor({ listedAtMicros: m[1], id: m[2] }) !== cursor) throw bad();
  return { listedAtMicros: m[1], id: m[2] };
}
