/**
 * Organization-scoped authorization. Every read or write that names an
 * organization (or an object owned by one) goes through here; a principal that
 * is not a member gets NOT_FOUND, exactly as if the id did not exist.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ApiKeyScope, Principal } from '../platform/auth/principal';
import { ForbiddenError, NotFoundError } from '../platform/errors/app-error';
import { MembershipEntity, MembershipRole } from './identity.entity';

export type AccessLevel = 'read' | 'write' | 'owner';

@Injectable()
export class AccessService {
  /** Throws NOT_FOUND (foreign organization) or FORBIDDEN (member without the needed role/scope). */
  async requireOrganization(
    em: EntityManager,
    principal: Principal,
    organizationId: string,
    level: AccessLevel,
    entity = 'Organization',
  ): Promise<void> {
    if (principal.kind === 'apiKey') {
      if (principal.organizationId !== organizationId) throw new NotFoundError(entity, organizationId);
      if (level === 'owner') throw new ForbiddenError('This operation needs a user session, not an API key');
      const scope = level === 'read' ? ApiKeyScope.READ : ApiKeyScope.WRITE;
      const ok = principal.scopes.includes(scope) || (level === 'read' && principal.scopes.includes(ApiKeyScope.WRITE));
      if (!ok) throw new ForbiddenError(`API key lacks the ${scope} scope`);
      return;
    }
    const m = await em.findOne(MembershipEntity, { where: { organizationId, userId: principal.userId } });
    if (!m) throw new NotFoundError(entity, organizationId);
    if (level === 'owner' && m.role !== MembershipRole.OWNER) throw new ForbiddenError('Only an owner of the organization may do this');
  }

  /** Organization ids the principal may act for (a key: its own organization). */
  async organizationIdsOf(em: EntityManager, principal: Principal): Promise<string[]> {
    if (principal.kind === 'apiKey') return [principal.organizationId];
    const rows = await em.find(MembershipEntity, { where: { userId: principal.userId }, select: { organizationId: true } });
    return rows.map((r) => r.organizationId);
  }

  async isMember(em: EntityManager, principal: Principal, organizationId: string): Promise<boolean> {
    if (principal.kind === 'apiKey') return principal.organizationId === organizationId;
    return (await em.count(MembershipEntity, { where: { organizationId, userId: principal.userId } })) > 0;
  }
}
