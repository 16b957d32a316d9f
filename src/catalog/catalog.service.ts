import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ModelEntity, ModelStatus } from './model.entity';

export interface ModelRef {
  id: string;
  organizationId: string;
  status: ModelStatus;
  name: string;
  slug: string;
}

/** Owns models (teachers and, later, students) and the public catalog. */
@Injectable()
export class CatalogService {
  /** For other modules (licensing): the model's owner and status, or null. No authorization here. */
  async findModelRef(em: EntityManager, id: string, opts: { lock?: boolean } = {}): Promise<ModelRef | null> {
    const m = await em.findOne(ModelEntity, {
      where: { id },
      select: { id: true, organizationId: true, status: true, name: true, slug: true },
      ...(opts.lock ? { lock: { mode: 'pessimistic_read' as const } } : {}),
    });
    return m ? { id: m.id, organizationId: m.organizationId, status: m.status, name: m.name, slug: m.slug } : null;
  }
}
