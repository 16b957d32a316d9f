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
import { LineageRepository } from './lineage.repository';
import type { Lineage } from './lineage.types';

@Injectable()
export class RoyaltyLineages {
  constructor(
    private readonly loader: LineageLoader,
    private readonly repository: LineageRepository,
  ) {}

  /** Each model's lineage; null for a model without ancestors (a teacher) or unknown. */
  async lineagesOf(em: EntityManager, modelIds: readonly string[]): Promise<Map<string, Lineage | null>> {
    const ids = [...new Set(modelIds)];
    const out = new Map<string, Lineage | null>(ids.map((id) => [id, null]));
    if (ids.length === 0) return out;
    const edges = await this.loader.ancestryEdges(em, ids);
    const withParents = new Set(edges.map((e) => e.child_model_id));
    const roots = (await this.repository.lineageNodes(em, ids.filter((id) => withParents.has(id))));
    for (const r of roots) {
      out.set(
        r.id,
        await this.loader.assembleFor(em, {
          modelId: r.id,
          name: r.name,
          slug: r.slug,
          organizationId: r.organization_id,
          weightsDigest: r.weights_digest,
          commercialUse: r.commercial_use,
        }),
      );
    }
    return out;
  }
}
