/**
 * The access check with API-key principals (decided without the database; user
 * memberships are covered end to end by test/authorization-foreign.e2e-spec.ts).
 */
import type { EntityManager } from 'typeorm';
import { ApiKeyPrincipal, ApiKeyScope } from '../platform/auth/principal';
import { ForbiddenError, NotFoundError } from '../platform/errors/app-error';
import { AccessService } from './access.service';

const OWN = '0b7c5f0e-3d0a-4a53-9a53-5d1f2f1c9e11';
const OTHER = '3f2b8f4e-9d7a-4c1e-8b6a-2a9f0c1d2e3f';
const MODEL = 'cba7836d-2eec-42cc-83ab-61e94a602495';
const noDatabase = new Proxy({}, { get: () => () => { throw new Error('an API key is decided without the database'); } }) as EntityManager;
const key = (scopes: ApiKeyScope[]): ApiKeyPrincipal => ({ kind: 'apiKey', apiKeyId: 'k', organizationId: OWN, scopes, agreementId: null, isAdmin: false });

describe('AccessService', () => {
  const access = new AccessService();

  it('reports the object the caller names, never the organization that owns it', async () => {
    const err = await access.requireOrganization(noDatabase, key([ApiKeyScope.WRITE]), OTHER, 'write', { entity: 'TeacherModel', id: MODEL }).catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe(`TeacherModel ${MODEL} not found`);
    expect(err.message).not.toContain(OTHER);
  });

  it('reports the organization itself when nothing else is named', async () => {
    await expect(access.requireOrganization(noDatabase, key([ApiKeyScope.READ]), OTHER, 'read')).rejects.toThrow(`Organization ${OTHER} not found`);
  });

  it('a member without the scope is FORBIDDEN, not NOT_FOUND', async () => {
    await expect(access.requireOrganization(noDatabase, key([ApiKeyScope.READ]), OWN, 'write', { entity: 'Invoice', id: MODEL })).rejects.toThrow(ForbiddenError);
    await expect(access.requireOrganization(noDatabase, key([ApiKeyScope.WRITE]), OWN, 'owner')).rejects.toThrow(ForbiddenError);
  });

  it('hasAccess: true through any of the organizations, false for none, FORBIDDEN still thrown', async () => {
    await expect(access.hasAccess(noDatabase, key([ApiKeyScope.READ]), [OTHER, OWN], 'read')).resolves.toBe(true);
    await expect(access.hasAccess(noDatabase, key([ApiKeyScope.WRITE]), [OWN], 'read')).resolves.toBe(true);
    await expect(access.hasAccess(noDatabase, key([ApiKeyScope.READ]), [OTHER], 'read')).resolves.toBe(false);
    await expect(access.hasAccess(noDatabase, key([ApiKeyScope.GATEWAY]), [OTHER, OWN], 'read')).rejects.toThrow(ForbiddenError);
  });
});
