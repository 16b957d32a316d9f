/**
 * The review of a payout batch before money leaves the platform: approval by
 * a second admin (four eyes) of exactly the snapshot they saw, rejection,
 * holds on single payouts and on vendors. Every action is audited with the
 * actor, the time and the reason.
 *
 * Locking: every transition locks the batch row first, then the payout rows
 * it changes, so approve, reject, hold and release of one batch run one after
 * the other and each sees the others' committed result — approving against a
 * hash that a concurrent hold just changed is refused (SNAPSHOT_CHANGED), a
 * hold after the approval holds an APPROVED payout. The executor claims
 * payouts with `UPDATE … WHERE status = 'APPROVED'`, so a held payout is never
 * claimed and a payout already SENDING can no longer be held.
 */
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import type { Principal } from '../platform/auth/principal';
import { Clock } from '../platform/clock/clock';
import { AppConfig } from '../platform/config/app-config';
import { afterCommit, Database, Tx } from '../platform/database/transaction';
import { AppError, BadInputError, ConflictError, ErrorCode, NotFoundError } from '../platform/errors/app-error';
import { assertUuid } from '../platform/errors/validation';
import { Money } from '../platform/money/money';
import { PayoutBatchEvents } from './payout-batch-events';
import { PayoutBatchesRepository, PayoutBatchRow, PayoutRow, VendorHoldRow } from './payout-batches.repository';
import { requireAdminUser } from './payout-batches.service';
import { snapshotHash } from './payout-snapshot';

/** FORBIDDEN with a machine-readable reason (FOUR_EYES, APPROVAL_LIMIT_EXCEEDED). */
export class PayoutReviewForbiddenError extends AppError {
  constructor(message: string, details: Record<string, unknown>) {
    super(ErrorCode.FORBIDDEN, message, details);
  }
}

const MAX_REASON = 500;

function checkReason(reason: string): string {
  const r = typeof reason === 'string' ? reason.trim() : '';
  if (r.length === 0 || r.length > MAX_REASON) throw new BadInputError([{ field: 'reason', message: `reason must be 1–${MAX_REASON} characters` }]);
  return r;
}

@Injectable()
export class PayoutReviewService {
  constructor(
    private readonly db: Database,
    private readonly repo: PayoutBatchesRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly events: PayoutBatchEvents,
  ) {}

  /**
   * Approves the batch as shown by `expectedHash`. Refused: for its creator
   * (FORBIDDEN, FOUR_EYES), when the batch changed since (CONFLICT,
   * SNAPSHOT_CHANGED), when it is not IN_REVIEW (CONFLICT), above the
   * approver's PAYOUT_APPROVAL_LIMITS ceiling (FORBIDDEN,
   * APPROVAL_LIMIT_EXCEEDED). Its PENDING payouts become APPROVED and due now;
   * held ones stay HELD.
   */
  async approve(principal: Principal, batchId: string, expectedHash: string): Promise<PayoutBatchRow> {
    const adminId = requireAdminUser(principal);
    assertUuid('id', batchId);
    if (typeof expectedHash !== 'string' || !/^[0-9a-f]{64}$/.test(expectedHash)) {
      throw new BadInputError([{ field: 'snapshotHash', message: 'snapshotHash must be 64 lower-case hex digits' }]);
    }
    return this.db.transaction(async (tx) => {
      const b = await this.lockBatch(tx, batchId);
      if (b.createdBy === adminId) {
        throw new PayoutReviewForbiddenError('Four eyes: the admin who created a payout batch cannot approve it; another admin must', { reason: 'FOUR_EYES' });
      }
      requireInReview(b, 'approved');
      const current = await this.currentHash(tx, b);
      if (current !== expectedHash) {
        throw new ConflictError('The batch changed since this snapshot (a payout was held or released); review it again and approve its current snapshot hash', {
          reason: 'SNAPSHOT_CHANGED',
        });
      }
      const toSend = (await this.repo.snapshotPayouts(tx, b.id)).filter((p) => p.status === 'PENDING').reduce((s, p) => s + p.amountMinor, 0n);
      const email = await this.repo.userEmail(tx, adminId);
      const limit = email ? this.config.payoutApprovalLimitByAdmin.get(`${email.toLowerCase()} ${b.currency}`) : undefined;
      if (limit !== undefined && toSend > limit) {
        throw new PayoutReviewForbiddenError(
          `The batch sends ${Money.of(toSend, b.currency).format()}, above your approval limit of ${Money.of(limit, b.currency).format()} (PAYOUT_APPROVAL_LIMITS)`,
          { reason: 'APPROVAL_LIMIT_EXCEEDED', limitMinor: limit.toString(), totalMinor: toSend.toString() },
        );
      }
      const now = this.clock.now();
      await this.repo.approveBatch(tx, b.id, adminId, now);
      const ids = await this.repo.approvePayouts(tx, b.id, now);
      await this.audit.record(tx, principal, {
        action: 'payouts.batch.approved',
        targetType: 'PayoutBatch',
        targetId: b.id,
        data: { currency: b.currency, snapshotHash: current, toSendMinor: toSend.toString(), approvedPayouts: ids.length, at: now.toISOString() },
      });
      afterCommit(tx, () => this.events.batchApproved({ batchId: b.id, currency: b.currency, payoutIds: ids, approvedAt: now }));
      return (await this.repo.batch(tx, b.id))!;
    });
  }

  /** IN_REVIEW only (any admin, its creator too): the batch is REJECTED and its payouts CANCELLED — their lines are owed again. */
  async reject(principal: Principal, batchId: string, reason: string): Promise<PayoutBatchRow> {
    const adminId = requireAdminUser(principal);
    assertUuid('id', batchId);
    const why = checkReason(reason);
    return this.db.transaction(async (tx) => {
      const b = await this.lockBatch(tx, batchId);
      requireInReview(b, 'rejected');
      const now = this.clock.now();
      const cancelled = await this.repo.rejectBatch(tx, b.id, adminId, why, now);
      await this.audit.record(tx, principal, {
        action: 'payouts.batch.rejected',
        targetType: 'PayoutBatch',
        targetId: b.id,
        data: { currency: b.currency, reason: why, cancelledPayouts: cancelled, at: now.toISOString() },
      });
      return (await this.repo.batch(tx, b.id))!;
    });
  }

  /** PENDING or APPROVED → HELD (not once SENDING). While the batch is in review this changes its snapshot hash. */
  async hold(principal: Principal, payoutId: string, reason: string): Promise<PayoutRow> {
    const adminId = requireAdminUser(principal);
    assertUuid('payoutId', payoutId);
    const why = checkReason(reason);
    return this.db.transaction(async (tx) => {
      const { batch, payout } = await this.lockPayout(tx, payoutId);
      if (payout.status !== 'PENDING' && payout.status !== 'APPROVED') {
        throw new ConflictError(`Payout ${payout.id} is ${payout.status}: only PENDING or APPROVED payouts can be held`, { reason: 'PAYOUT_NOT_HOLDABLE', status: payout.status });
      }
      const now = this.clock.now();
      await this.repo.holdPayout(tx, payout.id, why, adminId, now);
      const hash = await this.refreshHash(tx, batch);
      await this.audit.record(tx, principal, {
        action: 'payouts.payout.held',
        targetType: 'Payout',
        targetId: payout.id,
        organizationId: payout.organizationId,
        data: { batchId: batch.id, from: payout.status, reason: why, snapshotHash: hash, at: now.toISOString() },
      });
      return (await this.repo.lockPayout(tx, payout.id))!;
    });
  }

  /** HELD → PENDING, only while the batch is IN_REVIEW (an approved batch's held payout stays out of it). */
  async release(principal: Principal, payoutId: string): Promise<PayoutRow> {
    requireAdminUser(principal);
    assertUuid('payoutId', payoutId);
    return this.db.transaction(async (tx) => {
      const { batch, payout } = await this.lockPayout(tx, payoutId);
      if (batch.status !== 'IN_REVIEW') {
        throw new ConflictError(`Payout batch ${batch.id} is ${batch.status}: held payouts can only be released while it is in review`, {
          reason: 'BATCH_NOT_IN_REVIEW',
          status: batch.status,
        });
      }
      if (payout.status !== 'HELD') throw new ConflictError(`Payout ${payout.id} is ${payout.status}, not HELD`, { reason: 'PAYOUT_NOT_HELD', status: payout.status });
      const now = this.clock.now();
      await this.repo.releasePayout(tx, payout.id, now);
      const hash = await this.refreshHash(tx, batch);
      await this.audit.record(tx, principal, {
        action: 'payouts.payout.released',
        targetType: 'Payout',
        targetId: payout.id,
        organizationId: payout.organizationId,
        data: { batchId: batch.id, heldFor: payout.holdReason, snapshotHash: hash, at: now.toISOString() },
      });
      return (await this.repo.lockPayout(tx, payout.id))!;
    });
  }

  /** Keeps the vendor out of new payout batches until released (payouts already in a batch are held one by one). */
  async holdVendor(principal: Principal, organizationId: string, reason: string): Promise<VendorHoldRow> {
    const adminId = requireAdminUser(principal);
    assertUuid('organizationId', organizationId);
    const org = organizationId.toLowerCase();
    const why = checkReason(reason);
    return this.db.transaction(async (tx) => {
      if (!(await this.repo.organizationExists(tx, org))) throw new NotFoundError('Organization', organizationId);
      const now = this.clock.now();
      const hold = await this.repo.putVendorHold(tx, org, why, adminId, now);
      await this.audit.record(tx, principal, {
        action: 'payouts.vendor.held',
        targetType: 'Organization',
        targetId: org,
        organizationId: org,
        data: { reason: why, at: now.toISOString() },
      });
      return hold;
    });
  }

  /** Lifts a vendor hold; the vendor is batched again from the next batch on. The removed hold, or null when there was none. */
  async releaseVendor(principal: Principal, organizationId: string): Promise<VendorHoldRow | null> {
    requireAdminUser(principal);
    assertUuid('organizationId', organizationId);
    const org = organizationId.toLowerCase();
    return this.db.transaction(async (tx) => {
      if (!(await this.repo.organizationExists(tx, org))) throw new NotFoundError('Organization', organizationId);
      const removed = await this.repo.deleteVendorHold(tx, org);
      if (removed) {
        await this.audit.record(tx, principal, {
          action: 'payouts.vendor.released',
          targetType: 'Organization',
          targetId: org,
          organizationId: org,
          data: { heldFor: removed.reason, heldSince: removed.heldAt.toISOString(), at: this.clock.now().toISOString() },
        });
      }
      return removed;
    });
  }

  /** Admins: a vendor's hold, or null. */
  async vendorHold(principal: Principal, organizationId: string): Promise<VendorHoldRow | null> {
    requireAdminUser(principal);
    assertUuid('organizationId', organizationId);
    const org = organizationId.toLowerCase();
    if (!(await this.repo.organizationExists(this.db.reader, org))) throw new NotFoundError('Organization', organizationId);
    return this.repo.vendorHold(this.db.reader, org);
  }

  /** Admins: every vendor on hold, longest held first. */
  async vendorHolds(principal: Principal): Promise<VendorHoldRow[]> {
    requireAdminUser(principal);
    return this.repo.vendorHolds(this.db.reader);
  }

  /** The hash of the batch as it is now (inside the caller's transaction, after the batch lock). */
  async currentHash(tx: Tx, b: PayoutBatchRow): Promise<string> {
    const payouts = await this.repo.snapshotPayouts(tx, b.id);
    return snapshotHash({ id: b.id, currency: b.currency, minimumMinor: b.minimumMinor, asOf: b.asOf, holdbackDays: b.holdbackDays }, payouts);
  }

  /** While in review the stored hash follows holds and releases; once approved it stays the approved one. */
  private async refreshHash(tx: Tx, b: PayoutBatchRow): Promise<string> {
    if (b.status !== 'IN_REVIEW') return b.snapshotHash;
    const hash = await this.currentHash(tx, b);
    await this.repo.setSnapshotHash(tx, b.id, hash);
    return hash;
  }

  private async lockBatch(tx: Tx, batchId: string): Promise<PayoutBatchRow> {
    const b = await this.repo.lockBatch(tx, batchId.toLowerCase());
    if (!b) throw new NotFoundError('PayoutBatch', batchId);
    return b;
  }

  /** The payout's batch locked first, then the payout (the order every transition takes). */
  private async lockPayout(tx: Tx, payoutId: string): Promise<{ batch: PayoutBatchRow; payout: PayoutRow }> {
    const id = payoutId.toLowerCase();
    const batchId = await this.repo.batchOfPayout(tx, id);
    if (!batchId) throw new NotFoundError('Payout', payoutId);
    const batch = await this.lockBatch(tx, batchId);
    const payout = (await this.repo.lockPayout(tx, id))!;
    return { batch, payout };
  }
}

function requireInReview(b: PayoutBatchRow, what: string): void {
  if (b.status !== 'IN_REVIEW') {
    throw new ConflictError(`Payout batch ${b.id} is ${b.status}: only a batch in review can be ${what}`, { reason: 'BATCH_NOT_IN_REVIEW', status: b.status });
  }
}
