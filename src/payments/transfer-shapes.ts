/**
 * Stripe Transfer and Balance fields the transfers port reads, shared by both
 * adapters (the sandbox stores Stripe-shaped JSON, the stripe adapter gets SDK
 * objects): one mapping into the port's results, in OUR minor units.
 */
import { fromStripeAmount } from '../platform/money/stripe-units';
import type { PlatformBalance, TransferResult, TransferReversalResult } from './payments.port';

export interface TransferReversalShape {
  id: string;
  amount: number;
  currency: string;
  created: number;
  transfer: string | { id: string };
  metadata: Record<string, string> | null;
}

export interface TransferShape {
  id: string;
  amount: number;
  amount_reversed: number;
  currency: string;
  created: number;
  destination: string | { id: string } | null;
  transfer_group: string | null;
  metadata: Record<string, string> | null;
  livemode: boolean;
  reversals?: { data: TransferReversalShape[] } | null;
}

export interface BalanceShape {
  available: { amount: number; currency: string }[];
  pending: { amount: number; currency: string }[];
}

const idOf = (v: string | { id: string } | null): string => (typeof v === 'string' ? v : (v?.id ?? ''));

export function transferReversalResult(r: TransferReversalShape): TransferReversalResult {
  return {
    id: r.id,
    transferId: idOf(r.transfer),
    amountMinor: fromStripeAmount(r.amount, r.currency),
    currency: r.currency.toUpperCase(),
    createdAt: new Date(r.created * 1000),
    metadata: { ...(r.metadata ?? {}) },
  };
}

export function transferResult(t: TransferShape): TransferResult {
  return {
    id: t.id,
    destinationAccountId: idOf(t.destination),
    amountMinor: fromStripeAmount(t.amount, t.currency),
    currency: t.currency.toUpperCase(),
    transferGroup: t.transfer_group ?? null,
    metadata: { ...(t.metadata ?? {}) },
    createdAt: new Date(t.created * 1000),
    reversedMinor: fromStripeAmount(t.amount_reversed ?? 0, t.currency),
    reversals: (t.reversals?.data ?? []).map(transferReversalResult),
    livemode: t.livemode,
  };
}

export function platformBalance(b: BalanceShape): PlatformBalance {
  const conv = (xs: { amount: number; currency: string }[]) => xs.map((x) => ({ currency: x.currency.toUpperCase(), amountMinor: fromStripeAmount(x.amount, x.currency) }));
  return { available: conv(b.available ?? []), pending: conv(b.pending ?? []) };
}

/**
 * Processor codes that refuse a transfer for good: the destination cannot
 * receive it as sent (another request would be refused the same way).
 * `balance_insufficient` is not one of them: the money may still be settling.
 */
export const TRANSFER_REFUSED_CODES: ReadonlySet<string> = new Set([
  'account_invalid',
  'account_closed',
  'insufficient_capabilities_for_transfer',
  'transfers_not_allowed',
  'transfer_source_balance_parameters_mismatch',
]);
