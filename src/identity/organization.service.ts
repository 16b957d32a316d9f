import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { Database } from '../platform/database/transaction';
import { OrganizationEntity } from './identity.entity';

/** Read access to organizations for other modules (they never touch identity's tables). No authorization here. */
@Injectable()
export class OrganizationService {
  constructor(private readonly db: Database) {}

  /** Organizations by id; absent ids are simply missing from the map. */
  async findByIds(ids: readonly string[], em: EntityManager = this.db.reader): Promise<Map<string, OrganizationEntity>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const rows = await em.find(OrganizationEntity, { where: { id: In(unique) } });
    return new Map(rows.map((o) => [o.id, o]));
  }

  async findById(id: string, em: EntityManager = this.db.reader): Promise<OrganizationEntity | null> {
    return em.findOne(OrganizationEntity, { where: { id } });
  }
}
