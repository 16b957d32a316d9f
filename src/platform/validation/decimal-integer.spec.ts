import fc from 'fast-check';
import { BadInputError } from '../errors/app-error';
import { decimalIntegerProblem, MAX_INT64, parseDecimalInteger } from './decimal-integer';

describe('decimal integer strings', () => {
  it('accepts exactly the canonical decimal form of every integer in [min, 2^63-1]', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_INT64 }), (n) => {
        expect(decimalIntegerProblem(String(n), 0n)).toBeNull();
        expect(parseDecimalInteger('x', String(n), 0n)).toBe(n);
      }),
    );
  });

  it('refuses every string that is not the canonical form of the integer it spells', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789 +-_.,eExX\t\n'.split('')), maxLength: 25 }), (s) => {
        let canonical = false;
        try {
          canonical = /^-?[0-9]+$/.test(s) && String(BigInt(s)) === s && BigInt(s) >= 0n && BigInt(s) <= MAX_INT64;
        } catch {
          canonical = false;
        }
        expect(decimalIntegerProblem(s, 0n) === null).toBe(canonical);
      }),
    );
  });

  it('names the field and says why', () => {
    expect(decimalIntegerProblem('-5', 0n)).toBe('must not be negative');
    expect(decimalIntegerProblem('0', 1n)).toBe('must be at least 1');
    expect(decimalIntegerProblem('9223372036854775808', 0n)).toBe(`must be at most ${MAX_INT64}`);
    expect(decimalIntegerProblem(5, 0n)).toMatch(/decimal string/);
    expect(() => parseDecimalInteger('amountMinor', ' 5', 1n)).toThrow(BadInputError);
    try {
      parseDecimalInteger('amountMinor', '05', 1n);
    } catch (e) {
      expect((e as BadInputError).fields).toEqual([{ field: 'amountMinor', message: expect.stringMatching(/^amountMinor must be an integer written as a decimal string/) }]);
    }
    expect.assertions(6);
  });
});
