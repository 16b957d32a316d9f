/** Expected billing outcomes that are not a success (closing a period, refunding): union members implementing BusinessError. */
import { createUnionType, Field, ID, ObjectType } from '@nestjs/graphql';
import { MoneyOutput } from '../ledger/dto/money.output';
import { BusinessError } from '../platform/errors/business-error.type';
import { BillingPeriodCloseOutput } from './dto/billing.output';
import { InvoiceRefundOutput } from './dto/collection.output';

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

@ObjectType({
  implements: () => [BusinessError],
  description: 'Another refund of the invoice is in flight: this request was not carried out and nothing was recorded; ask again once it completes.',
})
export class RefundInProgressError implements BusinessError {
  @Field(() => String)
  code = 'REFUND_IN_PROGRESS';

  @Field(() => String)
  message: string;

  @Field(() => ID, { description: 'The refund in flight' })
  refundId: string;

  @Field(() => MoneyOutput, { description: 'Its amount' })
  amount: MoneyOutput;

  constructor(invoiceNumber: string, refundId: string, amount: MoneyOutput) {
    this.refundId = refundId;
    this.amount = amount;
    this.message = `A refund of ${amount.formatted} on invoice ${invoiceNumber} is in progress; this request was not carried out — ask again once it completes`;
  }
}

export const RefundInvoiceResult = createUnionType({
  name: 'RefundInvoiceResult',
  types: () => [InvoiceRefundOutput, RefundInProgressError] as const,
});
