/**
 * The one opaque cursor codec of every keyset-paged list. A cursor is
 * base64url of `<kind>:<part>|<part>…`: the kind names the list (a cursor of one
 * list is refused by another) and the parts are the keyset values of the last
 * row, as text. Only what `encode` could have produced decodes: every part is
 * checked, and re-encoding must give the same text (no padding tricks or
 * trailing bits). Anything else is BAD_USER_INPUT on `after`, so a forged
 * cursor never reaches SQL.
 */
import { BadInputError } from '../errors/app-error';
import { isUuid } from '../validation/uuid';

/** Checks the text of one part; only the last part of a cursor may contain `|`. */
export type CursorPart = (text: string) => boolean;

const MAX_CURSOR_LENGTH = 400;
const BIGINT_MAX = 2n ** 63n - 1n;
const TIME_KEY = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.\d{6}$/;

export const CursorParts = {
  /** A row id as PostgreSQL prints it (lower case): cursors carry ids this service wrote. */
  uuid: ((s) => isUuid(s) && s === s.toLowerCase()) as CursorPart,
  /** A timestamp as integer microseconds since the epoch (PostgreSQL's precision; a JS Date would round to ms). */
  epochMicros: ((s) => /^-?[0-9]{1,18}$/.test(s)) as CursorPart,
  /** A timestamp as `YYYY-MM-DDTHH:MM:SS.uuuuuu` (UTC, as `timeKeySql` renders it), a real calendar instant. */
  timeKey: ((s) => {
    const m = TIME_KEY.exec(s);
    if (!m) return false;
    // Date would roll 2026-02-30 over to March.
    const t = new Date(`${m[1]}Z`);
    return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 19) === m[1];
  }) as CursorPart,
  /** A bigserial id (1 … 2^63 − 1). */
  bigserial: ((s) => /^[1-9][0-9]{0,18}$/.test(s) && BigInt(s) <= BIGINT_MAX) as CursorPart,
  /** A 1-based position that fits an int. */
  position: ((s) => /^[1-9][0-9]{0,8}$/.test(s)) as CursorPart,
  /** Any printable ASCII text without spaces, up to 128 characters (client-chosen ids). */
  printable: ((s) => /^[\x21-\x7e]{1,128}$/.test(s)) as CursorPart,
};

/** SQL rendering a timestamp column as a `CursorParts.timeKey` (microseconds, UTC) for the cursor of its row. */
export const timeKeySql = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;

type Values<P extends readonly CursorPart[]> = { [K in keyof P]: string };

export const invalidCursor = (): BadInputError => new BadInputError([{ field: 'after', message: 'invalid cursor' }]);

export class CursorCodec<P extends readonly CursorPart[]> {
  constructor(
    readonly kind: string,
    private readonly parts: P,
  ) {}

  encode(values: Values<P>): string {
    return Buffer.from(`${this.kind}:${values.join('|')}`, 'utf8').toString('base64url');
  }

  /** The parts of a cursor this codec produced; BAD_USER_INPUT (field `after`) for anything else. */
  decode(cursor: string): Values<P> {
    if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]+$/.test(cursor) || cursor.length > MAX_CURSOR_LENGTH) throw invalidCursor();
    const raw = Buffer.from(cursor, 'base64url').toString('utf8');
    if (!raw.startsWith(`${this.kind}:`)) throw invalidCursor();
    const rest = raw.slice(this.kind.length + 1).split('|');
    const n = this.parts.length;
    if (rest.length < n) throw invalidCursor();
    const values = [...rest.slice(0, n - 1), rest.slice(n - 1).join('|')];
    if (!values.every((v, i) => this.parts[i](v))) throw invalidCursor();
    const decoded = values as unknown as Values<P>;
    if (this.encode(decoded) !== cursor) throw invalidCursor();
    return decoded;
  }
}

/** `defineCursor('invoice', [CursorParts.uuid])`: one list's cursor. */
export const defineCursor = <const P extends readonly CursorPart[]>(kind: string, parts: P): CursorCodec<P> => new CursorCodec(kind, parts);
