/**
 * The ledger transactions of a payout's life. `vendor:<org>:paid` is the
 * contra account of the vendor's payable: what the platform still owes a
 * vendor is payable + paid, so moving an amount onto `paid` takes it out of
 * the vendor's available earnings, and the platform's cash goes down by the
 * same amount (the money leaves the platform's balance for the connected
 * account).
 *
 * - PAYOUT (`payout:<id>`): written in the same database transaction that
 *   marks the payout SENDING, BEFORE the transfer is requested (the outbox):
 *   Dr vendor:<org>:paid, Cr platform:cash.
 * - PAYOUT_FAILED (`payout:<id>:failed`): the processor refused the transfer
 *   for good — the amount returns: Dr platform:cash, Cr vendor:<org>:paid.
 * - TRANSFER_REVERSAL (`payout:<id>:reversal:<trr id>`): part or all of a sent
 *   transfer came back from the connected account: Dr platform:cash,
 *   Cr vendor:<org>:paid (the vendor is owed it again — or, after a refund of
 *   money already paid out, owes that much less).
 *
 * The references make each posting idempotent: a retry, a second process or
 * a duplicated event posts nothing twice.
 */
import { Accounts } from '../ledger/accounts';
import type { PostingInput } from '../ledger/posting';

export interface PayoutFacts {
  payoutId: string;
  batchId: string;
  organizationId: string;
  currency: string;
  amountMinor: bigint;
}

export const PayoutPostingKind = {
  PAYOUT: 'PAYOUT',
  PAYOUT_FAILED: 'PAYOUT_FAILED',
  TRANSFER_REVERSAL: 'TRANSFER_REVERSAL',
} as const;

/** Kinds of the postings a payout writes about itself (never counted as a payout's lines). */
export const OWN_PAYOUT_KINDS: readonly string[] = [PayoutPostingKind.PAYOUT, PayoutPostingKind.PAYOUT_FAILED];

export const payoutReference = (payoutId: string): string => `payout:${payoutId}`;

function positive(amount: bigint, what: string): bigint {
  if (typeof amount !== 'bigint' || amount <= 0n) throw new RangeError(`${what} must be a positive bigint amount`);
  return amount;
}

export function payoutPosting(p: PayoutFacts, occurredAt: Date): PostingInput {
  const amount = positive(p.amountMinor, 'payout amount');
  return {
    reference: payoutReference(p.payoutId),
    kind: PayoutPostingKind.PAYOUT,
    description: `Payout to vendor ${p.organizationId} (batch ${p.batchId})`,
    occurredAt,
    metadata: { payout_id: p.payoutId, batch_id: p.batchId, organization_id: p.organizationId },
    lines: [
      { account: Accounts.vendorPaid(p.organizationId), currency: p.currency, amountMinor: amount, memo: 'paid out' },
      { account: Accounts.platformCash, currency: p.currency, amountMinor: -amount, memo: 'transfer to the connected account' },
    ],
  };
}

export function payoutFailedPosting(p: PayoutFacts, failureCode: string, occurredAt: Date): PostingInput {
  const amount = positive(p.amountMinor, 'payout amount');
  return {
    reference: `${payoutReference(p.payoutId)}:failed`,
    kind: PayoutPostingKind.PAYOUT_FAILED,
    description: `Payout ${p.payoutId} failed (${failureCode}); the amount is owed again`,
    occurredAt,
    metadata: { payout_id: p.payoutId, batch_id: p.batchId, organization_id: p.organizationId, failure_code: failureCode },
    lines: [
      { account: Accounts.platformCash, currency: p.currency, amountMinor: amount, memo: 'transfer not made' },
      { account: Accounts.vendorPaid(p.organizationId), currency: p.currency, amountMinor: -amount, memo: 'payout failed' },
    ],
  };
}

export function transferReversalPosting(p: PayoutFacts, reversalId: string, amountMinor: bigint, occurredAt: Date, reason: string | null): PostingInput {
  const amount = positive(amountMinor, 'reversal amount');
  if (amount > p.amountMinor) throw new RangeError('a reversal cannot exceed the payout');
  return {
    reference: `${payoutReference(p.payoutId)}:reversal:${reversalId}`,
    kind: PayoutPostingKind.TRANSFER_REVERSAL,
    description: `Transfer of payout ${p.payoutId} reversed${reason ? `: ${reason}` : ''}`,
    occurredAt,
    metadata: { payout_id: p.payoutId, batch_id: p.batchId, organization_id: p.organizationId, reversal_id: reversalId },
    lines: [
      { account: Accounts.platformCash, currency: p.currency, amountMinor: amount, memo: 'returned from the connected account' },
      { account: Accounts.vendorPaid(p.organizationId), currency: p.currency, amountMinor: -amount, memo: 'transfer reversed' },
    ],
  };
}
