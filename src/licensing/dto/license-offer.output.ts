import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { LicensePricingOutput, LicenseTermsOutput } from './license-terms.output';
import { OfferStatus } from './licensing.enums';

@ObjectType('LicenseOfferModel', { description: 'The model an offer licenses' })
export class LicenseOfferModelOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  name: string;

  @Field(() => String)
  slug: string;
}

@ObjectType('LicenseOffer', { description: 'An immutable, versioned licence offer (terms + pricing) for a model' })
export class LicenseOfferOutput {
  @Field(() => ID)
  id: string;

  @Field(() => LicenseOfferModelOutput)
  model: LicenseOfferModelOutput;

  @Field(() => ID, { description: 'The vendor organization' })
  organizationId: string;

  @Field(() => String)
  name: string;

  @Field(() => Int, { description: '1, 2, … per (model, name)' })
  version: number;

  @Field(() => OfferStatus)
  status: OfferStatus;

  @Field(() => LicenseTermsOutput)
  terms: LicenseTermsOutput;

  @Field(() => LicensePricingOutput)
  pricing: LicensePricingOutput;

  @Field(() => String, { description: 'SHA-256 (hex) of the RFC 8785 JSON of the canonical {terms, pricing}; pass it to acceptLicenseOffer' })
  termsHash: string;

  @Field(() => Date)
  createdAt: Date;

  @Field(() => Date, { nullable: true })
  retiredAt: Date | null;
}
