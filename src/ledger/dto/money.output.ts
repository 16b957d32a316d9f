/**
 * The GraphQL face of platform Money, shared by every module that shows an
 * amount (ledger, billing, payments): integer minor units as a decimal string
 * (never a Float, which cannot hold every bigint exactly), the currency, and a
 * text for people.
 */
import { Field, ObjectType } from '@nestjs/graphql';
import { Money } from '../../platform/money/money';

@ObjectType('Money', {
  description: 'An exact amount: integer minor units of an ISO 4217 currency (USD 2 decimals, JPY 0, BHD 3).',
})
export class MoneyOutput {
  @Field(() => String, { description: 'Signed integer amount in minor units, as a decimal string ("1234" USD = 12.34 USD).' })
  amountMinor: string;

  @Field(() => String, { description: 'ISO 4217 code, upper-case.' })
  currency: string;

  @Field(() => String, { description: 'For people, in major units: "12.34 USD", "-5 JPY". Never parse it; use amountMinor.' })
  formatted: string;
}

export function toMoneyOutput(money: Money): MoneyOutput {
  return { amountMinor: money.amountMinor.toString(), currency: money.currency, formatted: money.format() };
}

/** Shortcut for rows that hold an amount and a currency side by side. */
export function moneyOutput(amountMinor: bigint, currency: string): MoneyOutput {
  return toMoneyOutput(Money.of(amountMinor, currency));
}
