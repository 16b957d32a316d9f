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
  ) {}

  /** The fee in basis points for a vendor: its override, or the platform setting. */
  async feeBpsFor(em: EntityManager, vendorOrganizationId: string): Promise<number> {
    const [row]: { fee_bps: number }[] = await em.query(`SELECT fee_bps FROM vendor_fee_overrides WHERE vendor_organization_id = $1`, [
      vendorOrganizationId,
    ]);
    return row ? row.fee_bps : this.config.platformFeeBps;
  }

  /** Admins (the resolver checks). `feeBps` null clears the override. Audited. */
  async setOverride(principal: Principal, vendorOrganizationId: string, feeBps: number | null): Promise<VendorFee> {
    assertUuid('vendorOrganizationId', vendorOrganizationId);
    if (feeBps !== null && (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10_000)) {
      throw new BadInputError([{ field: 'feeBps', message: 'feeBps must be an integer from 0 to 10000 (basis points), or null to clear' }]);
    }
    return this.db.transaction(async (tx) => {
      const [org]: { id: string }[] = await tx.query(`SELECT id FROM organizations WHERE id = $1`, [vendorOrganizationId]);
      if (!org) throw new NotFoundError('Organization', vendorOrganizationId);
      const [before]: { fee_bps: number }[] = await tx.query(
        `SELECT fee_bps FROM vendor_fee_overrides WHERE vendor_organization_id = $1 FOR UPDATE`,
        [vendorOrganizationId],
      );
      const userId = principal.kind === 'user' ? principal.userId : null;
      let setAt: Date | null = null;
      if (feeBps === null) {
        await tx.query(`DELETE FROM vendor_fee_overrides WHERE vendor_organization_id = $1`, [vendorOrganizationId]);
      } else {
        const [row]: { set_at: Date }[] = await tx.query(
          `INSERT INTO vendor_fee_overrides (vendor_organization_id, fee_bps, set_by_user_id, set_at) VALUES ($1, $2, $3, now())
           ON CONFLICT (vendor_organization_id) DO UPDATE SET fee_bps = excluded.fee_bps, set_by_user_id = excluded.set_by_user_id, set_at = now()
           RETURNING set_at`,
          [vendorOrganizationId, feeBps, userId],
        );
        setAt = new Date(row.set_at);
      }
      await this.audit.record(tx, principal, {
        action: feeBps === null ? 'billing.vendor-fee.cleared' : 'billing.vendor-fee.set',
        targetType: 'Organization',
        targetId: vendorOrganizationId,
        organizationId: vendorOrganizationId,
        data: { fromBps: before?.fee_bps ?? null, toBps: feeBps, defaultBps: this.config.platformFeeBps },
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
