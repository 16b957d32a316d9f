import fc from 'fast-check';
import { rateTokens } from './rating';

const RUNS = { seed: 20_260_502, numRuns: 10_000 };
const quantity = fc.bigInt({ min: 0n, max: 10n ** 13n });
const price = fc.bigInt({ min: 0n, max: 10n ** 9n });

describe('rateTokens (minor units per million tokens, half-up per line)', () => {
  it('is monotone in quantity', () => {
    fc.assert(
      fc.property(quantity, quantity, price, (a, b, p) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(rateTokens(lo, p) <= rateTokens(hi, p)).toBe(true);
      }),
      RUNS,
    );
  });

  it('is within half a minor unit of the exact amount, rounding halves up', () => {
    fc.assert(
      fc.property(quantity, price, (q, p) => {
        const exactTimesMillion = q * p;
        const diff = rateTokens(q, p) * 1_000_000n - exactTimesMillion; // (rated − exact) × 1e6
        expect(diff >= -500_000n && diff < 500_000n).toBe(true);
      }),
      RUNS,
    );
  });

  it('examples', () => {
    expect(rateTokens(1n, 500_000n)).toBe(1n); // exactly half → up
    expect(rateTokens(1n, 499_999n)).toBe(0n);
    expect(rateTokens(3n, 500_000n)).toBe(2n); // 1.5 → 2
    expect(rateTokens(1_000_000n, 250n)).toBe(250n);
    expect(rateTokens(2_500_000n, 3n)).toBe(8n); // 7.5 → 8
    expect(rateTokens(0n, 123n)).toBe(0n);
    expect(rateTokens(123n, 0n)).toBe(0n);
  });

  it('refuses negative or non-bigint inputs', () => {
    expect(() => rateTokens(-1n, 1n)).toThrow(RangeError);
    expect(() => rateTokens(1n, -1n)).toThrow(RangeError);
    expect(() => rateTokens(1 as unknown as bigint, 1n)).toThrow(TypeError);
  });
});
