import fc from 'fast-check';
import { inclusionProof, leafHash, MerkleAccumulator } from './merkle';
import { siblingRanges, TokenSum } from './usage-merkle.service';

/*
 * The service proves an event in one pass over the stream: it knows the leaf's
 * index and the tree's size first, and accumulates the root of each sibling
 * subtree (a contiguous leaf range) as its leaves go by. Those ranges' roots,
 * leaf side first, must be exactly the in-memory audit path.
 */
describe('streamed audit path ranges', () => {
  it('cover every leaf but the proven one, once, and their roots are the audit path (trees of 1..64)', () => {
    for (let n = 1; n <= 64; n++) {
      const hashes = Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`e${i}`)));
      for (let m = 0; m < n; m++) {
        const ranges = siblingRanges(m, n);
        const covered = ranges.flatMap((r) => Array.from({ length: r.hi - r.lo }, (_, j) => r.lo + j)).sort((a, b) => a - b);
        expect(covered).toEqual(Array.from({ length: n }, (_, i) => i).filter((i) => i !== m));
        const roots = ranges.map((r) => {
          const acc = new MerkleAccumulator();
          for (let i = r.lo; i < r.hi; i++) acc.push(hashes[i]);
          return acc.root().toString('hex');
        });
        expect(roots.reverse()).toEqual(inclusionProof(hashes, m).map((h) => h.toString('hex')));
      }
    }
  });
});

describe('TokenSum', () => {
  it('sums decimal token counts exactly, small and huge (fast-check, fixed seed)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 15n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), fc.constant(2n ** 52n - 1n)), { maxLength: 200 }),
        (values) => {
          const s = new TokenSum();
          for (const v of values) s.add(v.toString());
          expect(s.total()).toBe(values.reduce((a, b) => a + b, 0n));
        },
      ),
      { seed: 52, numRuns: 300 },
    );
    // Many values near the limit of exact doubles.
    const s = new TokenSum();
    for (let i = 0; i < 5000; i++) s.add('999999999999999');
    expect(s.total()).toBe(999_999_999_999_999n * 5000n);
  });
});
