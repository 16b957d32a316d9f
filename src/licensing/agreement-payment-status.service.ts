/**
 * What payments do to agreements, called by billing inside its own
 * transaction: an upfront fee paid activates a PENDING_PAYMENT agreement; an
 * invoice written off as uncollectible suspends the distiller's ACTIVE
 * agreements (cause NON_PAYMENT, so the gateway refuses them); paying it
 * brings back exactly those. Each change is audited. A vendor's own
 * suspension is never undone here (its cause is null).
 */
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import type { Principal } from '../platform/auth/principal';
import type { Tx } from '../platform/database/transaction';
import { LicenseAgreementService } from './license-agreement.service';

interface Changed {
  id: string;
  vendor_organization_id: string;
  distiller_organization_id: string;
}

@Injectable()
export class AgreementPaymentStatusService {
  constructor(
    private readonly audit: AuditService,
    private readonly agreements: LicenseAgreementService,
  ) {}

  /**
   * PENDING_PAYMENT → ACTIVE once the upfront fee is settled — paid, or waived
   * by an admin voiding its invoice (an agreement in any other state is left
   * alone). Returns whether it changed.
   */
  async activatePaid(tx: Tx, agreementId: string, invoiceNumber: string, actor: Principal | null, how: 'paid' | 'waived' = 'paid'): Promise<boolean> {
    const [rows] = (await tx.query(
      `UPDATE license_agreements SET status = 'ACTIVE', status_reason = $2, status_changed_at = now()
        WHERE id = $1 AND status = 'PENDING_PAYMENT' AND (ends_at IS NULL OR ends_at > now())
        RETURNING id, vendor_organization_id, distiller_organization_id`,
      [agreementId, `Upfront fee ${how} (invoice ${invoiceNumber})`],
    )) as [Changed[], number];
    await this.record(tx, rows, 'licensing.agreement.activated', actor, { invoiceNumber, upfrontFee: how, from: 'PENDING_PAYMENT', to: 'ACTIVE' });
    return rows.length > 0;
  }

  /** ACTIVE → SUSPENDED (cause NON_PAYMENT) for every live agreement of the distiller. Returns the ids. */
  async suspendForNonPayment(tx: Tx, distillerOrganizationId: string, invoiceNumber: string): Promise<string[]> {
    const [rows] = (await tx.query(
      `UPDATE license_agreements SET status = 'SUSPENDED', suspension_cause = 'NON_PAYMENT', status_reason = $2, status_changed_at = now()
        WHERE distiller_organization_id = $1 AND status = 'ACTIVE'
        RETURNING id, vendor_organization_id, distiller_organization_id`,
      [distillerOrganizationId, `Invoice ${invoiceNumber} is uncollectible`],
    )) as [Changed[], number];
    await this.record(tx, rows, 'licensing.agreement.suspended', null, { invoiceNumber, cause: 'NON_PAYMENT', from: 'ACTIVE', to: 'SUSPENDED' });
    return rows.map((r) => r.id);
  }

  /** SUSPENDED (cause NON_PAYMENT) → ACTIVE for the distiller's agreements still in term. Returns the ids. */
  async reinstateAfterPayment(tx: Tx, distillerOrganizationId: string, invoiceNumber: string): Promise<string[]> {
    const [rows] = (await tx.query(
      `UPDATE license_agreements SET status = 'ACTIVE', suspension_cause = NULL, status_reason = $2, status_changed_at = now()
        WHERE distiller_organization_id = $1 AND status = 'SUSPENDED' AND suspension_cause = 'NON_PAYMENT'
          AND (ends_at IS NULL OR ends_at > now())
        RETURNING id, vendor_organization_id, distiller_organization_id`,
      [distillerOrganizationId, `Overdue invoices paid (invoice ${invoiceNumber})`],
    )) as [Changed[], number];
    await this.record(tx, rows, 'licensing.agreement.reinstated', null, { invoiceNumber, cause: 'NON_PAYMENT', from: 'SUSPENDED', to: 'ACTIVE' });
    return rows.map((r) => r.id);
  }

  private async record(tx: Tx, rows: Changed[], action: string, actor: Principal | null, data: Record<string, unknown>): Promise<void> {
    for (const r of rows) {
      await this.audit.record(tx, actor, {
        action,
        targetType: 'LicenseAgreement',
        targetId: r.id,
        organizationId: r.vendor_organization_id,
        data: { ...data, distillerOrganizationId: r.distiller_organization_id },
      });
      // The gateway of this process sees the change at once (other replicas within the view's TTL).
      this.agreements.forgetMeteringView(r.id);
    }
  }
}
