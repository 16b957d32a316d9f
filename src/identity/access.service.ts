/**
 * Organization-scoped authorization. Every read or write that names an
 * organization (or an object owned by one) goes through here; a principal that
 * is not a member gets NOT_FOUND, exactly as if the id did not exist. The
 * caller names what is reported as not found (the object it was asked for, by
 * the id it was given), so no caller catches NOT_FOUND to rethrow it.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ApiKeyScope, Principal } from '../platform/auth/principal';
import { ForbiddenError, NotFoundError } from '../platform/errors/app-error';
import { MembershipEntity, MembershipRole } from './identity.entity';

export type AccessLevel = 'read' | 'write' | 'owner';

/** What a caller outside the organization is told does not exist. */
export interface NotFoundReport {
  entity: string;
  id: string;
}

@Injectable()
export class AccessService {
  /**
   * Throws NOT_FOUND for `reports` (by default the organization itself) when the
   * principal is not in the organization, FORBIDDEN when it is a member without
   * the needed role or scope.
   */
  async requireOrganization(
    em: EntityManager,
    principal: Principal,
    organizationId: string,
    level: AccessLevel,
    reports: NotFoundReport = { entity: 'Organization', id: organizationId },
  ): Promise<void> {
    if (!(await this.check(em, principal, organizationId, level))) throw new NotFoundError(reports.entity, reports.id);
  }

  /**
   * Whether the principal has `level` access through any of the organizations
   * (e.g. either party of an agreement): false where `requireOrganization`
   * would answer NOT_FOUND for all of them; FORBIDDEN still throws.
   */
  async hasAccess(em: EntityManager, principal: Principal, organizationIds: readonly string[], level: AccessLevel): Promise<boolean> {
    for (const organizationId of organizationIds) {
      if (await this.check(em, principal, organizationId, level)) return true;
    }
    return false;
  }

  /** true: allowed; false: not in the organization; FORBIDDEN: in it without the role or scope. */
  private async check(em: EntityManager, principal: Principal, organizationId: string, level: AccessLevel): Promise<boolean> {
    if (principal.kind === 'apiKey') {
      if (principal.organizationId !== organizationId) return false;
      if (level === 'owner') throw new ForbiddenError('This operation needs a user session, not an API key');
      const scope = level === 'read' ? ApiKeyScope.READ : ApiKeyScope.WRITE;
      const ok = principal.scopes.includes(scope) || (level === 'read' && principal.scopes.includes(ApiKeyScope.WRITE));
      if (!ok) throw new ForbiddenError(`API key lacks the ${scope} scope`);
      return true;
    }
    const m = await em.findOne(MembershipEntity, { where: { organizationId, userId: principal.userId } });
    if (!m) return false;
    if (level === 'owner' && m.role !== MembershipRole.OWNER) throw new ForbiddenError('Only an owner of the organization may do this');
    return true;
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
