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
import { CursorParts, defineCursor } from '../../platform/paging/cursor';
import { Page, pageOf } from '../../platform/paging/page';
import { AnomalyKind } from './anomaly-flag.kinds';
import { AnomalyFlagRecord, AnomalyRepository } from './anomaly.repository';

export interface AnomalyFlagRow extends Omit<AnomalyFlagRecord, 'timeKey'> {
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

/** Newest first by (created_at to the microsecond, id). */
const FLAG_CURSOR = defineCursor('anomaly-flag', [CursorParts.timeKey, CursorParts.uuid]);

function toRow(r: AnomalyFlagRecord): AnomalyFlagRow {
  const { timeKey, ...flag } = r;
  return { ...flag, cursor: FLAG_CURSOR.encode([timeKey, r.id]) };
}

@Injectable()
export class AnomalyQueryService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly anomalies: AnomalyRepository,
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

    let agreementId: string | null = null;
    if (q.agreementId != null) {
      agreementId = q.agreementId.toLowerCase();
      assertUuid('filter.agreementId', agreementId);
      await this.requireAgreementOfVendor(em, agreementId, org, q.agreementId);
    }
    if (q.kinds != null && q.kinds.length === 0) {
      throw new BadInputError([{ field: 'filter.kinds', message: 'kinds must not be empty (omit it for all kinds)' }]);
    }
    const rows = await this.anomalies.list(em, {
      vendorOrganizationId: org,
      agreementId,
      kinds: q.kinds ?? null,
      acknowledged: q.acknowledged ?? null,
      after,
      limit: q.first + 1,
    });
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
      const flag = await this.anomalies.byIdForUpdate(tx, id);
      if (!flag) throw new NotFoundError('AnomalyFlag', input.id);
      await this.requireVendorWriter(tx, principal, flag.vendorOrganizationId, input.id);
      if (flag.acknowledgedAt !== null) return toRow(flag);
      const updated = await this.anomalies.acknowledge(tx, id, principal.kind === 'user' ? principal.userId : null, note);
      await this.audit.record(tx, principal, {
        action: 'metering.anomaly.acknowledged',
        targetType: 'AnomalyFlag',
        targetId: id,
        organizationId: flag.vendorOrganizationId,
        data: {
          agreementId: flag.agreementId,
          distillerOrganizationId: flag.distillerOrganizationId,
          kind: flag.kind,
          windowStart: flag.windowStart.toISOString(),
          note,
        },
      });
      return toRow(updated);
    });
  }

  /** The agreement exists and (when a vendor is given) is on that vendor's models; else NOT_FOUND. */
  private async requireAgreementOfVendor(em: EntityManager, agreementId: string, vendorId: string | null, asGiven: string): Promise<void> {
    const vendor = await this.anomalies.agreementVendor(em, agreementId);
    if (vendor === null || (vendorId !== null && vendor !== vendorId)) {
      throw new NotFoundError('LicenseAgreement', asGiven);
    }
  }

  /** Members of the vendor organization (write) or platform admins; anyone else: NOT_FOUND for the flag. */
  private async requireVendorWriter(tx: Tx, principal: Principal, vendorId: string, flagId: string): Promise<void> {
    if (principal.isAdmin) return;
    await this.access.requireOrganization(tx, principal, vendorId, 'write', { entity: 'AnomalyFlag', id: flagId });
  }
}
