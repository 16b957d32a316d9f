import { BadInputError } from '../errors/app-error';
import { CursorParts, defineCursor } from './cursor';

const ID = '0b7c5f0e-3d0a-4a53-9a53-5d1f2f1c9e11';
const b64 = (s: string) => Buffer.from(s).toString('base64url');

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof BadInputError ? e.fields : e;
  }
  return 'accepted';
};
/** The same bytes with a different last character: base64url whose unused low bits are set. */
function withTrailingBits(canonical: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const bytes = Buffer.from(canonical, 'base64url');
  for (const ch of alphabet) {
    const other = canonical.slice(0, -1) + ch;
    if (other !== canonical && Buffer.from(other, 'base64url').equals(bytes)) return other;
  }
  throw new Error('no spare bits in this length');
}
const REFUSED = [{ field: 'after', message: 'invalid cursor' }];

describe('the cursor codec', () => {
  const byTime = defineCursor('ltx', [CursorParts.epochMicros, CursorParts.uuid]);
  const byKey = defineCursor('usage-event', [CursorParts.timeKey, CursorParts.printable]);
  const byEntry = defineCursor('lent', [CursorParts.bigserial]);

  it('round-trips every part kind and is opaque base64url', () => {
    const c = byTime.encode(['1924992000123456', ID]);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(byTime.decode(c)).toEqual(['1924992000123456', ID]);
    // The last part may contain the separator (client-chosen event ids).
    expect(byKey.decode(byKey.encode(['2026-01-31T23:59:59.000001', 'evt|1']))).toEqual(['2026-01-31T23:59:59.000001', 'evt|1']);
    expect(byEntry.decode(byEntry.encode(['42']))).toEqual(['42']);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'not a cursor!'],
    ['too long', 'a'.repeat(401)],
    ['plain text', b64('hello world')],
    ['another list', b64(`lent:1`)],
    ['a bad uuid', b64('ltx:1|not-a-uuid-not-a-uuid-not-a-uuid-1234')],
    ['an upper-case uuid (never produced from PostgreSQL ids)', b64(`ltx:1|${ID.toUpperCase()}`)],
    ['a non-numeric time', b64(`ltx:abc|${ID}`)],
    ['a missing part', b64('ltx:1')],
    ['an extra part', b64(`ltx:1|${ID}|x`)],
    ['trailing text', b64(`ltx:1|${ID}x`)],
    ['padding', `${Buffer.from(`ltx:1|${ID}`).toString('base64')}==`],
    ['non-canonical base64 (trailing bits)', withTrailingBits(b64(`ltx:12|${ID}`))],
  ])('refuses %s as BAD_USER_INPUT on `after`', (_label, cursor) => {
    expect(refusal(() => byTime.decode(cursor))).toEqual(REFUSED);
  });

  it.each([
    b64('usage-event:2026-13-01T00:00:00.000000|x'),
    b64('usage-event:2026-02-30T00:00:00.000000|x'),
    b64('usage-event:2026-01-01T00:00:00|x'),
    b64('usage-event:2026-01-01T00:00:00.000000|'),
    b64('usage-event:2026-01-01T00:00:00.000000|has space'),
  ])('refuses time keys that are not calendar instants and ids that are not printable (%s)', (cursor) => {
    expect(refusal(() => byKey.decode(cursor))).toEqual(REFUSED);
  });

  it("refuses another list's cursor even when its parts have the same shape", () => {
    const invoices = defineCursor('invoice', [CursorParts.uuid]);
    const flags = defineCursor('flagged', [CursorParts.uuid]);
    expect(invoices.decode(invoices.encode([ID]))).toEqual([ID]);
    expect(refusal(() => invoices.decode(flags.encode([ID])))).toEqual(REFUSED);
  });

  it.each(['0', '-1', '01', String(2n ** 63n)])('refuses %s as a bigserial', (id) => {
    expect(refusal(() => byEntry.decode(b64(`lent:${id}`)))).toEqual(REFUSED);
  });
});
