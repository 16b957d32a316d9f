import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal, OptionalPrincipal, Public } from '../platform/auth/decorators';
import { Principal } from '../platform/auth/principal';
import { LicenseOfferOutput } from './dto/license-offer.output';
import { LicenseOffersArgs, PublishLicenseOfferInput } from './dto/license-terms.input';
import { LicenseOfferService } from './license-offer.service';
import { toOfferOutput } from './licensing.mapper';

@Resolver(() => LicenseOfferOutput)
export class LicenseOfferResolver {
  constructor(private readonly service: LicenseOfferService) {}

  @Mutation(() => LicenseOfferOutput, {
    description:
      'Vendor members (write). Publishes an immutable offer; publishing again under the same (model, name) creates the next version and retires the previous one. Allowed while the model is DRAFT or LISTED.',
  })
  async publishLicenseOffer(@CurrentPrincipal() principal: Principal, @Args('input') input: PublishLicenseOfferInput): Promise<LicenseOfferOutput> {
    const { offer, model } = await this.service.publish(principal, input);
    return toOfferOutput(offer, model);
  }

  @Mutation(() => LicenseOfferOutput, { description: 'Vendor members (write). Existing agreements are unaffected; retiring twice is a no-op.' })
  async retireLicenseOffer(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string): Promise<LicenseOfferOutput> {
    const { offer, model } = await this.service.retire(principal, id);
    return toOfferOutput(offer, model);
  }

  @Public()
  @Query(() => LicenseOfferOutput, { description: 'Public for ACTIVE offers of LISTED models; otherwise vendor members only.' })
  async licenseOffer(@OptionalPrincipal() principal: Principal | null, @Args('id', { type: () => ID }) id: string): Promise<LicenseOfferOutput> {
    const { offer, model } = await this.service.get(principal, id);
    return toOfferOutput(offer, model);
  }

  @Public()
  @Query(() => [LicenseOfferOutput], {
    description: "A model's offers by name, newest version first. Vendor members see every version; others the ACTIVE offers of a LISTED model.",
  })
  async licenseOffers(@OptionalPrincipal() principal: Principal | null, @Args() { modelId, status }: LicenseOffersArgs): Promise<LicenseOfferOutput[]> {
    const { offers, model } = await this.service.listForModel(principal, modelId, status ?? null);
    return offers.map((o) => toOfferOutput(o, model));
  }
}
