import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { ApiKeyScope } from '../platform/auth/principal';

export enum MembershipRole {
  OWNER = 'OWNER',
  MEMBER = 'MEMBER',
}

@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** As typed at sign-up; uniqueness is on lower(email). */
  @Column({ type: 'text' })
  email: string;

  @Column({ type: 'text', name: 'password_hash' })
  passwordHash: string;

  @Column({ type: 'boolean', name: 'is_admin', default: false })
  isAdmin: boolean;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}

@Entity({ name: 'organizations' })
export class OrganizationEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  name: string;

  /** ISO 3166-1 alpha-2; licence territory rules check it. */
  @Column({ type: 'char', length: 2, nullable: true })
  country: string | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}

@Entity({ name: 'memberships' })
export class MembershipEntity {
  @PrimaryColumn({ type: 'uuid', name: 'organization_id' })
  organizationId: string;

  @PrimaryColumn({ type: 'uuid', name: 'user_id' })
  userId: string;

  @Column({ type: 'text' })
  role: MembershipRole;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}

@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid', name: 'organization_id' })
  organizationId: string;

  @Column({ type: 'text' })
  name: string;

  /** Public part shown in lists (`bm_` + 12 chars); unique. */
  @Column({ type: 'text' })
  prefix: string;

  /** SHA-256 (hex) of the whole key; the key itself is shown once and never stored. */
  @Column({ type: 'char', length: 64, name: 'secret_hash' })
  secretHash: string;

  @Column({ type: 'text', array: true })
  scopes: ApiKeyScope[];

  @Column({ type: 'uuid', name: 'agreement_id', nullable: true })
  agreementId: string | null;

  @Column({ type: 'uuid', name: 'created_by_user_id', nullable: true })
  createdByUserId: string | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column({ type: 'timestamptz', name: 'last_used_at', nullable: true })
  lastUsedAt: Date | null;

  @Column({ type: 'timestamptz', name: 'revoked_at', nullable: true })
  revokedAt: Date | null;
}

/** Failed log-ins, counted per key (email or client address) in a sliding window. */
@Entity({ name: 'login_failures' })
export class LoginFailureEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint' })
  id: string;

  @Column({ type: 'text' })
  key: string;

  @Column({ type: 'timestamptz', name: 'failed_at', default: () => 'now()' })
  failedAt: Date;
}

export const IDENTITY_ENTITIES = [UserEntity, OrganizationEntity, MembershipEntity, ApiKeyEntity, LoginFailureEntity];
