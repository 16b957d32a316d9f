/**
 * Reads lineage from the database: the ancestors of a model are found by one
 * recursive CTE over model_lineage_edges (walking node ids with UNION, so a
 * diamond-rich DAG is visited once per node, not once per path), then the
 * models and the agreements' terms come in one query each, run together.
 * Both read raw rows (see lineage.repository.ts for why), and
 * terms already read are not read again (AgreementTermsCache). Depth (shortest
 * distance) and the distillation generation (longest chain of DISTILLED
 * edges) are computed from the edges in one topological pass.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { LoaderContext, loaderFor } from '../../platform/graphql/loaders';
import { readTogether } from '../../platform/database/transaction';
import { CatalogService } from '../../catalog/catalog.service';
import type { TeacherModelOutput } from '../../catalog/dto/model.output';
import { ModelEntity } from '../../catalog/model.entity';
import type { CanonicalTerms } from '../../licensing/terms/terms.types';
import { LineageRelation } from '../provenance.entity';
import { EdgeRow, LineageRepository, NodeRow } from './lineage.repository';
import { Lineage, LineageEdgeView, LineageModel, LineageNode } from './lineage.types';

/** Freezes a parsed terms snapshot (JSON data: plain objects and arrays) in place, so a shared copy cannot be changed by a reader. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * The accepted terms of agreements already read, by agreement id. An
 * agreement's terms snapshot is written once at acceptance and never updated
 * (only its status changes, which lineage does not read; the trigger
 * TRG_license_agreements_terms_immutable enforces it), so an entry never goes
 * stale. Terms are shared by hash (a platform has far fewer distinct
 * licences than agreements) and frozen, since every lineage read shares them.
 * Bounded: past `max` agreements the oldest entries are dropped. Saves the
 * terms query on every lineage read after the first (bench/lineage.bench.ts).
 */
class AgreementTermsCache {
  private readonly byAgreement = new Map<string, CanonicalTerms>();
  private readonly byHash = new Map<string, CanonicalTerms>();

  constructor(private readonly max: number) {}

  get(agreementId: string): CanonicalTerms | undefined {
    return this.byAgreement.get(agreementId);
  }

  /** Stores the terms of an agreement; returns the shared, frozen copy. */
  add(agreementId: string, termsHash: string, terms: CanonicalTerms): CanonicalTerms {
    let shared = this.byHash.get(termsHash);
    if (!shared) {
      if (this.byHash.size >= this.max) this.byHash.clear();
      this.byHash.set(termsHash, (shared = deepFreeze(terms)));
    }
    this.byAgreement.set(agreementId, shared);
    if (this.byAgreement.size > this.max) {
      let drop = this.byAgreement.size - this.max;
      for (const id of this.byAgreement.keys()) {
        if (drop-- <= 0) break;
        this.byAgreement.delete(id);
      }
    }
    return shared;
  }
}

/** ~100 k agreements: a few MB (ids and pointers; terms objects are shared by hash). */
const MAX_CACHED_AGREEMENTS = 100_000;

const nodeOf = (r: NodeRow): LineageModel => ({
  modelId: r.id,
  name: r.name,
  slug: r.slug,
  organizationId: r.organization_id,
  weightsDigest: r.weights_digest,
  commercialUse: r.commercial_use,
});

export const toLineageModel = (m: ModelEntity): LineageModel => ({
  modelId: m.id,
  name: m.name,
  slug: m.slug,
  organizationId: m.organizationId,
  weightsDigest: m.weightsDigest,
  commercialUse: m.commercialUse,
});

/** A GraphQL model as the root of its lineage. */
export const rootOf = (m: TeacherModelOutput): LineageModel => ({
  modelId: m.id,
  name: m.name,
  slug: m.slug,
  organizationId: m.organizationId,
  weightsDigest: m.weightsDigest,
  commercialUse: m.commercialUse,
});

@Injectable()
export class LineageLoader {
  private readonly terms = new AgreementTermsCache(MAX_CACHED_AGREEMENTS);

  constructor(
    private readonly catalog: CatalogService,
    // A default so benchmarks can build a cold loader by hand, outside Nest.
    private readonly repository: LineageRepository = new LineageRepository(),
  ) {}

  /** Every ancestor id of the given models (not the models themselves), one query. */
  async ancestorIds(em: EntityManager, modelIds: readonly string[]): Promise<Set<string>> {
    if (modelIds.length === 0) return new Set();
    return new Set(await this.repository.ancestorIds(em, modelIds));
  }

  /** The raw edges of the ancestry of `modelIds` (for checks before anything is written). */
  async ancestryEdges(em: EntityManager, modelIds: readonly string[]): Promise<EdgeRow[]> {
    if (modelIds.length === 0) return [];
    return this.repository.ancestryEdges(em, modelIds);
  }

  /** The full lineage of a model (which must exist). */
  async load(em: EntityManager, root: ModelEntity): Promise<Lineage> {
    return this.assembleFor(em, toLineageModel(root));
  }

  async assembleFor(em: EntityManager, root: LineageModel): Promise<Lineage> {
    const rows = await this.ancestryEdges(em, [root.modelId]);
    return this.assemble(em, root, rows);
  }

  /**
   * A lineage from edge rows, some of which may not be stored yet (checking a
   * registration before the model and its edges are written).
   */
  async assemble(em: EntityManager, root: LineageModel, rows: readonly EdgeRow[]): Promise<Lineage> {
    const ids = new Set<string>();
    for (const r of rows) ids.add(r.parent_model_id);
    const termsOf = new Map<string, CanonicalTerms>();
    const missing = new Set<string>();
    for (const r of rows) {
      const known = this.terms.get(r.agreement_id);
      if (known) termsOf.set(r.agreement_id, known);
      else missing.add(r.agreement_id);
    }
    const [nodeRows, termRows] = await readTogether(em, [
      async () => (ids.size === 0 ? [] : this.repository.lineageNodes(em, [...ids])),
      async () => (missing.size === 0 ? [] : this.repository.agreementTerms(em, [...missing])),
    ] as const);
    const models = new Map(nodeRows.map((r) => [r.id, nodeOf(r)]));
    // The snapshot comes on one row per hash: the others take it from that row.
    const fetchedByHash = new Map<string, CanonicalTerms>();
    for (const t of termRows) if (t.terms_snapshot !== null) fetchedByHash.set(t.terms_hash, t.terms_snapshot);
    for (const t of termRows) termsOf.set(t.id, this.terms.add(t.id, t.terms_hash, fetchedByHash.get(t.terms_hash)!));
    const edges: LineageEdgeView[] = rows.map((r) => {
      const terms = termsOf.get(r.agreement_id);
      if (!terms) throw new Error(`lineage edge ${r.child_model_id}→${r.parent_model_id}: agreement ${r.agreement_id} missing`);
      return {
        childModelId: r.child_model_id,
        parentModelId: r.parent_model_id,
        agreementId: r.agreement_id,
        relation: r.relation,
        method: r.method,
        dataShareBps: r.data_share_bps,
        termsHash: r.terms_hash,
        terms,
      };
    });
    const { depthOf, depth, generation } = measure(root.modelId, edges);
    const ancestors: LineageNode[] = [];
    for (const id of ids) {
      const m = models.get(id);
      if (!m) throw new Error(`lineage: model ${id} missing`);
      ancestors.push({ ...m, depth: depthOf.get(id) ?? 0 });
    }
    ancestors.sort((a, b) => a.depth - b.depth || (a.modelId < b.modelId ? -1 : 1));
    // Sorted by the child's depth, then child and parent ids (the depth looked up once per edge, not per comparison).
    const keyed = edges.map((e) => ({ e, d: depthOf.get(e.childModelId) ?? 0 }));
    keyed.sort((a, b) => a.d - b.d || cmp(a.e.childModelId, b.e.childModelId) || cmp(a.e.parentModelId, b.e.parentModelId));
    for (let i = 0; i < keyed.length; i++) edges[i] = keyed[i].e;
    return { root, ancestors, edges, distillationGeneration: generation, depth };
  }

  /** Descendants of a model (any depth), with the edges among them, one recursive query. */
  async descendants(em: EntityManager, modelId: string): Promise<{ nodes: Array<LineageModel & { depth: number }>; edges: EdgeRow[] }> {
    const rows = await this.repository.descendantEdges(em, modelId);
    // Shortest distance down from the model.
    const children = new Map<string, string[]>();
    for (const r of rows) children.set(r.parent_model_id, [...(children.get(r.parent_model_id) ?? []), r.child_model_id]);
    const depth = new Map<string, number>();
    let frontier = [modelId];
    for (let d = 1; frontier.length > 0; d++) {
      const next: string[] = [];
      for (const id of frontier) {
        for (const c of children.get(id) ?? []) {
          if (!depth.has(c)) {
            depth.set(c, d);
            next.push(c);
          }
        }
      }
      frontier = next;
    }
    const models = await this.catalog.findModels(em, [...depth.keys()]);
    const nodes = [...depth.entries()]
      .map(([id, d]) => ({ ...toLineageModel(models.get(id)!), depth: d }))
      .sort((a, b) => a.depth - b.depth || cmp(a.modelId, b.modelId));
    return { nodes, edges: rows };
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Shortest distance of every ancestor from the root, the longest chain of
 * edges, and the distillation generation — the most DISTILLED edges on any
 * chain ending at the root (a finetune in between does not reset it): BFS for
 * the first, a memoised walk over the DAG for the others, O(edges).
 */
export function measure(rootId: string, edges: readonly Pick<LineageEdgeView, 'childModelId' | 'parentModelId' | 'relation'>[]) {
  const parents = new Map<string, Array<{ id: string; distilled: boolean }>>();
  for (const e of edges) {
    const list = parents.get(e.childModelId) ?? [];
    list.push({ id: e.parentModelId, distilled: e.relation === LineageRelation.DISTILLED });
    parents.set(e.childModelId, list);
  }
  const depthOf = new Map<string, number>();
  let frontier = [rootId];
  for (let d = 1; frontier.length > 0; d++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const p of parents.get(id) ?? []) {
        if (!depthOf.has(p.id) && p.id !== rootId) {
          depthOf.set(p.id, d);
          next.push(p.id);
        }
      }
    }
    frontier = next;
  }
  // Longest chains above each node (iterative post-order; the graph is a DAG).
  const longest = new Map<string, { any: number; distilled: number }>();
  const stack: Array<{ id: string; expanded: boolean }> = [{ id: rootId, expanded: false }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (longest.has(top.id)) {
      stack.pop();
      continue;
    }
    const ps = parents.get(top.id) ?? [];
    if (!top.expanded) {
      top.expanded = true;
      for (const p of ps) if (!longest.has(p.id)) stack.push({ id: p.id, expanded: false });
      continue;
    }
    let any = 0;
    let distilled = 0;
    for (const p of ps) {
      const l = longest.get(p.id) ?? { any: 0, distilled: 0 };
      any = Math.max(any, l.any + 1);
      distilled = Math.max(distilled, l.distilled + (p.distilled ? 1 : 0));
    }
    longest.set(top.id, { any, distilled });
    stack.pop();
  }
  const r = longest.get(rootId) ?? { any: 0, distilled: 0 };
  return { depthOf, depth: r.any, generation: r.distilled };
}

/** A model's lineage once per GraphQL request, however many fields (lineage, stack, obligations, exports) use it. */
export function lineageInRequest(ctx: LoaderContext, loader: LineageLoader, em: EntityManager, model: LineageModel): Promise<Lineage> {
  return loaderFor<string, Lineage>(ctx, 'provenance.lineage', async (ids) => {
    const roots = new Map(pendingRoots.get(ctx) ?? []);
    return readTogether(em, ids.map((id) => () => loader.assembleFor(em, roots.get(id)!)));
  }).load(remember(ctx, model));
}

/** The roots a request asked for, by id (DataLoader keys are ids; the batch needs the whole model). */
const pendingRoots = new WeakMap<LoaderContext, Map<string, LineageModel>>();
function remember(ctx: LoaderContext, model: LineageModel): string {
  let m = pendingRoots.get(ctx);
  if (!m) pendingRoots.set(ctx, (m = new Map()));
  m.set(model.modelId, model);
  return model.modelId;
}
