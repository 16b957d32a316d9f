/**
 * The rule that splits a vendor's payable into what is still pending, what is
 * available for payout, and what later earnings must first cover. Pure
 * arithmetic on bigint minor units, kept apart from the SQL so that it can be
 * checked on its own (earnings-figures.spec.ts).
 *
 * Inputs, for one vendor and one currency:
 * - `payable` (P): the balance of `vendor:<org>:payable` on its normal
 *   (credit) side, i.e. what the platform owes the vendor. It is negative when
 *   refunds took back more than was left to pay out.
 * - `recentCredits` (PENDING_RAW): the sum, over every journal transaction
 *   dated inside the holdback window, of that transaction's net effect on the
 *   payable when the net is a credit (fresh earnings). A transaction that nets
 *   to a debit (a refund, a dispute hold, a payout) adds nothing here: it
 *   already lowered P.
 *
 * Outputs:
 * - pending = min(PENDING_RAW, max(P, 0)): fresh earnings are pending, but
 *   never more than is actually owed (a refund in the window may already have
 *   eaten into them).
 * - available = max(P − pending, 0): the rest of what is owed.
 * - negativeCarryForward = max(−P, 0): what the vendor owes back; new earnings
 *   land on the same account and cover it before anything becomes available.
 *
 * So pending + available − negativeCarryForward = P, and all three are ≥ 0.
 */
export interface EarningsFigures {
  pending: bigint;
  available: bigint;
  negativeCarryForward: bigint;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

export function earningsFigures(payable: bigint, recentCredits: bigint): EarningsFigures {
  if (typeof payable !== 'bigint' || typeof recentCredits !== 'bigint') throw new TypeError('earningsFigures takes bigint minor units');
  if (recentCredits < 0n) throw new RangeError('recent credits are a sum of credits: never negative');
  const pending = min(recentCredits, max(payable, 0n));
  return { pending, available: max(payable - pending, 0n), negativeCarryForward: max(-payable, 0n) };
}

/** The start of the holdback window: earnings dated strictly after it are pending. */
export function holdbackCutoff(now: Date, holdbackDays: number): Date {
  if (!Number.isInteger(holdbackDays) || holdbackDays < 0) throw new RangeError('holdbackDays must be a whole number ≥ 0');
  return new Date(now.getTime() - holdbackDays * DAY_MS);
}

/** When earnings dated `occurredAt` stop being pending. */
export function releasedAt(occurredAt: Date, holdbackDays: number): Date {
  return new Date(occurredAt.getTime() + holdbackDays * DAY_MS);
}

export const DAY_MS = 86_400_000;
