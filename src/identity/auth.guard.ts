/**
 * Global guard: reads `Authorization: Bearer <JWT or API key>` once per request,
 * attaches the principal, and enforces @Public() / @AdminOnly(). A token that is
 * present but invalid is refused even on public operations, so a client learns
 * its credential is wrong instead of silently getting anonymous results.
 */
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC, requestOf, REQUIRES_ADMIN } from '../platform/auth/decorators';
import { ForbiddenError, UnauthenticatedError } from '../platform/errors/app-error';
import { PrincipalResolver } from './principal-resolver';

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly principals: PrincipalResolver,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = requestOf(ctx);
    if (req.principal === undefined) req.principal = await this.principals.resolve(req.headers.authorization);
    const targets = [ctx.getHandler(), ctx.getClass()];
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets);
    if (!req.principal && !isPublic) throw new UnauthenticatedError();
    if (this.reflector.getAllAndOverride<boolean>(REQUIRES_ADMIN, targets) && !req.principal?.isAdmin) {
      throw new ForbiddenError('Platform admins only');
    }
    return true;
  }
}
