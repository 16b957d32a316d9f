import { ArgsType, Field, Float, ID, InputType, Int } from '@nestjs/graphql';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsBoolean,
  IsEnum,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsUuid } from '../../platform/validation/uuid';
import { PageArgs } from '../../platform/graphql/pagination';
import { IsNonNegativeBigIntString, IsPositiveBigIntString } from '../catalog.validation';
import { Modality } from './model.output';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const trimEach = ({ value }: { value: unknown }) =>
  Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v.trim() : v)) : value;

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** BCP-47-ish: a 2–3 letter language, then subtags of 2–8 letters/digits (en, en-US, zh-Hans-CN, es-419). */
export const LANGUAGE_TAG_PATTERN = /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,3}$/;

@InputType()
export class ModelEvaluationInput {
  @Field(() => String, { description: 'Benchmark name, e.g. MMLU (1–200 characters).' })
  @Transform(trim)
  @IsString()
  @Length(1, 200, { message: 'benchmark must be 1 to 200 characters' })
  benchmark: string;

  @Field(() => String, { description: 'Metric, e.g. accuracy (1–100 characters).' })
  @Transform(trim)
  @IsString()
  @Length(1, 100, { message: 'metric must be 1 to 100 characters' })
  metric: string;

  @Field(() => Float, { description: 'A finite number.' })
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'value must be a finite number' })
  value: number;
}

@InputType({ description: 'A model card. On update the card is replaced as a whole.' })
export class ModelCardInput {
  @Field(() => String, { description: '1–5,000 characters; searched by `catalog(filter: {search})`.' })
  @Transform(trim)
  @IsString()
  @Length(1, 5000, { message: 'summary must be 1 to 5000 characters' })
  summary: string;

  @Field(() => String, {
    nullable: true,
    description: 'Number of parameters as a positive integer in decimal (a string: it may exceed 2^53), e.g. "7000000000".',
  })
  @IsOptional()
  @IsPositiveBigIntString()
  parameterCount?: string | null;

  @Field(() => [Modality], { description: '1–6 distinct modalities.' })
  @IsEnum(Modality, { each: true })
  @ArrayMinSize(1, { message: 'modalities must name at least one modality' })
  @ArrayMaxSize(6)
  @ArrayUnique({ message: 'modalities must not repeat' })
  modalities: Modality[];

  @Field(() => Int, { nullable: true, description: 'Context window in tokens (a positive integer).' })
  @IsOptional()
  @IsInt({ message: 'contextLength must be an integer' })
  @Min(1, { message: 'contextLength must be positive' })
  contextLength?: number | null;

  @Field(() => [String], { nullable: true, description: 'Up to 100 distinct BCP-47 language tags (en, en-US, zh-Hans).' })
  @IsOptional()
  @ArrayMaxSize(100)
  @ArrayUnique({ message: 'languages must not repeat' })
  @Transform(trimEach)
  @Matches(LANGUAGE_TAG_PATTERN, { each: true, message: 'languages must be BCP-47 language tags such as en or en-US' })
  languages?: string[] | null;

  @Field(() => String, { nullable: true, description: 'Up to 5,000 characters.' })
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  trainingDataSummary?: string | null;

  @Field(() => [ModelEvaluationInput], { nullable: true, description: 'Up to 100 evaluation results.' })
  @IsOptional()
  @ArrayMaxSize(100, { message: 'evaluations must hold at most 100 results' })
  @ValidateNested({ each: true })
  @Type(() => ModelEvaluationInput)
  evaluations?: ModelEvaluationInput[] | null;

  @Field(() => [String], { nullable: true, description: 'Up to 50 entries of 1–1,000 characters.' })
  @IsOptional()
  @ArrayMaxSize(50)
  @Transform(trimEach)
  @IsString({ each: true })
  @Length(1, 1000, { each: true, message: 'each intended use must be 1 to 1000 characters' })
  intendedUses?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Up to 50 entries of 1–1,000 characters.' })
  @IsOptional()
  @ArrayMaxSize(50)
  @Transform(trimEach)
  @IsString({ each: true })
  @Length(1, 1000, { each: true, message: 'each limitation must be 1 to 1000 characters' })
  limitations?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Up to 20 names of models this one derives from (1–200 characters each).' })
  @IsOptional()
  @ArrayMaxSize(20)
  @Transform(trimEach)
  @IsString({ each: true })
  @Length(1, 200, { each: true, message: 'each base model must be 1 to 200 characters' })
  baseModels?: string[] | null;
}

@InputType()
export class CreateTeacherModelInput {
  @Field(() => ID, { description: 'The vendor organization (the caller needs write access).' })
  @IsUuid()
  organizationId: string;

  @Field(() => String, {
    description: 'URL-safe identifier, unique within the organization: ^[a-z0-9][a-z0-9-]{0,62}$. Immutable once created.',
  })
  @IsString()
  @Matches(SLUG_PATTERN, { message: 'slug must be 1 to 63 lower-case letters, digits or hyphens, not starting with a hyphen' })
  slug: string;

  @Field(() => String, { description: '1–200 characters.' })
  @Transform(trim)
  @IsString()
  @Length(1, 200, { message: 'name must be 1 to 200 characters' })
  name: string;

  @Field(() => ModelCardInput)
  @ValidateNested()
  @Type(() => ModelCardInput)
  card: ModelCardInput;
}

@InputType({ description: 'Omitted fields stay as they are. The slug cannot be changed.' })
export class UpdateTeacherModelInput {
  @Field(() => ID)
  @IsUuid()
  id: string;

  @Field(() => String, { nullable: true, description: '1–200 characters.' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 200, { message: 'name must be 1 to 200 characters' })
  name?: string | null;

  @Field(() => ModelCardInput, { nullable: true, description: 'Replaces the whole card.' })
  @IsOptional()
  @ValidateNested()
  @Type(() => ModelCardInput)
  card?: ModelCardInput | null;
}

@ArgsType()
export class ModelIdArgs {
  @Field(() => ID)
  @IsUuid()
  id: string;
}

@ArgsType()
export class OrganizationIdArgs {
  @Field(() => ID)
  @IsUuid()
  organizationId: string;
}

@InputType()
export class CatalogFilterInput {
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the name or the card summary (≤ 200 characters).' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(200)
  search?: string | null;

  @Field(() => Modality, { nullable: true, description: 'Models whose modalities include this one.' })
  @IsOptional()
  @IsEnum(Modality)
  modality?: Modality | null;

  @Field(() => ID, { nullable: true, description: 'Models of this vendor organization.' })
  @IsOptional()
  @IsUuid()
  vendorId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'At least this many parameters (a non-negative integer in decimal). Models without a parameter count are excluded.',
  })
  @IsOptional()
  @IsNonNegativeBigIntString()
  minParameters?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'At most this many parameters (a non-negative integer in decimal). Models without a parameter count are excluded.',
  })
  @IsOptional()
  @IsNonNegativeBigIntString()
  maxParameters?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'true: models with an ACTIVE licence offer; false: models without one.' })
  @IsOptional()
  @IsBoolean()
  hasActiveOffer?: boolean | null;
}

@ArgsType()
export class CatalogArgs extends PageArgs {
  @Field(() => CatalogFilterInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => CatalogFilterInput)
  filter?: CatalogFilterInput | null;
}
