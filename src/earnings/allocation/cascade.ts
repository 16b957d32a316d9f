/**
 * The royalty cascade: how one vendor's share of a model's revenue (after the
 * platform fee) is split down the model's lineage. Pure; exact in integer
 * minor units.
 *
 * Rules (the licence of each lineage edge sets `royalty {policy, shareBps}`):
 * - On the model's own revenue (basis REVENUE), every entry of its royalty
 *   stack takes its share: LAP ancestors at any depth (an ancestor reached by
 *   several paths once, with its largest share) and LRP direct parents.
 * - What an ancestor receives is royalty income. On royalty income only the
 *   receiving model's own LRP parents take their share — LAP shares are never
 *   taken again from royalty income (the LAP ancestors of that model are
 *   already paid directly from the root's revenue), so LRP decays one
 *   generation at a time and LAP does not compound.
 * - A model whose revenue is itself royalty income (basis ROYALTY: a royalty
 *   line on an invoice) pays only its LRP parents.
 * - A recipient owned by the same organization as the model paying it earns
 *   nothing extra: that flow is skipped and the payer keeps it.
 *
 * Exactness. Every flow's ideal amount is an exact rational: shares are basis
 * points, so with D = 10000^(H+1), H the longest chain in the lineage, every
 * income and flow is an integer multiple of 1/D. What each model finally
 * keeps (income − what it passes on) is then split from the amount by the one
 * allocation rule in a single step — the parts sum exactly to the amount and
 * each is within one minor unit of its ideal. The integer flows are derived
 * from those parts, ancestors first: a model's integer income is what it
 * keeps plus what it passes on, split over its incoming flows by their ideal
 * weights (again the allocation rule) — so every model's books balance:
 * income = keep + payments, all integers, none negative.
 */
import { allocate } from '../../platform/money/allocation';
import type { Lineage } from '../../provenance/lineage/lineage.types';
import { royaltyStack } from '../../provenance/lineage/royalty-stack';

export type CascadeBasis = 'REVENUE' | 'ROYALTY';

export interface CascadeFlow {
  /** The model (and its vendor) that pays the royalty. */
  payerModelId: string;
  payerOrganizationId: string;
  /** The ancestor model (and its vendor) that receives it. */
  modelId: string;
  organizationId: string;
  /** The lineage edge's licence the share comes from. */
  agreementId: string;
  policy: 'LAP' | 'LRP';
  shareBps: number;
  /** The recipient's distance from the root (shortest path). */
  depth: number;
  /** What the share is taken of: the payer's own revenue, or royalty income it received. */
  basis: CascadeBasis;
  amount: bigint;
}

export interface CascadeKeep {
  modelId: string;
  organizationId: string;
  amount: bigint;
}

export interface CascadeResult {
  /** What each model of the lineage keeps, root first; they sum to the amount. */
  keeps: CascadeKeep[];
  /** Every royalty moved (zero amounts included), payer order, then recipient. */
  flows: CascadeFlow[];
}

const BPS = 10_000n;

interface IdealFlow extends Omit<CascadeFlow, 'amount'> {
  ideal: bigint;
}

/**
 * Splits `amount` (≥ 0) of the root model's earnings down its lineage.
 * `basis` says whether the amount is the root's own revenue or royalty
 * income it received.
 */
export function cascade(amount: bigint, basis: CascadeBasis, lineage: Lineage): CascadeResult {
  if (typeof amount !== 'bigint' || amount < 0n) throw new RangeError('cascade splits a non-negative bigint amount');
  const root = lineage.root;
  const orgOf = new Map<string, string>([[root.modelId, root.organizationId]]);
  const depthOf = new Map<string, number>([[root.modelId, 0]]);
  for (const a of lineage.ancestors) {
    orgOf.set(a.modelId, a.organizationId);
    depthOf.set(a.modelId, a.depth);
  }
  if (amount === 0n || lineage.edges.length === 0) {
    return { keeps: [{ modelId: root.modelId, organizationId: root.organizationId, amount }], flows: [] };
  }

  // Longest distance from the root: a model's inflows all come from models strictly below it.
  const level = longestDistances(root.modelId, lineage);
  const maxLevel = Math.max(...level.values());
  const D = BPS ** BigInt(maxLevel + 1);

  // LRP parents of each model (largest share per parent; ties: smallest agreement id).
  const lrpParents = new Map<string, Map<string, { shareBps: number; agreementId: string }>>();
  for (const e of lineage.edges) {
    if (!level.has(e.childModelId) || e.terms.royalty.policy !== 'LRP' || e.terms.royalty.shareBps <= 0) continue;
    let m = lrpParents.get(e.childModelId);
    if (!m) lrpParents.set(e.childModelId, (m = new Map()));
    const best = m.get(e.parentModelId);
    const share = e.terms.royalty.shareBps;
    if (!best || share > best.shareBps || (share === best.shareBps && e.agreementId < best.agreementId)) {
      m.set(e.parentModelId, { shareBps: share, agreementId: e.agreementId });
    }
  }

  const income = new Map<string, bigint>([[root.modelId, amount * D]]);
  const flows: IdealFlow[] = [];
  const addFlow = (payer: string, to: string, f: { agreementId: string; policy: 'LAP' | 'LRP'; shareBps: number }, fBasis: CascadeBasis, ofNum: bigint) => {
    const payerOrg = orgOf.get(payer)!;
    const toOrg = orgOf.get(to);
    if (toOrg === undefined) throw new Error(`cascade: model ${to} is not in the lineage of ${root.modelId}`);
    if (toOrg === payerOrg) return; // same organization: nothing extra, the payer keeps it
    const ideal = (BigInt(f.shareBps) * ofNum) / BPS; // exact: see the header
    flows.push({
      payerModelId: payer,
      payerOrganizationId: payerOrg,
      modelId: to,
      organizationId: toOrg,
      agreementId: f.agreementId,
      policy: f.policy,
      shareBps: f.shareBps,
      depth: depthOf.get(to)!,
      basis: fBasis,
      ideal,
    });
    income.set(to, (income.get(to) ?? 0n) + ideal);
  };

  // The root: its whole stack on revenue, only its LRP parents on royalty income.
  const rootNum = amount * D;
  if (basis === 'REVENUE') {
    for (const e of royaltyStack(lineage).entries) addFlow(root.modelId, e.modelId, e, 'REVENUE', rootNum);
  } else {
    for (const [parent, f] of lrpParents.get(root.modelId) ?? []) addFlow(root.modelId, parent, { ...f, policy: 'LRP' }, 'ROYALTY', rootNum);
  }
  // Ancestors, nearest (by longest distance) first: their royalty income pays their LRP parents.
  const order = [...level.keys()].filter((id) => id !== root.modelId).sort((a, b) => level.get(a)! - level.get(b)! || cmp(a, b));
  for (const id of order) {
    const inc = income.get(id) ?? 0n;
    if (inc === 0n) continue;
    for (const [parent, f] of lrpParents.get(id) ?? []) addFlow(id, parent, { ...f, policy: 'LRP' }, 'ROYALTY', inc);
  }

  // Ideal keeps, then integer keeps in one allocation.
  const nodes = [root.modelId, ...order];
  const paid = new Map<string, bigint>();
  for (const f of flows) paid.set(f.payerModelId, (paid.get(f.payerModelId) ?? 0n) + f.ideal);
  const keepIdeal = nodes.map((id) => (income.get(id) ?? 0n) - (paid.get(id) ?? 0n));
  for (const k of keepIdeal) if (k < 0n) throw new Error('cascade: a model passes on more than it receives (shares above 100 %)');
  const keepInt = allocate(amount, keepIdeal);
  const keepOf = new Map(nodes.map((id, i) => [id, keepInt[i]]));

  // Integer flows, from the farthest ancestors down.
  const inflows = new Map<string, number[]>();
  const outflows = new Map<string, number[]>();
  flows.forEach((f, i) => {
    inflows.set(f.modelId, [...(inflows.get(f.modelId) ?? []), i]);
    outflows.set(f.payerModelId, [...(outflows.get(f.payerModelId) ?? []), i]);
  });
  const flowInt: bigint[] = flows.map(() => 0n);
  for (const id of [...order].reverse()) {
    const ins = inflows.get(id) ?? [];
    const out = (outflows.get(id) ?? []).reduce((s, i) => s + flowInt[i], 0n);
    const total = keepOf.get(id)! + out;
    if (total === 0n) continue;
    const weights = ins.map((i) => flows[i].ideal);
    if (weights.every((w) => w === 0n)) throw new Error(`cascade: model ${id} keeps or passes on money it never received`);
    allocate(total, weights).forEach((a, k) => (flowInt[ins[k]] = a));
  }
  const rootOut = (outflows.get(root.modelId) ?? []).reduce((s, i) => s + flowInt[i], 0n);
  if (keepOf.get(root.modelId)! + rootOut !== amount) throw new Error('cascade: flows do not add up to the amount');

  return {
    keeps: nodes.map((id) => ({ modelId: id, organizationId: orgOf.get(id)!, amount: keepOf.get(id)! })),
    flows: flows.map(({ ideal: _ideal, ...f }, i) => ({ ...f, amount: flowInt[i] })),
  };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Longest distance from the root to every model of the lineage (the root 0), by one topological pass. */
function longestDistances(rootId: string, lineage: Lineage): Map<string, number> {
  const parentsOf = new Map<string, string[]>();
  const pendingChildren = new Map<string, number>();
  const inLineage = new Set<string>([rootId, ...lineage.ancestors.map((a) => a.modelId)]);
  for (const e of lineage.edges) {
    if (!inLineage.has(e.childModelId) || !inLineage.has(e.parentModelId)) continue;
    parentsOf.set(e.childModelId, [...(parentsOf.get(e.childModelId) ?? []), e.parentModelId]);
    pendingChildren.set(e.parentModelId, (pendingChildren.get(e.parentModelId) ?? 0) + 1);
  }
  const level = new Map<string, number>([[rootId, 0]]);
  const ready = [rootId];
  while (ready.length > 0) {
    const id = ready.pop()!;
    for (const p of parentsOf.get(id) ?? []) {
      level.set(p, Math.max(level.get(p) ?? 0, level.get(id)! + 1));
      const left = pendingChildren.get(p)! - 1;
      pendingChildren.set(p, left);
      if (left === 0) ready.push(p);
    }
  }
  for (const id of inLineage) if (!level.has(id)) throw new Error(`cascade: lineage of ${rootId} is not a DAG rooted at it (model ${id})`);
  return level;
}
