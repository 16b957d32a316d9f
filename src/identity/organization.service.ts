import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../platform/auth/principal';
import { Database } from '../platform/database/transaction';
import { AccessService } from './access.service';
import { OrganizationEntity } from './identity.entity';

/**
 * Organizations: reads for other modules (they never touch identity's tables;
 * no authorization in those), and the owners' updates.
 */
@Injectable()
export class OrganizationService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
  ) {}

  /** Owners only: rename the organization and/or set its country. */
  async updateOrganization(principal: Principal, input: { id: string; name?: string; country?: string }): Promise<OrganizationEntity> {
    return this.db.transaction(async (tx) => {
      await this.access.requireOrganization(tx, principal, input.id, 'owner');
      const org = await tx.findOneOrFail(OrganizationEntity, { where: { id: input.id }, lock: { mode: 'pessimistic_write' } });
      const changes: Partial<Pick<OrganizationEntity, 'name' | 'country'>> = {};
      if (input.name !== undefined && input.name !== org.name) changes.name = input.name;
      if (input.country !== undefined && input.country !== org.country) changes.country = input.country;
      if (Object.keys(changes).length === 0) return org;
      await tx.update(OrganizationEntity, { id: org.id }, changes);
      await this.audit.record(tx, principal, {
        action: 'identity.organization.updated',
        targetType: 'Organization',
        targetId: org.id,
        organizationId: org.id,
        data: { from: { name: org.name, country: org.country }, to: changes },
      });
      return Object.assign(org, changes);
    });
  }

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
