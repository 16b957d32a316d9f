/**
 * For other modules (billing's revenue reports): a model with its lineage and
 * royalty stack, read in the caller's transaction. No authorization here.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { CatalogService } from '../../catalog/catalog.service';
import { LineageLoader, toLineageModel } from './lineage.loader';
import { Lineage, RoyaltyStack } from './lineage.types';
import { royaltyStack } from './royalty-stack';

export interface ModelStack {
  lineage: Lineage;
  stack: RoyaltyStack;
}

@Injectable()
export class RoyaltyStackService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly lineage: LineageLoader,
  ) {}

  /** The model's lineage and stack, or null when there is no such model. */
  async stackOf(em: EntityManager, modelId: string): Promise<ModelStack | null> {
    const model = (await this.catalog.findModels(em, [modelId])).get(modelId);
    if (!model) return null;
    const lineage = await this.lineage.assembleFor(em, toLineageModel(model));
    return { lineage, stack: royaltyStack(lineage) };
  }
}
