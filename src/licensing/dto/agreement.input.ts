import { ArgsType, Field, ID, InputType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEnum, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsUuid } from '../../platform/validation/uuid';
import { PageArgs } from '../../platform/graphql/pagination';
import { AgreementRole, AgreementStatus } from './licensing.enums';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

@InputType()
export class AcceptLicenseOfferInput {
  @Field(() => ID)
  @IsUuid()
  offerId: string;

  @Field(() => ID, { description: 'The distiller organization (the caller needs write access to it)' })
  @IsUuid()
  organizationId: string;

  @Field(() => String, { description: 'The termsHash the caller reviewed; a different current hash answers TermsChangedError' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value))
  @Matches(/^[0-9a-f]{64}$/, { message: 'acceptedTermsHash must be a SHA-256 hex digest (64 hex characters)' })
  acceptedTermsHash: string;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: "true: a pool agreement under the organization's ACTIVE pool subscription in the offer's currency (the offer must be pool-eligible): no upfront fee, no per-token charge; the plan's shared allowance applies",
  })
  @IsOptional()
  @IsBoolean()
  viaPool?: boolean;
}

@InputType()
export class AgreementStatusChangeInput {
  @Field(() => ID)
  @IsUuid()
  id: string;

  @Field(() => String, { description: '1..1000 characters; recorded on the agreement and in the audit log' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty({ message: 'reason must not be empty' })
  @MaxLength(1000, { message: 'reason must be at most 1000 characters' })
  reason: string;
}

@ArgsType()
export class AgreementsArgs extends PageArgs {
  @Field(() => ID)
  @IsUuid()
  organizationId: string;

  @Field(() => AgreementRole, { description: 'DISTILLER: agreements the organization accepted; VENDOR: agreements on its models' })
  @IsEnum(AgreementRole)
  role: AgreementRole;

  @Field(() => AgreementStatus, { nullable: true, description: 'Effective status (EXPIRED includes live agreements past endsAt)' })
  @IsOptional()
  @IsEnum(AgreementStatus)
  status?: AgreementStatus | null;
}
