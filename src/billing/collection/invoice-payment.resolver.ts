/**
 * Invoice.payment: how collection of an invoice stands, for whoever may read
 * the invoice (the invoice queries authorize). Batched per request: a page of
 * invoices costs three queries, not three per invoice.
 */
import { Context, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { moneyOutput } from '../../ledger/dto/money.output';
import { LoaderContext, loaderFor } from '../../platform/graphql/loaders';
import { InvoicePaymentOutput } from '../dto/collection.output';
import { InvoiceOutput } from '../dto/invoice.output';
import { InvoicePayment, InvoicePaymentService } from './invoice-payment.service';

@Resolver(() => InvoiceOutput)
export class InvoicePaymentResolver {
  constructor(private readonly payments: InvoicePaymentService) {}

  @ResolveField('payment', () => InvoicePaymentOutput)
  payment(@Parent() invoice: InvoiceOutput, @Context() ctx: LoaderContext): Promise<InvoicePaymentOutput> {
    return loaderFor<string, InvoicePaymentOutput>(ctx, 'billing.invoicePayments', async (ids) => (await this.payments.paymentsOf(ids)).map(toOutput)).load(
      invoice.id,
    );
  }
}

function toOutput(p: InvoicePayment): InvoicePaymentOutput {
  return {
    ...p,
    processingFee: p.processingFee ? moneyOutput(p.processingFee.amountMinor, p.processingFee.currency) : null,
    disputes: p.disputes.map((d) => ({
      id: d.id,
      status: d.status,
      amount: moneyOutput(d.amountMinor, d.currency),
      reason: d.reason,
      openedAt: d.openedAt,
      closedAt: d.closedAt,
    })),
  };
}
