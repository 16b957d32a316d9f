/**
 * Builders of `Lineage` values for specs and benchmarks (not used by the
 * application). Model ids are the labels you give ('A', 'B', …); the lineage is
 * derived from the edges exactly as the loader derives it from the database:
 * ancestors are the models reachable upwards from the root, each at its
 * shortest distance, and only edges whose child is the root or an ancestor are
 * kept.
 *
 *   lineageOf([
 *     { parent: 'A', child: 'B', policy: 'LAP', shareBps: 500 },
 *     { parent: 'B', child: 'C', policy: 'LAP', shareBps: 1000, terms: { naming: { rule: NamingRule.PREFIX_REQUIRED, token: 'Llama' } } },
 *   ], 'C')
 *
 * Terms start from `neutralTerms()` (permissive, no attribution, no naming
 * rule, nothing flows down) and take the edge's `terms` overrides; `policy` and
 * `shareBps` set the royalty. Everything is canonicalised with
 * `canonicalTerms()` and hashed with `hashCanonical()` like a real offer.
 */
import { canonicalTerms, hashCanonical } from '../../licensing/terms/canonical-terms';
import { samplePricing, sampleTerms } from '../../licensing/terms/terms.fixtures';
import {
  AttributionPlacement,
  CanonicalTerms,
  NamingRule,
  OutputTraining,
  PricingInput,
  RoyaltyPolicy,
  TermsInput,
} from '../../licensing/terms/terms.types';
import { DistillationMethod, LineageRelation } from '../provenance.entity';
import type { Lineage, LineageEdgeView, LineageModel, LineageNode } from './lineage.types';

export interface EdgeSpec {
  parent: string;
  child: string;
  /** Default LAP. */
  policy?: 'LAP' | 'LRP' | RoyaltyPolicy;
  /** Default 0 (or `terms.royalty.shareBps` when given). */
  shareBps?: number;
  /** Overrides on top of `neutralTerms()`. */
  terms?: Partial<TermsInput>;
  /** Default `agr:<parent>-><child>`. */
  agreementId?: string;
  /** Default DISTILLED (method LOGITS). */
  relation?: LineageRelation;
  pricing?: Partial<PricingInput>;
}

export interface LineageOptions {
  /** The root model's declared commercial use (default true). */
  commercialUse?: boolean;
  /** Display names by label (default: `Model <label>`). */
  names?: Record<string, string>;
  /** Owning organization by label (default: `org:<label>`). */
  organizations?: Record<string, string>;
}

/** Permissive terms with nothing that flows down: the neutral base of every fixture edge. */
export function neutralTerms(): TermsInput {
  return {
    outputTraining: OutputTraining.PERMITTED,
    distillationIsDerivative: true,
    commercialUse: true,
    researchOnly: false,
    attribution: null,
    naming: { rule: NamingRule.NONE, token: null },
    inheritance: { copyLicence: false, useRestrictionsFlowDown: false, reciprocal: false },
    thresholds: [],
    territory: null,
    acceptableUsePolicyUrl: null,
    termDays: null,
    governingLaw: null,
    royalty: { policy: RoyaltyPolicy.LAP, shareBps: 0 },
    limits: null,
    watermarkRequired: false,
  };
}

/** The Llama-3.1-like sample terms (attribution "Built with Llama", prefix "Llama", everything flows down). */
export function llamaLikeTerms(): Partial<TermsInput> {
  return sampleTerms();
}

/** An attribution override: `attribution('Built with X', 'notice…', [MODEL_CARD])`. */
export function attribution(
  displayString: string,
  noticeText: string | null = null,
  placements: AttributionPlacement[] = [AttributionPlacement.MODEL_CARD],
): Pick<TermsInput, 'attribution'> {
  return { attribution: { displayString, placements, noticeText } };
}

export const flowsDown = { inheritance: { copyLicence: false, useRestrictionsFlowDown: true, reciprocal: false } } as const;
export const copiesLicence = { inheritance: { copyLicence: true, useRestrictionsFlowDown: false, reciprocal: false } } as const;
export const reciprocal = { inheritance: { copyLicence: false, useRestrictionsFlowDown: false, reciprocal: true } } as const;

export function modelOf(label: string, options: LineageOptions = {}): LineageModel {
  return {
    modelId: label,
    name: options.names?.[label] ?? `Model ${label}`,
    slug: `model-${label.toLowerCase()}`,
    organizationId: options.organizations?.[label] ?? `org:${label}`,
    weightsDigest: null,
    commercialUse: true,
  };
}

/** One lineage edge view with canonical terms and their hash. */
export function edgeOf(spec: EdgeSpec): LineageEdgeView {
  const base = { ...neutralTerms(), ...(spec.terms ?? {}) };
  const royalty = {
    policy: (spec.policy ?? spec.terms?.royalty?.policy ?? RoyaltyPolicy.LAP) as RoyaltyPolicy,
    shareBps: spec.shareBps ?? spec.terms?.royalty?.shareBps ?? 0,
  };
  const canonical = canonicalTerms({ ...base, royalty }, { ...samplePricing(), ...(spec.pricing ?? {}) });
  const relation = spec.relation ?? LineageRelation.DISTILLED;
  return {
    childModelId: spec.child,
    parentModelId: spec.parent,
    agreementId: spec.agreementId ?? `agr:${spec.parent}->${spec.child}`,
    relation,
    method: relation === LineageRelation.DISTILLED ? DistillationMethod.LOGITS : null,
    dataShareBps: null,
    termsHash: hashCanonical(canonical),
    terms: canonical.terms,
  };
}

/** The lineage of `root` from edge specs (edges not above the root are dropped, as the database would). */
export function lineageOf(specs: readonly EdgeSpec[], root: string, options: LineageOptions = {}): Lineage {
  return lineageFromEdges(specs.map(edgeOf), root, options);
}

/** Same as `lineageOf` from ready-made edge views (e.g. to reuse the same terms object on many edges). */
export function lineageFromEdges(allEdges: readonly LineageEdgeView[], root: string, options: LineageOptions = {}): Lineage {
  const parentsOf = new Map<string, LineageEdgeView[]>();
  for (const e of allEdges) {
    const list = parentsOf.get(e.childModelId);
    if (list) list.push(e);
    else parentsOf.set(e.childModelId, [e]);
  }
  // Shortest distance upwards (BFS).
  const depthOf = new Map<string, number>();
  let frontier = [root];
  for (let d = 1; frontier.length > 0; d++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const e of parentsOf.get(id) ?? []) {
        if (e.parentModelId === root) throw new Error(`lineage fixture: cycle through the root ${root}`);
        if (!depthOf.has(e.parentModelId)) {
          depthOf.set(e.parentModelId, d);
          next.push(e.parentModelId);
        }
      }
    }
    frontier = next;
  }
  const inLineage = (id: string) => id === root || depthOf.has(id);
  const edges = allEdges.filter((e) => inLineage(e.childModelId));
  const { any, distilled } = longestChains(root, parentsOf);
  const ancestors: LineageNode[] = [...depthOf.entries()].map(([id, depth]) => ({ ...modelOf(id, options), depth }));
  return {
    root: { ...modelOf(root, options), commercialUse: options.commercialUse ?? true },
    ancestors,
    edges,
    distillationGeneration: distilled,
    depth: any,
  };
}

function longestChains(root: string, parentsOf: Map<string, LineageEdgeView[]>): { any: number; distilled: number } {
  const done = new Map<string, { any: number; distilled: number }>();
  const onPath = new Set<string>();
  const stack: Array<{ id: string; expanded: boolean }> = [{ id: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (done.has(top.id)) {
      stack.pop();
      continue;
    }
    const ps = parentsOf.get(top.id) ?? [];
    if (!top.expanded) {
      top.expanded = true;
      onPath.add(top.id);
      for (const e of ps) {
        if (onPath.has(e.parentModelId)) throw new Error(`lineage fixture: cycle through ${e.parentModelId}`);
        if (!done.has(e.parentModelId)) stack.push({ id: e.parentModelId, expanded: false });
      }
      continue;
    }
    let any = 0;
    let distilled = 0;
    for (const e of ps) {
      const l = done.get(e.parentModelId)!;
      any = Math.max(any, l.any + 1);
      distilled = Math.max(distilled, l.distilled + (e.relation === LineageRelation.DISTILLED ? 1 : 0));
    }
    done.set(top.id, { any, distilled });
    onPath.delete(top.id);
    stack.pop();
  }
  return done.get(root)!;
}

/** A copy of the lineage with its `edges` and `ancestors` reordered by a seeded permutation. */
export function shuffledLineage(lineage: Lineage, seed: number): Lineage {
  const rand = prng(seed);
  return { ...lineage, edges: shuffle(lineage.edges, rand), ancestors: shuffle(lineage.ancestors, rand) };
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function shuffle<T>(xs: readonly T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export interface SyntheticLineageOptions {
  /** Number of ancestors (every one reachable from the root). Default 1,024. */
  ancestors?: number;
  /** Edges beyond the one that connects each ancestor (default: as many as ancestors, so ~2× edges). */
  extraEdges?: number;
  seed?: number;
}

/**
 * A large generated DAG for benchmarks: root `M0`, ancestors `M1…Mn`; every
 * `Mi` is the parent of one `Mj` (j < i), so all are reachable, plus random
 * extra edges `Mi → Mj` (j < i). Terms are drawn from a small set of variants
 * (LAP/LRP with small shares, Llama-like attribution + naming + flow-down,
 * research-only, reciprocal, plain) so that royalty stacks and obligations have
 * work to do; canonical terms objects are shared between edges of one variant.
 */
export function syntheticLineage(options: SyntheticLineageOptions = {}): Lineage {
  const n = options.ancestors ?? 1024;
  const extra = options.extraEdges ?? n;
  const rand = prng(options.seed ?? 42);
  const variants: Array<Partial<TermsInput>> = [
    {},
    {
      ...attribution('Built with Llama', 'Llama is licensed under the Llama Community License.', [AttributionPlacement.MODEL_CARD, AttributionPlacement.WEBSITE]),
      naming: { rule: NamingRule.PREFIX_REQUIRED, token: 'Llama' },
      inheritance: { copyLicence: true, useRestrictionsFlowDown: true, reciprocal: false },
      acceptableUsePolicyUrl: 'https://llama.example/use-policy',
      territory: { excludedCountries: ['KP', 'CU'] },
    },
    { ...attribution('Powered by Gemma', 'Gemma is provided under the Gemma Terms of Use.'), naming: { rule: NamingRule.NOT_PRIMARY, token: 'Gemma' }, ...flowsDown },
    { researchOnly: true, commercialUse: false, ...flowsDown },
    { ...reciprocal, ...attribution('Open weights by Example Lab') },
  ];
  const cache = new Map<string, CanonicalTerms>();
  const edgeFor = (parent: number, child: number): LineageEdgeView => {
    const variant = Math.floor(rand() * variants.length);
    const policy = rand() < 0.7 ? RoyaltyPolicy.LAP : RoyaltyPolicy.LRP;
    const shareBps = [0, 5, 10, 25, 50][Math.floor(rand() * 5)];
    const key = `${variant}:${policy}:${shareBps}`;
    const e = edgeOf({ parent: `M${parent}`, child: `M${child}`, policy, shareBps, terms: variants[variant] });
    const shared = cache.get(key);
    if (shared) e.terms = shared;
    else cache.set(key, e.terms);
    return e;
  };
  const edges: LineageEdgeView[] = [];
  const seen = new Set<string>();
  const add = (parent: number, child: number) => {
    const k = `${parent}>${child}`;
    if (seen.has(k)) return false;
    seen.add(k);
    edges.push(edgeFor(parent, child));
    return true;
  };
  for (let i = 1; i <= n; i++) add(i, Math.floor(rand() * i));
  for (let added = 0, tries = 0; added < extra && tries < extra * 10; tries++) {
    const parent = 2 + Math.floor(rand() * (n - 1));
    if (parent > n) continue;
    if (add(parent, Math.floor(rand() * parent))) added++;
  }
  return lineageFromEdges(edges, 'M0');
}
