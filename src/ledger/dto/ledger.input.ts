import { ArgsType, Field, InputType, Int } from '@nestjs/graphql';
import { Transform, Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { MAX_PAGE_SIZE } from '../../platform/graphql/limits';

export const LEDGER_DEFAULT_PAGE = 20;

@InputType()
export class LedgerTransactionFilter {
  @Field(() => String, { nullable: true, description: 'Only transactions with an entry on this account code (any currency), e.g. "platform:fees".' })
  @IsOptional()
  @IsString()
  @MaxLength(100, { message: 'accountCode is not a ledger account code' })
  accountCode?: string | null;

  @Field(() => String, { nullable: true, description: 'Only this kind, e.g. "INVOICE_PAID".' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Z][A-Z0-9_]{0,63}$/, { message: 'kind must be UPPER_SNAKE_CASE' })
  kind?: string | null;

  @Field(() => String, { nullable: true, description: 'Exactly this idempotency reference, e.g. "invoice:<id>:paid".' })
  @IsOptional()
  @IsString()
  @MaxLength(200, { message: 'reference must be at most 200 characters' })
  reference?: string | null;

  @Field(() => Date, { nullable: true, description: 'occurredAt ≥ from (inclusive).' })
  @IsOptional()
  @IsDate({ message: 'from must be a date-time' })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'occurredAt < to (exclusive).' })
  @IsOptional()
  @IsDate({ message: 'to must be a date-time' })
  to?: Date | null;
}

@ArgsType()
export class LedgerPageArgs {
  @Field(() => Int, { nullable: true, defaultValue: LEDGER_DEFAULT_PAGE, description: `Page size, 1–${MAX_PAGE_SIZE} (default ${LEDGER_DEFAULT_PAGE}).` })
  @Transform(({ value }: { value: unknown }) => value ?? LEDGER_DEFAULT_PAGE)
  @IsInt()
  @Min(1, { message: 'first must be at least 1' })
  @Max(MAX_PAGE_SIZE, { message: `first must be at most ${MAX_PAGE_SIZE}` })
  first: number = LEDGER_DEFAULT_PAGE;

  @Field(() => String, { nullable: true, description: 'The `endCursor` of the previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(200, { message: 'after is not a valid cursor (use pageInfo.endCursor)' })
  after?: string | null;
}

@ArgsType()
export class LedgerTransactionsArgs extends LedgerPageArgs {
  @Field(() => LedgerTransactionFilter, { nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => LedgerTransactionFilter)
  filter?: LedgerTransactionFilter | null;
}

@ArgsType()
export class LedgerAccountEntriesArgs extends LedgerPageArgs {
  @Field(() => String, { nullable: true, description: 'Only entries in this currency.' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code, upper-case' })
  currency?: string | null;
}
