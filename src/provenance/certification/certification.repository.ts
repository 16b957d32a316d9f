/**
 * The SQL of model certifications. Every method takes the caller's
 * EntityManager (the transaction's, or the reader), so none can run outside
 * the transaction by accident.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { timeKeySql } from '../../platform/paging/cursor';
import type { CertificationEvidence, SafetyReview } from './certification.status';

/** First key of pg_advisory_xact_lock(int, int) for "certify model X". */
export const CERTIFY_LOCK_NAMESPACE = 7_340_301;

export interface CertificationSqlRow {
  id: string;
  model_id: string;
  evidence: CertificationEvidence[];
  safety_review: SafetyReview;
  certified_by_user_id: string | null;
  certified_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_by_user_id: string | null;
  revocation_reason: string | null;
}

export interface NewCertification {
  modelId: string;
  evidence: CertificationEvidence[];
  safetyReview: SafetyReview;
  certifiedByUserId: string | null;
  expiresAt: Date;
}

const COLUMNS = `id, model_id, evidence, safety_review, certified_by_user_id, certified_at, expires_at, revoked_at, revoked_by_user_id, revocation_reason`;

@Injectable()
export class CertificationRepository {
  /** Serialises certifications of one model until the transaction ends, so "latest" is also the last committed. */
  async lockModel(tx: EntityManager, modelId: string): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CERTIFY_LOCK_NAMESPACE, modelId]);
  }

  /** Stamped with clock_timestamp() (not now()) so it orders after certifications committed while we waited for the lock. */
  async insert(tx: EntityManager, c: NewCertification): Promise<CertificationSqlRow> {
    const [row] = (await tx.query(
      `INSERT INTO model_certifications (model_id, evidence, safety_review, certified_by_user_id, certified_at, expires_at)
           VALUES ($1, $2::jsonb, $3::jsonb, $4, clock_timestamp(), $5)
           RETURNING ${COLUMNS}`,
      [c.modelId, JSON.stringify(c.evidence), JSON.stringify(c.safetyReview), c.certifiedByUserId, c.expiresAt],
    )) as CertificationSqlRow[];
    return row;
  }

  async lockById(tx: EntityManager, id: string): Promise<CertificationSqlRow | null> {
    const [current] = (await tx.query(`SELECT ${COLUMNS} FROM model_certifications WHERE id = $1 FOR UPDATE`, [id])) as CertificationSqlRow[];
    return current ?? null;
  }

  async markRevoked(tx: EntityManager, id: string, revokedByUserId: string | null, reason: string): Promise<CertificationSqlRow> {
    const [rows] = (await tx.query(
      `UPDATE model_certifications SET revoked_at = clock_timestamp(), revoked_by_user_id = $2, revocation_reason = $3
          WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, revokedByUserId, reason],
    )) as [CertificationSqlRow[], number];
    return rows[0];
  }

  /** The latest certification of each given model (revoked or expired ones included: the caller judges them). */
  async latestOf(em: EntityManager, modelIds: readonly string[]): Promise<CertificationSqlRow[]> {
    return (await em.query(
      `SELECT DISTINCT ON (model_id) ${COLUMNS}
         FROM model_certifications
        WHERE model_id = ANY($1::uuid[])
        ORDER BY model_id, certified_at DESC, id DESC`,
      [modelIds],
    )) as CertificationSqlRow[];
  }

  async latestId(tx: EntityManager, modelId: string): Promise<{ id: string } | null> {
    const [row] = (await tx.query(`SELECT id FROM model_certifications WHERE model_id = $1 ORDER BY certified_at DESC, id DESC LIMIT 1`, [modelId])) as {
      id: string;
    }[];
    return row ?? null;
  }

  /**
   * Student models (at least one lineage edge as the child) whose latest
   * certification is missing, revoked or expired at `now`, oldest wait first:
   * by when they started waiting (registration, revocation or expiry), then id.
   * `after` is the (time key, id) of the last row of the previous page.
   */
  async queue(em: EntityManager, now: Date, after: readonly [string, string] | null, limit: number): Promise<CertificationQueueSqlRow[]> {
    const params: unknown[] = [now.toISOString(), limit];
    const keyset = after
      ? `WHERE (q.waiting_since, q.id) > ($${params.push(after[0])}::timestamp AT TIME ZONE 'UTC', $${params.push(after[1])}::uuid)`
      : '';
    return (await em.query(
      `SELECT q.*, ${timeKeySql('q.waiting_since')} AS time_key FROM (
         SELECT m.id, m.organization_id, m.created_at, c.id AS certification_id,
                (SELECT count(*)::int FROM model_lineage_edges p WHERE p.child_model_id = m.id) AS parent_count,
                CASE WHEN c.id IS NULL THEN 'NONE' WHEN c.revoked_at IS NOT NULL THEN 'REVOKED' ELSE 'EXPIRED' END AS status,
                CASE WHEN c.id IS NULL THEN m.created_at WHEN c.revoked_at IS NOT NULL THEN c.revoked_at ELSE c.expires_at END AS waiting_since
           FROM models m
           LEFT JOIN LATERAL (
             SELECT id, expires_at, revoked_at FROM model_certifications
              WHERE model_id = m.id ORDER BY certified_at DESC, id DESC LIMIT 1
           ) c ON true
          WHERE EXISTS (SELECT 1 FROM model_lineage_edges e WHERE e.child_model_id = m.id)
            AND (c.id IS NULL OR c.revoked_at IS NOT NULL OR c.expires_at <= $1::timestamptz)
       ) q
       ${keyset}
       ORDER BY q.waiting_since, q.id
       LIMIT $2`,
      params,
    )) as CertificationQueueSqlRow[];
  }
}

export interface CertificationQueueSqlRow {
  id: string;
  organization_id: string;
  created_at: Date;
  certification_id: string | null;
  parent_count: number;
  status: 'NONE' | 'REVOKED' | 'EXPIRED';
  waiting_since: Date;
  /** waiting_since to the microsecond, UTC (the keyset's time part). */
  time_key: string;
}
