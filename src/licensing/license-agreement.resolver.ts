import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../platform/auth/decorators';
import { Principal } from '../platform/auth/principal';
import { toConnection } from '../platform/paging/page';
import { AcceptLicenseOfferInput, AgreementsArgs, AgreementStatusChangeInput } from './dto/agreement.input';
import { LicenseAgreementConnection, LicenseAgreementOutput } from './dto/agreement.output';
import { AGREEMENT_CURSOR, LicenseAgreementService } from './license-agreement.service';
import { AcceptLicenseOfferResult, AgreementTransitionResult } from './licensing.errors';
import { toAcceptResult, toAgreementOutput, toTransitionResult } from './licensing.mapper';
import { Clock } from '../platform/clock/clock';

@Resolver(() => LicenseAgreementOutput)
export class LicenseAgreementResolver {
  constructor(
    private readonly service: LicenseAgreementService,
    private readonly clock: Clock,
  ) {}

  @Mutation(() => AcceptLicenseOfferResult, {
    description:
      'Accepts the exact terms (by hash) for a distiller organization (write access). PENDING_PAYMENT when an upfront fee is due, else ACTIVE.',
  })
  async acceptLicenseOffer(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: AcceptLicenseOfferInput,
  ): Promise<typeof AcceptLicenseOfferResult> {
    return toAcceptResult(await this.service.accept(principal, input), this.clock.now());
  }

  @Query(() => LicenseAgreementConnection, { description: "The distiller's agreements, or the vendor's agreements on its models; newest first." })
  async agreements(@CurrentPrincipal() principal: Principal, @Args() args: AgreementsArgs): Promise<LicenseAgreementConnection> {
    const { organizationId, role, status, first, after } = args;
    const page = await this.service.list(principal, { organizationId, role, status: status ?? null, first, after: after ?? null });
    const now = this.clock.now();
    const agreements = toConnection(page, (v) => AGREEMENT_CURSOR.encode([v.agreement.id]), (v) => toAgreementOutput(v.agreement, v.offer, now));
    return { ...agreements, totalCount: page.totalCount };
  }

  @Query(() => LicenseAgreementOutput, { description: 'Members of the distiller or the vendor organization only.' })
  async agreement(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string): Promise<LicenseAgreementOutput> {
    const v = await this.service.get(principal, id);
    return toAgreementOutput(v.agreement, v.offer, this.clock.now());
  }

  @Mutation(() => AgreementTransitionResult, { description: 'Vendor (write) or platform admin. ACTIVE / PENDING_PAYMENT → SUSPENDED.' })
  async suspendAgreement(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: AgreementStatusChangeInput,
  ): Promise<typeof AgreementTransitionResult> {
    return toTransitionResult(await this.service.changeStatus(principal, input.id, 'suspend', input.reason), this.clock.now());
  }

  @Mutation(() => AgreementTransitionResult, { description: 'Vendor (write) or platform admin. Any live status → TERMINATED (final).' })
  async terminateAgreement(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: AgreementStatusChangeInput,
  ): Promise<typeof AgreementTransitionResult> {
    return toTransitionResult(await this.service.changeStatus(principal, input.id, 'terminate', input.reason), this.clock.now());
  }

  @Mutation(() => AgreementTransitionResult, {
    description: 'Vendor (write) or platform admin. SUSPENDED → ACTIVE (PENDING_PAYMENT when an upfront fee is due).',
  })
  async reinstateAgreement(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: AgreementStatusChangeInput,
  ): Promise<typeof AgreementTransitionResult> {
    return toTransitionResult(await this.service.changeStatus(principal, input.id, 'reinstate', input.reason), this.clock.now());
  }
}
