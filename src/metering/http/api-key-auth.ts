import type { FastifyRequest } from 'fastify';
import { ApiKeyService } from '../../identity/api-key.service';
import { ApiKeyPrincipal, ApiKeyScope } from '../../platform/auth/principal';
import { RestError } from '../../platform/http/rest-errors';

/** The REST endpoints take API keys only (machines), with the scope named. */
export async function requireApiKey(apiKeys: ApiKeyService, req: FastifyRequest, scope: ApiKeyScope): Promise<ApiKeyPrincipal> {
  const header = req.headers.authorization;
  if (header === undefined) {
    throw new RestError(401, 'authentication_error', 'missing_api_key', `Send an API key with the ${scope} scope: "Authorization: Bearer bm_…"`);
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new RestError(401, 'authentication_error', 'invalid_authorization_header', 'The Authorization header must be "Bearer <API key>"');
  if (!apiKeys.looksLikeApiKey(m[1])) {
    throw new RestError(401, 'authentication_error', 'invalid_api_key', 'This endpoint takes an API key (bm_…), not a session token');
  }
  const key = await apiKeys.authenticate(m[1]);
  if (!key) throw new RestError(401, 'authentication_error', 'invalid_api_key', 'Invalid or revoked API key');
  if (!key.scopes.includes(scope)) {
    throw new RestError(403, 'permission_error', 'insufficient_scope', `This API key lacks the ${scope} scope (it has: ${key.scopes.join(', ')})`);
  }
  return key;
}
