import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { MoneyOutput } from '../../ledger/dto/money.output';
import { BillingPeriodStatus } from './billing.enums';

@ObjectType('BillingPeriodCurrencyTotal')
export class BillingPeriodCurrencyTotalOutput {
  @Field(() => String)
  currency: string;

  @Field(() => Int)
  invoiceCount: number;

  @Field(() => MoneyOutput)
  total: MoneyOutput;
}

@ObjectType('BillingPeriodClose', { description: 'A closed billing period and its PERIOD invoices' })
export class BillingPeriodCloseOutput {
  @Field(() => String, { description: 'YYYY-MM (UTC)' })
  period: string;

  @Field(() => BillingPeriodStatus)
  status: BillingPeriodStatus;

  @Field(() => Date, { nullable: true })
  closedAt: Date | null;

  @Field(() => Int, { description: 'Invoices this call created (0 when the period was already closed)' })
  invoicesCreated: number;

  @Field(() => Int, { description: 'All PERIOD invoices of the period' })
  invoiceCount: number;

  @Field(() => [BillingPeriodCurrencyTotalOutput], { description: 'Per currency, ordered by currency' })
  totals: BillingPeriodCurrencyTotalOutput[];

  @Field(() => Boolean, { description: 'True when the period was already closed and nothing was written' })
  alreadyClosed: boolean;
}

@ObjectType('VendorFee', { description: "The platform's fee on a vendor's collected revenue" })
export class VendorFeeOutput {
  @Field(() => ID)
  vendorOrganizationId: string;

  @Field(() => Int, { description: 'What applies now, in basis points' })
  feeBps: number;

  @Field(() => Int, { description: 'The platform setting (PLATFORM_FEE_BPS)' })
  defaultFeeBps: number;

  @Field(() => Boolean)
  overridden: boolean;

  @Field(() => Date, { nullable: true })
  setAt: Date | null;
}
