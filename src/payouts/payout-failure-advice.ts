/**
 * What a vendor can do about a failed payout, by failure code. Codes are the
 * payment processor's error codes for a refused transfer (or the executor's
 * own for a connected account that cannot receive transfers); an unknown code
 * gets the generic advice.
 */
const ADVICE: Record<string, string> = {
  account_cannot_receive_transfers:
    'Your payout account cannot receive transfers yet. Finish onboarding (payoutAccount shows what is due); the amount is owed again and goes into the next batch.',
  insufficient_capabilities_for_transfer:
    'Your payout account cannot receive transfers yet. Finish onboarding (payoutAccount shows what is due); the amount is owed again and goes into the next batch.',
  transfers_not_allowed: 'Transfers to your payout account are not allowed. Finish onboarding or contact support; the amount is owed again and goes into the next batch.',
  account_invalid: 'Your payout account is no longer valid (disconnected or closed). Start payout onboarding again; the amount is owed again and goes into the next batch.',
  account_closed: 'Your payout account is closed. Start payout onboarding again with an open account; the amount is owed again and goes into the next batch.',
  balance_insufficient: 'The platform could not fund the transfer at the time. Nothing to do on your side: the amount is owed again and goes into the next batch.',
  currency_not_supported: 'Your payout account cannot receive this currency. Add a bank account in this currency in your payout dashboard, or contact support.',
  amount_too_small: 'The amount was below what the processor can transfer. Nothing to do: it stays owed and is paid with your next earnings.',
};

const GENERIC = 'The transfer could not be made. The amount is owed again and goes into the next batch; contact support if this repeats.';

/** Advice for a failure code; null when there is no failure. */
export function payoutFailureAdvice(failureCode: string | null): string | null {
  if (failureCode === null) return null;
  return ADVICE[failureCode] ?? GENERIC;
}
