import { ApiKeyOutput, OrganizationOutput, UserOutput } from './dto/identity.output';
import { ApiKeyEntity, OrganizationEntity, UserEntity } from './identity.entity';

export const toUserOutput = (u: UserEntity): UserOutput => ({
  id: u.id,
  email: u.email,
  isAdmin: u.isAdmin,
  createdAt: u.createdAt,
});

export const toOrganizationOutput = (o: OrganizationEntity): OrganizationOutput => ({
  id: o.id,
  name: o.name,
  country: o.country,
});

export const toApiKeyOutput = (k: ApiKeyEntity): ApiKeyOutput => ({
  id: k.id,
  organizationId: k.organizationId,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  agreementId: k.agreementId,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
});
