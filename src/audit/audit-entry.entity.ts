import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from '../platform/database/bigint.transformer';

/** Append-only, hash-chained: each row commits to the previous row's hash. */
@Entity({ name: 'audit_log' })
export class AuditEntryEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintTransformer })
  seq: bigint;

  @Column({ type: 'timestamptz', name: 'occurred_at' })
  occurredAt: Date;

  @Column({ type: 'uuid', name: 'actor_user_id', nullable: true })
  actorUserId: string | null;

  @Column({ type: 'uuid', name: 'actor_api_key_id', nullable: true })
  actorApiKeyId: string | null;

  @Column({ type: 'uuid', name: 'organization_id', nullable: true })
  organizationId: string | null;

  @Column({ type: 'text' })
  action: string;

  @Column({ type: 'text', name: 'target_type' })
  targetType: string;

  @Column({ type: 'text', name: 'target_id', nullable: true })
  targetId: string | null;

  @Column({ type: 'jsonb' })
  data: Record<string, unknown>;

  @Column({ type: 'char', length: 64, name: 'prev_hash' })
  prevHash: string;

  @Column({ type: 'char', length: 64 })
  hash: string;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const AUDIT_ENTITIES: Function[] = [AuditEntryEntity];
