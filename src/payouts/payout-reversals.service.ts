/**
 * After a payout: reversals of sent transfers. Part or all of a transfer comes
 * back from the vendor's connected account, in the transfer's own currency;
 * each reversal is booked once (keyed by the processor's reversal id) as
 * TRANSFER_REVERSAL (Dr platform:cash, Cr vendor:<org>:paid — the vendor is
 * owed that amount again), a payout_reversals row and the payout's
 * reversed_minor, in one transaction under the payout's row lock.
 *
 * Two ways in, in any order, possibly both for the same reversal:
 *  - an admin's `reverseTransfer`: a PENDING request reserves the amount
 *    (booked + pending never exceed the payout: checked under the payout's
 *    lock), the processor is called outside any transaction with the
 *    request's key (a retry replays, never reverses twice), then the answer
 *    is booked. An unknown outcome leaves the request unanswered: asking
 *    again (same payout, amount and reason, or the same requestKey) resumes
 *    it with the same key — or, when the processor's event has booked it
 *    meanwhile, answers that reversal.
 *  - `transfer.reversed` (the processor's event): the payout is flagged, and
 *    once the inbox's transaction has committed the transfer is read again and
 *    every reversal not yet booked is booked (a sweep retries failed reads).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { LedgerService } from '../ledger/ledger.service';
import { PaymentsUnavailableError, TransferRefusedError } from '../payments/payments.errors';
import { PAYMENTS_PORT, PaymentsPort, TransferReversalResult } from '../payments/payments.port';
import type { Principal, UserPrincipal } from '../platform/auth/principal';
import { Clock } from '../platform/clock/clock';
import { Database, Tx } from '../platform/database/transaction';
import { BadInputError, ConflictError, DependencyUnavailableError, ForbiddenError, NotFoundError } from '../platform/errors/app-error';
import { isUuid } from '../platform/errors/validation';
import { transferReversalPosting } from './payout-postings';
import { BookedReversalRow, PayoutReversalsRepository, ReversalRequestRow, ReversiblePayoutRow } from './payout-reversals.repository';

export interface ReverseTransferInput {
  payoutId: string;
  /** Minor units of the transfer's currency, as a decimal string. */
  amountMinor: string;
  reason: string;
  /** When given, must be the payout's (transfer's) currency. */
  currency?: string | null;
  /** A name the client gives this request: asking again with it returns the same reversal. */
  requestKey?: string | null;
}

export interface TransferReversalOutcome {
  payoutId: string;
  reversalId: string;
  amountMinor: bigint;
  currency: string;
  /** The payout's reversed total after this reversal. */
  reversedMinor: bigint;
  payoutAmountMinor: bigint;
  /** False when this request had already been answered (a replay). */
  created: boolean;
}

const AMOUNT = /^[1-9][0-9]{0,17}$/;
const REQUEST_KEY = /^[A-Za-z0-9_.:-]{1,100}$/;

@Injectable()
export class PayoutReversalsService {
  private readonly log = new Logger('PayoutReversals');

  constructor(
    private readonly db: Database,
    private readonly repo: PayoutReversalsRepository,
    private readonly ledger: LedgerService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(PAYMENTS_PORT) private readonly port: PaymentsPort,
  ) {}

  /** Admin: reverses part (or the rest) of a SENT payout's transfer. */
  async reverseTransfer(principal: Principal, input: ReverseTransferInput): Promise<TransferReversalOutcome> {
    const admin = requireAdmin(principal);
    const amount = this.validate(input);
    const reason = input.reason.trim();
    const requestKey = input.requestKey ?? null;

    const prepared = await this.db.transaction(async (tx) => {
      const payout = await this.repo.payout(tx, input.payoutId, true);
      if (!payout) throw new NotFoundError('Payout', input.payoutId);
      const earlier = requestKey ? await this.repo.requestByKey(tx, payout.id, requestKey) : await this.repo.unansweredLike(tx, payout.id, amount, reason, admin.userId);
      if (earlier) {
        if (earlier.amountMinor !== amount || earlier.reason !== reason) {
          throw new ConflictError(`Request ${requestKey} was made with another amount or reason`, { requestKey });
        }
        return { payout, request: earlier };
      }
      if (payout.status !== 'SENT' || !payout.transferId) {
        throw new ConflictError(`Payout ${payout.id} is ${payout.status}: only a SENT payout's transfer can be reversed`, { status: payout.status });
      }
      if (input.currency != null && input.currency.toUpperCase() !== payout.currency) {
        throw new BadInputError([{ field: 'currency', message: `The transfer is in ${payout.currency}: a reversal is in the transfer's own currency` }]);
      }
      const left = payout.amountMinor - payout.reversedMinor;
      if (amount > left) {
        throw new BadInputError([{ field: 'amountMinor', message: `At most ${left} ${payout.currency} minor units of this transfer can still be reversed` }]);
      }
      const pending = await this.repo.pendingMinor(tx, payout.id);
      if (amount > left - pending) {
        throw new ConflictError(`Another reversal of this transfer (${pending} ${payout.currency} minor units) is in progress; at most ${left - pending} can be reversed now`, {
          pendingMinor: pending.toString(),
        });
      }
      const id = randomUUID();
      const request = await this.repo.insertRequest(tx, {
        id,
        payoutId: payout.id,
        requestKey,
        amountMinor: amount,
        currency: payout.currency,
        reason,
        requestedBy: admin.userId,
        idempotencyKey: `payout:${payout.id}:reversal-request:${id}`,
        createdAt: this.clock.now(),
      });
      await this.audit.record(tx, principal, {
        action: 'payouts.reversal.requested',
        targetType: 'Payout',
        targetId: payout.id,
        organizationId: payout.organizationId,
        data: { requestId: id, amountMinor: amount.toString(), currency: payout.currency, reason, transferId: payout.transferId },
      });
      return { payout, request };
    });

    const { payout, request } = prepared;
    if (request.status === 'SUCCEEDED') {
      await this.db.transaction((tx) => this.repo.answered(tx, request.id, this.clock.now()));
      return this.outcome(payout.id, request.reversalId!, request, false);
    }
    if (request.status === 'FAILED') throw refused(request.failureCode ?? 'refused', request.failureMessage ?? 'the processor refused the reversal');
    if (!payout.transferId) throw new ConflictError(`Payout ${payout.id} has no transfer`);

    let reversal: TransferReversalResult;
    try {
      reversal = await this.port.reverseTransfer({
        transferId: payout.transferId,
        amountMinor: request.amountMinor,
        idempotencyKey: request.idempotencyKey,
        metadata: { payout_id: payout.id, batch_id: payout.batchId, request_id: request.id, reason: request.reason.slice(0, 500) },
      });
    } catch (err) {
      if (err instanceof TransferRefusedError || (err instanceof PaymentsUnavailableError && !err.retryable)) {
        const code = err.code;
        await this.db.transaction(async (tx) => {
          if (await this.repo.fail(tx, request.id, code, err.message, this.clock.now())) {
            await this.audit.record(tx, principal, {
              action: 'payouts.reversal.refused',
              targetType: 'Payout',
              targetId: payout.id,
              organizationId: payout.organizationId,
              data: { requestId: request.id, code, message: err.message },
            });
          }
        });
        throw refused(code, err.message);
      }
      this.log.warn({ payoutId: payout.id, requestId: request.id, err }, 'transfer reversal: outcome unknown; the request stays pending');
      throw new DependencyUnavailableError('The payment processor could not be reached; the reversal may or may not have been made. Ask again with the same amount and reason (or requestKey) to finish it.', {
        retryable: true,
        requestId: request.id,
      });
    }

    await this.db.transaction(async (tx) => {
      const locked = (await this.repo.payout(tx, payout.id, true))!;
      await this.book(tx, locked, reversal, request.requestedBy, request.reason, principal);
      await this.repo.succeed(tx, request.id, reversal.id, this.clock.now());
      await this.repo.answered(tx, request.id, this.clock.now());
    });
    return this.outcome(payout.id, reversal.id, request, true);
  }

  /**
   * `transfer.reversed` (inside the inbox's transaction): flags the payout and,
   * once committed, reads the transfer again and books what is missing.
   */
  async transferReversed(tx: Tx, transfer: { id?: unknown; metadata?: Record<string, unknown> | null }): Promise<string | null> {
    const transferId = typeof transfer.id === 'string' ? transfer.id : null;
    if (!transferId) return null;
    // Before the executor has recorded the transfer id, the transfer's metadata names the payout: the
    // flag waits for the id, and the sweep reads the transfer once it is recorded.
    const named = transfer.metadata?.payout_id;
    const payoutId = (await this.repo.payoutOfTransfer(tx, transferId)) ?? (isUuid(named) && (await this.repo.payout(tx, named, false)) ? named : null);
    if (!payoutId) return null;
    await this.repo.requestSync(tx, payoutId, this.clock.now());
    return payoutId;
  }

  /**
   * Reads the payout's transfer from the processor (outside any transaction)
   * and books every reversal not yet booked. Returns how many were booked now.
   */
  async syncReversals(payoutId: string): Promise<number> {
    const seen = await this.repo.syncRequestedAt(this.db.reader, payoutId);
    const payout = await this.repo.payout(this.db.reader, payoutId, false);
    if (!payout?.transferId) return 0;
    const transfer = await this.port.retrieveTransfer(payout.transferId);
    return this.db.transaction(async (tx) => {
      const locked = (await this.repo.payout(tx, payoutId, true))!;
      let booked = 0;
      for (const r of [...transfer.reversals].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())) {
        const request = r.metadata.request_id ? await this.repo.request(tx, r.metadata.request_id) : null;
        const ours = request && request.payoutId === payoutId ? request : null;
        if (await this.book(tx, locked, r, ours?.requestedBy ?? null, ours?.reason ?? r.metadata.reason ?? null, null)) booked += 1;
        if (ours) await this.repo.succeed(tx, ours.id, r.id, this.clock.now());
      }
      if (seen) await this.repo.clearSync(tx, payoutId, seen);
      return booked;
    });
  }

  /** The sweep: payouts whose read after `transfer.reversed` has not succeeded yet. */
  async syncPending(limit: number): Promise<{ payouts: number; booked: number; failed: number }> {
    const ids = await this.repo.payoutsToSync(this.db.reader, limit);
    let booked = 0;
    let failed = 0;
    for (const id of ids) {
      try {
        booked += await this.syncReversals(id);
      } catch (err) {
        failed += 1;
        this.log.warn({ payoutId: id, err }, 'reading a reversed transfer failed; retried on the next sweep');
      }
    }
    return { payouts: ids.length, booked, failed };
  }

  /**
   * The sweep's second half: PENDING admin requests older than `olderThanMs`
   * (the answer was lost and nobody asked again) are sent again with their
   * own key — the processor replays the reversal it made, or makes it now, or
   * refuses it — so a reservation never stays forever. The admin is still to
   * be told: asking again answers the booked reversal.
   */
  async resumeStale(limit: number, olderThanMs: number): Promise<{ resumed: number; failed: number }> {
    const stale = await this.repo.stalePending(this.db.reader, new Date(this.clock.now().getTime() - olderThanMs), limit);
    let resumed = 0;
    let failed = 0;
    for (const request of stale) {
      const payout = await this.repo.payout(this.db.reader, request.payoutId, false);
      if (!payout?.transferId) continue;
      try {
        const reversal = await this.port.reverseTransfer({
          transferId: payout.transferId,
          amountMinor: request.amountMinor,
          idempotencyKey: request.idempotencyKey,
          metadata: { payout_id: payout.id, batch_id: payout.batchId, request_id: request.id, reason: request.reason.slice(0, 500) },
        });
        await this.db.transaction(async (tx) => {
          const locked = (await this.repo.payout(tx, payout.id, true))!;
          await this.book(tx, locked, reversal, request.requestedBy, request.reason, null);
          await this.repo.succeed(tx, request.id, reversal.id, this.clock.now());
        });
        resumed += 1;
      } catch (err) {
        if (err instanceof TransferRefusedError || (err instanceof PaymentsUnavailableError && !err.retryable)) {
          const code = err.code;
          await this.db.transaction(async (tx) => {
            if (await this.repo.fail(tx, request.id, code, err.message, this.clock.now())) {
              await this.audit.record(tx, null, {
                action: 'payouts.reversal.refused',
                targetType: 'Payout',
                targetId: payout.id,
                organizationId: payout.organizationId,
                data: { requestId: request.id, code, message: err.message },
              });
            }
          });
        } else {
          this.log.warn({ requestId: request.id, err }, 'resuming a pending reversal failed; retried on the next sweep');
        }
        failed += 1;
      }
    }
    return { resumed, failed };
  }

  async reversalsOf(payoutId: string): Promise<BookedReversalRow[]> {
    return this.repo.reversalsOf(this.db.reader, payoutId);
  }

  /**
   * Books one reversal under the payout's lock (the caller holds it): once per
   * processor id — false when it was already booked.
   */
  private async book(tx: Tx, payout: ReversiblePayoutRow, r: TransferReversalResult, requestedBy: string | null, reason: string | null, actor: Principal | null): Promise<boolean> {
    if (r.currency !== payout.currency) throw new Error(`reversal ${r.id} is in ${r.currency}, its payout ${payout.id} in ${payout.currency}`);
    const inserted = await this.repo.insertReversal(tx, {
      id: r.id,
      payoutId: payout.id,
      amountMinor: r.amountMinor,
      currency: r.currency,
      reason,
      requestedBy,
      createdAt: r.createdAt,
    });
    if (!inserted) return false;
    await this.ledger.post(
      tx,
      transferReversalPosting(
        { payoutId: payout.id, batchId: payout.batchId, organizationId: payout.organizationId, currency: payout.currency, amountMinor: payout.amountMinor },
        r.id,
        r.amountMinor,
        this.clock.now(),
        reason,
      ),
    );
    await this.repo.addReversed(tx, payout.id, r.amountMinor);
    payout.reversedMinor += r.amountMinor;
    await this.audit.record(tx, actor, {
      action: 'payouts.transfer_reversed',
      targetType: 'Payout',
      targetId: payout.id,
      organizationId: payout.organizationId,
      data: { reversalId: r.id, transferId: r.transferId, amountMinor: r.amountMinor.toString(), currency: r.currency, reversedMinor: payout.reversedMinor.toString(), reason, requestedBy },
    });
    return true;
  }

  private async outcome(payoutId: string, reversalId: string, request: ReversalRequestRow, created: boolean): Promise<TransferReversalOutcome> {
    const payout = (await this.repo.payout(this.db.reader, payoutId, false))!;
    return { payoutId, reversalId, amountMinor: request.amountMinor, currency: request.currency, reversedMinor: payout.reversedMinor, payoutAmountMinor: payout.amountMinor, created };
  }

  private validate(input: ReverseTransferInput): bigint {
    const errors: { field: string; message: string }[] = [];
    if (!AMOUNT.test(input.amountMinor)) errors.push({ field: 'amountMinor', message: 'amountMinor must be a positive integer in minor units, as a decimal string' });
    const reason = input.reason.trim();
    if (reason.length === 0 || reason.length > 500) errors.push({ field: 'reason', message: 'reason must be 1 to 500 characters' });
    if (input.requestKey != null && !REQUEST_KEY.test(input.requestKey)) errors.push({ field: 'requestKey', message: 'requestKey must be 1 to 100 of A-Z a-z 0-9 _ . : -' });
    if (input.currency != null && !/^[A-Za-z]{3}$/.test(input.currency)) errors.push({ field: 'currency', message: 'currency must be an ISO 4217 code' });
    if (errors.length > 0) throw new BadInputError(errors);
    return BigInt(input.amountMinor);
  }
}

function requireAdmin(principal: Principal): UserPrincipal {
  if (principal.kind !== 'user' || !principal.isAdmin) throw new ForbiddenError('Platform admins only');
  return principal;
}

function refused(code: string, message: string): ConflictError {
  return new ConflictError(`The payment processor refused the reversal (${code}): ${message.replace(/^(Sandbox|Stripe): /, '')}`, { processorCode: code });
}
