import { Args, ID, Query, Resolver } from '@nestjs/graphql';
import { moneyOutput } from '../ledger/dto/money.output';
import { AdminOnly, CurrentPrincipal } from '../platform/auth/decorators';
import type { Principal } from '../platform/auth/principal';
import { toConnection } from '../platform/paging/page';
import { EarningsBalancesArgs } from './dto/earnings-balance.input';
import { EarningsBalanceConnection, EarningsBalanceOutput } from './dto/earnings-balance.output';
import { EarningsBalance } from './earnings-balance.service';
import { EarningsQueryService } from './earnings-query.service';

const toOutput = (b: EarningsBalance): EarningsBalanceOutput => ({
  organizationId: b.organizationId,
  currency: b.currency,
  payable: moneyOutput(b.payable, b.currency),
  pending: moneyOutput(b.pending, b.currency),
  available: moneyOutput(b.available, b.currency),
  negativeCarryForward: moneyOutput(b.negativeCarryForward, b.currency),
  held: moneyOutput(b.held, b.currency),
  paidOut: moneyOutput(b.paidOut, b.currency),
  availableAt: b.availableAt,
  asOf: b.asOf,
  holdbackDays: b.holdbackDays,
});

@Resolver(() => EarningsBalanceOutput)
export class EarningsResolver {
  constructor(private readonly query: EarningsQueryService) {}

  @Query(() => [EarningsBalanceOutput], {
    description:
      "A vendor organization's earnings per currency: pending (inside the holdback), available for payout, negative carry-forward, " +
      'held by disputes, paid out. Members (read) and platform admins.',
  })
  async earnings(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }) organizationId: string,
  ): Promise<EarningsBalanceOutput[]> {
    return (await this.query.ofOrganization(principal, organizationId)).map(toOutput);
  }

  @AdminOnly()
  @Query(() => EarningsBalanceConnection, {
    description: 'Vendors with a non-zero payable or held balance in a currency, by organization id. Admins only.',
  })
  async earningsBalances(@Args() args: EarningsBalancesArgs): Promise<EarningsBalanceConnection> {
    const page = await this.query.vendors(args.currency, args.first, args.after ?? null);
    return toConnection(page, (r) => r.cursor, toOutput);
  }
}
