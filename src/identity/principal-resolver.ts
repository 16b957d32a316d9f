/**
 * Turns an Authorization header into a principal: a session JWT or an API key.
 * Used by the auth guard and, before any GraphQL work, by the rate limits
 * (which count authenticated callers per user / key); whichever runs first
 * stores the principal on the request, so a credential is checked once.
 */
import { Injectable } from '@nestjs/common';
import { Principal } from '../platform/auth/principal';
import { UnauthenticatedError } from '../platform/errors/app-error';
import { ApiKeyService } from './api-key.service';
import { AuthService } from './auth.service';

@Injectable()
export class PrincipalResolver {
  constructor(
    private readonly auth: AuthService,
    private readonly apiKeys: ApiKeyService,
  ) {}

  /** null without a header; throws UnauthenticatedError for a malformed, invalid, expired or revoked credential. */
  async resolve(header: string | string[] | undefined): Promise<Principal | null> {
    if (header === undefined) return null;
    const value = Array.isArray(header) ? header[0] : header;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(value ?? '');
    if (!m) throw new UnauthenticatedError('Authorization header must be "Bearer <token>"');
    const token = m[1];
    const principal = this.apiKeys.looksLikeApiKey(token)
      ? await this.apiKeys.authenticate(token)
      : await this.auth.principalFromToken(token);
    if (!principal) throw new UnauthenticatedError('Invalid, expired or revoked credentials');
    return principal;
  }
}
