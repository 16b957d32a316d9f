import { Injectable } from '@nestjs/common';
import type { Principal } from '../platform/auth/principal';
import type { Tx } from '../platform/database/transaction';
import type { LicenseAgreementEntity } from './license-agreement.entity';

/** Runs inside the accept transaction: throwing rolls the acceptance back. */
export type AgreementAcceptedListener = (tx: Tx, agreement: LicenseAgreementEntity, actor: Principal | null) => Promise<void>;

/** Whether an agreement's upfront fee has been paid (billing answers; without billing, never). */
export type UpfrontPaidQuery = (tx: Tx, agreementId: string) => Promise<boolean>;

/**
 * Lets modules that depend on licensing act in the same transaction as an
 * acceptance (billing issues the upfront-fee invoice), and answer what
 * licensing must know about payments (whether an upfront fee was paid),
 * without licensing importing them. Listeners register at module init.
 */
@Injectable()
export class AgreementHooks {
  private readonly accepted: AgreementAcceptedListener[] = [];
  private upfrontPaidQuery: UpfrontPaidQuery | null = null;

  answerUpfrontPaid(query: UpfrontPaidQuery): void {
    if (this.upfrontPaidQuery) throw new Error('an upfront-paid query is already registered');
    this.upfrontPaidQuery = query;
  }

  /** Reinstating a suspended agreement with an upfront fee: ACTIVE when that fee was paid, else back to PENDING_PAYMENT. */
  async upfrontPaid(tx: Tx, agreementId: string): Promise<boolean> {
    return this.upfrontPaidQuery ? this.upfrontPaidQuery(tx, agreementId) : false;
  }

  onAccepted(listener: AgreementAcceptedListener): void {
    this.accepted.push(listener);
  }

  /** Called by accept, after the agreement row is written, in its transaction. */
  async runAccepted(tx: Tx, agreement: LicenseAgreementEntity, actor: Principal | null): Promise<void> {
    for (const listener of this.accepted) await listener(tx, agreement, actor);
  }
}
