import { createUnionType, Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ApiKeyScope } from '../../platform/auth/principal';
import { BusinessError } from '../../platform/errors/business-error.type';
import { MembershipRole } from '../identity.entity';

registerEnumType(MembershipRole, { name: 'MembershipRole' });

@ObjectType('Organization')
export class OrganizationOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  name: string;

  @Field(() => String, { nullable: true })
  country: string | null;
}

@ObjectType('OrganizationMembership')
export class MembershipOutput {
  @Field(() => OrganizationOutput)
  organization: OrganizationOutput;

  @Field(() => MembershipRole)
  role: MembershipRole;
}

@ObjectType('User')
export class UserOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  email: string;

  @Field(() => Boolean, { description: 'Platform admin' })
  isAdmin: boolean;

  @Field(() => Date)
  createdAt: Date;
}

@ObjectType('Me')
export class MeOutput extends UserOutput {
  @Field(() => [MembershipOutput])
  memberships: MembershipOutput[];
}

@ObjectType('AuthPayload')
export class AuthPayload {
  @Field(() => String, { description: 'Send as `Authorization: Bearer <accessToken>`' })
  accessToken: string;

  @Field(() => Date)
  expiresAt: Date;

  @Field(() => UserOutput)
  user: UserOutput;

  @Field(() => [MembershipOutput], { description: "The user's organizations and roles (their ids are needed by most operations)" })
  memberships: MembershipOutput[];
}

@ObjectType({ implements: () => [BusinessError] })
export class InvalidCredentialsError implements BusinessError {
  @Field(() => String)
  code = 'INVALID_CREDENTIALS';

  @Field(() => String)
  message = 'Invalid email or password';
}

@ObjectType({ implements: () => [BusinessError] })
export class TooManyAttemptsError implements BusinessError {
  @Field(() => String)
  code = 'TOO_MANY_ATTEMPTS';

  @Field(() => String)
  message: string;

  @Field(() => Int)
  retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    this.retryAfterSeconds = retryAfterSeconds;
    this.message = `Too many failed log-ins; try again in ${retryAfterSeconds} s`;
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class EmailAlreadyRegisteredError implements BusinessError {
  @Field(() => String)
  code = 'EMAIL_ALREADY_REGISTERED';

  @Field(() => String)
  message = 'An account with this email already exists; log in instead';
}

export const LogInResult = createUnionType({
  name: 'LogInResult',
  types: () => [AuthPayload, InvalidCredentialsError, TooManyAttemptsError] as const,
});

export const SignUpResult = createUnionType({
  name: 'SignUpResult',
  types: () => [AuthPayload, EmailAlreadyRegisteredError] as const,
});

@ObjectType('ApiKey')
export class ApiKeyOutput {
  @Field(() => ID)
  id: string;

  @Field(() => ID)
  organizationId: string;

  @Field(() => String)
  name: string;

  @Field(() => String, { description: 'Identifies the key; the secret is never shown again' })
  prefix: string;

  @Field(() => [ApiKeyScope])
  scopes: ApiKeyScope[];

  @Field(() => ID, { nullable: true })
  agreementId: string | null;

  @Field(() => Date)
  createdAt: Date;

  @Field(() => Date, { nullable: true })
  lastUsedAt: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt: Date | null;
}

@ObjectType('CreatedApiKey')
export class CreatedApiKeyOutput {
  @Field(() => ApiKeyOutput)
  apiKey: ApiKeyOutput;

  @Field(() => String, { description: 'The full key. Shown once: store it now.' })
  secret: string;
}

@ObjectType('OrganizationMember')
export class OrganizationMemberOutput {
  @Field(() => UserOutput)
  user: UserOutput;

  @Field(() => MembershipRole)
  role: MembershipRole;

  @Field(() => Date, { description: 'Member since' })
  since: Date;
}

@ObjectType({ implements: () => [BusinessError] })
export class AlreadyMemberError implements BusinessError {
  @Field(() => String)
  code = 'ALREADY_MEMBER';

  @Field(() => String)
  message = 'This user is already a member of the organization; use changeMemberRole to change the role';
}

export const AddOrganizationMemberResult = createUnionType({
  name: 'AddOrganizationMemberResult',
  types: () => [OrganizationMemberOutput, AlreadyMemberError] as const,
  resolveType: (value: object) => (value instanceof AlreadyMemberError ? AlreadyMemberError : OrganizationMemberOutput),
});
