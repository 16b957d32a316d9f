/**
 * The platform admin role, granted and revoked by admins (four eyes need more
 * than one). Every change is audit-logged with the acting admin. The platform
 * always keeps at least one admin: grants and revocations take the same
 * transaction-scoped lock as the boot-time bootstrap, so two admins revoking
 * each other at once cannot both succeed. Addresses listed in ADMIN_EMAIL are
 * the configuration's admins: revoking one is refused (it would come back at
 * the next boot) — they are removed from the configuration instead.
 */
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../platform/auth/principal';
import { AppConfig } from '../platform/config/app-config';
import { Database, Tx } from '../platform/database/transaction';
import { ConflictError, ForbiddenError, NotFoundError } from '../platform/errors/app-error';
import { UserEntity } from './identity.entity';
import { IdentityRepository } from './identity.repository';

@Injectable()
export class PlatformAdminService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly identity: IdentityRepository,
  ) {}

  /** Makes the user with this email a platform admin; granting to an admin changes (and logs) nothing. */
  async grant(principal: Principal, email: string): Promise<UserEntity> {
    this.requireAdminUser(principal);
    return this.db.transaction(async (tx) => {
      await this.identity.lockAdminBootstrap(tx);
      const user = await this.userByEmail(tx, email);
      if (user.isAdmin) return user;
      await tx.update(UserEntity, { id: user.id }, { isAdmin: true });
      await this.audit.record(tx, principal, {
        action: 'identity.admin.granted',
        targetType: 'User',
        targetId: user.id,
        data: { email: user.email },
      });
      return { ...user, isAdmin: true };
    });
  }

  /**
   * Takes the role away. CONFLICT for the last admin (the platform would have
   * none) and for an address listed in ADMIN_EMAIL; revoking from a non-admin
   * changes (and logs) nothing. An admin may revoke themselves if another remains.
   */
  async revoke(principal: Principal, email: string): Promise<UserEntity> {
    this.requireAdminUser(principal);
    return this.db.transaction(async (tx) => {
      await this.identity.lockAdminBootstrap(tx);
      const user = await this.userByEmail(tx, email);
      if (!user.isAdmin) return user;
      if (this.config.adminEmails.includes(user.email.toLowerCase())) {
        throw new ConflictError(`${user.email} is a platform admin by configuration (ADMIN_EMAIL); remove it there instead`, { reason: 'CONFIGURED_ADMIN' });
      }
      const admins = await tx.count(UserEntity, { where: { isAdmin: true } });
      if (admins <= 1) throw new ConflictError('The last platform admin cannot be revoked; grant the role to someone else first', { reason: 'LAST_ADMIN' });
      await tx.update(UserEntity, { id: user.id }, { isAdmin: false });
      await this.audit.record(tx, principal, {
        action: 'identity.admin.revoked',
        targetType: 'User',
        targetId: user.id,
        data: { email: user.email },
      });
      return { ...user, isAdmin: false };
    });
  }

  /** The role is handed on by a person, not by an API key (which cannot be an admin anyway). */
  private requireAdminUser(principal: Principal): void {
    if (principal.kind !== 'user' || !principal.isAdmin) throw new ForbiddenError('Platform admins only');
  }

  private async userByEmail(tx: Tx, email: string): Promise<UserEntity> {
    const user = await tx.createQueryBuilder(UserEntity, 'u').where('lower(u.email) = lower(:email)', { email: email.trim() }).getOne();
    if (!user) throw new NotFoundError('User', email);
    return user;
  }
}
