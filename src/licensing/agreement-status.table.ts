/**
 * The agreement lifecycle: every status change an agreement can make, with
 * its cause. Everything that writes `license_agreements.status` asks this
 * table — single-row moves check the row's current status against it, bulk
 * moves in SQL take their allowed `from` statuses from it — so a move that is
 * not listed here cannot happen anywhere.
 *
 *   (new) ──ACCEPT──▶ PENDING_PAYMENT ──UPFRONT_FEE_SETTLED──▶ ACTIVE
 *   (new) ──ACCEPT──▶ ACTIVE
 *   ACTIVE ──SUSPEND_NON_PAYMENT──▶ SUSPENDED (cause NON_PAYMENT) ──REINSTATE_PAYMENT──▶ ACTIVE
 *   ACTIVE | PENDING_PAYMENT ──VENDOR_SUSPEND──▶ SUSPENDED ──VENDOR_REINSTATE──▶ ACTIVE | PENDING_PAYMENT
 *   PENDING_PAYMENT | ACTIVE | SUSPENDED ──TERMINATE──▶ TERMINATED,  ──EXPIRE──▶ EXPIRED
 *
 * TERMINATED and EXPIRED are final.
 */
import { AppError, ErrorCode } from '../platform/errors/app-error';
import { AgreementStatus } from './license-agreement.entity';

export enum AgreementCause {
  /** A distiller accepts an offer: PENDING_PAYMENT when an upfront fee is due, else ACTIVE. */
  ACCEPT = 'ACCEPT',
  /** Billing: the upfront-fee invoice was paid or waived. */
  UPFRONT_FEE_SETTLED = 'UPFRONT_FEE_SETTLED',
  /** Billing: one of the distiller's invoices was written off as uncollectible. */
  SUSPEND_NON_PAYMENT = 'SUSPEND_NON_PAYMENT',
  /** Billing: the distiller paid what was overdue; lifts only NON_PAYMENT suspensions. */
  REINSTATE_PAYMENT = 'REINSTATE_PAYMENT',
  /** The vendor or a platform admin suspends. */
  VENDOR_SUSPEND = 'VENDOR_SUSPEND',
  /** The vendor or a platform admin lifts a suspension (back to PENDING_PAYMENT while an upfront fee is unpaid). */
  VENDOR_REINSTATE = 'VENDOR_REINSTATE',
  /** The vendor or a platform admin ends the agreement. */
  TERMINATE = 'TERMINATE',
  /** The term has ended (the expiry sweep, or a read-then-write on an agreement past its end). */
  EXPIRE = 'EXPIRE',
}

export type SuspensionCause = 'NON_PAYMENT';

interface Rule {
  /** `null`: the agreement does not exist yet. */
  readonly from: readonly (AgreementStatus | null)[];
  readonly to: readonly AgreementStatus[];
  /** The audit action recorded for each agreement moved. */
  readonly audit: string;
  /** The suspension cause the move writes (every other move clears it). */
  readonly setsSuspensionCause?: SuspensionCause;
  /** Only agreements suspended for this cause may make the move. */
  readonly requiresSuspensionCause?: SuspensionCause;
}

const { PENDING_PAYMENT, ACTIVE, SUSPENDED, TERMINATED, EXPIRED } = AgreementStatus;
const LIVE = [PENDING_PAYMENT, ACTIVE, SUSPENDED] as const;

export const AGREEMENT_TRANSITIONS: Readonly<Record<AgreementCause, Rule>> = {
  [AgreementCause.ACCEPT]: { from: [null], to: [PENDING_PAYMENT, ACTIVE], audit: 'licensing.agreement.accepted' },
  [AgreementCause.UPFRONT_FEE_SETTLED]: { from: [PENDING_PAYMENT], to: [ACTIVE], audit: 'licensing.agreement.activated' },
  [AgreementCause.SUSPEND_NON_PAYMENT]: {
    from: [ACTIVE],
    to: [SUSPENDED],
    audit: 'licensing.agreement.suspended',
    setsSuspensionCause: 'NON_PAYMENT',
  },
  [AgreementCause.REINSTATE_PAYMENT]: {
    from: [SUSPENDED],
    to: [ACTIVE],
    audit: 'licensing.agreement.reinstated',
    requiresSuspensionCause: 'NON_PAYMENT',
  },
  [AgreementCause.VENDOR_SUSPEND]: { from: [PENDING_PAYMENT, ACTIVE], to: [SUSPENDED], audit: 'licensing.agreement.suspended' },
  [AgreementCause.VENDOR_REINSTATE]: { from: [SUSPENDED], to: [ACTIVE, PENDING_PAYMENT], audit: 'licensing.agreement.reinstated' },
  [AgreementCause.TERMINATE]: { from: LIVE, to: [TERMINATED], audit: 'licensing.agreement.terminated' },
  [AgreementCause.EXPIRE]: { from: LIVE, to: [EXPIRED], audit: 'licensing.agreement.expired' },
};

export function ruleOf(cause: AgreementCause): Rule {
  return AGREEMENT_TRANSITIONS[cause];
}

/** Whether `cause` may move an agreement from `from` (null: not created yet) to `to`. */
export function isAllowedTransition(from: AgreementStatus | null, to: AgreementStatus, cause: AgreementCause): boolean {
  const rule = AGREEMENT_TRANSITIONS[cause];
  return rule.from.includes(from) && rule.to.includes(to);
}

/** The statuses `cause` may move to `to` from (for a bulk move's WHERE clause); empty when `to` is not a target of `cause`. */
export function allowedFromStatuses(cause: AgreementCause, to: AgreementStatus): AgreementStatus[] {
  const rule = AGREEMENT_TRANSITIONS[cause];
  if (!rule.to.includes(to)) return [];
  return rule.from.filter((s): s is AgreementStatus => s !== null);
}

/**
 * A status change the lifecycle does not allow was requested. Business
 * refusals a user can cause (suspending a terminated agreement) are checked
 * first and answered as results; reaching this is a bug in the caller, hence
 * INTERNAL. Nothing has been written when it is thrown.
 */
export class RefusedAgreementTransitionError extends AppError {
  constructor(
    readonly transitionCause: AgreementCause,
    /** null: a new agreement; 'ANY': a bulk move whose target the cause never reaches. */
    readonly from: AgreementStatus | null | 'ANY',
    readonly to: AgreementStatus,
  ) {
    super(ErrorCode.INTERNAL, `Agreement status change refused: ${transitionCause} cannot move ${from === null ? '(new)' : from} to ${to}`, {
      cause: transitionCause,
      from,
      to,
    });
  }
}

/** Throws RefusedAgreementTransitionError unless the table allows the move. */
export function assertTransition(from: AgreementStatus | null, to: AgreementStatus, cause: AgreementCause): void {
  if (!isAllowedTransition(from, to, cause)) throw new RefusedAgreementTransitionError(cause, from, to);
}
