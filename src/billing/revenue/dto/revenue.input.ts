import { ArgsType, Field, ID, InputType } from '@nestjs/graphql';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { PageArgs } from '../../../platform/graphql/pagination';
import { IsUuid } from '../../../platform/validation/uuid';

@InputType({ description: 'Revenue a student model earned outside the platform in one month (checked field by field; all problems reported at once).' })
export class ReportModelRevenueInput {
  @Field(() => ID, { description: 'The student model (owned by your organization)' })
  @IsString()
  @MaxLength(100)
  modelId: string;

  @Field(() => String, { description: 'The month earned, YYYY-MM (UTC), not in the future' })
  @IsString()
  @MaxLength(20)
  period: string;

  @Field(() => String, { description: 'Gross revenue in minor units of `currency`, a decimal integer string ≥ 0 ("125000" EUR = 1,250.00 EUR)' })
  @IsString()
  @MaxLength(40)
  grossMinor: string;

  @Field(() => String, { description: 'ISO 4217 code, upper-case' })
  @IsString()
  @MaxLength(10)
  currency: string;

  @Field(() => String, { nullable: true, description: 'https URL of the evidence (statement, dashboard export)' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  evidenceUrl?: string | null;

  @Field(() => String, { nullable: true, description: 'Monthly active users, a decimal integer string ≥ 0 (checked against MONTHLY_ACTIVE_USERS thresholds)' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  activeUsers?: string | null;
}

@ArgsType()
export class LicenseNoticesArgs extends PageArgs {
  @Field(() => ID, { nullable: true, description: 'The vendor organization; omit for every notice (platform admins)' })
  @IsOptional()
  @IsUuid()
  organizationId?: string | null;
}

@ArgsType()
export class MissingRevenueReportsArgs extends PageArgs {
  @Field(() => String, { description: 'A CLOSED billing month, YYYY-MM' })
  @IsString()
  @MaxLength(20)
  period: string;

  @Field(() => ID, { nullable: true, description: 'The distiller organization; omit for every organization (platform admins)' })
  @IsOptional()
  @IsUuid()
  organizationId?: string | null;
}
