import fc from 'fast-check';
import type { CanonicalTerms } from '../../licensing/terms/terms.types';
import type { Lineage, LineageEdgeView } from '../../provenance/lineage/lineage.types';
import { royaltyStack } from '../../provenance/lineage/royalty-stack';
import { cascade, CascadeBasis } from './cascade';
import { allocatePayment } from './payment-allocation';

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const org = (n: number) => `00000000-0000-4000-9000-${n.toString(16).padStart(12, '0')}`;

interface Spec {
  /** Organization of each model; model 0 is the root. */
  orgs: number[];
  depths?: number[];
  edges: Array<{ child: number; parent: number; policy: 'LAP' | 'LRP'; bps: number; agreement?: number }>;
}

function lineageOf(s: Spec): Lineage {
  const model = (i: number) => ({ modelId: id(i), name: `m${i}`, slug: `m${i}`, organizationId: org(s.orgs[i]), weightsDigest: null, commercialUse: true });
  const depth = shortestDepths(s);
  const edges: LineageEdgeView[] = s.edges.map((e, k) => ({
    childModelId: id(e.child),
    parentModelId: id(e.parent),
    agreementId: id(10_000 + (e.agreement ?? k)),
    relation: 'DISTILLED' as LineageEdgeView['relation'],
    method: null,
    dataShareBps: null,
    termsHash: 'x',
    terms: { royalty: { policy: e.policy, shareBps: e.bps } } as unknown as CanonicalTerms,
  }));
  const ancestors = s.orgs.slice(1).map((_, j) => ({ ...model(j + 1), depth: depth[j + 1] }));
  return { root: model(0), ancestors, edges, distillationGeneration: 0, depth: Math.max(0, ...depth) };
}

function shortestDepths(s: Spec): number[] {
  const d = s.orgs.map(() => Infinity);
  d[0] = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of s.edges) if (d[e.child] + 1 < d[e.parent]) ((d[e.parent] = d[e.child] + 1), (changed = true));
  }
  return d;
}

const keepOf = (r: ReturnType<typeof cascade>, i: number) => r.keeps.find((k) => k.modelId === id(i))!.amount;

describe('royalty cascade: the examples', () => {
  // Models: 0 = C (root), 1 = B, 2 = A; A → B → C.
  it('LAP on both edges: C earns 1,000 → B 100, A 50, C 850', () => {
    const r = cascade(1000n, 'REVENUE', lineageOf({ orgs: [3, 2, 1], edges: [{ child: 0, parent: 1, policy: 'LAP', bps: 1000 }, { child: 1, parent: 2, policy: 'LAP', bps: 500 }] }));
    expect([keepOf(r, 0), keepOf(r, 1), keepOf(r, 2)]).toEqual([850n, 100n, 50n]);
    expect(r.flows.map((f) => [f.payerModelId, f.modelId, f.policy, f.basis, f.amount])).toEqual([
      [id(0), id(1), 'LAP', 'REVENUE', 100n],
      [id(0), id(2), 'LAP', 'REVENUE', 50n],
    ]);
  });

  it('LRP on both edges: C 900, B 95 (100 received, 5 passed on), A 5', () => {
    const r = cascade(1000n, 'REVENUE', lineageOf({ orgs: [3, 2, 1], edges: [{ child: 0, parent: 1, policy: 'LRP', bps: 1000 }, { child: 1, parent: 2, policy: 'LRP', bps: 500 }] }));
    expect([keepOf(r, 0), keepOf(r, 1), keepOf(r, 2)]).toEqual([900n, 95n, 5n]);
    expect(r.flows.map((f) => [f.payerModelId, f.modelId, f.basis, f.amount])).toEqual([
      [id(0), id(1), 'REVENUE', 100n],
      [id(1), id(2), 'ROYALTY', 5n],
    ]);
  });

  it('LAP is not taken again from royalty income: LAP above an LRP edge is paid by the root directly', () => {
    // A → B LAP 5 %, B → C LRP 10 %: A takes 5 % of C's revenue; B keeps all of its 100.
    const r = cascade(1000n, 'REVENUE', lineageOf({ orgs: [3, 2, 1], edges: [{ child: 0, parent: 1, policy: 'LRP', bps: 1000 }, { child: 1, parent: 2, policy: 'LAP', bps: 500 }] }));
    expect([keepOf(r, 0), keepOf(r, 1), keepOf(r, 2)]).toEqual([850n, 100n, 50n]);
  });

  it('royalty income (basis ROYALTY) pays only the LRP parents', () => {
    const l = lineageOf({ orgs: [3, 2, 1], edges: [{ child: 0, parent: 1, policy: 'LAP', bps: 1000 }, { child: 0, parent: 2, policy: 'LRP', bps: 500 }] });
    const r = cascade(1000n, 'ROYALTY', l);
    expect([keepOf(r, 0), keepOf(r, 1), keepOf(r, 2)]).toEqual([950n, 0n, 50n]);
  });

  it('an ancestor owned by the organization of the model paying it earns nothing extra', () => {
    const r = cascade(1000n, 'REVENUE', lineageOf({ orgs: [3, 3, 1], edges: [{ child: 0, parent: 1, policy: 'LAP', bps: 1000 }, { child: 1, parent: 2, policy: 'LAP', bps: 500 }] }));
    expect([keepOf(r, 0), keepOf(r, 1), keepOf(r, 2)]).toEqual([950n, 0n, 50n]);
    expect(r.flows).toHaveLength(1);
  });

  it('a diamond counts an LAP ancestor once, with its largest share; rounding leaves every part within one unit', () => {
    // D (3) → B (1), D → A (2) at different LAP shares, B and A → root.
    const r = cascade(7n, 'REVENUE', lineageOf({
      orgs: [0, 1, 2, 3],
      edges: [
        { child: 0, parent: 1, policy: 'LAP', bps: 1000 },
        { child: 0, parent: 2, policy: 'LRP', bps: 1500 },
        { child: 1, parent: 3, policy: 'LAP', bps: 700 },
        { child: 2, parent: 3, policy: 'LAP', bps: 900 },
      ],
    }));
    expect(r.keeps.reduce((s, k) => s + k.amount, 0n)).toBe(7n);
    expect(r.flows.filter((f) => f.modelId === id(3))).toHaveLength(1);
    expect(r.flows.find((f) => f.modelId === id(3))!.shareBps).toBe(900);
  });

  it('zero or no lineage: the root keeps everything', () => {
    expect(cascade(0n, 'REVENUE', lineageOf({ orgs: [0, 1], edges: [{ child: 0, parent: 1, policy: 'LAP', bps: 1000 }] })).keeps).toEqual([
      { modelId: id(0), organizationId: org(0), amount: 0n },
    ]);
    expect(() => cascade(-1n, 'REVENUE', lineageOf({ orgs: [0], edges: [] }))).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// An independent reference: exact fractions, incomes computed top-down by memoised recursion
// (from each ancestor down to the children that pay it), not by the engine's bottom-up levels.

class Q {
  constructor(readonly n: bigint, readonly d: bigint) {}
  static of(n: bigint, d = 1n): Q {
    const g = gcd(n < 0n ? -n : n, d);
    return new Q(n / (g || 1n), d / (g || 1n));
  }
  add(o: Q): Q {
    return Q.of(this.n * o.d + o.n * this.d, this.d * o.d);
  }
  mulBps(bps: number): Q {
    return Q.of(this.n * BigInt(bps), this.d * 10_000n);
  }
  sub(o: Q): Q {
    return this.add(new Q(-o.n, o.d));
  }
}
const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

function reference(amount: bigint, basis: CascadeBasis, s: Spec): Q[] {
  const n = s.orgs.length;
  const bestLap = new Map<number, number>();
  const bestLrp = new Map<string, number>(); // "child>parent" → largest LRP share
  const reach = new Set<number>([0]);
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of s.edges) if (reach.has(e.child) && !reach.has(e.parent)) ((reach.add(e.parent), (changed = true)));
  }
  for (const e of s.edges) {
    if (!reach.has(e.child) || e.bps === 0) continue;
    if (e.policy === 'LAP') bestLap.set(e.parent, Math.max(bestLap.get(e.parent) ?? 0, e.bps));
    else bestLrp.set(`${e.child}>${e.parent}`, Math.max(bestLrp.get(`${e.child}>${e.parent}`) ?? 0, e.bps));
  }
  const A = Q.of(amount);
  const fromRoot = (x: number): Q => {
    if (s.orgs[x] === s.orgs[0]) return Q.of(0n);
    let q = Q.of(0n);
    if (basis === 'REVENUE' && bestLap.has(x)) q = q.add(A.mulBps(bestLap.get(x)!));
    if (bestLrp.has(`0>${x}`)) q = q.add(A.mulBps(bestLrp.get(`0>${x}`)!));
    return q;
  };
  const memo = new Map<number, Q>();
  const income = (x: number): Q => {
    if (memo.has(x)) return memo.get(x)!;
    let q = fromRoot(x);
    for (const [key, bps] of bestLrp) {
      const [c, p] = key.split('>').map(Number);
      if (p !== x || c === 0 || s.orgs[c] === s.orgs[x]) continue;
      q = q.add(income(c).mulBps(bps));
    }
    memo.set(x, q);
    return q;
  };
  const keeps: Q[] = [];
  let rootOut = Q.of(0n);
  for (let x = 1; x < n; x++) if (reach.has(x)) rootOut = rootOut.add(fromRoot(x));
  keeps.push(A.sub(rootOut));
  for (let x = 1; x < n; x++) {
    let k = income(x);
    for (const [key, bps] of bestLrp) {
      const [c, p] = key.split('>').map(Number);
      if (c === x && s.orgs[p] !== s.orgs[x]) k = k.sub(income(x).mulBps(bps));
    }
    keeps.push(k);
  }
  return keeps;
}

/** Random DAG lineages: up to 18 ancestors, ≤ 16 parents per model, longest chain ≤ 8, mixed LAP/LRP, diamonds, a few shared organizations. */
const specArb: fc.Arbitrary<Spec> = fc
  .record({
    size: fc.integer({ min: 1, max: 18 }),
    seed: fc.array(fc.record({ level: fc.integer({ min: 1, max: 8 }), org: fc.integer({ min: 0, max: 5 }) }), { minLength: 18, maxLength: 18 }),
    edgeBits: fc.array(fc.record({ p: fc.integer({ min: 0, max: 99 }), lrp: fc.boolean(), bps: fc.integer({ min: 0, max: 2500 }) }), { minLength: 361, maxLength: 361 }),
  })
  .map(({ size, seed, edgeBits }) => {
    const levels = [0, ...seed.slice(0, size).map((s) => s.level).sort((a, b) => a - b)];
    const orgs = [0, ...seed.slice(0, size).map((s) => s.org)];
    const edges: Spec['edges'] = [];
    for (let p = 1; p <= size; p++) {
      // Every ancestor has at least one child below it, so it is reachable from the root.
      const below = levels.map((l, i) => i).filter((i) => levels[i] < levels[p]);
      const children = below.filter((c, k) => edgeBits[(p * 19 + k) % 361].p < 30 && edges.filter((e) => e.child === c).length < 16);
      if (children.length === 0) children.push(below[below.length - 1]);
      for (const c of children) {
        const b = edgeBits[(p * 19 + c + 7) % 361];
        edges.push({ child: c, parent: p, policy: b.lrp ? 'LRP' : 'LAP', bps: b.bps });
      }
    }
    return capShares({ orgs, edges });
  });

/** As the platform does at registration: every model's outgoing shares stay within the cap (50 %). */
function capShares(s: Spec): Spec {
  const cap = 5_000;
  const l = lineageOf(s);
  const total = royaltyStack(l).totalBps;
  if (total > cap) for (const e of s.edges) e.bps = Math.floor((e.bps * cap) / total);
  for (let m = 1; m < s.orgs.length; m++) {
    const lrp = s.edges.filter((e) => e.child === m && e.policy === 'LRP');
    const sum = lrp.reduce((a, e) => a + e.bps, 0);
    if (sum > cap) for (const e of lrp) e.bps = Math.floor((e.bps * cap) / sum);
  }
  return s;
}

// 0-, 2- and 3-decimal currencies: amounts of the sizes each sees (JPY 1,234,567; USD 12,345.67; KWD 12.345).
const amountArb = fc.oneof(
  fc.bigInt({ min: 0n, max: 1_000n }),
  fc.bigInt({ min: 0n, max: 10_000_000n }),
  fc.bigInt({ min: 0n, max: 9_000_000_000_000_000n }),
);

describe('royalty cascade: properties (fast-check, fixed seed)', () => {
  it('money is conserved, every part is within one unit of the exact reference, none is negative, flows balance every model', () => {
    fc.assert(
      fc.property(specArb, amountArb, fc.constantFrom<CascadeBasis>('REVENUE', 'ROYALTY'), (s, amount, basis) => {
        const r = cascade(amount, basis, lineageOf(s));
        const ref = reference(amount, basis, s);
        expect(r.keeps.reduce((a, k) => a + k.amount, 0n)).toBe(amount);
        for (const k of r.keeps) {
          expect(k.amount >= 0n).toBe(true);
          const i = parseInt(k.modelId.slice(-12), 16);
          const q = ref[i];
          // |keep − ideal| < 1  ⇔  |keep·d − n| < d
          const diff = k.amount * q.d - q.n;
          expect((diff < 0n ? -diff : diff) < q.d).toBe(true);
        }
        for (let i = 0; i < ref.length; i++) if (!r.keeps.some((k) => k.modelId === id(i))) expect(ref[i].n).toBe(0n);
        // Every model's books: received = kept + passed on; the root received the amount.
        for (const k of r.keeps) {
          const received = k.modelId === id(0) ? amount : r.flows.filter((f) => f.modelId === k.modelId).reduce((a, f) => a + f.amount, 0n);
          const passed = r.flows.filter((f) => f.payerModelId === k.modelId).reduce((a, f) => a + f.amount, 0n);
          expect(received).toBe(k.amount + passed);
        }
        for (const f of r.flows) {
          expect(f.amount >= 0n).toBe(true);
          expect(f.organizationId).not.toBe(f.payerOrganizationId);
          // LAP shares only ever come from the root's own revenue; LRP only from a direct child.
          if (f.policy === 'LAP') expect([f.payerModelId, f.basis]).toEqual([id(0), 'REVENUE']);
          else expect(s.edges.some((e) => id(e.child) === f.payerModelId && id(e.parent) === f.modelId && e.policy === 'LRP')).toBe(true);
        }
      }),
      { seed: 20261207, numRuns: 10_000 },
    );
  });

  it('a whole payment: fee + every vendor net = the invoice total, for several vendors and models', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(specArb, amountArb, fc.integer({ min: 0, max: 10_000 }), fc.boolean()), { minLength: 1, maxLength: 4 }), (groups) => {
        const vendors = groups.map(([s, gross, feeBps, royalty], i) => ({
          vendorOrganizationId: org(100 + i),
          feeBps,
          groups: [{ modelId: id(0), basis: (royalty ? 'ROYALTY' : 'REVENUE') as CascadeBasis, grossMinor: gross, lineage: lineageOf(s) }],
        }));
        const a = allocatePayment(vendors);
        const total = groups.reduce((t, [, g]) => t + g, 0n);
        const net = [...a.vendorNet.values()].reduce((t, v) => t + v, 0n);
        expect(a.feeMinor + net).toBe(total);
        for (const v of a.vendorNet.values()) expect(v >= 0n).toBe(true);
        for (const sh of a.shares) expect(sh.feeMinor + sh.amount).toBe(sh.grossMinor);
      }),
      { seed: 7, numRuns: 1_000 },
    );
  });
});
