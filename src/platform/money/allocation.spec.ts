import fc from 'fast-check';
import { allocate, BPS_WHOLE, splitBps } from './allocation';

// Fixed seed: a failure reproduces; ≥ 10,000 runs per property.
const RUNS = { seed: 20_260_501, numRuns: 10_000 };

const amounts = fc.bigInt({ min: 0n, max: 10n ** 15n });
const weights = fc.array(fc.bigInt({ min: 0n, max: 1_000_000n }), { minLength: 1, maxLength: 12 }).filter((ws) => ws.some((w) => w > 0n));
const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n);
const abs = (x: bigint) => (x < 0n ? -x : x);

describe('allocate', () => {
  it('parts sum exactly to the whole (any sign)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), weights, (amount, ws) => {
        return sum(allocate(amount, ws)) === amount;
      }),
      RUNS,
    );
  });

  it('gives no negative part for a non-negative amount, and nothing to a zero weight', () => {
    fc.assert(
      fc.property(amounts, weights, (amount, ws) => {
        return allocate(amount, ws).every((p, i) => p >= 0n && (ws[i] > 0n || p === 0n));
      }),
      RUNS,
    );
  });

  it('keeps each part within one minor unit of its ideal: |part·Σw − amount·w| < Σw', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), weights, (amount, ws) => {
        const total = sum(ws);
        return allocate(amount, ws).every((p, i) => abs(p * total - amount * ws[i]) < total);
      }),
      RUNS,
    );
  });

  it('floors every ideal share and gives leftover units to the largest remainders, ties in listed order', () => {
    fc.assert(
      fc.property(amounts, weights, (amount, ws) => {
        const total = sum(ws);
        const parts = allocate(amount, ws);
        const extra = parts.map((p, i) => p - (amount * ws[i]) / total);
        if (!extra.every((x) => x === 0n || x === 1n)) return false;
        const rem = ws.map((w) => (amount * w) % total);
        // Every share that got a unit has a larger remainder than any that did not, or an equal one listed earlier.
        for (let i = 0; i < ws.length; i++) {
          for (let j = 0; j < ws.length; j++) {
            if (extra[i] === 1n && extra[j] === 0n && !(rem[i] > rem[j] || (rem[i] === rem[j] && i < j))) return false;
          }
        }
        return true;
      }),
      RUNS,
    );
  });

  it('mirrors a negative amount (a reversal undoes the original allocation exactly)', () => {
    fc.assert(
      fc.property(amounts, weights, (amount, ws) => {
        const neg = allocate(-amount, ws);
        return allocate(amount, ws).every((p, i) => neg[i] === -p);
      }),
      RUNS,
    );
  });

  it('examples', () => {
    expect(allocate(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
    expect(allocate(-100n, [1n, 1n, 1n])).toEqual([-34n, -33n, -33n]);
    expect(allocate(2n, [1n, 1n, 1n])).toEqual([1n, 1n, 0n]);
    expect(allocate(101n, [1n, 2n])).toEqual([34n, 67n]);
    // Largest remainder beats listed order: 10 × [1, 3, 3] / 7 = 1.43, 4.29, 4.29 — the leftover unit goes to the 0.43.
    expect(allocate(10n, [1n, 3n, 3n])).toEqual([2n, 4n, 4n]);
    expect(allocate(5n, [0n, 1n])).toEqual([0n, 5n]);
    expect(allocate(0n, [1n, 2n])).toEqual([0n, 0n]);
    expect(allocate(1n, [5n])).toEqual([1n]);
  });

  it('refuses no weights, negative or non-bigint weights, all-zero weights, and non-bigint amounts', () => {
    expect(() => allocate(1n, [])).toThrow(RangeError);
    expect(() => allocate(1n, [1n, -1n])).toThrow(RangeError);
    expect(() => allocate(1n, [0n, 0n])).toThrow(RangeError);
    expect(() => allocate(1n, [1 as unknown as bigint])).toThrow(RangeError);
    expect(() => allocate(1 as unknown as bigint, [1n])).toThrow(TypeError);
  });
});

describe('splitBps', () => {
  it('share + rest is exactly the amount, the share within one unit of amount·bps/10000', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.integer({ min: 0, max: 10_000 }), (amount, bps) => {
        const [share, rest] = splitBps(amount, bps);
        return share + rest === amount && abs(share * BPS_WHOLE - amount * BigInt(bps)) < BPS_WHOLE && (amount < 0n || (share >= 0n && rest >= 0n));
      }),
      RUNS,
    );
  });

  it('examples and edges', () => {
    expect(splitBps(10_000n, 1_500)).toEqual([1_500n, 8_500n]);
    expect(splitBps(999n, 1_000)).toEqual([100n, 899n]); // 99.9 → 100
    expect(splitBps(1n, 5_000)).toEqual([1n, 0n]); // a tie: the share is listed first
    expect(splitBps(-999n, 1_000)).toEqual([-100n, -899n]);
    expect(splitBps(123n, 0)).toEqual([0n, 123n]);
    expect(splitBps(123n, 10_000n)).toEqual([123n, 0n]);
    expect(() => splitBps(1n, -1)).toThrow(RangeError);
    expect(() => splitBps(1n, 10_001)).toThrow(RangeError);
    expect(() => splitBps(1n, 1.5)).toThrow(RangeError);
  });
});
