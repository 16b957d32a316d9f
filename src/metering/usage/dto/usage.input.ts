import { ArgsType, Field, ID, Int, registerEnumType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { MAX_PAGE_SIZE } from '../../../platform/graphql/limits';
import { IsDate, IsEnum, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { IsUuid } from '../../../platform/validation/uuid';

export enum UsageGranularity {
  HOUR = 'HOUR',
  DAY = 'DAY',
}
registerEnumType(UsageGranularity, { name: 'UsageGranularity', description: 'Bucket size of a usage summary (UTC).' });

export const USAGE_EVENTS_DEFAULT_PAGE = 50;
/** The platform's page-size cap, which the GraphQL cost estimate assumes. */
export const USAGE_EVENTS_MAX_PAGE = MAX_PAGE_SIZE;

@ArgsType()
export class UsageSummaryArgs {
  @Field(() => ID)
  @IsUuid()
  agreementId: string;

  @Field(() => Date, { description: 'Start of the range, aligned down to the bucket (UTC); inclusive.' })
  @IsDate({ message: 'from must be a date-time' })
  from: Date;

  @Field(() => Date, {
    description: 'End of the range, aligned down to the bucket (UTC); exclusive. At most 93 days after `from` for HOUR, 400 days for DAY.',
  })
  @IsDate({ message: 'to must be a date-time' })
  to: Date;

  @Field(() => UsageGranularity)
  @IsEnum(UsageGranularity)
  granularity: UsageGranularity;
}

@ArgsType()
export class UsageEventsArgs {
  @Field(() => ID)
  @IsUuid()
  agreementId: string;

  @Field(() => Int, {
    nullable: true,
    defaultValue: USAGE_EVENTS_DEFAULT_PAGE,
    description: `Page size, 1–${USAGE_EVENTS_MAX_PAGE} (default ${USAGE_EVENTS_DEFAULT_PAGE}).`,
  })
  @Transform(({ value }: { value: unknown }) => value ?? USAGE_EVENTS_DEFAULT_PAGE)
  @IsInt()
  @Min(1, { message: 'first must be at least 1' })
  @Max(USAGE_EVENTS_MAX_PAGE, { message: `first must be at most ${USAGE_EVENTS_MAX_PAGE}` })
  first: number = USAGE_EVENTS_DEFAULT_PAGE;

  @Field(() => String, { nullable: true, description: 'The `endCursor` of the previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(400, { message: 'invalid cursor' })
  after?: string | null;
}
