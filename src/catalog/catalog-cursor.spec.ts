import { randomUUID } from 'node:crypto';
import { BadInputError } from '../platform/errors/app-error';
import { decodeCursor, encodeCursor } from './catalog-cursor';
import { escapeLike } from './catalog-query.service';
import { isNonNegativeBigIntString, isPositiveBigIntString } from './catalog.validation';

describe('catalog cursor', () => {
  it('round-trips microsecond timestamps and ids', () => {
    const c = { listedAtMicros: '1767225600000001', id: randomUUID() };
    const s = encodeCursor(c);
    expect(s).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(s)).toEqual(c);
  });

  it.each(['', '!!!', 'a'.repeat(201), Buffer.from('x:y').toString('base64url'), Buffer.from(`1:${randomUUID()}`).toString('base64')])(
    'rejects %j as BAD_USER_INPUT on `after`',
    (s) => {
      expect(() => decodeCursor(s)).toThrow(BadInputError);
      try {
        decodeCursor(s);
      } catch (e) {
        expect((e as BadInputError).fields).toEqual([{ field: 'after', message: expect.stringContaining('cursor') }]);
      }
    },
  );

  it('rejects upper-case ids (not produced by encodeCursor from PostgreSQL uuids)', () => {
    const s = Buffer.from(`1:${randomUUID().toUpperCase()}`).toString('base64url');
    expect(() => decodeCursor(s)).toThrow(BadInputError);
  });
});

describe('escapeLike', () => {
  it('escapes the LIKE wildcards and the escape character', () => {
    expect(escapeLike('100%_a\\b')).toBe('100\\%\\_a\\\\b');
    expect(escapeLike('plain')).toBe('plain');
  });
});

describe('bigint strings', () => {
  it.each([
    ['0', true, false],
    ['1', true, true],
    ['9223372036854775807', true, true],
    ['9223372036854775808', false, false],
    ['01', false, false],
    ['-1', false, false],
    ['1e3', false, false],
    [' 1', false, false],
  ])('%j: non-negative %s, positive %s', (v, nonNeg, pos) => {
    expect(isNonNegativeBigIntString(v)).toBe(nonNeg);
    expect(isPositiveBigIntString(v)).toBe(pos);
  });

  it('refuses non-strings', () => {
    expect(isNonNegativeBigIntString(5)).toBe(false);
  });
});
