import { ArgsType, Field, ID } from '@nestjs/graphql';
import { IsString, Length } from 'class-validator';
import { IsUuid } from '../../../platform/validation/uuid';

@ArgsType()
export class UsageInclusionProofArgs {
  @Field(() => ID)
  @IsUuid()
  agreementId: string;

  @Field(() => String, { description: 'The closed billing period, YYYY-MM (UTC)' })
  @IsString()
  period: string;

  @Field(() => String, { description: "The usage event's id, as it was reported" })
  @IsString()
  @Length(1, 128, { message: 'eventId must be 1 to 128 characters' })
  eventId: string;
}
