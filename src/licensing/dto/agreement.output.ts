import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { Paginated } from '../../platform/graphql/pagination';
import { LicensePricingOutput, LicenseTermsOutput } from './license-terms.output';
import { AgreementStatus } from './licensing.enums';

@ObjectType('LicenseAgreementOffer', { description: 'The offer version an agreement accepted' })
export class LicenseAgreementOfferOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  name: string;

  @Field(() => Int)
  version: number;
}

@ObjectType('LicenseAgreement', { description: "A distiller organization's acceptance of one offer version, with a snapshot of its terms" })
export class LicenseAgreementOutput {
  @Field(() => ID)
  id: string;

  @Field(() => LicenseAgreementOfferOutput)
  offer: LicenseAgreementOfferOutput;

  @Field(() => ID)
  modelId: string;

  @Field(() => ID)
  vendorOrganizationId: string;

  @Field(() => ID)
  distillerOrganizationId: string;

  @Field(() => ID, { nullable: true })
  acceptedByUserId: string | null;

  @Field(() => Date)
  acceptedAt: Date;

  @Field(() => String, { description: 'The termsHash of the accepted offer (hash of the snapshots)' })
  termsHash: string;

  @Field(() => LicenseTermsOutput, { description: 'Snapshot of the terms accepted' })
  terms: LicenseTermsOutput;

  @Field(() => LicensePricingOutput, { description: 'Snapshot of the pricing accepted' })
  pricing: LicensePricingOutput;

  @Field(() => AgreementStatus, { description: 'EXPIRED as soon as endsAt has passed, even before the expiry sweep runs' })
  status: AgreementStatus;

  @Field(() => String, { nullable: true, description: 'Why it was last suspended / terminated / reinstated' })
  statusReason: string | null;

  @Field(() => Date)
  statusChangedAt: Date;

  @Field(() => Date)
  startsAt: Date;

  @Field(() => Date, { nullable: true, description: 'startsAt + termDays; null = no end' })
  endsAt: Date | null;

  @Field(() => ID, { nullable: true, description: 'A pool agreement: the pool-plan subscription it was accepted under (no per-token charge)' })
  poolSubscriptionId: string | null;
}

@ObjectType('LicenseAgreementConnection', { description: 'Newest first' })
export class LicenseAgreementConnection extends Paginated(LicenseAgreementOutput, 'LicenseAgreement') {
  @Field(() => Int, { description: 'Agreements matching the filter (all pages)' })
  totalCount: number;
}
