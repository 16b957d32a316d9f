import { ArgsType, Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { IsOptional, IsString } from 'class-validator';
import { MoneyOutput } from '../../ledger/dto/money.output';
import { InvoiceOutput } from './invoice.output';

export enum PaymentOutcome {
  PAID = 'PAID',
  ALREADY_PAID = 'ALREADY_PAID',
  FAILED = 'FAILED',
  PENDING = 'PENDING',
  SKIPPED = 'SKIPPED',
}
registerEnumType(PaymentOutcome, {
  name: 'PaymentOutcome',
  description:
    'PAID: charged now. ALREADY_PAID: nothing to do. FAILED: declined or no payment method (see failureCode; a retry is scheduled unless the ' +
    'invoice became UNCOLLECTIBLE). PENDING: the processor has not answered yet (asked again automatically). SKIPPED: another charge is in progress.',
});

export enum RefundOutcomeKind {
  REFUNDED = 'REFUNDED',
  PENDING = 'PENDING',
}
registerEnumType(RefundOutcomeKind, {
  name: 'RefundOutcome',
  description:
    'REFUNDED: done and reversed in the ledger. PENDING: the processor has not confirmed yet; asking again with the same idempotencyKey ' +
    '(or, without one, the same amount and reason) resumes the same refund.',
});

@ObjectType('PayInvoiceResult')
export class PayInvoiceResultOutput {
  @Field(() => PaymentOutcome)
  outcome: PaymentOutcome;

  @Field(() => String, { nullable: true, description: 'Why a charge failed: card_declined, insufficient_funds, payment_method_missing, …' })
  failureCode: string | null;

  @Field(() => String, { nullable: true })
  message: string | null;

  @Field(() => Date, { nullable: true, description: 'When the next automatic attempt runs (null when none is scheduled).' })
  nextAttemptAt: Date | null;

  @Field(() => InvoiceOutput)
  invoice: InvoiceOutput;
}

@ObjectType('InvoiceRefund', { description: 'The refund this request asked for (or, with an idempotencyKey used before, the one that request asked for)' })
export class InvoiceRefundOutput {
  @Field(() => RefundOutcomeKind)
  outcome: RefundOutcomeKind;

  @Field(() => ID)
  refundId: string;

  @Field(() => MoneyOutput)
  amount: MoneyOutput;

  @Field(() => InvoiceOutput)
  invoice: InvoiceOutput;
}

@ObjectType('CurrencyBalances', { description: "An organization's balances in one currency, in the people's sign (what is owed is positive)." })
export class CurrencyBalancesOutput {
  @Field(() => String)
  currency: string;

  @Field(() => MoneyOutput, { description: 'As a distiller: owed on issued, unpaid invoices.' })
  receivable: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'As a vendor: earned and not yet paid out (negative after refunds of money already paid out; nets later).' })
  payable: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'As a vendor: earnings held while a dispute is open.' })
  held: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'As a vendor: paid out so far.' })
  paid: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'As a vendor: earnings collected less than EARNINGS_HOLDBACK_DAYS ago (refund and dispute exposure); never more than payable.' })
  pending: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'As a vendor: what a payout may take now (payable − pending, never below zero).' })
  available: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'As a vendor: what refunds took back beyond what was owed; later earnings cover it first.' })
  negativeCarryForward: MoneyOutput;

  @Field(() => Date, { nullable: true, description: 'As a vendor: when the oldest pending earnings become available (null: nothing pending).' })
  availableAt: Date | null;
}

@ArgsType()
export class RefundInvoiceArgs {
  @Field(() => ID)
  @IsString()
  id: string;

  @Field(() => String, { nullable: true, description: 'Minor units as a decimal string; omitted: everything not yet refunded.' })
  @IsOptional()
  @IsString()
  amountMinor?: string | null;

  @Field(() => String, { description: '1..500 characters; recorded with the refund and in the audit log' })
  @IsString()
  reason: string;

  @Field(() => String, {
    nullable: true,
    description:
      'Up to 255 printable ASCII characters, unique per refund request: asking again with the same key (same invoice, amount and reason) ' +
      'returns that request\'s refund instead of refunding again; another request with the key is BAD_USER_INPUT.',
  })
  @IsOptional()
  @IsString()
  idempotencyKey?: string | null;
}

@ObjectType('InvoiceDispute')
export class InvoiceDisputeOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String, { description: 'OPEN (vendor shares held), WON (released) or LOST (reversed)' })
  status: string;

  @Field(() => MoneyOutput)
  amount: MoneyOutput;

  @Field(() => String, { nullable: true })
  reason: string | null;

  @Field(() => Date)
  openedAt: Date;

  @Field(() => Date, { nullable: true })
  closedAt: Date | null;
}

@ObjectType('InvoicePayment', { description: 'How collection of an invoice stands: attempts, the payment, its processing fee, refunds and disputes.' })
export class InvoicePaymentOutput {
  @Field(() => String, { nullable: true, description: "The processor's PaymentIntent that paid it" })
  paymentIntentId: string | null;

  @Field(() => String, { nullable: true })
  chargeId: string | null;

  @Field(() => Int, { description: "Charge attempts made so far" })
  attempts: number;

  @Field(() => Int, { description: "Failed attempts (declines, no payment method) counting toward write-off" })
  failures: number;

  @Field(() => String, { nullable: true })
  lastFailureCode: string | null;

  @Field(() => Date, { nullable: true, description: 'When the next automatic attempt runs' })
  nextAttemptAt: Date | null;

  @Field(() => MoneyOutput, { nullable: true, description: "The processor's fee on the payment (platform cost, not billed)" })
  processingFee: MoneyOutput | null;

  @Field(() => [InvoiceDisputeOutput])
  disputes: InvoiceDisputeOutput[];
}
