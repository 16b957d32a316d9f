import { Injectable } from '@nestjs/common';
import type { Principal } from '../platform/auth/principal';
import type { Tx } from '../platform/database/transaction';
import type { AgreementCause } from './agreement-status.table';
import type { AgreementStatus, LicenseAgreementEntity } from './license-agreement.entity';

/** Runs inside the accept transaction: throwing rolls the acceptance back. */
export type AgreementAcceptedListener = (tx: Tx, agreement: LicenseAgreementEntity, actor: Principal | null) => Promise<void>;

/** Whether an agreement's upfront fee has been paid (billing answers; without billing, never). */
export type UpfrontPaidQuery = (tx: Tx, agreementId: string) => Promise<boolean>;

/**
 * The distiller's live pool-plan subscription in a currency, locked FOR SHARE
 * until the caller's transaction ends (billing answers; without billing, none).
 */
export type PoolSubscriptionQuery = (tx: Tx, distillerOrganizationId: string, currency: string) => Promise<{ id: string; status: 'ACTIVE' | 'SUSPENDED' } | null>;

/** One committed status change (see AgreementTransitions). */
export interface AgreementStatusChange {
  id: string;
  cause: AgreementCause;
  from: AgreementStatus;
  to: AgreementStatus;
  vendorOrganizationId: string;
  distillerOrganizationId: string;
}

/** Runs after the transaction that changed the statuses has committed (never on rollback). */
export type AgreementStatusChangedListener = (changes: readonly AgreementStatusChange[]) => void | Promise<void>;

/**
 * Lets modules that depend on licensing act in the same transaction as an
 * acceptance (billing issues the upfront-fee invoice), and answer what
 * licensing must know about payments (whether an upfront fee was paid),
 * without licensing importing them; and lets anything that remembers an
 * agreement's status (the gateway's metering view) hear of committed status
 * changes. Listeners register at module init.
 */
@Injectable()
export class AgreementHooks {
  private readonly accepted: AgreementAcceptedListener[] = [];
  private readonly statusChanged: AgreementStatusChangedListener[] = [];
  private upfrontPaidQuery: UpfrontPaidQuery | null = null;
  private poolSubscriptionQuery: PoolSubscriptionQuery | null = null;

  answerPoolSubscription(query: PoolSubscriptionQuery): void {
    if (this.poolSubscriptionQuery) throw new Error('a pool-subscription query is already registered');
    this.poolSubscriptionQuery = query;
  }

  /** The distiller's live pool subscription in the currency (locked FOR SHARE), or null. */
  async poolSubscription(tx: Tx, distillerOrganizationId: string, currency: string): Promise<{ id: string; status: 'ACTIVE' | 'SUSPENDED' } | null> {
    return this.poolSubscriptionQuery ? this.poolSubscriptionQuery(tx, distillerOrganizationId, currency) : null;
  }

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

  onStatusChanged(listener: AgreementStatusChangedListener): void {
    this.statusChanged.push(listener);
  }

  /** Called by AgreementTransitions through afterCommit, once the changes are committed. */
  async runStatusChanged(changes: readonly AgreementStatusChange[]): Promise<void> {
    // One failing listener does not keep the others from hearing of the change.
    const failures: unknown[] = [];
    for (const listener of this.statusChanged) await Promise.resolve().then(() => listener(changes)).catch((e: unknown) => failures.push(e));
    if (failures.length > 0) throw new AggregateError(failures, 'agreement status-change listeners failed');
  }
}
