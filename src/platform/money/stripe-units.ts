/**
 * Stripe's amount units differ from ISO 4217's minor units for a few
 * currencies. This is the one conversion every Stripe call uses (requests and
 * what comes back: charges, refunds, balance transactions, disputes).
 * Source: https://docs.stripe.com/currencies (zero-decimal and special cases).
 */
import { currencyExponent } from '../validation/iso-codes';

/**
 * Charged in whole units by Stripe. Stripe's page also lists UGX here, but its
 * "special cases" table says UGX, like ISK, must be sent as a two-decimal value
 * ending in 00 (5 UGX → 500): the more specific rule wins, or UGX charges would
 * be a hundredth of the price.
 */
const STRIPE_ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
/** ISO exponent 0, but Stripe takes two decimals whose last two digits are always 00 (×100). */
const STRIPE_TWO_DECIMAL_OVERRIDE = new Set(['ISK', 'UGX']);
/** Three-decimal currencies: Stripe requires the last digit to be 0. */
const STRIPE_THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

export class StripeAmountError extends Error {}

export function stripeExponent(rawCurrency: string): number {
  const currency = rawCurrency.toUpperCase();
  if (STRIPE_ZERO_DECIMAL.has(currency)) return 0;
  if (STRIPE_TWO_DECIMAL_OVERRIDE.has(currency)) return 2;
  return currencyExponent(currency);
}

/** Our minor units → Stripe's integer amount (a JS number, as the SDK wants). */
export function toStripeAmount(amountMinor: bigint, rawCurrency: string): number {
  if (typeof amountMinor !== 'bigint') throw new TypeError('amounts are bigint minor units');
  // Stripe names currencies in lower case; the tables are upper case.
  const currency = rawCurrency.toUpperCase();
  const iso = currencyExponent(currency);
  const stripe = stripeExponent(currency);
  let amount = amountMinor;
  if (stripe > iso) amount = amountMinor * 10n ** BigInt(stripe - iso);
  else if (stripe < iso) {
    const f = 10n ** BigInt(iso - stripe);
    if (amountMinor % f !== 0n) throw new StripeAmountError(`${amountMinor} minor units of ${currency} cannot be expressed in Stripe's units`);
    amount = amountMinor / f;
  }
  if (STRIPE_THREE_DECIMAL.has(currency) && amount % 10n !== 0n) {
    throw new StripeAmountError(`Stripe charges ${currency} in multiples of 10 minor units; got ${amountMinor}`);
  }
  if (amount > BigInt(Number.MAX_SAFE_INTEGER) || amount < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new StripeAmountError(`amount ${amountMinor} ${currency} is beyond what Stripe accepts`);
  }
  return Number(amount);
}

/** Stripe's integer amount → our minor units (exact; throws on a fractional result). */
export function fromStripeAmount(amount: number, rawCurrency: string): bigint {
  if (!Number.isSafeInteger(amount)) throw new StripeAmountError(`Stripe amount ${amount} is not an integer`);
  const currency = rawCurrency.toUpperCase();
  const iso = currencyExponent(currency);
  const stripe = stripeExponent(currency);
  const a = BigInt(amount);
  if (stripe === iso) return a;
  if (stripe < iso) return a * 10n ** BigInt(iso - stripe);
  const f = 10n ** BigInt(stripe - iso);
  if (a % f !== 0n) throw new StripeAmountError(`Stripe amount ${amount} ${currency} is not a whole number of minor units`);
  return a / f;
}

/**
 * Processing fees in Stripe's units. A fee is not a charge amount: Stripe's
 * request rules (three-decimal currencies in multiples of 10, ISK in whole
 * krónur) do not apply to it, and for the few currencies whose Stripe units
 * are finer than ISO's (ISK) a fee need not be a whole number of our minor
 * units. Exact whenever it can be; otherwise rounded half-up, once — the fee
 * is recorded as the processor reports it, to the unit we can represent.
 */
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
