import fc from 'fast-check';
import { CurrencyMismatchError, formatMinor, Money } from './money';

describe('Money', () => {
  it('adds, subtracts and negates in one currency', () => {
    const a = Money.of(1050n, 'USD');
    const b = Money.of(-75n, 'USD');
    expect(a.add(b).equals(Money.of(975n, 'USD'))).toBe(true);
    expect(a.subtract(b).amountMinor).toBe(1125n);
    expect(a.negate().amountMinor).toBe(-1050n);
    expect(Money.zero('JPY').isZero()).toBe(true);
    expect(b.isNegative()).toBe(true);
    expect(a.equals(Money.of(1050n, 'EUR'))).toBe(false);
    expect(a.toJSON()).toEqual({ amountMinor: '1050', currency: 'USD' });
  });

  it('refuses mixing currencies', () => {
    expect(() => Money.of(1n, 'USD').add(Money.of(1n, 'EUR'))).toThrow(CurrencyMismatchError);
    expect(() => Money.of(1n, 'USD').subtract(Money.of(1n, 'JPY'))).toThrow(CurrencyMismatchError);
  });

  it('refuses non-bigint amounts and unknown or lower-case currencies', () => {
    expect(() => Money.of(1 as unknown as bigint, 'USD')).toThrow(TypeError);
    expect(() => Money.of(1n, 'usd')).toThrow(RangeError);
    expect(() => Money.of(1n, 'XXX')).toThrow(RangeError);
    expect(() => Money.of(1n, 'ABC')).toThrow(RangeError);
  });

  it('formats by the currency exponent', () => {
    expect(Money.of(1234n, 'USD').format()).toBe('12.34 USD');
    expect(Money.of(-5n, 'USD').format()).toBe('-0.05 USD');
    expect(Money.of(1200n, 'JPY').format()).toBe('1200 JPY');
    expect(Money.of(1234n, 'BHD').format()).toBe('1.234 BHD');
    expect(Money.of(0n, 'EUR').format()).toBe('0.00 EUR');
    expect(Money.of(5n, 'ISK').exponent).toBe(0);
  });

  it('formatMinor keeps every digit (parses back to the same amount)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: 0, max: 4 }), (amount, exp) => {
        const text = formatMinor(amount, exp);
        expect(BigInt(text.replace('.', ''))).toBe(amount);
        if (exp > 0) expect(text.split('.')[1]).toHaveLength(exp);
      }),
      { seed: 20_260_504, numRuns: 10_000 },
    );
  });

  it('addition is associative and commutative (exact arithmetic)', () => {
    const m = fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }).map((x) => Money.of(x, 'USD'));
    fc.assert(
      fc.property(m, m, m, (a, b, c) => {
        expect(a.add(b).equals(b.add(a))).toBe(true);
        expect(a.add(b).add(c).equals(a.add(b.add(c)))).toBe(true);
        expect(a.subtract(b).add(b).equals(a)).toBe(true);
      }),
      { seed: 20_260_505, numRuns: 10_000 },
    );
  });
});
