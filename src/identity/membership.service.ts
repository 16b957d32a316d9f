/**
 * Members of an organization: owners add existing users (by email) as OWNER or
 * MEMBER, change roles and remove members. An organization always keeps at
 * least one owner (checked under a lock on its memberships, so two owners
 * demoting each other concurrently cannot both succeed).
 */
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../platform/auth/principal';
import { ConflictError, NotFoundError } from '../platform/errors/app-error';
import { Database, Tx } from '../platform/database/transaction';
import { isUniqueViolation } from '../platform/database/pg-errors';
import { AccessService } from './access.service';
import { MembershipEntity, MembershipRole, UserEntity } from './identity.entity';

export interface Member {
  user: UserEntity;
  role: MembershipRole;
  since: Date;
}

@Injectable()
export class MembershipService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
  ) {}

  async list(principal: Principal, organizationId: string): Promise<Member[]> {
    await this.access.requireOrganization(this.db.reader, principal, organizationId, 'read');
    const rows = await this.db.reader
      .createQueryBuilder(MembershipEntity, 'm')
      .innerJoinAndMapOne('m.user', UserEntity, 'u', 'u.id = m.user_id')
      .where('m.organization_id = :organizationId', { organizationId })
      .orderBy('m.created_at', 'ASC')
      .getMany();
    return rows.map((m) => ({ user: (m as MembershipEntity & { user: UserEntity }).user, role: m.role, since: m.createdAt }));
  }

  /** 'already-member' when the user belongs to the organization already. */
  async add(principal: Principal, input: { organizationId: string; email: string; role: MembershipRole }): Promise<Member | 'already-member'> {
    try {
      return await this.db.transaction(async (tx) => {
        await this.access.requireOrganization(tx, principal, input.organizationId, 'owner');
        const user = await tx.createQueryBuilder(UserEntity, 'u').where('lower(u.email) = lower(:email)', { email: input.email }).getOne();
        if (!user) throw new NotFoundError('User', input.email);
        // insert, not save: save() would quietly update an existing membership's role
        await tx.insert(MembershipEntity, { organizationId: input.organizationId, userId: user.id, role: input.role });
        const m = await tx.findOneByOrFail(MembershipEntity, { organizationId: input.organizationId, userId: user.id });
        await this.audit.record(tx, principal, {
          action: 'identity.member.added',
          targetType: 'User',
          targetId: user.id,
          organizationId: input.organizationId,
          data: { role: input.role },
        });
        return { user, role: m.role, since: m.createdAt };
      });
    } catch (err) {
      if (isUniqueViolation(err)) return 'already-member';
      throw err;
    }
  }

  async changeRole(principal: Principal, input: { organizationId: string; userId: string; role: MembershipRole }): Promise<Member> {
    return this.db.transaction(async (tx) => {
      // Lock first, then check the caller is (still) an owner against the locked rows.
      const members = await this.lockMembers(tx, input.organizationId);
      await this.access.requireOrganization(tx, principal, input.organizationId, 'owner');
      const target = members.find((m) => m.userId === input.userId);
      if (!target) throw new NotFoundError('Member', input.userId);
      if (target.role === MembershipRole.OWNER && input.role !== MembershipRole.OWNER) this.keepAnOwner(members, input.userId);
      if (target.role !== input.role) {
        await tx.update(MembershipEntity, { organizationId: input.organizationId, userId: input.userId }, { role: input.role });
        await this.audit.record(tx, principal, {
          action: 'identity.member.role_changed',
          targetType: 'User',
          targetId: input.userId,
          organizationId: input.organizationId,
          data: { from: target.role, to: input.role },
        });
      }
      const user = await tx.findOneByOrFail(UserEntity, { id: input.userId });
      return { user, role: input.role, since: target.createdAt };
    });
  }

  async remove(principal: Principal, input: { organizationId: string; userId: string }): Promise<void> {
    await this.db.transaction(async (tx) => {
      // Lock first, then check the caller is (still) an owner against the locked rows.
      const members = await this.lockMembers(tx, input.organizationId);
      await this.access.requireOrganization(tx, principal, input.organizationId, 'owner');
      const target = members.find((m) => m.userId === input.userId);
      if (!target) throw new NotFoundError('Member', input.userId);
      if (target.role === MembershipRole.OWNER) this.keepAnOwner(members, input.userId);
      await tx.delete(MembershipEntity, { organizationId: input.organizationId, userId: input.userId });
      await this.audit.record(tx, principal, {
        action: 'identity.member.removed',
        targetType: 'User',
        targetId: input.userId,
        organizationId: input.organizationId,
        data: { role: target.role },
      });
    });
  }

  private lockMembers(tx: Tx, organizationId: string): Promise<MembershipEntity[]> {
    return tx.find(MembershipEntity, { where: { organizationId }, lock: { mode: 'pessimistic_write' } });
  }

  private keepAnOwner(members: MembershipEntity[], leavingUserId: string): void {
    const others = members.filter((m) => m.role === MembershipRole.OWNER && m.userId !== leavingUserId);
    if (others.length === 0) throw new ConflictError('An organization must keep at least one owner', { reason: 'LAST_OWNER' });
  }
}
