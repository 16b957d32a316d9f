/** Output mirrors of the terms inputs (amounts and large counts as decimal strings). */
import { Field, Int, ObjectType } from '@nestjs/graphql';
import { AttributionPlacement, NamingRule, OutputTraining, RoyaltyPolicy, ThresholdEffect, ThresholdMetric } from './licensing.enums';

@ObjectType('LicenseAttribution')
export class LicenseAttributionOutput {
  @Field(() => String)
  displayString: string;

  @Field(() => [AttributionPlacement])
  placements: AttributionPlacement[];

  @Field(() => String, { nullable: true })
  noticeText: string | null;
}

@ObjectType('LicenseNaming')
export class LicenseNamingOutput {
  @Field(() => NamingRule)
  rule: NamingRule;

  @Field(() => String, { nullable: true })
  token: string | null;
}

@ObjectType('LicenseInheritance')
export class LicenseInheritanceOutput {
  @Field(() => Boolean)
  copyLicence: boolean;

  @Field(() => Boolean)
  useRestrictionsFlowDown: boolean;

  @Field(() => Boolean)
  reciprocal: boolean;
}

@ObjectType('LicenseThreshold')
export class LicenseThresholdOutput {
  @Field(() => ThresholdMetric)
  metric: ThresholdMetric;

  @Field(() => String, { description: 'Decimal string (users, or minor units for revenue)' })
  value: string;

  @Field(() => ThresholdEffect)
  effect: ThresholdEffect;
}

@ObjectType('LicenseTerritory')
export class LicenseTerritoryOutput {
  @Field(() => [String], { description: 'ISO 3166-1 alpha-2, sorted' })
  excludedCountries: string[];

  @Field(() => Boolean)
  endUsersExempt: boolean;
}

@ObjectType('LicenseRoyalty')
export class LicenseRoyaltyOutput {
  @Field(() => RoyaltyPolicy)
  policy: RoyaltyPolicy;

  @Field(() => Int, { description: 'Basis points (1 bp = 0.01 %)' })
  shareBps: number;
}

@ObjectType('LicenseLimits')
export class LicenseLimitsOutput {
  @Field(() => String, { nullable: true, description: 'Tokens per billing period, decimal string; null = unlimited' })
  tokensPerPeriod: string | null;

  @Field(() => String, { nullable: true, description: 'Tokens per minute, decimal string; null = unlimited' })
  tokensPerMinute: string | null;
}

@ObjectType('LicenseTerms', { description: 'Canonical licence terms, exactly as hashed into termsHash' })
export class LicenseTermsOutput {
  @Field(() => OutputTraining)
  outputTraining: OutputTraining;

  @Field(() => Boolean)
  distillationIsDerivative: boolean;

  @Field(() => Boolean)
  commercialUse: boolean;

  @Field(() => Boolean)
  researchOnly: boolean;

  @Field(() => LicenseAttributionOutput, { nullable: true })
  attribution: LicenseAttributionOutput | null;

  @Field(() => LicenseNamingOutput)
  naming: LicenseNamingOutput;

  @Field(() => LicenseInheritanceOutput)
  inheritance: LicenseInheritanceOutput;

  @Field(() => [LicenseThresholdOutput])
  thresholds: LicenseThresholdOutput[];

  @Field(() => LicenseTerritoryOutput)
  territory: LicenseTerritoryOutput;

  @Field(() => String, { nullable: true })
  acceptableUsePolicyUrl: string | null;

  @Field(() => Int, { nullable: true, description: 'Agreement length in days; null = no end' })
  termDays: number | null;

  @Field(() => String, { nullable: true })
  governingLaw: string | null;

  @Field(() => LicenseRoyaltyOutput)
  royalty: LicenseRoyaltyOutput;

  @Field(() => LicenseLimitsOutput)
  limits: LicenseLimitsOutput;

  @Field(() => Boolean)
  watermarkRequired: boolean;
}

@ObjectType('LicensePricing', { description: 'Amounts are integer minor units of `currency`, as decimal strings' })
export class LicensePricingOutput {
  @Field(() => String)
  currency: string;

  @Field(() => String)
  upfrontFeeMinor: string;

  @Field(() => String)
  inputPerMillionMinor: string;

  @Field(() => String)
  outputPerMillionMinor: string;

  @Field(() => String)
  minimumCommitmentMinor: string;

  @Field(() => Boolean)
  poolEligible: boolean;
}
