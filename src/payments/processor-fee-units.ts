/**
 * Processing fees in Stripe's units. A fee is not a charge amount: Stripe's
 * request rules (three-decimal currencies in multiples of 10, ISK in whole
 * krónur) do not apply to it, and for the few currencies whose Stripe units
 * are finer than ISO's (ISK) a fee need not be a whole number of our minor
 * units. Exact whenever it can be; otherwise rounded half-up, once — the fee
 * is recorded as the processor reports it, to the unit we can represent.
 */
import { stripeExponent } from '../platform/money/stripe-units';
import { currencyExponent } from '../platform/validation/iso-codes';

export function feeFromStripeUnits(amount: number, currency: string): bigint {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`Stripe fee ${amount} is not an integer`);
  const c = currency.toUpperCase();
  const iso = currencyExponent(c);
  const stripe = stripeExponent(c);
  const a = BigInt(amount);
  if (stripe <= iso) return a * 10n ** BigInt(iso - stripe);
  const f = 10n ** BigInt(stripe - iso);
  const negative = a < 0n;
  const abs = negative ? -a : a;
  const rounded = (abs + f / 2n) / f;
  return negative ? -rounded : rounded;
}

export function feeToStripeUnits(amountMinor: bigint, currency: string): number {
  const c = currency.toUpperCase();
  const iso = currencyExponent(c);
  const stripe = stripeExponent(c);
  const scaled = stripe >= iso ? amountMinor * 10n ** BigInt(stripe - iso) : amountMinor / 10n ** BigInt(iso - stripe);
  return Number(scaled);
}
