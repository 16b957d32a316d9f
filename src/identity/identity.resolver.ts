import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { isEmail } from 'class-validator';
import { AdminOnly, ClientIp, CurrentPrincipal, Public } from '../platform/auth/decorators';
import { Principal } from '../platform/auth/principal';
import { BadInputError, ForbiddenError } from '../platform/errors/app-error';
import { UuidPipe } from '../platform/errors/validation';
import { ApiKeyService } from './api-key.service';
import { AuthService, Session } from './auth.service';
import {
  AddOrganizationMemberInput,
  ChangeMemberRoleInput,
  CreateApiKeyInput,
  CreateOrganizationInput,
  LogInInput,
  RemoveOrganizationMemberInput,
  SignUpInput,
  UpdateOrganizationInput,
} from './dto/identity.input';
import {
  AddOrganizationMemberResult,
  AlreadyMemberError,
  ApiKeyOutput,
  AuthPayload,
  CreatedApiKeyOutput,
  EmailAlreadyRegisteredError,
  InvalidCredentialsError,
  LogInResult,
  MeOutput,
  OrganizationMemberOutput,
  OrganizationOutput,
  SignUpResult,
  TooManyAttemptsError,
  UserOutput,
} from './dto/identity.output';
import { toApiKeyOutput, toOrganizationOutput, toUserOutput } from './identity.mapper';
import { Member, MembershipService } from './membership.service';
import { OrganizationService } from './organization.service';
import { PlatformAdminService } from './platform-admin.service';

const toAuthPayload = (s: Session): AuthPayload =>
  Object.assign(new AuthPayload(), {
    accessToken: s.accessToken,
    expiresAt: s.expiresAt,
    user: toUserOutput(s.user),
    memberships: s.memberships.map((m) => ({ organization: toOrganizationOutput(m.org), role: m.role })),
  });

@Resolver()
export class IdentityResolver {
  constructor(
    private readonly auth: AuthService,
    private readonly apiKeyService: ApiKeyService,
    private readonly members: MembershipService,
    private readonly organizations: OrganizationService,
    private readonly platformAdmins: PlatformAdminService,
  ) {}

  @AdminOnly()
  @Mutation(() => UserOutput, {
    description:
      'Platform admins only. Makes an existing user (by email) a platform admin; granting to an admin changes nothing. Audit-logged with the acting admin. Unknown email: NOT_FOUND.',
  })
  async grantPlatformAdmin(@CurrentPrincipal() principal: Principal, @Args('email', { type: () => String }) email: string): Promise<UserOutput> {
    return toUserOutput(await this.platformAdmins.grant(principal, adminEmailArg(email)));
  }

  @AdminOnly()
  @Mutation(() => UserOutput, {
    description:
      'Platform admins only. Takes the platform admin role from a user (by email). CONFLICT for the last admin (reason LAST_ADMIN) and for an address listed in ADMIN_EMAIL (reason CONFIGURED_ADMIN). Audit-logged. Unknown email: NOT_FOUND.',
  })
  async revokePlatformAdmin(@CurrentPrincipal() principal: Principal, @Args('email', { type: () => String }) email: string): Promise<UserOutput> {
    return toUserOutput(await this.platformAdmins.revoke(principal, adminEmailArg(email)));
  }

  @Public()
  @Mutation(() => SignUpResult, { description: 'Creates a user and an organization they own, and logs them in.' })
  async signUp(@Args('input') input: SignUpInput): Promise<typeof SignUpResult> {
    const result = await this.auth.signUp(input);
    return result === 'email-taken' ? new EmailAlreadyRegisteredError() : toAuthPayload(result);
  }

  @Public()
  @Mutation(() => LogInResult)
  async logIn(@Args('input') input: LogInInput, @ClientIp() ip: string): Promise<typeof LogInResult> {
    const outcome = await this.auth.logIn(input.email, input.password, ip);
    switch (outcome.kind) {
      case 'ok':
        return toAuthPayload(outcome.session);
      case 'invalid':
        return new InvalidCredentialsError();
      case 'throttled':
        return new TooManyAttemptsError(outcome.retryAfterSeconds);
    }
  }

  @Query(() => MeOutput, { description: 'The logged-in user with their organizations and roles.' })
  async me(@CurrentPrincipal() principal: Principal): Promise<MeOutput> {
    if (principal.kind !== 'user') throw new ForbiddenError('`me` needs a user session, not an API key');
    const { user, memberships } = await this.auth.me(principal.userId);
    return {
      ...toUserOutput(user),
      memberships: memberships.map((m) => ({ organization: toOrganizationOutput(m.org), role: m.role })),
    };
  }

  @Mutation(() => OrganizationOutput, { description: 'Another organization owned by the caller.' })
  async createOrganization(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: CreateOrganizationInput,
  ): Promise<OrganizationOutput> {
    if (principal.kind !== 'user') throw new ForbiddenError('Organizations are created by users, not API keys');
    return toOrganizationOutput(await this.auth.createOrganization(principal, input));
  }

  @Mutation(() => OrganizationOutput, { description: 'Owners only: rename the organization and/or set its country.' })
  async updateOrganization(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: UpdateOrganizationInput,
  ): Promise<OrganizationOutput> {
    return toOrganizationOutput(await this.organizations.updateOrganization(principal, input));
  }

  @Mutation(() => CreatedApiKeyOutput, { description: 'Owners only. The secret is returned once.' })
  async createApiKey(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: CreateApiKeyInput,
  ): Promise<CreatedApiKeyOutput> {
    const { apiKey, secret } = await this.apiKeyService.create(principal, input);
    return { apiKey: toApiKeyOutput(apiKey), secret };
  }

  @Query(() => [ApiKeyOutput])
  async apiKeys(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }, new UuidPipe('organizationId')) organizationId: string,
  ): Promise<ApiKeyOutput[]> {
    return (await this.apiKeyService.list(principal, organizationId)).map(toApiKeyOutput);
  }

  @Mutation(() => ApiKeyOutput)
  async revokeApiKey(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }, new UuidPipe('id')) id: string,
  ): Promise<ApiKeyOutput> {
    return toApiKeyOutput(await this.apiKeyService.revoke(principal, id));
  }

  @Query(() => [OrganizationMemberOutput], { description: 'Members of an organization you belong to, oldest first.' })
  async organizationMembers(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }, new UuidPipe('organizationId')) organizationId: string,
  ): Promise<OrganizationMemberOutput[]> {
    return (await this.members.list(principal, organizationId)).map(toMemberOutput);
  }

  @Mutation(() => AddOrganizationMemberResult, { description: 'Owners only: adds an existing user (by email) as OWNER or MEMBER.' })
  async addOrganizationMember(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: AddOrganizationMemberInput,
  ): Promise<typeof AddOrganizationMemberResult> {
    const result = await this.members.add(principal, input);
    return result === 'already-member' ? new AlreadyMemberError() : toMemberOutput(result);
  }

  @Mutation(() => OrganizationMemberOutput, { description: 'Owners only. The last owner cannot be demoted (CONFLICT).' })
  async changeMemberRole(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: ChangeMemberRoleInput,
  ): Promise<OrganizationMemberOutput> {
    return toMemberOutput(await this.members.changeRole(principal, input));
  }

  @Mutation(() => Boolean, { description: 'Owners only (a member may not remove others). The last owner cannot be removed (CONFLICT).' })
  async removeOrganizationMember(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: RemoveOrganizationMemberInput,
  ): Promise<boolean> {
    await this.members.remove(principal, input);
    return true;
  }
}

function adminEmailArg(email: string): string {
  const trimmed = email.trim();
  if (trimmed.length > 320 || !isEmail(trimmed)) throw new BadInputError([{ field: 'email', message: 'email must be a valid email address' }]);
  return trimmed;
}

const toMemberOutput = (m: Member): OrganizationMemberOutput => ({ user: toUserOutput(m.user), role: m.role, since: m.since });
