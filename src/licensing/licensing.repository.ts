/**
 * The SQL of licensing that is not plain entity access: agreement status
 * moves (one UPDATE for a single row or a sweep), the agreement views that
 * metering and provenance read on their hot paths, and offer publishing.
 * Every method takes the caller's EntityManager (a transaction's, or the
 * reader), so none can run outside it by accident.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AgreementStatus } from './license-agreement.entity';
import type { CanonicalTerms } from './terms/terms.types';

/** First key of pg_advisory_xact_lock(int, int) for "publish under (model, name)". */
const PUBLISH_LOCK_NAMESPACE = 7_340_101;

/** Which agreements a status move updates, and how. */
export interface StatusMoveSql {
  to: AgreementStatus;
  setsSuspensionCause: string | null;
  /** The statuses a row may be in to move. */
  allowed: readonly AgreementStatus[];
  /** Business time (the platform Clock): the term checks and status_changed_at. */
  now: Date;
  requiresSuspensionCause: string | null;
  id?: string;
  offerId?: string;
  distillerOrganizationId?: string;
  /** The pool agreements of one pool-plan subscription. */
  poolSubscriptionId?: string;
  /** 'in-term': ends_at is null or in the future; 'ended': ends_at has passed. */
  term?: 'in-term' | 'ended';
  /** Written to status_reason; undefined leaves it as it is. */
  reason?: string;
  limit?: number;
  skipLocked?: boolean;
}

export interface MovedRow {
  id: string;
  from_status: AgreementStatus;
  vendor_organization_id: string;
  distiller_organization_id: string;
  ends_at: Date | null;
  status_changed_at: Date;
}

export interface MeteringViewRow {
  id: string;
  model_id: string;
  vendor_organization_id: string;
  distiller_organization_id: string;
  status: AgreementStatus;
  status_changed_at: Date;
  starts_at: Date;
  ends_at: Date | null;
  tokens_per_period: string | null;
  tokens_per_minute: string | null;
  pool_subscription_id: string | null;
}

export interface LineageViewRow {
  id: string;
  model_id: string;
  vendor_organization_id: string;
  distiller_organization_id: string;
  status: AgreementStatus;
  terms_hash: string;
  terms_snapshot: CanonicalTerms;
}

@Injectable()
export class LicensingRepository {
  /**
   * Moves the agreements in scope whose status is allowed; returns each moved
   * row with the status it had once locked. The rows are locked (in id order)
   * before they change.
   */
  async moveStatuses(tx: EntityManager, m: StatusMoveSql): Promise<MovedRow[]> {
    const params: unknown[] = [m.to, m.setsSuspensionCause, m.allowed, m.now.toISOString()];
    const conds = ['status = ANY($3::text[])'];
    if (m.requiresSuspensionCause) conds.push(`suspension_cause = $${params.push(m.requiresSuspensionCause)}`);
    if (m.id !== undefined) conds.push(`id = $${params.push(m.id)}`);
    if (m.offerId !== undefined) conds.push(`offer_id = $${params.push(m.offerId)}`);
    if (m.distillerOrganizationId !== undefined) conds.push(`distiller_organization_id = $${params.push(m.distillerOrganizationId)}`);
    if (m.poolSubscriptionId !== undefined) conds.push(`pool_subscription_id = $${params.push(m.poolSubscriptionId)}`);
    if (m.term === 'in-term') conds.push('(ends_at IS NULL OR ends_at > $4::timestamptz)');
    if (m.term === 'ended') conds.push('ends_at <= $4::timestamptz');
    const reason = m.reason === undefined ? '' : `, status_reason = $${params.push(m.reason)}`;
    const limit = m.limit !== undefined ? `LIMIT ${Number(m.limit)}` : '';
    // `s.status` is each row's status once locked.
    const [rows] = (await tx.query(
      `UPDATE license_agreements a
          SET status = $1, suspension_cause = $2, status_changed_at = $4::timestamptz${reason}
         FROM (SELECT id, status FROM license_agreements WHERE ${conds.join(' AND ')}
                ORDER BY id ${limit} FOR UPDATE${m.skipLocked ? ' SKIP LOCKED' : ''}) s
        WHERE a.id = s.id AND a.status = ANY($3::text[])
        RETURNING a.id, s.status AS from_status, a.vendor_organization_id, a.distiller_organization_id, a.ends_at, a.status_changed_at`,
      params,
    )) as [MovedRow[], number];
    return rows;
  }

  /** Whether the model has left the pool (pool_exits: from a period on; new pool agreements are refused at once). */
  async hasLeftPool(em: EntityManager, modelId: string): Promise<boolean> {
    const [r]: unknown[] = await em.query(`SELECT 1 FROM pool_exits WHERE model_id = $1`, [modelId]);
    return r !== undefined;
  }

  /** What metering needs about agreements, in one round trip (a pre-authorisation hot path). */
  async meteringViews(em: EntityManager, ids: readonly string[]): Promise<MeteringViewRow[]> {
    return em.query(
      `SELECT id, model_id, vendor_organization_id, distiller_organization_id, status, status_changed_at,
              starts_at, ends_at, terms_snapshot #>> '{limits,tokensPerPeriod}' AS tokens_per_period,
              terms_snapshot #>> '{limits,tokensPerMinute}' AS tokens_per_minute, pool_subscription_id
         FROM license_agreements WHERE id = ANY($1::uuid[])`,
      [ids],
    );
  }

  /**
   * What provenance needs to back lineage edges, in one round trip. `lock`
   * takes FOR SHARE row locks (in id order), so a concurrent suspension or
   * termination waits for the caller's transaction.
   */
  async lineageViews(em: EntityManager, ids: readonly string[], lock: boolean): Promise<LineageViewRow[]> {
    return em.query(
      `SELECT id, model_id, vendor_organization_id, distiller_organization_id, status, terms_hash, terms_snapshot
         FROM license_agreements WHERE id = ANY($1::uuid[]) ORDER BY id${lock ? ' FOR SHARE' : ''}`,
      [[...new Set(ids)]],
    );
  }

  /** Serialises publishes of the same (model, name) until the caller's transaction ends. */
  async lockPublish(tx: EntityManager, modelId: string, name: string): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [PUBLISH_LOCK_NAMESPACE, `${modelId}/${name}`]);
  }

  /** The highest version published under (model, name), 0 when none. */
  async maxOfferVersion(tx: EntityManager, modelId: string, name: string): Promise<number> {
    const [{ max }] = (await tx.query('SELECT COALESCE(MAX(version), 0)::int AS max FROM license_offers WHERE model_id = $1 AND name = $2', [
      modelId,
      name,
    ])) as { max: number }[];
    return max;
  }

  /** ACTIVE → RETIRED; the retirement time, or null when the offer was no longer ACTIVE. */
  async retireOffer(tx: EntityManager, offerId: string): Promise<Date | null> {
    // UPDATE … RETURNING through TypeORM's pg driver answers [rows, rowCount].
    const [rows] = (await tx.query(
      `UPDATE license_offers SET status = 'RETIRED', retired_at = now() WHERE id = $1 AND status = 'ACTIVE' RETURNING retired_at`,
      [offerId],
    )) as [{ retired_at: Date }[], number];
    return rows[0]?.retired_at ?? null;
  }
}
