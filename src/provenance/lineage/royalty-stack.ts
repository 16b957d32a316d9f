/**
 * The royalty stack of a model: who takes which share of the
 * model's revenue, computed from its lineage alone. Pure and O(edges).
 *
 * Each edge parent → child carries the licence of its agreement, whose
 * `terms.royalty {policy, shareBps}` is the share the parent is owed:
 *
 * - LAP (absolute): the parent takes its share of the revenue of every
 *   descendant, so every LAP edge in the lineage — into the root or into any
 *   ancestor — puts its parent in the root's stack. An ancestor reached by
 *   several LAP edges (several paths, a diamond) counts once, with its largest
 *   share.
 * - LRP (relative): the parent takes its share of its direct child's revenue
 *   only, so only LRP edges into the root count. Deeper LRP edges are paid from
 *   the ancestors' revenue, not the root's.
 * - An ancestor can owe on both counts (an LRP edge into the root and, through
 *   another path, an LAP edge into an ancestor): both licences bind, so it gets
 *   one entry per policy and `totalBps` adds them. This keeps each entry
 *   traceable to its agreement and lets the cascade apply each policy's rule.
 * - Zero shares are omitted. When several edges give an ancestor the same
 *   largest share, the entry names the agreement with the smallest id (so the
 *   result does not depend on the order of the input).
 *
 * Entries are sorted by share (largest first), then depth (closest first),
 * then model id, then policy (LAP before LRP).
 */
import { MAX_SHARE_BPS, RoyaltyPolicy } from '../../licensing/terms/terms.types';
import type { Lineage, LineageEdgeView, LineageNode, RoyaltyStack, RoyaltyStackEntry } from './lineage.types';

/** The lineage handed over does not hold together (an edge names a parent that is not among the ancestors…): a loader bug. */
export class InconsistentLineageError extends Error {
  constructor(message: string) {
    super(`inconsistent lineage: ${message}`);
    this.name = 'InconsistentLineageError';
  }
}

export interface LineageIndex {
  rootId: string;
  /** Ancestors by model id. */
  nodes: Map<string, LineageNode>;
  /**
   * The edges that belong to the lineage (child is the root or an ancestor),
   * each with its distance from the root: 1 for an edge into the root, the
   * child's depth + 1 otherwise.
   */
  edges: Array<{ edge: LineageEdgeView; depth: number }>;
}

/**
 * Indexes a lineage once (O(ancestors + edges)). Edges whose child is outside
 * the lineage are ignored; an edge whose parent is not among the ancestors, or
 * is the root, is a broken lineage and throws.
 */
export function indexLineage(lineage: Lineage): LineageIndex {
  const rootId = lineage.root.modelId;
  const nodes = new Map<string, LineageNode>();
  for (const a of lineage.ancestors) {
    const seen = nodes.get(a.modelId);
    if (!seen || a.depth < seen.depth) nodes.set(a.modelId, a);
  }
  if (nodes.has(rootId)) throw new InconsistentLineageError(`the root ${rootId} is listed among its own ancestors`);
  const edges: LineageIndex['edges'] = [];
  for (const edge of lineage.edges) {
    const childDepth = edge.childModelId === rootId ? 0 : nodes.get(edge.childModelId)?.depth;
    if (childDepth === undefined) continue;
    if (!nodes.has(edge.parentModelId)) {
      throw new InconsistentLineageError(`edge ${edge.parentModelId} → ${edge.childModelId} (agreement ${edge.agreementId}) has a parent that is not an ancestor`);
    }
    edges.push({ edge, depth: childDepth + 1 });
  }
  return { rootId, nodes, edges };
}

interface Best {
  shareBps: number;
  agreementId: string;
}

function keepLargest(map: Map<string, Best>, modelId: string, shareBps: number, agreementId: string): void {
  const best = map.get(modelId);
  if (!best || shareBps > best.shareBps || (shareBps === best.shareBps && agreementId < best.agreementId)) {
    map.set(modelId, { shareBps, agreementId });
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function compareEntries(a: RoyaltyStackEntry, b: RoyaltyStackEntry): number {
  return b.shareBps - a.shareBps || a.depth - b.depth || cmp(a.modelId, b.modelId) || cmp(a.policy, b.policy);
}

export function royaltyStack(lineage: Lineage): RoyaltyStack {
  const { rootId, nodes, edges } = indexLineage(lineage);
  const lap = new Map<string, Best>();
  const lrp = new Map<string, Best>();
  for (const { edge } of edges) {
    const { policy, shareBps } = edge.terms.royalty;
    if (!Number.isInteger(shareBps) || shareBps < 0 || shareBps > MAX_SHARE_BPS) {
      throw new InconsistentLineageError(`agreement ${edge.agreementId} has a royalty share of ${String(shareBps)} bps`);
    }
    if (shareBps === 0) continue;
    if (policy === RoyaltyPolicy.LAP) keepLargest(lap, edge.parentModelId, shareBps, edge.agreementId);
    else if (policy === RoyaltyPolicy.LRP) {
      if (edge.childModelId === rootId) keepLargest(lrp, edge.parentModelId, shareBps, edge.agreementId);
    } else throw new InconsistentLineageError(`agreement ${edge.agreementId} has an unknown royalty policy ${String(policy)}`);
  }
  const entries: RoyaltyStackEntry[] = [];
  const emit = (map: Map<string, Best>, policy: 'LAP' | 'LRP') => {
    for (const [modelId, best] of map) {
      const node = nodes.get(modelId)!;
      entries.push({ modelId, organizationId: node.organizationId, policy, shareBps: best.shareBps, depth: node.depth, agreementId: best.agreementId });
    }
  };
  emit(lap, 'LAP');
  emit(lrp, 'LRP');
  entries.sort(compareEntries);
  let totalBps = 0;
  for (const e of entries) totalBps += e.shareBps;
  return { entries, totalBps };
}

/** The LAP part of a stack (what the registration cap is about, per the issue). */
export function lapTotalBps(stack: RoyaltyStack): number {
  let total = 0;
  for (const e of stack.entries) if (e.policy === 'LAP') total += e.shareBps;
  return total;
}

/**
 * Whether a stack takes more than `capBps` of the model's revenue (a stack
 * exactly at the cap is allowed). `scope` 'TOTAL' (default) counts every entry —
 * everything that leaves the root's revenue, LRP shares of direct parents
 * included; 'LAP' counts the absolute shares only.
 */
export function exceedsCap(stack: RoyaltyStack, capBps: number, scope: 'TOTAL' | 'LAP' = 'TOTAL'): boolean {
  if (!Number.isInteger(capBps) || capBps < 0 || capBps > MAX_SHARE_BPS) {
    throw new RangeError(`capBps must be an integer between 0 and ${MAX_SHARE_BPS}, got ${capBps}`);
  }
  return (scope === 'LAP' ? lapTotalBps(stack) : stack.totalBps) > capBps;
}
