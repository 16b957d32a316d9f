/**
 * The audit log: identity, licensing, admin and money actions append here in
 * the same transaction as the change they record. Appends are serialised by a
 * transaction-scoped advisory lock so the chain is linear; the lock is held to
 * commit, which bounds audited write throughput (see README, "Known limits").
 */
import { Injectable } from '@nestjs/common';
import { actorOf, Principal } from '../platform/auth/principal';
import { Database, Tx } from '../platform/database/transaction';
import { CursorParts, defineCursor } from '../platform/paging/cursor';
import { AuditEntryEntity } from './audit-entry.entity';
import { AuditRepository } from './audit.repository';
import { auditHash, GENESIS_HASH } from './audit-hash';

/** Newest first by seq. */
export const AUDIT_CURSOR = defineCursor('audit', [CursorParts.bigserial]);

export interface AuditEvent {
  action: string;
  targetType: string;
  targetId?: string | null;
  organizationId?: string | null;
  data?: Record<string, unknown>;
}

export interface AuditVerification {
  valid: boolean;
  checkedRows: number;
  firstInvalidSeq: bigint | null;
  reason: string | null;
}

export interface AuditFilter {
  action?: string;
  organizationId?: string;
  targetId?: string;
}

@Injectable()
export class AuditService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditRepository,
  ) {}

  /** Appends one entry inside the caller's transaction. `actor` null = the system. */
  async record(tx: Tx, actor: Principal | null, event: AuditEvent): Promise<void> {
    await this.audit.lockAppends(tx);
    const last = await this.audit.head(tx);
    const seq = last ? BigInt(last.seq) + 1n : 1n;
    const prevHash = last ? last.hash : GENESIS_HASH;
    const who = actor ? actorOf(actor) : { actorUserId: null, actorApiKeyId: null };
    const record = {
      seq,
      occurredAt: new Date(),
      ...who,
      organizationId: event.organizationId ?? null,
      action: event.action,
      targetType: event.targetType,
      targetId: event.targetId ?? null,
      data: event.data ?? {},
    };
    const row: AuditEntryEntity = { ...record, prevHash, hash: auditHash(prevHash, record) };
    // (jsonb columns defeat TypeORM's deep-partial typing of insert(); the row is complete)
    await tx.createQueryBuilder().insert().into(AuditEntryEntity).values(row as never).updateEntity(false).execute();
  }

  async list(filter: AuditFilter, first: number, afterSeq: bigint | null): Promise<AuditEntryEntity[]> {
    const qb = this.db.reader.createQueryBuilder(AuditEntryEntity, 'a').orderBy('a.seq', 'DESC').limit(first + 1);
    if (afterSeq !== null) qb.andWhere('a.seq < :afterSeq', { afterSeq: afterSeq.toString() });
    if (filter.action) qb.andWhere('a.action = :action', { action: filter.action });
    if (filter.organizationId) qb.andWhere('a.organization_id = :org', { org: filter.organizationId });
    if (filter.targetId) qb.andWhere('a.target_id = :tid', { tid: filter.targetId });
    return qb.getMany();
  }

  /**
   * Recomputes the chain from the first row: a changed row breaks its own hash,
   * a deleted row breaks the next row's link or leaves a gap in `seq`.
   * (Truncating the newest rows is only detectable against a hash kept
   * elsewhere — compare `headHash` with a copy you exported.)
   */
  async verify(batchSize = 1000): Promise<AuditVerification & { headHash: string }> {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1n;
    let checked = 0;
    for (;;) {
      const rows = await this.db.reader
        .createQueryBuilder(AuditEntryEntity, 'a')
        .where('a.seq >= :from', { from: expectedSeq.toString() })
        .orderBy('a.seq', 'ASC')
        .limit(batchSize)
        .getMany();
      if (rows.length === 0) break;
      for (const row of rows) {
        const fail = (reason: string) => ({ valid: false, checkedRows: checked, firstInvalidSeq: row.seq, reason, headHash: prevHash });
        if (row.seq !== expectedSeq) return fail(`row ${expectedSeq} is missing`);
        if (row.prevHash !== prevHash) return fail(`row ${row.seq} does not link to the previous row`);
        if (auditHash(prevHash, row) !== row.hash) return fail(`row ${row.seq} was modified`);
        prevHash = row.hash;
        expectedSeq = row.seq + 1n;
        checked += 1;
      }
    }
    return { valid: true, checkedRows: checked, firstInvalidSeq: null, reason: null, headHash: prevHash };
  }
}
