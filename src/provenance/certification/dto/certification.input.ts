/**
 * What an admin certifies: evaluation evidence (scores as decimal strings,
 * never floats), a safety review and an expiry. Field-local rules are checked
 * here; the expiry window depends on the clock and is checked by the service.
 */
import { Field, ID, InputType } from '@nestjs/graphql';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDate,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { IsUuid } from '../../../platform/validation/uuid';
import { isHttpsUrl } from '../../../licensing/terms/terms.validation';
import { predicateDecorator } from '../../../platform/validation/decorator';

export const MAX_EVIDENCE = 50;
export const BENCHMARK_MAX_LENGTH = 200;
export const METRIC_MAX_LENGTH = 100;
export const VALUE_MAX_LENGTH = 40;
export const SUMMARY_MAX_LENGTH = 10_000;
export const REVIEWER_MAX_LENGTH = 200;
export const REPORT_URL_MAX_LENGTH = 2048;
export const REASON_MAX_LENGTH = 2000;

/** A decimal number written out: optional minus, digits, optional fraction. No exponent, no "+", no ".5". */
export const DECIMAL = /^-?\d+(\.\d+)?$/;
export const DATASET_DIGEST = /^sha256:[0-9a-f]{64}$/;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const NO_CONTROL = /^[^\u0000-\u0008\u000b-\u001f\u007f]*$/;
const IsHttpsUrl = predicateDecorator('isHttpsUrl', isHttpsUrl, 'an absolute https:// URL');

@InputType()
export class CertificationEvidenceInput {
  @Field(() => String, { description: 'The benchmark, e.g. "MMLU" (1–200 characters).' })
  @Transform(trim)
  @IsString()
  @Length(1, BENCHMARK_MAX_LENGTH, { message: `benchmark must be 1 to ${BENCHMARK_MAX_LENGTH} characters` })
  @Matches(NO_CONTROL, { message: 'benchmark must not contain control characters' })
  benchmark: string;

  @Field(() => String, { description: 'The metric, e.g. "accuracy" (1–100 characters).' })
  @Transform(trim)
  @IsString()
  @Length(1, METRIC_MAX_LENGTH, { message: `metric must be 1 to ${METRIC_MAX_LENGTH} characters` })
  @Matches(NO_CONTROL, { message: 'metric must not contain control characters' })
  metric: string;

  @Field(() => String, { description: 'The score as a decimal number in a string, e.g. "71.3" or "-0.25" (no exponent).' })
  @IsString()
  @MaxLength(VALUE_MAX_LENGTH, { message: `value must be at most ${VALUE_MAX_LENGTH} characters` })
  @Matches(DECIMAL, { message: 'value must be a decimal number such as "71.3" (digits, optional minus sign and fraction; no exponent)' })
  value: string;

  @Field(() => String, { description: 'Digest of the evaluation dataset: `sha256:` followed by 64 lower-case hex digits.' })
  @IsString()
  @Matches(DATASET_DIGEST, { message: 'datasetDigest must be sha256: followed by 64 lower-case hex digits' })
  datasetDigest: string;
}

@InputType()
export class SafetyReviewInput {
  @Field(() => String, { description: 'What the review found (1–10,000 characters). Public.' })
  @Transform(trim)
  @IsString()
  @Length(1, SUMMARY_MAX_LENGTH, { message: `summary must be 1 to ${SUMMARY_MAX_LENGTH} characters` })
  summary: string;

  @Field(() => String, { description: 'Who reviewed (a person or a team, 1–200 characters).' })
  @Transform(trim)
  @IsString()
  @Length(1, REVIEWER_MAX_LENGTH, { message: `reviewer must be 1 to ${REVIEWER_MAX_LENGTH} characters` })
  @Matches(NO_CONTROL, { message: 'reviewer must not contain control characters' })
  reviewer: string;

  @Field(() => Boolean)
  @IsBoolean()
  passed: boolean;

  @Field(() => String, { nullable: true, description: 'https URL of the full report.' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(REPORT_URL_MAX_LENGTH, { message: `reportUrl must be at most ${REPORT_URL_MAX_LENGTH} characters` })
  @IsHttpsUrl()
  reportUrl?: string | null;
}

@InputType()
export class CertifyModelInput {
  @Field(() => ID, { description: 'Any model (teacher or student) of any organization.' })
  @IsUuid()
  modelId: string;

  @Field(() => [CertificationEvidenceInput], { description: `1 to ${MAX_EVIDENCE} evaluation results.` })
  @IsArray()
  @ArrayMinSize(1, { message: 'evidence must hold at least one evaluation result' })
  @ArrayMaxSize(MAX_EVIDENCE, { message: `evidence must hold at most ${MAX_EVIDENCE} evaluation results` })
  @ValidateNested({ each: true })
  @Type(() => CertificationEvidenceInput)
  evidence: CertificationEvidenceInput[];

  @Field(() => SafetyReviewInput)
  @ValidateNested()
  @Type(() => SafetyReviewInput)
  safetyReview: SafetyReviewInput;

  @Field(() => Date, { description: 'When the certification lapses: in the future, at most 3 years ahead.' })
  @IsDate({ message: 'expiresAt must be a date-time' })
  expiresAt: Date;
}

@InputType()
export class RevokeCertificationInput {
  @Field(() => ID, { description: 'The certification (as returned by certifyModel, or TeacherModel.certification.certificationId).' })
  @IsUuid()
  id: string;

  @Field(() => String, { description: 'Why (1–2,000 characters); kept with the certification and in the audit log, not shown publicly.' })
  @Transform(trim)
  @IsString()
  @Length(1, REASON_MAX_LENGTH, { message: `reason must be 1 to ${REASON_MAX_LENGTH} characters` })
  reason: string;
}
