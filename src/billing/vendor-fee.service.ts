/**
 * The platform's fee on a vendor's collected revenue: config.platformFeeBps,
 * unless an admin set an override for that vendor. Collection reads it with
 * feeBpsFor() in its own transaction when it allocates a payment.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../platform/auth/principal';
import { AppConfig } from '../platform/config/app-config';
import { Database } from '../platform/database/transaction';
import { BadInputError, NotFoundError } from '../platform/errors/app-error';
import { assertUuid } from '../platform/errors/validation';
import { BillingRepository } from './billing.repository';
import { VendorFeeRepository } from './vendor-fee.repository';

export interface VendorFee {
  vendorOrganizationId: string;
  /** What applies now. */
  feeBps: number;
  defaultFeeBps: number;
  overridden: boolean;
  setAt: Date | null;
}

@Injectable()
export class VendorFeeService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly overrides: VendorFeeRepository,
    private readonly billing: BillingRepository,
  ) {}

  /** The fee in basis points for a vendor: its override, or the platform setting. */
  async feeBpsFor(em: EntityManager, vendorOrganizationId: string): Promise<number> {
    return (await this.overrides.overrideBps(em, vendorOrganizationId)) ?? this.config.platformFeeBps;
  }

  /** Admins (the resolver checks). `feeBps` null clears the override. Audited. */
  async setOverride(principal: Principal, vendorOrganizationId: string, feeBps: number | null): Promise<VendorFee> {
    assertUuid('vendorOrganizationId', vendorOrganizationId);
    if (feeBps !== null && (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10_000)) {
      throw new BadInputError([{ field: 'feeBps', message: 'feeBps must be an integer from 0 to 10000 (basis points), or null to clear' }]);
    }
    return this.db.transaction(async (tx) => {
      if (!(await this.billing.organizationExists(tx, vendorOrganizationId))) throw new NotFoundError('Organization', vendorOrganizationId);
      const before = await this.overrides.overrideBps(tx, vendorOrganizationId, { lock: true });
      const userId = principal.kind === 'user' ? principal.userId : null;
      let setAt: Date | null = null;
      if (feeBps === null) {
        await this.overrides.delete(tx, vendorOrganizationId);
      } else {
        setAt = await this.overrides.upsert(tx, vendorOrganizationId, feeBps, userId);
      }
      await this.audit.record(tx, principal, {
        action: feeBps === null ? 'billing.vendor-fee.cleared' : 'billing.vendor-fee.set',
        targetType: 'Organization',
        targetId: vendorOrganizationId,
        organizationId: vendorOrganizationId,
        data: { fromBps: before, toBps: feeBps, defaultBps: this.config.platformFeeBps },
      });
      return {
        vendorOrganizationId,
        feeBps: feeBps ?? this.config.platformFeeBps,
        defaultFeeBps: this.config.platformFeeBps,
        overridden: feeBps !== null,
        setAt,
      };
    });
  }
}
