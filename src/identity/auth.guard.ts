/**
 * Global guard: reads `Authorization: Bearer <JWT or API key>` once per request,
 * attaches the principal, and enforces @Public() / @AdminOnly(). A token that is
 * present but invalid is refused even on public operations, so a client learns
 * its credential is wrong instead of silently getting anonymous results.
 */
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC, requestOf, REQUIRES_ADMIN } from '../platform/auth/decorators';
import { Principal } from '../platform/auth/principal';
import { ForbiddenError, UnauthenticatedError } from '../platform/errors/app-error';
import { ApiKeyService } from './api-key.service';
import { AuthService } from './auth.service';

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly apiKeys: ApiKeyService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = requestOf(ctx);
    if (req.principal === undefined) req.principal = await this.resolve(req.headers.authorization);
    const targets = [ctx.getHandler(), ctx.getClass()];
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets);
    if (!req.principal && !isPublic) throw new UnauthenticatedError();
    if (this.reflector.getAllAndOverride<boolean>(REQUIRES_ADMIN, targets) && !req.principal?.isAdmin) {
      throw new ForbiddenError('Platform admins only');
    }
    return true;
  }

  private async resolve(header: string | string[] | undefined): Promise<Principal | null> {
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
