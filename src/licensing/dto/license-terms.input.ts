/**
 * Licence terms and pricing as GraphQL inputs. Money and large counts are
 * decimal strings of integers (GraphQL Int is 32-bit, floats never touch money).
 * Field-local rules are checked here; rules relating several fields are checked
 * by terms/terms.validation.ts in the service.
 */
import { ArgsType, Field, ID, InputType, Int } from '@nestjs/graphql';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsEnum,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  ValidateNested,
  ValidationArguments,
  ValidationOptions,
} from 'class-validator';
import { decimalIntegerProblem } from '../../platform/validation/decimal-integer';
import { IsUuid } from '../../platform/validation/uuid';
import { IsCountryCode, IsCurrencyCode } from '../../platform/validation/iso-codes';
import { isHttpsUrl, MAX_EXCLUDED_COUNTRIES, MAX_TERM_DAYS, MAX_THRESHOLDS } from '../terms/terms.validation';
import { MAX_SHARE_BPS } from '../terms/terms.types';
import { AttributionPlacement, NamingRule, OfferStatus, OutputTraining, RoyaltyPolicy, ThresholdEffect, ThresholdMetric } from './licensing.enums';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const NO_CONTROL = /^[^\u0000-\u0008\u000b-\u001f\u007f]*$/;

/** A decimal string holding an integer in [min, 2^63-1]. */
function IsIntegerString(min: bigint, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isIntegerString',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (v: unknown) => decimalIntegerProblem(v, min) === null,
        defaultMessage: (args?: ValidationArguments) => `${args?.property} ${decimalIntegerProblem(args?.value, min)}`,
      },
    });
}

function IsHttpsUrl(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isHttpsUrl',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be an absolute https:// URL', ...options },
      validator: { validate: (v: unknown) => isHttpsUrl(v) },
    });
}

@InputType()
export class LicenseAttributionInput {
  @Field(() => String, { description: 'e.g. "Built with Llama"' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty({ message: 'displayString must not be empty' })
  @MaxLength(200)
  @Matches(NO_CONTROL, { message: 'displayString must not contain control characters' })
  displayString: string;

  @Field(() => [AttributionPlacement], { nullable: true, description: 'Where the string must appear (a set: order is ignored)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsEnum(AttributionPlacement, { each: true })
  placements?: AttributionPlacement[] | null;

  @Field(() => String, { nullable: true, description: 'Text of the NOTICE file to ship with derived models' })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  noticeText?: string | null;
}

@InputType()
export class LicenseNamingInput {
  @Field(() => NamingRule)
  @IsEnum(NamingRule)
  rule: NamingRule;

  @Field(() => String, { nullable: true, description: 'Required unless rule is NONE (e.g. "Llama")' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(100)
  @Matches(NO_CONTROL, { message: 'token must not contain control characters' })
  token?: string | null;
}

@InputType()
export class LicenseInheritanceInput {
  @Field(() => Boolean, { description: 'Derived models must ship a copy of this licence' })
  @IsBoolean()
  copyLicence: boolean;

  @Field(() => Boolean, { description: 'Use restrictions (AUP) flow down to derived models and their users' })
  @IsBoolean()
  useRestrictionsFlowDown: boolean;

  @Field(() => Boolean, { description: 'Derived models must be licensed under the same terms (copyleft-like)' })
  @IsBoolean()
  reciprocal: boolean;
}

@InputType()
export class LicenseThresholdInput {
  @Field(() => ThresholdMetric)
  @IsEnum(ThresholdMetric)
  metric: ThresholdMetric;

  @Field(() => String, { description: 'Positive integer as a decimal string (users, or minor units for revenue)' })
  @IsIntegerString(1n)
  value: string;

  @Field(() => ThresholdEffect)
  @IsEnum(ThresholdEffect)
  effect: ThresholdEffect;
}

@InputType()
export class LicenseTerritoryInput {
  @Field(() => [String], { nullable: true, description: 'ISO 3166-1 alpha-2 codes, upper-case (a set: order is ignored)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_EXCLUDED_COUNTRIES)
  @IsCountryCode({ each: true })
  excludedCountries?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: 'End users in excluded countries are not restricted (only the licensee is)' })
  @IsOptional()
  @IsBoolean()
  endUsersExempt?: boolean | null;
}

@InputType()
export class LicenseRoyaltyInput {
  @Field(() => RoyaltyPolicy)
  @IsEnum(RoyaltyPolicy)
  policy: RoyaltyPolicy;

  @Field(() => Int, { description: 'Basis points of downstream revenue, 0..10000' })
  @IsInt()
  @Min(0, { message: 'shareBps must be between 0 and 10000' })
  @Max(MAX_SHARE_BPS, { message: 'shareBps must be between 0 and 10000' })
  shareBps: number;
}

@InputType()
export class LicenseLimitsInput {
  @Field(() => String, { nullable: true, description: 'Tokens per billing period (decimal string); null = unlimited' })
  @IsOptional()
  @IsIntegerString(1n)
  tokensPerPeriod?: string | null;

  @Field(() => String, { nullable: true, description: 'Tokens per minute (decimal string), at most tokensPerPeriod; null = unlimited' })
  @IsOptional()
  @IsIntegerString(1n)
  tokensPerMinute?: string | null;
}

@InputType()
export class LicenseTermsInput {
  @Field(() => OutputTraining)
  @IsEnum(OutputTraining)
  outputTraining: OutputTraining;

  @Field(() => Boolean, { description: 'The licence treats a distilled model as a derivative work' })
  @IsBoolean()
  distillationIsDerivative: boolean;

  @Field(() => Boolean)
  @IsBoolean()
  commercialUse: boolean;

  @Field(() => Boolean, { description: 'Research use only (incompatible with commercialUse)' })
  @IsBoolean()
  researchOnly: boolean;

  @Field(() => LicenseAttributionInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => LicenseAttributionInput)
  attribution?: LicenseAttributionInput | null;

  @Field(() => LicenseNamingInput, { nullable: true, description: 'Absent = rule NONE' })
  @IsOptional()
  @ValidateNested()
  @Type(() => LicenseNamingInput)
  naming?: LicenseNamingInput | null;

  @Field(() => LicenseInheritanceInput)
  @ValidateNested()
  @Type(() => LicenseInheritanceInput)
  inheritance: LicenseInheritanceInput;

  @Field(() => [LicenseThresholdInput], { nullable: true, description: 'A set: order is ignored' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_THRESHOLDS)
  @ValidateNested({ each: true })
  @Type(() => LicenseThresholdInput)
  thresholds?: LicenseThresholdInput[] | null;

  @Field(() => LicenseTerritoryInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => LicenseTerritoryInput)
  territory?: LicenseTerritoryInput | null;

  @Field(() => String, { nullable: true, description: 'https URL of the acceptable-use policy' })
  @IsOptional()
  @Transform(trim)
  @IsHttpsUrl()
  @MaxLength(2000)
  acceptableUsePolicyUrl?: string | null;

  @Field(() => Int, { nullable: true, description: 'Length of an agreement in days; null = no end' })
  @IsOptional()
  @IsInt()
  @Min(1, { message: 'termDays must be a positive number of days' })
  @Max(MAX_TERM_DAYS)
  termDays?: number | null;

  @Field(() => String, { nullable: true, description: 'Jurisdiction whose law governs, e.g. "California, USA"' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(200)
  @Matches(NO_CONTROL, { message: 'governingLaw must not contain control characters' })
  governingLaw?: string | null;

  @Field(() => LicenseRoyaltyInput)
  @ValidateNested()
  @Type(() => LicenseRoyaltyInput)
  royalty: LicenseRoyaltyInput;

  @Field(() => LicenseLimitsInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => LicenseLimitsInput)
  limits?: LicenseLimitsInput | null;

  @Field(() => Boolean)
  @IsBoolean()
  watermarkRequired: boolean;
}

@InputType()
export class LicensePricingInput {
  @Field(() => String, { description: 'ISO 4217, upper-case' })
  @IsCurrencyCode()
  currency: string;

  @Field(() => String, { description: 'Charged on acceptance; integer minor units as a decimal string' })
  @IsIntegerString(0n)
  upfrontFeeMinor: string;

  @Field(() => String, { description: 'Per million input tokens; integer minor units as a decimal string' })
  @IsIntegerString(0n)
  inputPerMillionMinor: string;

  @Field(() => String, { description: 'Per million output tokens; integer minor units as a decimal string' })
  @IsIntegerString(0n)
  outputPerMillionMinor: string;

  @Field(() => String, { description: 'Minimum billed per period; integer minor units as a decimal string' })
  @IsIntegerString(0n)
  minimumCommitmentMinor: string;

  @Field(() => Boolean, { description: 'The model takes part in the pool (subscription) plan' })
  @IsBoolean()
  poolEligible: boolean;
}

@InputType()
export class PublishLicenseOfferInput {
  @Field(() => ID)
  @IsUuid()
  modelId: string;

  @Field(() => String, { description: 'Offer name; publishing again under the same name creates the next version' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty({ message: 'name must not be empty' })
  @MaxLength(100)
  @Matches(NO_CONTROL, { message: 'name must not contain control characters' })
  name: string;

  @Field(() => LicenseTermsInput)
  @ValidateNested()
  @Type(() => LicenseTermsInput)
  terms: LicenseTermsInput;

  @Field(() => LicensePricingInput)
  @ValidateNested()
  @Type(() => LicensePricingInput)
  pricing: LicensePricingInput;
}

@ArgsType()
export class LicenseOffersArgs {
  @Field(() => ID)
  @IsUuid()
  modelId: string;

  @Field(() => OfferStatus, { nullable: true, description: 'Vendor members only; others always get ACTIVE offers' })
  @IsOptional()
  @IsEnum(OfferStatus)
  status?: OfferStatus | null;
}
