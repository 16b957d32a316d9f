/**
 * What payments do to agreements, called by billing inside its own
 * transaction: an upfront fee paid activates a PENDING_PAYMENT agreement; an
 * invoice written off as uncollectible suspends the distiller's ACTIVE
 * agreements (cause NON_PAYMENT, so the gateway refuses them); paying it
 * brings back exactly those. Each change is audited (AgreementTransitions).
 * A vendor's own suspension is never undone here (its cause is null).
 */
import { Injectable } from '@nestjs/common';
import type { Principal } from '../platform/auth/principal';
import type { Tx } from '../platform/database/transaction';
import { AgreementCause } from './agreement-status.table';
import { AgreementTransitions } from './agreement-transitions.service';
import { AgreementStatus } from './license-agreement.entity';

@Injectable()
export class AgreementPaymentStatusService {
  constructor(private readonly transitions: AgreementTransitions) {}

  /**
   * PENDING_PAYMENT → ACTIVE once the upfront fee is settled — paid, or waived
   * by an admin voiding its invoice (an agreement in any other state, or past
   * its term, is left alone). Returns whether it changed.
   */
  async activatePaid(tx: Tx, agreementId: string, invoiceNumber: string, actor: Principal | null, how: 'paid' | 'waived' = 'paid'): Promise<boolean> {
    const moved = await this.transitions.move(tx, {
      cause: AgreementCause.UPFRONT_FEE_SETTLED,
      to: AgreementStatus.ACTIVE,
      scope: { id: agreementId, term: 'in-term' },
      reason: `Upfront fee ${how} (invoice ${invoiceNumber})`,
      actor,
      auditData: (m) => ({ invoiceNumber, upfrontFee: how, from: m.from, to: m.to }),
    });
    return moved.length > 0;
  }

  /** ACTIVE → SUSPENDED (cause NON_PAYMENT) for every live agreement of the distiller. Returns the ids. */
  async suspendForNonPayment(tx: Tx, distillerOrganizationId: string, invoiceNumber: string): Promise<string[]> {
    const moved = await this.transitions.move(tx, {
      cause: AgreementCause.SUSPEND_NON_PAYMENT,
      to: AgreementStatus.SUSPENDED,
      scope: { distillerOrganizationId },
      reason: `Invoice ${invoiceNumber} is uncollectible`,
      actor: null,
      auditData: (m) => ({ invoiceNumber, cause: 'NON_PAYMENT', from: m.from, to: m.to }),
    });
    return moved.map((m) => m.id);
  }

  /** SUSPENDED (cause NON_PAYMENT) → ACTIVE for the distiller's agreements still in term. Returns the ids. */
  async reinstateAfterPayment(tx: Tx, distillerOrganizationId: string, invoiceNumber: string): Promise<string[]> {
    const moved = await this.transitions.move(tx, {
      cause: AgreementCause.REINSTATE_PAYMENT,
      to: AgreementStatus.ACTIVE,
      scope: { distillerOrganizationId, term: 'in-term' },
      reason: `Overdue invoices paid (invoice ${invoiceNumber})`,
      actor: null,
      auditData: (m) => ({ invoiceNumber, cause: 'NON_PAYMENT', from: m.from, to: m.to }),
    });
    return moved.map((m) => m.id);
  }
}
