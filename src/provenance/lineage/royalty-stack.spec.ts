import fc from 'fast-check';
import { RoyaltyPolicy } from '../../licensing/terms/terms.types';
import { EdgeSpec, edgeOf, lineageFromEdges, lineageOf, shuffledLineage, syntheticLineage } from '../../../test/fixtures/lineage.fixtures';
import type { Lineage, RoyaltyStack } from './lineage.types';
import { exceedsCap, InconsistentLineageError, lapTotalBps, royaltyStack } from './royalty-stack';

const SEED = 20_260_404;
const RUNS = 1_000;

const brief = (s: RoyaltyStack) => s.entries.map((e) => `${e.modelId}:${e.policy}:${e.shareBps}@${e.depth}`);

describe('royaltyStack — examples', () => {
  it('A→B LAP 5 %, B→C LAP 10 %: C pays B 1,000 bps and A 500 bps', () => {
    const stack = royaltyStack(
      lineageOf(
        [
          { parent: 'A', child: 'B', policy: 'LAP', shareBps: 500 },
          { parent: 'B', child: 'C', policy: 'LAP', shareBps: 1000 },
        ],
        'C',
      ),
    );
    expect(stack.entries).toEqual([
      { modelId: 'B', organizationId: 'org:B', policy: 'LAP', shareBps: 1000, depth: 1, agreementId: 'agr:B->C' },
      { modelId: 'A', organizationId: 'org:A', policy: 'LAP', shareBps: 500, depth: 2, agreementId: 'agr:A->B' },
    ]);
    expect(stack.totalBps).toBe(1500);
  });

  it('a diamond pays the shared ancestor once, with its largest LAP share', () => {
    const lineage = lineageOf(
      [
        { parent: 'A', child: 'B', policy: 'LAP', shareBps: 300 },
        { parent: 'A', child: 'C', policy: 'LAP', shareBps: 700 },
        { parent: 'B', child: 'D', policy: 'LAP', shareBps: 100 },
        { parent: 'C', child: 'D', policy: 'LAP', shareBps: 200 },
      ],
      'D',
    );
    const stack = royaltyStack(lineage);
    expect(stack.entries.filter((e) => e.modelId === 'A')).toEqual([
      { modelId: 'A', organizationId: 'org:A', policy: 'LAP', shareBps: 700, depth: 2, agreementId: 'agr:A->C' },
    ]);
    expect(brief(stack)).toEqual(['A:LAP:700@2', 'C:LAP:200@1', 'B:LAP:100@1']);
    expect(stack.totalBps).toBe(1000);
  });

  it('an LRP grandparent is not in the stack (it is paid from its direct child), an LRP parent is', () => {
    const grand = royaltyStack(
      lineageOf(
        [
          { parent: 'A', child: 'B', policy: 'LRP', shareBps: 2000 },
          { parent: 'B', child: 'C', policy: 'LAP', shareBps: 500 },
        ],
        'C',
      ),
    );
    expect(brief(grand)).toEqual(['B:LAP:500@1']);
    expect(grand.totalBps).toBe(500);

    const parent = royaltyStack(
      lineageOf(
        [
          { parent: 'A', child: 'B', policy: 'LAP', shareBps: 500 },
          { parent: 'B', child: 'C', policy: 'LRP', shareBps: 2000 },
        ],
        'C',
      ),
    );
    expect(parent.entries).toEqual([
      { modelId: 'B', organizationId: 'org:B', policy: 'LRP', shareBps: 2000, depth: 1, agreementId: 'agr:B->C' },
      { modelId: 'A', organizationId: 'org:A', policy: 'LAP', shareBps: 500, depth: 2, agreementId: 'agr:A->B' },
    ]);
    expect(parent.totalBps).toBe(2500);
  });

  it('a direct LRP parent also reached through a deeper LAP edge gets one entry per policy, both counted', () => {
    const stack = royaltyStack(
      lineageOf(
        [
          { parent: 'A', child: 'C', policy: 'LRP', shareBps: 300 },
          { parent: 'A', child: 'B', policy: 'LAP', shareBps: 200 },
          { parent: 'B', child: 'C', policy: 'LAP', shareBps: 100 },
        ],
        'C',
      ),
    );
    expect(stack.entries.map((e) => [e.modelId, e.policy, e.shareBps, e.depth, e.agreementId])).toEqual([
      ['A', 'LRP', 300, 1, 'agr:A->C'],
      ['A', 'LAP', 200, 1, 'agr:A->B'],
      ['B', 'LAP', 100, 1, 'agr:B->C'],
    ]);
    expect(stack.totalBps).toBe(600);
    expect(lapTotalBps(stack)).toBe(300);
  });

  it('omits zero shares, and a model without lineage has an empty stack', () => {
    const stack = royaltyStack(
      lineageOf(
        [
          { parent: 'A', child: 'B', policy: 'LAP', shareBps: 0 },
          { parent: 'X', child: 'B', policy: 'LRP', shareBps: 0 },
          { parent: 'Y', child: 'B', policy: 'LAP', shareBps: 1 },
        ],
        'B',
      ),
    );
    expect(brief(stack)).toEqual(['Y:LAP:1@1']);
    expect(royaltyStack(lineageOf([], 'B'))).toEqual({ entries: [], totalBps: 0 });
  });

  it('breaks ties by share, then depth, then model id; equal largest shares name the smallest agreement id', () => {
    const stack = royaltyStack(
      lineageOf(
        [
          { parent: 'Z', child: 'R', policy: 'LAP', shareBps: 100 },
          { parent: 'Q', child: 'R', policy: 'LAP', shareBps: 100 },
          { parent: 'A', child: 'Q', policy: 'LAP', shareBps: 100, agreementId: 'agr-2' },
          { parent: 'A', child: 'Z', policy: 'LAP', shareBps: 100, agreementId: 'agr-1' },
        ],
        'R',
      ),
    );
    expect(brief(stack)).toEqual(['Q:LAP:100@1', 'Z:LAP:100@1', 'A:LAP:100@2']);
    expect(stack.entries[2].agreementId).toBe('agr-1');
  });

  it('ignores edges whose child is outside the lineage, and refuses a lineage whose edge names an unknown parent', () => {
    const lineage = lineageOf([{ parent: 'A', child: 'B', policy: 'LAP', shareBps: 500 }], 'B');
    const stray = edgeOf({ parent: 'S', child: 'T', policy: 'LAP', shareBps: 9000 });
    expect(royaltyStack({ ...lineage, edges: [...lineage.edges, stray] })).toEqual(royaltyStack(lineage));
    const broken: Lineage = { ...lineage, ancestors: [] };
    expect(() => royaltyStack(broken)).toThrow(InconsistentLineageError);
  });

  it('exceedsCap: above the cap only (the cap itself is allowed), TOTAL by default, LAP on request', () => {
    const stack = royaltyStack(
      lineageOf(
        [
          { parent: 'A', child: 'C', policy: 'LAP', shareBps: 3000 },
          { parent: 'B', child: 'C', policy: 'LRP', shareBps: 2000 },
        ],
        'C',
      ),
    );
    expect(stack.totalBps).toBe(5000);
    expect(exceedsCap(stack, 5000)).toBe(false);
    expect(exceedsCap(stack, 4999)).toBe(true);
    expect(exceedsCap(stack, 4999, 'LAP')).toBe(false);
    expect(exceedsCap(stack, 2999, 'LAP')).toBe(true);
    expect(() => exceedsCap(stack, 50.5)).toThrow(RangeError);
    expect(() => exceedsCap(stack, -1)).toThrow(RangeError);
  });

  it('handles 1,024 ancestors and ~2,000 edges', () => {
    const lineage = syntheticLineage({ ancestors: 1024, seed: 7 });
    expect(lineage.ancestors).toHaveLength(1024);
    expect(lineage.edges.length).toBeGreaterThanOrEqual(2000);
    const stack = royaltyStack(lineage);
    expect(new Set(stack.entries.map((e) => `${e.modelId}:${e.policy}`)).size).toBe(stack.entries.length);
    expect(stack.totalBps).toBe(stack.entries.reduce((s, e) => s + e.shareBps, 0));
  });
});

// ---------------------------------------------------------------------------
// Properties over random DAGs: nodes N0…N(n-1), root N0; an edge between two
// indices always goes from the larger (parent) to the smaller (child), so the
// graph is acyclic. Nodes not above N0 fall out of the lineage.

interface RawEdge {
  a: number;
  b: number;
  policy: RoyaltyPolicy;
  shareBps: number;
}

const label = (i: number) => `N${i}`;
const indexOf = (id: string) => Number(id.slice(1));

const shareArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 2000 }));
const dagArb = fc
  .integer({ min: 1, max: 30 })
  .chain((n) =>
    fc.tuple(
      fc.constant(n),
      fc.array(
        fc.record({
          a: fc.integer({ min: 0, max: n - 1 }),
          b: fc.integer({ min: 0, max: n - 1 }),
          policy: fc.constantFrom(RoyaltyPolicy.LAP, RoyaltyPolicy.LRP),
          shareBps: shareArb,
        }),
        { maxLength: 80 },
      ),
    ),
  )
  .map(([n, raw]) => ({ n, specs: toSpecs(raw) }));

function toSpecs(raw: readonly RawEdge[]): EdgeSpec[] {
  const seen = new Set<string>();
  const specs: EdgeSpec[] = [];
  for (const r of raw) {
    if (r.a === r.b) continue;
    const parent = label(Math.max(r.a, r.b));
    const child = label(Math.min(r.a, r.b));
    if (seen.has(`${child}<${parent}`)) continue;
    seen.add(`${child}<${parent}`);
    specs.push({ parent, child, policy: r.policy, shareBps: r.shareBps });
  }
  return specs;
}

describe('royaltyStack — properties (random DAGs up to 30 nodes)', () => {
  it('every ancestor appears at most once per policy; LAP entries are exactly the ancestors with a positive LAP edge, at their largest share; LRP entries are exactly the direct parents with a positive LRP edge; total = sum', () => {
    fc.assert(
      fc.property(dagArb, ({ specs }) => {
        const lineage = lineageOf(specs, 'N0');
        const stack = royaltyStack(lineage);

        const keys = stack.entries.map((e) => `${e.modelId}:${e.policy}`);
        expect(new Set(keys).size).toBe(keys.length);

        const expectedLap = new Map<string, number>();
        const expectedLrp = new Map<string, number>();
        for (const e of lineage.edges) {
          const { policy, shareBps } = e.terms.royalty;
          if (policy === RoyaltyPolicy.LAP) expectedLap.set(e.parentModelId, Math.max(expectedLap.get(e.parentModelId) ?? 0, shareBps));
          else if (e.childModelId === 'N0') expectedLrp.set(e.parentModelId, shareBps);
        }
        const positive = (m: Map<string, number>) => new Map([...m].filter(([, s]) => s > 0));
        const lap = new Map(stack.entries.filter((e) => e.policy === 'LAP').map((e) => [e.modelId, e.shareBps]));
        const lrp = new Map(stack.entries.filter((e) => e.policy === 'LRP').map((e) => [e.modelId, e.shareBps]));
        expect(lap).toEqual(positive(expectedLap));
        expect(lrp).toEqual(positive(expectedLrp));

        const depthOf = new Map(lineage.ancestors.map((a) => [a.modelId, a.depth]));
        for (const e of stack.entries) {
          expect(e.depth).toBe(depthOf.get(e.modelId));
          expect(e.organizationId).toBe(`org:${e.modelId}`);
          if (e.policy === 'LRP') {
            expect(e.depth).toBe(1);
            expect(lineage.edges.some((x) => x.parentModelId === e.modelId && x.childModelId === 'N0' && x.agreementId === e.agreementId)).toBe(true);
          }
        }
        expect(stack.totalBps).toBe(stack.entries.reduce((s, e) => s + e.shareBps, 0));
        for (let i = 1; i < stack.entries.length; i++) {
          const [p, q] = [stack.entries[i - 1], stack.entries[i]];
          expect(p.shareBps > q.shareBps || (p.shareBps === q.shareBps && p.depth <= q.depth)).toBe(true);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('does not depend on the order of edges or ancestors', () => {
    fc.assert(
      fc.property(dagArb, fc.integer(), ({ specs }, seed) => {
        const lineage = lineageOf(specs, 'N0');
        expect(royaltyStack(shuffledLineage(lineage, seed))).toEqual(royaltyStack(lineage));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('adding an edge with a smaller LAP share for an ancestor already in the stack never changes the stack', () => {
    fc.assert(
      fc.property(dagArb, fc.nat(), fc.nat(), ({ specs }, pick, sharePick) => {
        const lineage = lineageOf(specs, 'N0');
        const before = royaltyStack(lineage);
        const depthOf = new Map<string, number>([['N0', 0], ...lineage.ancestors.map((a) => [a.modelId, a.depth] as const)]);
        const existing = new Set(lineage.edges.map((e) => `${e.childModelId}<${e.parentModelId}`));
        // (ancestor P with a LAP entry, node Y below P in index order that keeps the graph acyclic and P's depth unchanged)
        const candidates: Array<{ parent: string; child: string; maxShare: number }> = [];
        for (const entry of before.entries) {
          if (entry.policy !== 'LAP') continue;
          for (const [child, d] of depthOf) {
            if (indexOf(child) < indexOf(entry.modelId) && d + 1 >= entry.depth && !existing.has(`${child}<${entry.modelId}`)) {
              candidates.push({ parent: entry.modelId, child, maxShare: entry.shareBps - 1 });
            }
          }
        }
        fc.pre(candidates.length > 0);
        const c = candidates[pick % candidates.length];
        const added = edgeOf({ parent: c.parent, child: c.child, policy: 'LAP', shareBps: sharePick % (c.maxShare + 1) });
        const after = lineageFromEdges([...lineage.edges, added], 'N0');
        expect(after.ancestors.length).toBe(lineage.ancestors.length);
        expect(royaltyStack(after)).toEqual(before);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
