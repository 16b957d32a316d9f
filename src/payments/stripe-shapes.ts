/**
 * The few Stripe object fields the port reads, shared by both adapters (the
 * sandbox stores Stripe-shaped JSON, the stripe adapter gets SDK objects), so
 * one mapping turns either into the port's result in OUR minor units.
 */
import { fromStripeAmount } from '../platform/money/stripe-units';
import type { ConnectedAccount, PaymentIntentResult, PaymentIntentStatus } from './payments.port';

export interface PaymentIntentShape {
  id: string;
  status: string;
  amount: number;
  currency: string;
  latest_charge: string | { id: string } | null;
  last_payment_error: { code?: string | null; decline_code?: string | null; message?: string | null } | null;
  metadata: Record<string, string> | null;
}

export function paymentIntentResult(intent: PaymentIntentShape): PaymentIntentResult {
  const error = intent.last_payment_error;
  const charge = intent.latest_charge;
  return {
    id: intent.id,
    status: intent.status as PaymentIntentStatus,
    amountMinor: fromStripeAmount(intent.amount, intent.currency),
    currency: intent.currency.toUpperCase(),
    latestChargeId: typeof charge === 'string' ? charge : (charge?.id ?? null),
    failureCode: error ? failureCodeOf(error.code ?? null, error.decline_code ?? null) : null,
    failureMessage: error?.message ?? null,
    metadata: { ...(intent.metadata ?? {}) },
  };
}

/** The most specific reason: the issuer's (insufficient_funds, …) when it says more than "declined". */
export function failureCodeOf(code: string | null, declineCode: string | null): string {
  if (code === 'card_declined' && declineCode && declineCode !== 'generic_decline') return declineCode;
  return code ?? declineCode ?? 'payment_failed';
}

/** The fields of a Stripe Account (v1) the port reads. */
export interface AccountShape {
  id: string;
  charges_enabled?: boolean | null;
  payouts_enabled?: boolean | null;
  details_submitted?: boolean | null;
  livemode?: boolean | null;
  capabilities?: { transfers?: string | null } | null;
  requirements?: { currently_due?: string[] | null; past_due?: string[] | null; disabled_reason?: string | null } | null;
  metadata?: Record<string, string> | null;
}

export function connectedAccount(a: AccountShape): ConnectedAccount {
  const transfers = a.capabilities?.transfers ?? null;
  return {
    id: a.id,
    chargesEnabled: a.charges_enabled === true,
    payoutsEnabled: a.payouts_enabled === true,
    detailsSubmitted: a.details_submitted === true,
    transfersCapability: transfers === 'active' || transfers === 'inactive' || transfers === 'pending' ? transfers : null,
    currentlyDue: [...(a.requirements?.currently_due ?? [])],
    pastDue: [...(a.requirements?.past_due ?? [])],
    disabledReason: a.requirements?.disabled_reason ?? null,
    livemode: a.livemode === true,
    metadata: { ...(a.metadata ?? {}) },
  };
}
