import { Field, ID, InputType, registerEnumType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsBoolean, IsEnum, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsUuid } from '../../../platform/validation/uuid';
import { AnomalyKind } from '../anomaly-flag.kinds';

registerEnumType(AnomalyKind, {
  name: 'AnomalyKind',
  description: 'Why usage of an agreement was flagged for its vendor and platform admins',
  valuesMap: {
    BURST: { description: "A minute's tokens far above the agreement's per-minute average over the previous day" },
    USAGE_AFTER_SUSPENSION: { description: 'Usage attempted or reported while the agreement was suspended or had ended' },
    ESTIMATED_USAGE: { description: 'The upstream reported no token counts; usage was estimated' },
    QUOTA_OVERAGE: { description: 'Usage beyond the period quota (recorded and billed as overage)' },
  },
});

export const ACK_NOTE_MAX_LENGTH = 2000;

@InputType()
export class AnomalyFlagFilter {
  @Field(() => ID, { nullable: true, description: 'The vendor organization (read access). Required except for platform admins.' })
  @IsOptional()
  @IsUuid()
  organizationId?: string | null;

  @Field(() => ID, { nullable: true, description: "Only this agreement's flags (an agreement on the vendor's models)" })
  @IsOptional()
  @IsUuid()
  agreementId?: string | null;

  @Field(() => [AnomalyKind], { nullable: true, description: 'Only these kinds (default: all)' })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty({ message: 'kinds must not be empty (omit it for all kinds)' })
  @ArrayMaxSize(10)
  @IsEnum(AnomalyKind, { each: true })
  kinds?: AnomalyKind[] | null;

  @Field(() => Boolean, { nullable: true, description: 'true: acknowledged only; false: open only; omitted: both' })
  @IsOptional()
  @IsBoolean()
  acknowledged?: boolean | null;
}

@InputType()
export class AcknowledgeAnomalyFlagInput {
  @Field(() => ID)
  @IsUuid()
  id: string;

  @Field(() => String, { nullable: true, description: `What was done about it, at most ${ACK_NOTE_MAX_LENGTH} characters` })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @MaxLength(ACK_NOTE_MAX_LENGTH, { message: `note must be at most ${ACK_NOTE_MAX_LENGTH} characters` })
  note?: string | null;
}
