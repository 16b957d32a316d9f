/**
 * Expected outcomes of accepting an offer or changing an agreement's status
 * that are not successes: union members implementing BusinessError.
 */
import { createUnionType, Field, ID, ObjectType } from '@nestjs/graphql';
import { BusinessError } from '../platform/errors/business-error.type';
import { LicenseAgreementOutput } from './dto/agreement.output';
import { AgreementStatus } from './dto/licensing.enums';

@ObjectType({ implements: () => [BusinessError] })
export class TermsChangedError implements BusinessError {
  @Field(() => String)
  code = 'TERMS_CHANGED';

  @Field(() => String)
  message = 'The offer terms differ from the ones you accepted; review the current terms and accept their hash';

  @Field(() => ID)
  offerId: string;

  @Field(() => String)
  currentTermsHash: string;

  constructor(offerId: string, currentTermsHash: string) {
    this.offerId = offerId;
    this.currentTermsHash = currentTermsHash;
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class OfferNotAvailableError implements BusinessError {
  @Field(() => String)
  code = 'OFFER_NOT_AVAILABLE';

  @Field(() => String)
  message: string;

  @Field(() => ID)
  offerId: string;

  @Field(() => String, { description: 'OFFER_RETIRED or MODEL_NOT_LISTED' })
  reason: string;

  @Field(() => ID, { nullable: true, description: 'The ACTIVE version of the same (model, name), if any' })
  currentOfferId: string | null;

  constructor(offerId: string, reason: 'OFFER_RETIRED' | 'MODEL_NOT_LISTED', currentOfferId: string | null) {
    this.offerId = offerId;
    this.reason = reason;
    this.currentOfferId = currentOfferId;
    this.message =
      reason === 'OFFER_RETIRED'
        ? `This offer version was retired${currentOfferId ? `; the current version is ${currentOfferId}` : ''}`
        : 'The model is not listed in the catalog; its offers cannot be accepted';
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class TerritoryNotAllowedError implements BusinessError {
  @Field(() => String)
  code = 'TERRITORY_NOT_ALLOWED';

  @Field(() => String)
  message: string;

  @Field(() => String, { nullable: true, description: "The organization's country (null when not set)" })
  country: string | null;

  constructor(country: string | null) {
    this.country = country;
    this.message = country
      ? `The licence excludes organizations in ${country}`
      : 'The licence excludes some countries and your organization has no country set: set it with updateOrganization(input: { id, country }), then accept again';
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class SelfDealingError implements BusinessError {
  @Field(() => String)
  code = 'SELF_DEALING';

  @Field(() => String)
  message = 'An organization cannot accept an offer on its own model';
}

@ObjectType({
  implements: () => [BusinessError],
  description: 'A pool agreement was asked for (viaPool) but the offer is not in the pool, or the distiller has no ACTIVE pool subscription in its currency.',
})
export class PoolAgreementNotAllowedError implements BusinessError {
  @Field(() => String)
  code = 'POOL_AGREEMENT_NOT_ALLOWED';

  @Field(() => String)
  message: string;

  @Field(() => String, { description: 'NOT_POOL_ELIGIBLE, LEFT_POOL, NO_SUBSCRIPTION or SUBSCRIPTION_SUSPENDED' })
  reason: string;

  constructor(reason: 'NOT_POOL_ELIGIBLE' | 'LEFT_POOL' | 'NO_SUBSCRIPTION' | 'SUBSCRIPTION_SUSPENDED', currency: string) {
    this.reason = reason;
    this.message = {
      NOT_POOL_ELIGIBLE: 'This offer is not pool-eligible: accept it as a licence instead',
      LEFT_POOL: "The offer's model has left the pool",
      NO_SUBSCRIPTION: `The organization has no pool subscription in ${currency}: subscribeToPool first`,
      SUBSCRIPTION_SUSPENDED: `The organization's pool subscription in ${currency} is suspended for non-payment`,
    }[reason];
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class AgreementAlreadyExistsError implements BusinessError {
  @Field(() => String)
  code = 'AGREEMENT_ALREADY_EXISTS';

  @Field(() => String)
  message = 'The organization already has a live agreement for this offer';

  @Field(() => LicenseAgreementOutput)
  agreement: LicenseAgreementOutput;

  constructor(agreement: LicenseAgreementOutput) {
    this.agreement = agreement;
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class InvalidAgreementTransitionError implements BusinessError {
  @Field(() => String)
  code = 'INVALID_AGREEMENT_TRANSITION';

  @Field(() => String)
  message: string;

  @Field(() => AgreementStatus)
  currentStatus: AgreementStatus;

  @Field(() => AgreementStatus)
  requestedStatus: AgreementStatus;

  constructor(currentStatus: AgreementStatus, requestedStatus: AgreementStatus) {
    this.currentStatus = currentStatus;
    this.requestedStatus = requestedStatus;
    this.message = `An agreement that is ${currentStatus} cannot become ${requestedStatus}`;
  }
}

export const AcceptLicenseOfferResult = createUnionType({
  name: 'AcceptLicenseOfferResult',
  types: () =>
    [
      LicenseAgreementOutput,
      TermsChangedError,
      OfferNotAvailableError,
      TerritoryNotAllowedError,
      SelfDealingError,
      AgreementAlreadyExistsError,
      PoolAgreementNotAllowedError,
    ] as const,
});

export const AgreementTransitionResult = createUnionType({
  name: 'AgreementTransitionResult',
  types: () => [LicenseAgreementOutput, InvalidAgreementTransitionError] as const,
});
