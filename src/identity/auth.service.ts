/**
 * Users, organizations and sessions: sign-up, log-in (argon2id, short-lived
 * JWT), throttling, and the platform admin ensured at boot.
 */
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import * as argon2 from 'argon2';
import { AuditService } from '../audit/audit.service';
import { Principal, UserPrincipal } from '../platform/auth/principal';
import { AppConfig } from '../platform/config/app-config';
import { isUniqueViolation } from '../platform/database/pg-errors';
import { Database, Tx } from '../platform/database/transaction';
import { MembershipEntity, MembershipRole, OrganizationEntity, UserEntity } from './identity.entity';
import { IdentityRepository } from './identity.repository';
import { LoginThrottleService } from './login-throttle.service';

const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface Membership {
  org: OrganizationEntity;
  role: MembershipRole;
}

export interface Session {
  accessToken: string;
  expiresAt: Date;
  user: UserEntity;
  /** The organizations the user belongs to: clients need their ids for almost every call. */
  memberships: Membership[];
}

export type LogInOutcome =
  | { kind: 'ok'; session: Session }
  | { kind: 'invalid' }
  | { kind: 'throttled'; retryAfterSeconds: number };

interface JwtClaims {
  sub: string;
  adm?: boolean;
  typ: 'access';
  /** Seconds since the epoch; set by signAsync's expiresIn, required on the way in. */
  exp?: number;
}

/** Clock skew allowed between the issuing and the verifying instance, in seconds. */
const EXP_SKEW_SECONDS = 60;

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly log = new Logger(AuthService.name);
  /** A real hash of nothing, verified when the email is unknown so both paths cost the same. */
  private dummyHash: Promise<string> | null = null;

  constructor(
    private readonly db: Database,
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    private readonly throttle: LoginThrottleService,
    private readonly audit: AuditService,
    private readonly identity: IdentityRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const password = this.config.adminPassword;
    if (!password) return;
    for (const email of this.config.adminEmails) await this.ensureAdmin(email, password);
  }

  hashPassword(password: string): Promise<string> {
    return argon2.hash(password, ARGON2_OPTIONS);
  }

  async signUp(input: {
    email: string;
    password: string;
    organizationName: string;
    country?: string;
  }): Promise<Session | 'email-taken'> {
    const passwordHash = await this.hashPassword(input.password);
    try {
      const { user, org } = await this.db.transaction(async (tx) => {
        const u = await tx.save(tx.create(UserEntity, { email: input.email, passwordHash, isAdmin: false }));
        const o = await this.createOrganizationTx(tx, u, { name: input.organizationName, country: input.country });
        await this.audit.record(tx, { kind: 'user', userId: u.id, isAdmin: false }, {
          action: 'identity.user.signed_up',
          targetType: 'User',
          targetId: u.id,
          organizationId: o.id,
          data: { email: u.email },
        });
        return { user: u, org: o };
      });
      return this.issueSession(user, [{ org, role: MembershipRole.OWNER }]);
    } catch (err) {
      if (isUniqueViolation(err, 'users_email_lower_key')) return 'email-taken';
      throw err;
    }
  }

  async createOrganization(principal: UserPrincipal, input: { name: string; country?: string }): Promise<OrganizationEntity> {
    return this.db.transaction(async (tx) => {
      const user = await tx.findOneByOrFail(UserEntity, { id: principal.userId });
      return this.createOrganizationTx(tx, user, input);
    });
  }

  private async createOrganizationTx(
    tx: Tx,
    owner: UserEntity,
    input: { name: string; country?: string },
  ): Promise<OrganizationEntity> {
    const org = await tx.save(tx.create(OrganizationEntity, { name: input.name, country: input.country ?? null }));
    await tx.insert(MembershipEntity, { organizationId: org.id, userId: owner.id, role: MembershipRole.OWNER });
    await this.audit.record(tx, { kind: 'user', userId: owner.id, isAdmin: owner.isAdmin }, {
      action: 'identity.organization.created',
      targetType: 'Organization',
      targetId: org.id,
      organizationId: org.id,
      data: { name: org.name, country: org.country },
    });
    return org;
  }

  async logIn(email: string, password: string, ip: string): Promise<LogInOutcome> {
    const retryAfterSeconds = await this.throttle.retryAfter(email, ip);
    if (retryAfterSeconds > 0) return { kind: 'throttled', retryAfterSeconds };
    const user = await this.db.reader
      .createQueryBuilder(UserEntity, 'u')
      .where('lower(u.email) = lower(:email)', { email })
      .getOne();
    const hash = user?.passwordHash ?? (await this.getDummyHash());
    const ok = await argon2.verify(hash, password).catch(() => false);
    if (!user || !ok) {
      await this.throttle.recordFailure(email, ip);
      return { kind: 'invalid' };
    }
    await this.throttle.recordSuccess(email);
    return { kind: 'ok', session: await this.issueSession(user, await this.membershipsOf(user.id)) };
  }

  private getDummyHash(): Promise<string> {
    this.dummyHash ??= this.hashPassword('not-a-real-password-0000');
    return this.dummyHash;
  }

  private async issueSession(user: UserEntity, memberships: Membership[]): Promise<Session> {
    const ttl = this.config.jwtTtlSeconds;
    const claims: JwtClaims = { sub: user.id, typ: 'access' };
    const accessToken = await this.jwt.signAsync(claims, { expiresIn: ttl });
    return { accessToken, expiresAt: new Date(Date.now() + ttl * 1000), user, memberships };
  }

  /**
   * A JWT → the user it names, or null when invalid, expired or the user is
   * gone. The signature library only checks `exp` when present, so a token
   * signed with our secret but without `exp` (another tool, a script) would
   * never expire: `exp` is required, and no later than the configured TTL from
   * now (plus clock skew) — this instance never issues a longer-lived one.
   */
  async principalFromToken(token: string): Promise<Principal | null> {
    let claims: JwtClaims;
    try {
      claims = await this.jwt.verifyAsync<JwtClaims>(token);
    } catch {
      return null;
    }
    if (claims.typ !== 'access' || typeof claims.sub !== 'string') return null;
    if (typeof claims.exp !== 'number' || claims.exp > Date.now() / 1000 + this.config.jwtTtlSeconds + EXP_SKEW_SECONDS) return null;
    const user = await this.db.reader.findOne(UserEntity, { where: { id: claims.sub }, select: { id: true, isAdmin: true } });
    return user ? { kind: 'user', userId: user.id, isAdmin: user.isAdmin } : null;
  }

  async me(userId: string): Promise<{ user: UserEntity; memberships: Membership[] }> {
    const user = await this.db.reader.findOneByOrFail(UserEntity, { id: userId });
    return { user, memberships: await this.membershipsOf(userId) };
  }

  private async membershipsOf(userId: string): Promise<Membership[]> {
    const rows = await this.db.reader
      .createQueryBuilder(MembershipEntity, 'm')
      .innerJoinAndMapOne('m.org', OrganizationEntity, 'o', 'o.id = m.organization_id')
      .where('m.user_id = :userId', { userId })
      .orderBy('o.created_at', 'ASC')
      .getMany();
    return rows.map((m) => ({ org: (m as MembershipEntity & { org: OrganizationEntity }).org, role: m.role }));
  }

  /** Idempotent: creates the admin, or makes an existing user with that email an admin. */
  async ensureAdmin(email: string, password: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.identity.lockAdminBootstrap(tx);
      const existing = await tx
        .createQueryBuilder(UserEntity, 'u')
        .where('lower(u.email) = lower(:email)', { email })
        .getOne();
      if (existing?.isAdmin) return;
      let userId: string;
      if (existing) {
        await tx.update(UserEntity, { id: existing.id }, { isAdmin: true });
        userId = existing.id;
      } else {
        const u = await tx.save(tx.create(UserEntity, { email, passwordHash: await this.hashPassword(password), isAdmin: true }));
        userId = u.id;
      }
      await this.audit.record(tx, null, {
        action: 'identity.admin.ensured',
        targetType: 'User',
        targetId: userId,
        data: { email, promotedExisting: !!existing },
      });
      this.log.log(`Platform admin ensured: ${email}`);
    });
  }
}
