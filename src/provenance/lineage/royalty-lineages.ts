/**
 * Lineages for the money side: what the royalty cascade needs to split a
 * model's earnings down its ancestry, for many models at once. Read inside
 * the caller's transaction, so the allocation and the lineage it used are
 * one consistent picture (the allocation records what it used; a later
 * change to the lineage does not rewrite it).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { LineageLoader } from './lineage.loader';
import { EdgeRow, LineageRepository } from './lineage.repository';
import type { Lineage } from './lineage.types';

@Injectable()
export class RoyaltyLineages {
  constructor(
    private readonly loader: LineageLoader,
    private readonly repository: LineageRepository,
  ) {}

  /** Each model's lineage; null for a model without ancestors (a teacher) or unknown. One ancestry walk for all of them. */
  async lineagesOf(em: EntityManager, modelIds: readonly string[]): Promise<Map<string, Lineage | null>> {
    const ids = [...new Set(modelIds)];
    const out = new Map<string, Lineage | null>(ids.map((id) => [id, null]));
    if (ids.length === 0) return out;
    const edges = await this.loader.ancestryEdges(em, ids);
    const parentsOf = new Map<string, EdgeRow[]>();
    for (const e of edges) parentsOf.set(e.child_model_id, [...(parentsOf.get(e.child_model_id) ?? []), e]);
    const roots = await this.repository.lineageNodes(em, ids.filter((id) => parentsOf.has(id)));
    for (const r of roots) {
      const root = { modelId: r.id, name: r.name, slug: r.slug, organizationId: r.organization_id, weightsDigest: r.weights_digest, commercialUse: r.commercial_use };
      out.set(r.id, await this.loader.assemble(em, root, ancestryOf(r.id, parentsOf)));
    }
    return out;
  }
}

/** The edges of one model's ancestry, out of the edges of several models' ancestries. */
function ancestryOf(rootId: string, parentsOf: ReadonlyMap<string, readonly EdgeRow[]>): EdgeRow[] {
  const rows: EdgeRow[] = [];
  const seen = new Set<string>([rootId]);
  const todo = [rootId];
  while (todo.length > 0) {
    for (const e of parentsOf.get(todo.pop()!) ?? []) {
      rows.push(e);
      if (!seen.has(e.parent_model_id)) {
        seen.add(e.parent_model_id);
        todo.push(e.parent_model_id);
      }
    }
  }
  return rows;
}
