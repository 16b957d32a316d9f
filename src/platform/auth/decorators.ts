import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { UnauthenticatedError } from '../errors/app-error';
import type { Principal } from './principal';

export const IS_PUBLIC = 'beiming:isPublic';
/** The operation is open to anonymous callers (a valid token is still honoured). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export const REQUIRES_ADMIN = 'beiming:requiresAdmin';
/** Platform admins only; others get FORBIDDEN. */
export const AdminOnly = () => SetMetadata(REQUIRES_ADMIN, true);

export interface RequestWithPrincipal {
  principal?: Principal | null;
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
}

export function requestOf(ctx: ExecutionContext): RequestWithPrincipal {
  if (ctx.getType<string>() === 'graphql') {
    const gql = GqlExecutionContext.create(ctx).getContext<{ reply: { request: RequestWithPrincipal } }>();
    return gql.reply.request;
  }
  return ctx.switchToHttp().getRequest<RequestWithPrincipal>();
}

/** The authenticated principal (the guard guarantees one on non-public operations). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const p = requestOf(ctx).principal;
  if (!p) throw new UnauthenticatedError();
  return p;
});

/** The principal if any (public operations). */
export const OptionalPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal | null => requestOf(ctx).principal ?? null,
);

/** Client address for throttling. */
export const ClientIp = createParamDecorator((_: unknown, ctx: ExecutionContext): string => requestOf(ctx).ip ?? 'unknown');
