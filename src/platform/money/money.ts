/**
 * Money: an integer amount in minor units (bigint) and an ISO-4217 currency.
 * The exponent comes from one table (platform/validation/iso-codes: JPY 0,
 * USD 2, BHD 3); Stripe's units from stripe-units.ts. No float ever.
 */
import { currencyExponent, isCurrencyCode } from '../validation/iso-codes';

export class CurrencyMismatchError extends Error {
  constructor(a: string, b: string) {
    super(`Currency mismatch: ${a} and ${b}`);
  }
}

export class Money {
  private constructor(
    readonly amountMinor: bigint,
    readonly currency: string,
  ) {}

  static of(amountMinor: bigint, currency: string): Money {
    if (typeof amountMinor !== 'bigint') throw new TypeError('Money amounts are bigint minor units');
    if (!isCurrencyCode(currency)) throw new RangeError(`Unknown currency ${String(currency)}`);
    return new Money(amountMinor, currency);
  }

  static zero(currency: string): Money {
    return Money.of(0n, currency);
  }

  get exponent(): number {
    return currencyExponent(this.currency);
  }

  add(other: Money): Money {
    this.same(other);
    return new Money(this.amountMinor + other.amountMinor, this.currency);
  }

  subtract(other: Money): Money {
    this.same(other);
    return new Money(this.amountMinor - other.amountMinor, this.currency);
  }

  negate(): Money {
    return new Money(-this.amountMinor, this.currency);
  }

  isZero(): boolean {
    return this.amountMinor === 0n;
  }

  isNegative(): boolean {
    return this.amountMinor < 0n;
  }

  equals(other: Money): boolean {
    return this.currency === other.currency && this.amountMinor === other.amountMinor;
  }

  /** Decimal text in major units, e.g. "12.34 USD", "1200 JPY" — for people, never for arithmetic. */
  format(): string {
    return `${formatMinor(this.amountMinor, this.exponent)} ${this.currency}`;
  }

  toJSON(): { amountMinor: string; currency: string } {
    return { amountMinor: this.amountMinor.toString(), currency: this.currency };
  }

  private same(other: Money): void {
    if (other.currency !== this.currency) throw new CurrencyMismatchError(this.currency, other.currency);
  }
}

/** "1234" with exponent 2 → "12.34"; exponent 0 → "1234"; negative keeps its sign. */
export function formatMinor(amountMinor: bigint, exponent: number): string {
  const negative = amountMinor < 0n;
  const digits = (negative ? -amountMinor : amountMinor).toString().padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return negative ? `-${whole}` : whole;
}
