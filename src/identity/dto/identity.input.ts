import { Field, ID, InputType, registerEnumType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsEmail,
  IsEnum,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { IsUuid } from '../../platform/validation/uuid';
import { ApiKeyScope } from '../../platform/auth/principal';
import { IsCountryCode } from '../../platform/validation/iso-codes';
import { MembershipRole } from '../identity.entity';

registerEnumType(ApiKeyScope, { name: 'ApiKeyScope' });

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

@InputType()
export class SignUpInput {
  @Field(() => String)
  @Transform(trim)
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email: string;

  @Field(() => String, { description: 'At least 12 characters' })
  @IsString()
  @MinLength(12, { message: 'password must be at least 12 characters' })
  @MaxLength(256)
  password: string;

  @Field(() => String)
  @Transform(trim)
  @IsString()
  @MinLength(1, { message: 'organizationName must not be empty' })
  @MaxLength(200)
  organizationName: string;

  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2 country of the organization' })
  @IsOptional()
  @IsCountryCode()
  country?: string;
}

@InputType()
export class LogInInput {
  @Field(() => String)
  @Transform(trim)
  @IsString()
  @MaxLength(254)
  email: string;

  @Field(() => String)
  @IsString()
  @MaxLength(256)
  password: string;
}

@InputType()
export class CreateOrganizationInput {
  @Field(() => String)
  @Transform(trim)
  @IsString()
  @MinLength(1, { message: 'name must not be empty' })
  @MaxLength(200)
  name: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsCountryCode()
  country?: string;
}

@InputType()
export class CreateApiKeyInput {
  @Field(() => ID)
  @IsUuid()
  organizationId: string;

  @Field(() => String)
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  @Matches(/^[^\u0000-\u001f]*$/, { message: 'name must not contain control characters' })
  name: string;

  @Field(() => [ApiKeyScope])
  @ArrayMinSize(1, { message: 'scopes must name at least one scope' })
  @ArrayMaxSize(4)
  @ArrayUnique()
  @IsEnum(ApiKeyScope, { each: true })
  scopes: ApiKeyScope[];

  @Field(() => ID, { nullable: true, description: 'Required for GATEWAY keys: the agreement the key distils under' })
  @IsOptional()
  @IsUuid()
  agreementId?: string;
}

@InputType()
export class AddOrganizationMemberInput {
  @Field(() => ID)
  @IsUuid()
  organizationId: string;

  @Field(() => String, { description: 'Email of an existing user' })
  @Transform(trim)
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email: string;

  @Field(() => MembershipRole, { defaultValue: MembershipRole.MEMBER })
  @IsEnum(MembershipRole)
  role: MembershipRole = MembershipRole.MEMBER;
}

/** A member of an organization (shared by the member mutations' inputs). */
@InputType({ isAbstract: true })
abstract class MemberRefInput {
  @Field(() => ID)
  @IsUuid()
  organizationId: string;

  @Field(() => ID)
  @IsUuid()
  userId: string;
}

@InputType()
export class ChangeMemberRoleInput extends MemberRefInput {
  @Field(() => MembershipRole)
  @IsEnum(MembershipRole)
  role: MembershipRole;
}

@InputType()
export class RemoveOrganizationMemberInput extends MemberRefInput {}

@InputType()
export class UpdateOrganizationInput {
  @Field(() => ID)
  @IsUuid()
  id: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MinLength(1, { message: 'name must not be empty' })
  @MaxLength(200)
  name?: string;

  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2; licence territory rules check it' })
  @IsOptional()
  @IsCountryCode()
  country?: string;
}
