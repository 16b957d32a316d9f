/**
 * Anomaly flags as the vendor and platform admins see them: a keyset-paged
 * list (newest first) and acknowledgement. Distillers never see flags about
 * themselves: a flag belongs to its vendor organization, and any other caller
 * gets NOT_FOUND, exactly as for an unknown id.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { AccessService } from '../../identity/access.service';
import { Principal } from '../../platform/auth/principal';
import { Database, Tx } from '../../platform/database/transaction';
import { BadInputError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { MAX_PAGE_SIZE } from '../../platform/graphql/limits';
import { CursorParts, defineCursor, timeKeySql } from '../../platform/paging/cursor';
import { Page, pageOf } from '../../platform/paging/page';
import { AnomalyKind } from './anomaly-flag.kinds';

export interface AnomalyFlagRow {
  id: string;
  agreementId: string;
  vendorOrganizationId: string;
  distillerOrganizationId: string;
  kind: AnomalyKind;
  windowStart: Date;
  occurrences: number;
  observedTokens: bigint | null;
  baselineTokens: bigint | null;
  detail: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  acknowledgedAt: Date | null;
  acknowledgedByUserId: string | null;
  acknowledgementNote: string | null;
  cursor: string;
}

export interface AnomalyFlagQuery {
  organizationId: string | null;
  agreementId: string | null;
  kinds: AnomalyKind[] | null;
  acknowledged: boolean | null;
  first: number;
  after: string | null;
}

interface RawFlag {
  id: string;
  agreement_id: string;
  vendor_organization_id: string;
  distiller_organization_id: string;
  kind: AnomalyKind;
  window_start: Date;
  occurrences: number;
  observed_tokens: string | null;
  baseline_tokens: string | null;
  detail: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by_user_id: string | null;
  acknowledgement_note: string | null;
  time_key: string;
}

const COLUMNS = `f.id, f.agreement_id, f.vendor_organization_id, f.distiller_organization_id, f.kind, f.window_start,
  f.occurrences, f.observed_tokens::text, f.baseline_tokens::text, f.detail, f.created_at, f.updated_at,
  f.acknowledged_at, f.acknowledged_by_user_id, f.acknowledgement_note, ${timeKeySql('f.created_at')} AS time_key`;

/** Newest first by (created_at to the microsecond, id). */
const FLAG_CURSOR = defineCursor('anomaly-flag', [CursorParts.timeKey, CursorParts.uuid]);

function toRow(r: RawFlag): AnomalyFlagRow {
  return {
    id: r.id,
    agreementId: r.agreement_id,
    vendorOrganizationId: r.vendor_organization_id,
    distillerOrganizationId: r.distiller_organization_id,
    kind: r.kind,
    windowStart: new Date(r.window_start),
    occurrences: r.occurrences,
    observedTokens: r.observed_tokens === null ? null : BigInt(r.observed_tokens),
    baselineTokens: r.baseline_tokens === null ? null : BigInt(r.baseline_tokens),
    detail: r.detail,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    acknowledgedAt: r.acknowledged_at === null ? null : new Date(r.acknowledged_at),
    acknowledgedByUserId: r.acknowledged_by_user_id,
    acknowledgementNote: r.acknowledgement_note,
    cursor: FLAG_CURSOR.encode([r.time_key, r.id]),
  };
}

@Injectable()
export class AnomalyQueryService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
  ) {}

  async list(principal: Principal, q: AnomalyFlagQuery): Promise<Page<AnomalyFlagRow>> {
    if (!Number.isInteger(q.first) || q.first < 1 || q.first > MAX_PAGE_SIZE) {
      throw new BadInputError([{ field: 'first', message: `first must be between 1 and ${MAX_PAGE_SIZE}` }]);
    }
    const after = q.after == null ? null : FLAG_CURSOR.decode(q.after);
    const em = this.db.reader;
    const org = q.organizationId?.toLowerCase() ?? null;
    if (org === null && !principal.isAdmin) {
      throw new BadInputError([{ field: 'filter.organizationId', message: 'organizationId (the vendor organization) is required' }]);
    }
    if (org !== null) {
      assertUuid('filter.organizationId', org);
      if (!principal.isAdmin) await this.access.requireOrganization(em, principal, org, 'read');
    }

    const where: string[] = [];
    const params: unknown[] = [];
    if (org !== null) where.push(`f.vendor_organization_id = $${params.push(org)}`);
    if (q.agreementId != null) {
      const agreementId = q.agreementId.toLowerCase();
      assertUuid('filter.agreementId', agreementId);
      await this.requireAgreementOfVendor(em, agreementId, org, q.agreementId);
      where.push(`f.agreement_id = $${params.push(agreementId)}`);
    }
    if (q.kinds != null) {
      if (q.kinds.length === 0) throw new BadInputError([{ field: 'filter.kinds', message: 'kinds must not be empty (omit it for all kinds)' }]);
      where.push(`f.kind = ANY($${params.push([...new Set(q.kinds)])}::text[])`);
    }
    if (q.acknowledged === true) where.push('f.acknowledged_at IS NOT NULL');
    if (q.acknowledged === false) where.push('f.acknowledged_at IS NULL');
    if (after) {
      where.push(`(f.created_at, f.id) < ($${params.push(after[0])}::timestamp AT TIME ZONE 'UTC', $${params.push(after[1])}::uuid)`);
    }
    const rows: RawFlag[] = await em.query(
      `SELECT ${COLUMNS} FROM anomaly_flags f
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY f.created_at DESC, f.id DESC
        LIMIT $${params.push(q.first + 1)}`,
      params,
    );
    return pageOf(rows, q.first, toRow);
  }

  /**
   * By the vendor organization (write) or a platform admin, audit-logged. A
   * flag already acknowledged is returned as it is: the first acknowledgement
   * (who, when, note) is never overwritten.
   */
  async acknowledge(principal: Principal, input: { id: string; note: string | null }): Promise<AnomalyFlagRow> {
    assertUuid('id', input.id);
    const id = input.id.toLowerCase();
    const note = input.note?.trim() || null;
    if (note !== null && note.length > 2000) throw new BadInputError([{ field: 'note', message: 'note must be at most 2000 characters' }]);
    return this.db.transaction(async (tx) => {
      const [flag]: RawFlag[] = await tx.query(`SELECT ${COLUMNS} FROM anomaly_flags f WHERE f.id = $1 FOR UPDATE`, [id]);
      if (!flag) throw new NotFoundError('AnomalyFlag', input.id);
      await this.requireVendorWriter(tx, principal, flag.vendor_organization_id, input.id);
      if (flag.acknowledged_at !== null) return toRow(flag);
      // (TypeORM answers an UPDATE with [rows, count])
      const [[updated]] = (await tx.query(
        `UPDATE anomaly_flags f
            SET acknowledged_at = now(), acknowledged_by_user_id = $2, acknowledgement_note = $3, updated_at = now()
          WHERE f.id = $1
          RETURNING ${COLUMNS}`,
        [id, principal.kind === 'user' ? principal.userId : null, note],
      )) as [RawFlag[], number];
      await this.audit.record(tx, principal, {
        action: 'metering.anomaly.acknowledged',
        targetType: 'AnomalyFlag',
        targetId: id,
        organizationId: flag.vendor_organization_id,
        data: {
          agreementId: flag.agreement_id,
          distillerOrganizationId: flag.distiller_organization_id,
          kind: flag.kind,
          windowStart: new Date(flag.window_start).toISOString(),
          note,
        },
      });
      return toRow(updated);
    });
  }

  /** The agreement exists and (when a vendor is given) is on that vendor's models; else NOT_FOUND. */
  private async requireAgreementOfVendor(em: EntityManager, agreementId: string, vendorId: string | null, asGiven: string): Promise<void> {
    const rows: Array<{ vendor_organization_id: string }> = await em.query(
      `SELECT vendor_organization_id FROM license_agreements WHERE id = $1`,
      [agreementId],
    );
    if (rows.length === 0 || (vendorId !== null && rows[0].vendor_organization_id !== vendorId)) {
      throw new NotFoundError('LicenseAgreement', asGiven);
    }
  }

  /** Members of the vendor organization (write) or platform admins; anyone else: NOT_FOUND for the flag. */
  private async requireVendorWriter(tx: Tx, principal: Principal, vendorId: string, flagId: string): Promise<void> {
    if (principal.isAdmin) return;
    await this.access.requireOrganization(tx, principal, vendorId, 'write', { entity: 'AnomalyFlag', id: flagId });
  }
}
