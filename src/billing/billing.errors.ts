/** Expected outcomes of closing a billing period that are not a close: union members implementing BusinessError. */
import { createUnionType, Field, ObjectType } from '@nestjs/graphql';
import { BusinessError } from '../platform/errors/business-error.type';
import { BillingPeriodCloseOutput } from './dto/billing.output';

@ObjectType({ implements: () => [BusinessError] })
export class BillingPeriodNotEndedError implements BusinessError {
  @Field(() => String)
  code = 'BILLING_PERIOD_NOT_ENDED';

  @Field(() => String)
  message: string;

  @Field(() => String)
  period: string;

  @Field(() => String, { description: 'The current period (UTC); only earlier periods can be closed' })
  currentPeriod: string;

  constructor(period: string, currentPeriod: string) {
    this.period = period;
    this.currentPeriod = currentPeriod;
    this.message = `${period} has not ended yet (the current period is ${currentPeriod}); only earlier periods can be closed`;
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class EarlierBillingPeriodOpenError implements BusinessError {
  @Field(() => String)
  code = 'EARLIER_BILLING_PERIOD_OPEN';

  @Field(() => String)
  message: string;

  @Field(() => String)
  period: string;

  @Field(() => String, { description: 'The earliest period that must be closed first' })
  openPeriod: string;

  constructor(period: string, openPeriod: string) {
    this.period = period;
    this.openPeriod = openPeriod;
    this.message = `Periods close in order: close ${openPeriod} before ${period}`;
  }
}

export const CloseBillingPeriodResult = createUnionType({
  name: 'CloseBillingPeriodResult',
  types: () => [BillingPeriodCloseOutput, BillingPeriodNotEndedError, EarlierBillingPeriodOpenError] as const,
});
