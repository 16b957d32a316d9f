import fc from 'fast-check';
import { DAY_MS, earningsFigures, holdbackCutoff, releasedAt } from './earnings-figures';

describe('earningsFigures', () => {
  it.each<[string, bigint, bigint, [bigint, bigint, bigint]]>([
    ['nothing recent: all available', 1000n, 0n, [0n, 1000n, 0n]],
    ['all recent: all pending', 1000n, 1000n, [1000n, 0n, 0n]],
    ['part recent', 1000n, 300n, [300n, 700n, 0n]],
    ['recent credits above what is owed (a refund ate into them): pending capped at P', 200n, 500n, [200n, 0n, 0n]],
    ['negative payable: carried forward, nothing pending or available', -250n, 100n, [0n, 0n, 250n]],
    ['zero', 0n, 0n, [0n, 0n, 0n]],
  ])('%s', (_label, payable, recent, [pending, available, carry]) => {
    expect(earningsFigures(payable, recent)).toEqual({ pending, available, negativeCarryForward: carry });
  });

  it('refuses numbers and negative recent credits', () => {
    expect(() => earningsFigures(10 as unknown as bigint, 0n)).toThrow(TypeError);
    expect(() => earningsFigures(10n, -1n)).toThrow(RangeError);
  });

  it('pending + available − negativeCarryForward = P, each ≥ 0, pending ≤ recent credits (fixed seed)', () => {
    const amount = fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n });
    fc.assert(
      fc.property(amount, fc.bigInt({ min: 0n, max: 10n ** 15n }), (p, recent) => {
        const f = earningsFigures(p, recent);
        expect(f.pending + f.available - f.negativeCarryForward).toBe(p);
        expect(f.pending >= 0n && f.available >= 0n && f.negativeCarryForward >= 0n).toBe(true);
        expect(f.pending <= recent).toBe(true);
        // Never both owed and owing.
        expect(f.negativeCarryForward === 0n || f.pending + f.available === 0n).toBe(true);
      }),
      { seed: 20261207, numRuns: 2000 },
    );
  });
});

describe('holdback window', () => {
  it('cutoff and release are whole days of 24 h either side', () => {
    const now = new Date('2026-03-29T01:30:00.000Z'); // a DST change in Europe: irrelevant in UTC
    expect(holdbackCutoff(now, 7).toISOString()).toBe('2026-03-22T01:30:00.000Z');
    expect(holdbackCutoff(now, 0).getTime()).toBe(now.getTime());
    expect(releasedAt(holdbackCutoff(now, 3), 3).getTime()).toBe(now.getTime());
    expect(releasedAt(now, 1).getTime() - now.getTime()).toBe(DAY_MS);
    expect(() => holdbackCutoff(now, -1)).toThrow(RangeError);
    expect(() => holdbackCutoff(now, 1.5)).toThrow(RangeError);
  });
});
