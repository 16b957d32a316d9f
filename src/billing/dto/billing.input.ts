import { ArgsType, Field, ID, InputType, Int } from '@nestjs/graphql';
import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';
import { IsUuid } from '../../platform/validation/uuid';
import { PageArgs } from '../../platform/graphql/pagination';
import { InvoiceKind, InvoiceStatus } from './billing.enums';

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

@InputType()
export class InvoiceFilterInput {
  @Field(() => InvoiceStatus, { nullable: true })
  @IsOptional()
  @IsEnum(InvoiceStatus)
  status?: InvoiceStatus | null;

  @Field(() => InvoiceKind, { nullable: true })
  @IsOptional()
  @IsEnum(InvoiceKind)
  kind?: InvoiceKind | null;

  @Field(() => String, { nullable: true, description: 'YYYY-MM (PERIOD invoices of that month)' })
  @IsOptional()
  @IsString()
  @Matches(PERIOD, { message: 'period must be a month as YYYY-MM, e.g. 2026-10' })
  period?: string | null;
}

@ArgsType()
export class InvoicesArgs extends PageArgs {
  @Field(() => ID, { description: 'The distiller organization' })
  @IsUuid()
  organizationId: string;

  @Field(() => InvoiceFilterInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => InvoiceFilterInput)
  filter?: InvoiceFilterInput | null;
}

@ArgsType()
export class InvoiceLinesArgs extends PageArgs {}

@ArgsType()
export class SetVendorFeeOverrideArgs {
  @Field(() => ID)
  @IsUuid()
  vendorOrganizationId: string;

  @Field(() => Int, { nullable: true, description: 'Basis points 0–10000 (1500 = 15 %); null clears the override' })
  @IsOptional()
  @IsInt()
  @Min(0, { message: 'feeBps must be at least 0' })
  @Max(10_000, { message: 'feeBps must be at most 10000' })
  feeBps?: number | null;
}
