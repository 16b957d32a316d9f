import { Field, ID, InputType, Int, registerEnumType } from '@nestjs/graphql';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsBoolean, IsEnum, IsInt, IsOptional, Matches, Max, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';
import { IsUuid } from '../../../platform/validation/uuid';
import { ModelCardInput } from '../../../catalog/dto/model.input';
import { DistillationMethod, LineageRelation } from '../../provenance.entity';

registerEnumType(LineageRelation, {
  name: 'LineageRelation',
  description: 'How a model derives from a parent. DISTILLED — trained on the parent\'s outputs (logits, sequences or synthetic data); the others as on Hugging Face.',
});
registerEnumType(DistillationMethod, { name: 'DistillationMethod', description: 'What of the teacher a DISTILLED student learned from.' });

/** The most parents one model may declare. */
export const MAX_PARENTS = 16;
/** The most ancestors a model's lineage may reach. */
export const MAX_ANCESTORS = 1024;
export const WEIGHTS_DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|blake3:[0-9a-f]{64})$/;

@InputType()
export class LineageEdgeInput {
  @Field(() => ID, { description: 'The model this one derives from.' })
  @IsUuid()
  parentModelId: string;

  @Field(() => ID, { description: "The registering organization's agreement on that parent model (ACTIVE, or EXPIRED after its term)." })
  @IsUuid()
  agreementId: string;

  @Field(() => LineageRelation)
  @IsEnum(LineageRelation)
  relation: LineageRelation;

  @Field(() => DistillationMethod, { nullable: true, description: 'Required for DISTILLED, absent otherwise.' })
  @IsOptional()
  @IsEnum(DistillationMethod)
  method?: DistillationMethod | null;

  @Field(() => Int, { nullable: true, description: "Share of the student's training data that came from this parent, in basis points (informational)." })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10_000)
  dataShareBps?: number | null;
}

@InputType()
export class RegisterStudentModelInput {
  @Field(() => ID)
  @IsUuid()
  organizationId: string;

  @Field(() => String)
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'slug must be 1-63 lowercase letters, digits or hyphens, starting with a letter or digit' })
  slug: string;

  @Field(() => String)
  @MinLength(1)
  @MaxLength(200)
  name: string;

  @Field(() => ModelCardInput)
  @ValidateNested()
  @Type(() => ModelCardInput)
  card: ModelCardInput;

  @Field(() => String, { description: 'Digest of the released weights: `sha256:<64 hex>` (or sha512 / blake3). Unique across the platform.' })
  @Matches(WEIGHTS_DIGEST, { message: 'weightsDigest must look like sha256:<64 lowercase hex> (or sha512:<128 hex>, blake3:<64 hex>)' })
  weightsDigest: string;

  @Field(() => Boolean, { defaultValue: true, description: 'Whether the model is for commercial use (checked against every parent licence).' })
  @IsBoolean()
  commercialUse: boolean = true;

  @Field(() => [LineageEdgeInput])
  @ArrayMinSize(1, { message: 'a student declares at least one parent' })
  @ArrayMaxSize(MAX_PARENTS * 4, { message: 'lineage lists too many parents' })
  @ValidateNested({ each: true })
  @Type(() => LineageEdgeInput)
  lineage: LineageEdgeInput[];
}

@InputType()
export class DeclareLineageInput {
  @Field(() => ID, { description: 'An existing model of your organization (e.g. a teacher that was itself distilled).' })
  @IsUuid()
  modelId: string;

  @Field(() => [LineageEdgeInput])
  @ArrayMinSize(1, { message: 'declare at least one parent' })
  @ArrayMaxSize(MAX_PARENTS * 4, { message: 'lineage lists too many parents' })
  @ValidateNested({ each: true })
  @Type(() => LineageEdgeInput)
  lineage: LineageEdgeInput[];
}
