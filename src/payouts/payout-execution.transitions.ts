/**
 * The database side of executing a payout: each method is one transaction's
 * work, called with the caller's Tx.
 *
 * - claimMany: under the vendors' advisory locks (organization + currency), an
 *   APPROVED payout becomes SENDING under this process's lease (the status
 *   guard makes the claim happen once), the account is checked again (it can
 *   still receive transfers, it is the account the batch named) and the
 *   amount against the vendor's available earnings; then the PAYOUT posting
 *   (Dr vendor paid / Cr platform cash). The payout row with its stored
 *   idempotency key is the outbox. A failed check → FAILED with a code,
 *   nothing posted. A SENDING payout whose lease ran out is taken over instead
 *   (its posting stands; it is resent with the same key).
 * - record: SENDING → SENT with the transfer id (idempotent: the same id again
 *   is a no-op; another id for the same payout is an alarm, never written).
 * - fail: a transfer refused for good: PAYOUT_FAILED posting and FAILED, in
 *   one transaction (the amount is owed again).
 */
import { Injectable, Logger } from '@nestjs/common';
import { EarningsBalanceService } from '../earnings/earnings-balance.service';
import { LedgerService } from '../ledger/ledger.service';
import { Clock } from '../platform/clock/clock';
import { AppConfig } from '../platform/config/app-config';
import type { Tx } from '../platform/database/transaction';
import { ExecPayoutRow, PayoutExecutionRepository } from './payout-execution.repository';
import { canReceiveTransfers } from './payout-onboarding.service';
import { PayoutFacts, payoutFailedPosting, payoutPosting } from './payout-postings';

/** Why a payout failed before or at its transfer (payouts.failure_code). */
export const PayoutFailureCode = {
  /** The vendor's connected account cannot receive transfers any more (or is not the account the batch named). */
  ACCOUNT_CANNOT_RECEIVE_TRANSFERS: 'ACCOUNT_CANNOT_RECEIVE_TRANSFERS',
  /** The vendor's available earnings fell below the payout's amount since the batch (a refund, a dispute). */
  AMOUNT_ABOVE_AVAILABLE: 'AMOUNT_ABOVE_AVAILABLE',
} as const;

export type ClaimOutcome =
  | { kind: 'claimed'; payout: ExecPayoutRow; resumed: boolean; sourceCharge?: string | null }
  | { kind: 'failed'; payoutId: string; code: string }
  | { kind: 'skipped' };

export type RecordOutcome = 'recorded' | 'already-recorded' | 'conflict' | 'not-sending';

export const facts = (p: ExecPayoutRow): PayoutFacts => ({
  payoutId: p.id,
  batchId: p.batchId,
  organizationId: p.organizationId,
  currency: p.currency,
  amountMinor: p.amountMinor,
});

@Injectable()
export class PayoutExecutionTransitions {
  private readonly log = new Logger('PayoutExecution');

  constructor(
    private readonly repo: PayoutExecutionRepository,
    private readonly earnings: EarningsBalanceService,
    private readonly ledger: LedgerService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  private leaseUntil(now: Date): Date {
    return new Date(now.getTime() + this.config.payoutLeaseSeconds * 1000);
  }

  /**
   * The claim of a chunk of payouts, in one transaction: the vendors locked
   * in one order, one conditional UPDATE, the accounts and available earnings
   * read once, the PAYOUT postings written in one go; each payout's outcome.
   */
  async claimMany(tx: Tx, payoutIds: readonly string[], owner: string): Promise<ClaimOutcome[]> {
    const seen = (await this.repo.byIds(tx, payoutIds)).filter((p) => p.status === 'APPROVED' || p.status === 'SENDING');
    if (seen.length === 0) return [];
    await this.repo.lockVendors(tx, seen);
    const now = this.clock.now();
    const out: ClaimOutcome[] = [];
    for (const p of seen.filter((x) => x.status === 'SENDING')) {
      const taken = await this.repo.takeOverSending(tx, p.id, owner, now, this.leaseUntil(now));
      if (taken) out.push({ kind: 'claimed', payout: taken, resumed: true });
    }
    const approved = seen.filter((x) => x.status === 'APPROVED').map((x) => x.id);
    if (approved.length === 0) return this.withSources(tx, out);
    const claimed = await this.repo.claimManyApproved(tx, approved, owner, now, this.leaseUntil(now));
    if (claimed.length === 0) return this.withSources(tx, out);
    await this.repo.markBatchesExecuting(tx, [...new Set(claimed.map((p) => p.batchId))]);
    const accounts = await this.repo.accountsOf(tx, claimed.map((p) => p.organizationId));
    const postings = [];
    const byCurrency = new Map<string, ExecPayoutRow[]>();
    for (const p of claimed) byCurrency.set(p.currency, [...(byCurrency.get(p.currency) ?? []), p]);
    for (const [currency, ps] of byCurrency) {
      const balances = await this.earnings.balancesOfMany(tx, ps.map((p) => p.organizationId), currency);
      const available = new Map(balances.map((b) => [b.organizationId, b.available]));
      for (const p of ps) {
        const account = accounts.get(p.organizationId);
        if (!account || account.accountId !== p.accountId || !canReceiveTransfers(account)) {
          const why = !account
            ? 'the organization has no connected account'
            : account.accountId !== p.accountId
              ? `the organization's connected account is now ${account.accountId}, not ${p.accountId}`
              : `the connected account ${p.accountId} cannot receive transfers (${account.disabledReason ?? `transfers capability ${account.transfersCapability ?? 'not requested'}`})`;
          out.push(await this.failBeforeSending(tx, p, PayoutFailureCode.ACCOUNT_CANNOT_RECEIVE_TRANSFERS, `${why}; finish onboarding, then the next batch pays this amount`, now));
          continue;
        }
        const avail = available.get(p.organizationId) ?? 0n;
        if (avail < p.amountMinor) {
          out.push(
            await this.failBeforeSending(
              tx,
              p,
              PayoutFailureCode.AMOUNT_ABOVE_AVAILABLE,
              `the payout of ${p.amountMinor} ${p.currency} is above the vendor's available earnings (${avail}) since the batch was made; the next batch pays what is available`,
              now,
            ),
          );
          continue;
        }
        postings.push(payoutPosting(facts(p), now));
        out.push({ kind: 'claimed', payout: p, resumed: false });
      }
    }
    await this.ledger.postMany(tx, postings);
    return this.withSources(tx, out);
  }

  private async withSources(tx: Tx, out: ClaimOutcome[]): Promise<ClaimOutcome[]> {
    const ids = out.flatMap((o) => (o.kind === 'claimed' ? [o.payout.id] : []));
    if (ids.length === 0) return out;
    const sources = await this.repo.sourceCharges(tx, ids);
    return out.map((o) => (o.kind === 'claimed' ? { ...o, sourceCharge: sources.get(o.payout.id) ?? null } : o));
  }

  /** `record` for several transfers in one transaction; the outcome per payout id. */
  async recordMany(tx: Tx, items: readonly { payoutId: string; transferId: string; createdAt: Date }[]): Promise<Map<string, RecordOutcome>> {
    const recorded = await this.repo.recordTransfers(tx, items, this.clock.now());
    const out = new Map<string, RecordOutcome>();
    for (const i of items) {
      out.set(i.payoutId, recorded.has(i.payoutId) ? 'recorded' : await this.record(tx, i.payoutId, i.transferId, i.createdAt, 'executor'));
    }
    return out;
  }

  private async failBeforeSending(tx: Tx, p: ExecPayoutRow, code: string, message: string, now: Date): Promise<ClaimOutcome> {
    await this.repo.markFailed(tx, p.id, ['SENDING'], code, message, now);
    this.log.warn({ payoutId: p.id, organizationId: p.organizationId, code }, `payout failed before sending: ${message}`);
    return { kind: 'failed', payoutId: p.id, code };
  }

  /** Records the transfer of a SENDING payout (from the executor, or the transfer.created event). */
  async record(tx: Tx, payoutId: string, transferId: string, transferCreatedAt: Date, source: 'executor' | 'event'): Promise<RecordOutcome> {
    if (await this.repo.recordTransfer(tx, payoutId, transferId, transferCreatedAt, this.clock.now())) return 'recorded';
    const row = await this.repo.byId(tx, payoutId);
    if (row?.transferId === transferId) return 'already-recorded';
    if (row?.transferId || row?.status === 'FAILED') {
      // Two transfers for one payout, or a transfer for a payout booked as failed: money may have left twice.
      this.log.error(
        { alarm: 'payout_transfer_conflict', payoutId, recorded: row.transferId, status: row.status, transferId, source },
        'ALARM: a second transfer for one payout (or a transfer of a failed payout); not recorded — reverse the extra transfer',
      );
      return 'conflict';
    }
    return 'not-sending';
  }

  /** A transfer refused for good: the amount returns (PAYOUT_FAILED) and the payout is FAILED, in one transaction. */
  async fail(tx: Tx, p: ExecPayoutRow, code: string, message: string): Promise<boolean> {
    const now = this.clock.now();
    const row = await this.repo.byId(tx, p.id);
    if (!row) return false;
    await this.repo.lockVendor(tx, row.organizationId, row.currency);
    if (!(await this.repo.markFailed(tx, p.id, ['SENDING'], code, message, now))) return false;
    await this.ledger.post(tx, payoutFailedPosting(facts(row), code, now));
    return true;
  }
}
