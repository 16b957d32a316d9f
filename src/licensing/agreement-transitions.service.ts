/**
 * The one writer of agreement statuses after acceptance. A move names its
 * cause and target; the allowed `from` statuses come from the state table
 * (agreement-status.table.ts) and go into the UPDATE's WHERE clause, so a
 * bulk move in SQL obeys the same table as a single-row one. Each moved
 * agreement gets its audit entry in the same transaction; listeners of
 * AgreementHooks.onStatusChanged (the gateway's metering view) hear of the
 * moves only after that transaction has committed.
 */
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import type { Principal } from '../platform/auth/principal';
import { Clock } from '../platform/clock/clock';
import { afterCommit, Tx } from '../platform/database/transaction';
import { AgreementHooks, AgreementStatusChange } from './agreement-hooks';
import { AgreementCause, allowedFromStatuses, assertTransition, RefusedAgreementTransitionError, ruleOf } from './agreement-status.table';
import { AgreementStatus } from './license-agreement.entity';
import { LicensingRepository } from './licensing.repository';

/** Which agreements a move considers (all given conditions hold). */
export interface MoveScope {
  id?: string;
  offerId?: string;
  distillerOrganizationId?: string;
  /** The pool agreements of one pool-plan subscription. */
  poolSubscriptionId?: string;
  /** 'in-term': ends_at is null or in the future; 'ended': ends_at has passed. */
  term?: 'in-term' | 'ended';
}

export interface MoveRequest {
  cause: AgreementCause;
  to: AgreementStatus;
  scope: MoveScope;
  /**
   * The status the caller holds for a single locked row: refused (typed error,
   * nothing written) unless the table allows `from` → `to`.
   */
  from?: AgreementStatus;
  /** Written to status_reason; undefined leaves it as it is. */
  reason?: string;
  actor: Principal | null;
  /** What the audit entry of each moved agreement says beyond `distillerOrganizationId`. */
  auditData: (moved: MovedAgreement) => Record<string, unknown>;
  /** At most this many rows (a sweep in batches). */
  limit?: number;
  /** Leave rows another transaction holds (a sweep comes back for them) rather than wait for them. */
  skipLocked?: boolean;
}

export interface MovedAgreement extends AgreementStatusChange {
  endsAt: Date | null;
  statusChangedAt: Date;
}

@Injectable()
export class AgreementTransitions {
  constructor(
    private readonly audit: AuditService,
    private readonly hooks: AgreementHooks,
    private readonly licensing: LicensingRepository,
    private readonly clock: Clock,
  ) {}

  /** Moves every agreement in scope whose status the table allows; returns the ones moved. */
  async move(tx: Tx, req: MoveRequest): Promise<MovedAgreement[]> {
    const rule = ruleOf(req.cause);
    if (req.from !== undefined) assertTransition(req.from, req.to, req.cause);
    const allowed = req.from !== undefined ? [req.from] : allowedFromStatuses(req.cause, req.to);
    if (allowed.length === 0) throw new RefusedAgreementTransitionError(req.cause, 'ANY', req.to);

    const rows = await this.licensing.moveStatuses(tx, {
      to: req.to,
      setsSuspensionCause: rule.setsSuspensionCause ?? null,
      allowed,
      // A suspension's time ends the term a period close bills; an expiry is judged against the same time.
      now: this.clock.now(),
      requiresSuspensionCause: rule.requiresSuspensionCause ?? null,
      ...req.scope,
      reason: req.reason,
      limit: req.limit,
      skipLocked: req.skipLocked,
    });
    if (rows.length === 0) return [];

    const moved = rows.map(
      (r): MovedAgreement => ({
        id: r.id,
        cause: req.cause,
        from: r.from_status,
        to: req.to,
        vendorOrganizationId: r.vendor_organization_id,
        distillerOrganizationId: r.distiller_organization_id,
        endsAt: r.ends_at === null ? null : new Date(r.ends_at),
        statusChangedAt: new Date(r.status_changed_at),
      }),
    );
    for (const m of moved) {
      await this.audit.record(tx, req.actor, {
        action: rule.audit,
        targetType: 'LicenseAgreement',
        targetId: m.id,
        organizationId: m.vendorOrganizationId,
        data: { ...req.auditData(m), distillerOrganizationId: m.distillerOrganizationId },
      });
    }
    const changes: AgreementStatusChange[] = moved.map(({ id, cause, from, to, vendorOrganizationId, distillerOrganizationId }) => ({
      id,
      cause,
      from,
      to,
      vendorOrganizationId,
      distillerOrganizationId,
    }));
    afterCommit(tx, () => this.hooks.runStatusChanged(changes));
    return moved;
  }

  /**
   * Live agreements in scope whose term has ended become EXPIRED (at most
   * `limit`, skipping rows another transaction holds), each audited. Reads
   * already report them as EXPIRED; this makes the stored status catch up.
   */
  async expire(tx: Tx, scope: Omit<MoveScope, 'term'>, limit?: number): Promise<number> {
    const moved = await this.move(tx, {
      cause: AgreementCause.EXPIRE,
      to: AgreementStatus.EXPIRED,
      scope: { ...scope, term: 'ended' },
      actor: null,
      limit,
      skipLocked: true,
      auditData: (m) => ({ endsAt: m.endsAt!.toISOString() }),
    });
    return moved.length;
  }
}
