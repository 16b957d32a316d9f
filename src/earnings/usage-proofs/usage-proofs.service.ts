/**
 * Usage inclusion proofs for API callers: who may ask, and what an event that
 * was not counted answers. The agreement's distiller and vendor organizations
 * (read) and platform admins see its proofs; anyone else gets NOT_FOUND for
 * the agreement, exactly as for an id that does not exist.
 */
import { Injectable } from '@nestjs/common';
import { AccessService } from '../../identity/access.service';
import { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { AppError, ErrorCode, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { UsageInclusion, UsageMerkleService } from './usage-merkle.service';
import { UsageProofsRepository } from './usage-proofs.repository';

/** NOT_FOUND that says why: the event is not among what the period billed for the agreement (another period's, or never ingested). */
export class UsageEventNotCountedError extends AppError {
  constructor(agreementId: string, period: string, eventId: string) {
    super(ErrorCode.NOT_FOUND, `Usage event ${eventId} was not counted in billing period ${period} of agreement ${agreementId}`, {
      entity: 'UsageEvent',
      counted: false,
      period,
    });
  }
}

@Injectable()
export class UsageProofsService {
  constructor(
    private readonly db: Database,
    private readonly repo: UsageProofsRepository,
    private readonly access: AccessService,
    private readonly merkle: UsageMerkleService,
  ) {}

  async inclusionProof(principal: Principal, agreementId: string, period: string, eventId: string): Promise<UsageInclusion> {
    assertUuid('agreementId', agreementId);
    const em = this.db.reader;
    const parties = await this.repo.agreementParties(em, agreementId);
    const visible =
      parties !== null &&
      (principal.isAdmin || (await this.access.hasAccess(em, principal, [parties.distillerOrganizationId, parties.vendorOrganizationId], 'read')));
    if (!visible) throw new NotFoundError('LicenseAgreement', agreementId);
    const proof = await this.merkle.inclusionProof(em, agreementId, period, eventId);
    if (!proof) throw new UsageEventNotCountedError(agreementId, period, eventId);
    return proof;
  }
}
