import { ArgsType, Field } from '@nestjs/graphql';
import { IsString, Matches } from 'class-validator';
import { PageArgs } from '../../platform/graphql/pagination';

@ArgsType()
export class EarningsBalancesArgs extends PageArgs {
  @Field(() => String, { description: 'ISO 4217 code, upper-case, e.g. "USD".' })
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code, upper-case' })
  currency: string;
}
