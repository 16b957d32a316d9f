import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { LoaderContext, loaderFor } from '../platform/graphql/loaders';
import { AdminOnly, CurrentPrincipal } from '../platform/auth/decorators';
import { Principal } from '../platform/auth/principal';
import { toConnection } from '../platform/paging/page';
import { CloseBillingPeriodResult } from './billing.errors';
import { toCloseResult, toInvoiceLineOutput, toInvoiceOutput, toVendorFeeOutput } from './billing.mapper';
import { PeriodCloseService } from './close/period-close.service';
import { InvoiceLinesArgs, InvoicesArgs, SetVendorFeeOverrideArgs } from './dto/billing.input';
import { VendorFeeOutput } from './dto/billing.output';
import { InvoiceConnection, InvoiceLineConnection, InvoiceOutput } from './dto/invoice.output';
import { INVOICE_CURSOR, INVOICE_LINE_CURSOR, InvoiceQueryService } from './invoices/invoice-query.service';
import { VendorFeeService } from './vendor-fee.service';

@Resolver(() => InvoiceOutput)
export class BillingResolver {
  constructor(
    private readonly queries: InvoiceQueryService,
    private readonly closes: PeriodCloseService,
    private readonly fees: VendorFeeService,
  ) {}

  @Query(() => InvoiceConnection, {
    description: "A distiller organization's invoices, newest first. Members of the organization (read) and platform admins.",
  })
  async invoices(@CurrentPrincipal() principal: Principal, @Args() args: InvoicesArgs): Promise<InvoiceConnection> {
    const page = await this.queries.list(principal, {
      organizationId: args.organizationId,
      filter: { status: args.filter?.status ?? null, kind: args.filter?.kind ?? null, period: args.filter?.period ?? null },
      first: args.first,
      after: args.after ?? null,
    });
    return { ...toConnection(page, (r) => INVOICE_CURSOR.encode([r.id]), toInvoiceOutput), totalCount: page.totalCount };
  }

  @Query(() => InvoiceOutput, { description: 'Members of the distiller organization (read) and platform admins; others NOT_FOUND.' })
  async invoice(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string): Promise<InvoiceOutput> {
    return toInvoiceOutput(await this.queries.get(principal, id));
  }

  @ResolveField('lines', () => InvoiceLineConnection, { description: 'The lines, by position.' })
  async lines(@Parent() invoice: InvoiceOutput, @Args() args: InvoiceLinesArgs, @Context() ctx: LoaderContext): Promise<InvoiceLineConnection> {
    // Batched per request and page shape: a page of invoices costs one query for all their lines.
    const after = args.after ?? null;
    const loader = loaderFor<string, Awaited<ReturnType<InvoiceQueryService['lines']>>>(ctx, `billing.invoiceLines:${args.first}:${after ?? ''}`, (ids) =>
      this.queries.linesOfMany(ids, args.first, after),
    );
    const page = await loader.load(invoice.id);
    const lines = toConnection(page, (l) => INVOICE_LINE_CURSOR.encode([String(l.position)]), (l) => toInvoiceLineOutput(l, invoice.currency));
    return { ...lines, totalCount: invoice.lineCount };
  }

  @AdminOnly()
  @Mutation(() => CloseBillingPeriodResult, {
    description:
      'Platform admins. Closes an ended month (YYYY-MM, UTC): one PERIOD invoice per distiller organization and currency, issued OPEN ' +
      '(PAID at once when its total is 0). Idempotent; months close in order. Audited. Also run by a job on the 1st of each month.',
  })
  async closeBillingPeriod(
    @CurrentPrincipal() principal: Principal,
    @Args('period', { type: () => String }) period: string,
  ): Promise<typeof CloseBillingPeriodResult> {
    return toCloseResult(await this.closes.close(principal, period));
  }

  @AdminOnly()
  @Mutation(() => VendorFeeOutput, {
    description: "Platform admins. Overrides the platform fee for one vendor organization (feeBps null clears it). Audited.",
  })
  async setVendorFeeOverride(@CurrentPrincipal() principal: Principal, @Args() args: SetVendorFeeOverrideArgs): Promise<VendorFeeOutput> {
    return toVendorFeeOutput(await this.fees.setOverride(principal, args.vendorOrganizationId, args.feeBps ?? null));
  }
}
