import { Args, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { ReconciliationOutput, toReconciliationOutput } from './dto/reconciliation.output';
import { ReconciliationService } from './reconciliation.service';

@Resolver()
export class ReconciliationResolver {
  constructor(private readonly service: ReconciliationService) {}

  @Query(() => ReconciliationOutput, {
    description:
      "Platform admins. The latest stored reconciliation of a UTC day (YYYY-MM-DD): the ledger's cash movements against the processor's balance transactions, matched by category and processor id, " +
      'with every unmatched item on either side. Runs it first when the day has no run yet.',
  })
  async reconciliation(@CurrentPrincipal() principal: Principal, @Args('date', { type: () => String }) date: string): Promise<ReconciliationOutput> {
    return toReconciliationOutput(await this.service.latest(principal, date));
  }

  @Query(() => [ReconciliationOutput], { description: 'Platform admins. The stored reconciliation runs of a UTC day, newest first.' })
  async reconciliationRuns(
    @CurrentPrincipal() principal: Principal,
    @Args('date', { type: () => String }) date: string,
    @Args('first', { type: () => Int, nullable: true }) first?: number | null,
  ): Promise<ReconciliationOutput[]> {
    return (await this.service.history(principal, date, first ?? 20)).map(toReconciliationOutput);
  }

  @Mutation(() => ReconciliationOutput, { description: 'Platform admins. Reconciles a UTC day now and stores the run (differences are audited and counted in the metrics).' })
  async runReconciliation(@CurrentPrincipal() principal: Principal, @Args('date', { type: () => String }) date: string): Promise<ReconciliationOutput> {
    return toReconciliationOutput(await this.service.reconcile(principal, date));
  }
}
