/**
 * The vendor's view of what went wrong between the gateway and its teacher's
 * upstream, per agreement. The distiller is told only a status, a code and
 * the request id; the detail (the upstream's error body, a timeout, …) is
 * kept here with every configured secret already redacted by the gateway.
 * Readable by the vendor organization's members and platform admins; to
 * anyone else (the distiller included) the agreement does not exist.
 */
import { Injectable } from '@nestjs/common';
import { AccessService } from '../../identity/access.service';
import { LicenseAgreementService } from '../../licensing/license-agreement.service';
import { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';

/** Longest detail kept (the table checks it too). */
export const UPSTREAM_ERROR_DETAIL_MAX = 4096;
export const UPSTREAM_ERRORS_MAX_PAGE = 100;
const RETENTION = '30 days';

export interface UpstreamErrorRecord {
  agreementId: string;
  requestId: string;
  streamed: boolean;
  upstreamStatus: number | null;
  code: string;
  /** Already redacted. */
  detail: string;
}

export interface UpstreamErrorRow extends UpstreamErrorRecord {
  occurredAt: Date;
}

@Injectable()
export class UpstreamErrorLog {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly agreements: LicenseAgreementService,
  ) {}

  /** One statement: the new row, and the agreement's rows past retention go. */
  async record(e: UpstreamErrorRecord): Promise<void> {
    await this.db.reader.query(
      `WITH added AS (
         INSERT INTO upstream_errors (agreement_id, request_id, streamed, upstream_status, code, detail)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING agreement_id)
       DELETE FROM upstream_errors WHERE agreement_id = (SELECT agreement_id FROM added) AND occurred_at < now() - interval '${RETENTION}'`,
      [e.agreementId, e.requestId, e.streamed, e.upstreamStatus, e.code, e.detail.slice(0, UPSTREAM_ERROR_DETAIL_MAX)],
    );
  }

  /** The agreement's most recent upstream errors, newest first. */
  async recentForVendor(principal: Principal, agreementId: string, first: number): Promise<UpstreamErrorRow[]> {
    assertUuid('agreementId', agreementId);
    const id = agreementId.toLowerCase();
    const em = this.db.reader;
    const view = (await this.agreements.meteringViews(em, [id])).get(id);
    if (!view) throw new NotFoundError('LicenseAgreement', agreementId);
    if (!principal.isAdmin) {
      await this.access.requireOrganization(em, principal, view.vendorOrganizationId, 'read', { entity: 'LicenseAgreement', id: agreementId });
    }
    const rows: Array<{ request_id: string; occurred_at: Date; streamed: boolean; upstream_status: number | null; code: string; detail: string }> = await em.query(
      `SELECT request_id, occurred_at, streamed, upstream_status, code, detail FROM upstream_errors
        WHERE agreement_id = $1 AND occurred_at >= now() - interval '${RETENTION}'
        ORDER BY occurred_at DESC, id DESC LIMIT $2`,
      [id, Math.min(Math.max(first, 1), UPSTREAM_ERRORS_MAX_PAGE)],
    );
    return rows.map((r) => ({
      agreementId: id,
      requestId: r.request_id,
      occurredAt: r.occurred_at,
      streamed: r.streamed,
      upstreamStatus: r.upstream_status,
      code: r.code,
      detail: r.detail,
    }));
  }
}
