/** A vendor's earnings in one currency, split by when they may be paid out. Amounts are Money, in the people's sign. */
import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { MoneyOutput } from '../../ledger/dto/money.output';
import { Paginated } from '../../platform/graphql/pagination';

@ObjectType('EarningsBalance', {
  description:
    "A vendor organization's earnings in one currency. pending + available − negativeCarryForward = payable; " +
    'pending, available and negativeCarryForward are never negative.',
})
export class EarningsBalanceOutput {
  @Field(() => ID)
  organizationId: string;

  @Field(() => String, { description: 'ISO 4217 code, upper-case.' })
  currency: string;

  @Field(() => MoneyOutput, { description: 'What the platform owes the vendor (vendor:<org>:payable); negative when refunds took back more than was owed.' })
  payable: MoneyOutput;

  @Field(() => MoneyOutput, {
    description: 'Earnings collected less than holdbackDays ago (refund and dispute exposure), capped at what is owed.',
  })
  pending: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'What may be paid out now: payable − pending, never below zero.' })
  available: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'What later earnings must cover before anything becomes available again (−payable when payable < 0).' })
  negativeCarryForward: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'Set aside while a dispute is open (vendor:<org>:held).' })
  held: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'Paid out so far (vendor:<org>:paid).' })
  paidOut: MoneyOutput;

  @Field(() => Date, { nullable: true, description: 'When the oldest pending earnings become available; null when nothing is pending.' })
  availableAt: Date | null;

  @Field(() => Date, { description: 'The moment the figures were computed for.' })
  asOf: Date;

  @Field(() => Int, { description: 'The holdback in days (EARNINGS_HOLDBACK_DAYS).' })
  holdbackDays: number;
}

@ObjectType('EarningsBalanceConnection', { description: 'Vendors by organization id' })
export class EarningsBalanceConnection extends Paginated(EarningsBalanceOutput, 'EarningsBalance') {}
