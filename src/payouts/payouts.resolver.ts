import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../platform/auth/decorators';
import { Principal } from '../platform/auth/principal';
import { UuidPipe } from '../platform/errors/validation';
import {
  PayoutAccountOutput,
  PayoutDashboardLinkOutput,
  PayoutOnboardingLinkOutput,
  toOnboardingLinkOutput,
  toPayoutAccountOutput,
} from './dto/payout-account.output';
import { PayoutOnboardingService } from './payout-onboarding.service';

@Resolver()
export class PayoutsResolver {
  constructor(private readonly onboarding: PayoutOnboardingService) {}

  @Mutation(() => PayoutOnboardingLinkOutput, {
    description:
      "Owners (user sessions). Creates the organization's connected account at the payment processor the first time (once, also under concurrent calls) and answers a fresh onboarding link. " +
      'The link sends the vendor back to /v1/payouts/onboarding/return when done, or to /v1/payouts/onboarding/refresh (which makes a new link) when it expired.',
  })
  async startPayoutOnboarding(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }, new UuidPipe('organizationId')) organizationId: string,
  ): Promise<PayoutOnboardingLinkOutput> {
    return toOnboardingLinkOutput(await this.onboarding.startOnboarding(principal, organizationId));
  }

  @Query(() => PayoutAccountOutput, { nullable: true, description: "Members (read). The organization's connected account, or null before onboarding started." })
  async payoutAccount(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }, new UuidPipe('organizationId')) organizationId: string,
  ): Promise<PayoutAccountOutput | null> {
    const state = await this.onboarding.payoutAccount(principal, organizationId);
    return state ? toPayoutAccountOutput(state) : null;
  }

  @Mutation(() => PayoutDashboardLinkOutput, {
    description: "Owners. A single-use login link into the connected account's Express dashboard (CONFLICT until onboarding has been submitted).",
  })
  async payoutDashboardLink(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }, new UuidPipe('organizationId')) organizationId: string,
  ): Promise<PayoutDashboardLinkOutput> {
    return this.onboarding.dashboardLink(principal, organizationId);
  }
}
