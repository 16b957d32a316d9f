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
import { UpstreamRepository } from './upstream.repository';

/** Longest detail kept (the table checks it too). */
export const UPSTREAM_ERROR_DETAIL_MAX = 4096;
export const UPSTREAM_ERRORS_MAX_PAGE = 100;

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
    private readonly upstreams: UpstreamRepository,
  ) {}

  /** One statement: the new row, and the agreement's rows past retention go. */
  async record(e: UpstreamErrorRecord): Promise<void> {
    await this.upstreams.recordError(this.db.reader, { ...e, detail: e.detail.slice(0, UPSTREAM_ERROR_DETAIL_MAX) });
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
    const rows = await this.upstreams.recentErrors(em, id, Math.min(Math.max(first, 1), UPSTREAM_ERRORS_MAX_PAGE));
    return rows.map((r) => ({ agreementId: id, ...r }));
  }
}
