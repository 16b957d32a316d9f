/**
 * The SQL of student-model registration and lineage declarations outside the
 * ORM. Every method takes the caller's EntityManager (the transaction's), so
 * none can run outside the transaction by accident.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/** pg_advisory_xact_lock key owned by lineage writes. */
export const LINEAGE_LOCK_KEY = 7_340_301;

@Injectable()
export class StudentModelRepository {
  /**
   * Serialises lineage writes until the transaction ends, so two declarations
   * that would together close a cycle cannot both pass their check.
   */
  async lockLineageWrites(tx: EntityManager): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LINEAGE_LOCK_KEY]);
  }
}
