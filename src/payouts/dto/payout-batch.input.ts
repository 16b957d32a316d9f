import { ArgsType, Field, ID, InputType } from '@nestjs/graphql';
import { IsEnum, IsOptional, IsString, Matches } from 'class-validator';
import { PageArgs } from '../../platform/graphql/pagination';
import { IsUuid } from '../../platform/validation/uuid';
import { PayoutBatchStatusEnum } from './payout-batch.output';

const CURRENCY = /^[A-Z]{3}$/;
const CURRENCY_MESSAGE = 'currency must be an ISO 4217 code, upper-case';

@InputType()
export class CreatePayoutBatchInput {
  @Field(() => String, { description: 'ISO 4217 code, upper-case; must be listed in PAYOUT_MINIMUMS.' })
  @IsString()
  @Matches(CURRENCY, { message: CURRENCY_MESSAGE })
  currency: string;
}

@ArgsType()
export class PayoutBatchesArgs extends PageArgs {
  @Field(() => PayoutBatchStatusEnum, { nullable: true })
  @IsOptional()
  @IsEnum(PayoutBatchStatusEnum)
  status?: PayoutBatchStatusEnum | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Matches(CURRENCY, { message: CURRENCY_MESSAGE })
  currency?: string | null;
}

@ArgsType()
export class OrganizationPayoutsArgs extends PageArgs {
  @Field(() => ID, { description: 'The vendor organization.' })
  @IsUuid()
  organizationId: string;
}
