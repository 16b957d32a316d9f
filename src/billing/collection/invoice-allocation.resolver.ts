/**
 * Invoice.allocation (for whoever may read the invoice: the distiller and
 * admins, batched per request) and invoiceAllocation(invoiceId), which the
 * vendors concerned may also ask (their own parts only).
 */
import { Args, Context, ID, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { InvoiceAllocationOutput } from '../../earnings/allocation/dto/allocation.output';
import { CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { LoaderContext, loaderFor } from '../../platform/graphql/loaders';
import { InvoiceOutput } from '../dto/invoice.output';
import { InvoiceAllocationService } from './invoice-allocation.service';

@Resolver(() => InvoiceOutput)
export class InvoiceAllocationFieldResolver {
  constructor(private readonly allocations: InvoiceAllocationService) {}

  @ResolveField('allocation', () => InvoiceAllocationOutput, {
    nullable: true,
    description: 'How the payment was allocated, every minor unit (fee, vendor shares, royalty cascade); null until the invoice is collected.',
  })
  allocation(@Parent() invoice: InvoiceOutput, @Context() ctx: LoaderContext): Promise<InvoiceAllocationOutput | null> {
    return loaderFor<string, InvoiceAllocationOutput | null>(ctx, 'billing.invoiceAllocations', (ids) => this.allocations.allocationsOf(ids)).load(invoice.id);
  }
}

@Resolver()
export class InvoiceAllocationResolver {
  constructor(private readonly allocations: InvoiceAllocationService) {}

  @Query(() => InvoiceAllocationOutput, {
    nullable: true,
    description:
      "How an invoice's payment was allocated. The distiller's members and admins see every part; a vendor that received a share or a royalty " +
      '(or paid one) sees the parts it is a party to and its own net. Others NOT_FOUND. Null until the invoice is collected.',
  })
  invoiceAllocation(@CurrentPrincipal() principal: Principal, @Args('invoiceId', { type: () => ID }) invoiceId: string): Promise<InvoiceAllocationOutput | null> {
    return this.allocations.allocationFor(principal, invoiceId);
  }
}
