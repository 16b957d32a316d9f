import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { MoneyOutput } from '../../ledger/dto/money.output';
import { Paginated } from '../../platform/graphql/pagination';
import { InvoiceKind, InvoiceLineKind, InvoiceStatus } from './billing.enums';

@ObjectType('InvoiceLine', { description: 'One line of an invoice: what, for which agreement, how many tokens at which price.' })
export class InvoiceLineOutput {
  @Field(() => Int, { description: '1-based order on the invoice' })
  position: number;

  @Field(() => InvoiceLineKind)
  kind: InvoiceLineKind;

  @Field(() => String)
  description: string;

  @Field(() => ID, { nullable: true, description: 'Null on pool lines (POOL_FEE, POOL_OVERAGE)' })
  agreementId: string | null;

  @Field(() => ID, { nullable: true, description: 'Null on pool lines' })
  modelId: string | null;

  @Field(() => ID, { nullable: true, description: 'The vendor organization that earns this line; null on pool lines (the pool distribution decides)' })
  vendorOrganizationId: string | null;

  @Field(() => String, { nullable: true, description: 'YYYY-MM the tokens belong to (for adjustments: the earlier period); null for the upfront fee' })
  usagePeriod: string | null;

  @Field(() => String, { nullable: true, description: 'Tokens, as a decimal string (token lines only)' })
  quantity: string | null;

  @Field(() => MoneyOutput, { nullable: true, description: 'Price per million tokens (token lines only)' })
  unitPricePerMillion: MoneyOutput | null;

  @Field(() => MoneyOutput, { description: 'quantity × unit price ÷ 1,000,000, rounded half-up on this line' })
  amount: MoneyOutput;

  @Field(() => String, { description: 'Tokens on this line beyond the licence period quota (billed at the licence price)' })
  overageTokens: string;

  @Field(() => ID, { nullable: true, description: 'ROYALTY lines: the revenue report revision it is computed from' })
  revenueReportId: string | null;

  @Field(() => ID, { nullable: true, description: 'ROYALTY lines: the student model whose reported revenue it is a share of' })
  studentModelId: string | null;

  @Field(() => String, { nullable: true, description: 'ROYALTY lines: LAP or LRP' })
  royaltyPolicy: string | null;

  @Field(() => Int, { nullable: true, description: 'ROYALTY lines: the share in basis points' })
  royaltyShareBps: number | null;
}

@ObjectType('InvoiceLineConnection', { description: 'By position' })
export class InvoiceLineConnection extends Paginated(InvoiceLineOutput, 'InvoiceLine') {
  @Field(() => Int)
  totalCount: number;
}

@ObjectType('Invoice', { description: "An invoice to a distiller organization in one currency (amounts in the invoice's currency)" })
export class InvoiceOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String, { description: 'e.g. BM-202611-000042' })
  number: string;

  @Field(() => ID, { description: 'The distiller organization billed' })
  organizationId: string;

  @Field(() => InvoiceKind)
  kind: InvoiceKind;

  @Field(() => InvoiceStatus)
  status: InvoiceStatus;

  @Field(() => String)
  currency: string;

  @Field(() => String, { nullable: true, description: 'PERIOD invoices: the billed month, YYYY-MM (UTC)' })
  period: string | null;

  @Field(() => ID, { nullable: true, description: 'UPFRONT invoices: the agreement whose fee it is' })
  agreementId: string | null;

  @Field(() => MoneyOutput, { description: 'Sum of the lines' })
  total: MoneyOutput;

  @Field(() => MoneyOutput)
  amountPaid: MoneyOutput;

  @Field(() => MoneyOutput)
  amountRefunded: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'Still to pay: total − amountPaid while OPEN or UNCOLLECTIBLE, else 0' })
  amountDue: MoneyOutput;

  @Field(() => Date, { nullable: true })
  issuedAt: Date | null;

  @Field(() => Date, { nullable: true })
  dueAt: Date | null;

  @Field(() => Date, { nullable: true })
  paidAt: Date | null;

  @Field(() => Date, { nullable: true })
  voidedAt: Date | null;

  @Field(() => Date)
  createdAt: Date;

  @Field(() => Int)
  lineCount: number;
}

@ObjectType('InvoiceConnection', { description: 'Newest first' })
export class InvoiceConnection extends Paginated(InvoiceOutput, 'Invoice') {
  @Field(() => Int, { description: 'Invoices matching the filter (all pages)' })
  totalCount: number;
}
