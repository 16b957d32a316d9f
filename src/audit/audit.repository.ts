/**
 * The SQL of the audit chain's append: the lock that makes the chain linear
 * and the read of its head. Every method takes the caller's transaction, so
 * an append cannot run outside the change it records.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

const AUDIT_LOCK_KEY = 7_340_001; // pg_advisory_xact_lock key owned by the audit log

/** The newest entry of the chain, as the next append links to it. */
export interface AuditHeadRow {
  seq: string;
  hash: string;
}

@Injectable()
export class AuditRepository {
  /** Serialises appends until the caller's transaction ends. */
  async lockAppends(tx: EntityManager): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK_KEY]);
  }

  /** The newest entry, or null for an empty log. */
  async head(tx: EntityManager): Promise<AuditHeadRow | null> {
    const [last] = (await tx.query('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')) as AuditHeadRow[];
    return last ?? null;
  }
}
