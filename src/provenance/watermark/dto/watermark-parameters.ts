/**
 * Limits of a watermark scheme's `parameters` (a JSON object), and the
 * interceptor that checks them before the validation pipe runs: the pipe's
 * class-transformer copies a JSON value recursively, so a deeply nested one
 * would overflow the stack there (an INTERNAL error instead of bad input).
 * Interceptors run after the auth guard and before pipes; the check walks the
 * value iteratively, so no input can overflow it either.
 */
import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { Observable } from 'rxjs';
import { BadInputError } from '../../../platform/errors/app-error';

export const PARAMETERS_MAX_BYTES = 16 * 1024;
export const PARAMETERS_MAX_DEPTH = 16;

/** Why `value` is not acceptable as parameters, or null. */
export function parametersProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'parameters must be a JSON object (not an array, string, number or null)';
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node === 'string') {
      // PostgreSQL's jsonb cannot hold NUL characters (it would fail as a database error).
      if (node.includes('\u0000')) return 'parameters must not contain NUL characters';
      continue;
    }
    if (typeof node !== 'object' || node === null) continue;
    if (depth > PARAMETERS_MAX_DEPTH) return `parameters must not nest deeper than ${PARAMETERS_MAX_DEPTH} levels`;
    for (const [k, v] of Object.entries(node)) {
      if (k.includes('\u0000')) return 'parameters must not contain NUL characters';
      stack.push([v, depth + 1]);
    }
  }
  if (Buffer.byteLength(JSON.stringify(value), 'utf8') > PARAMETERS_MAX_BYTES) return `parameters must be at most ${PARAMETERS_MAX_BYTES} bytes of JSON`;
  return null;
}

/** For a GraphQL operation whose `input` argument carries `parameters`: BAD_USER_INPUT on field `parameters`. */
@Injectable()
export class WatermarkParametersCheck implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const args = GqlExecutionContext.create(ctx).getArgs<{ input?: { parameters?: unknown } }>();
    const problem = parametersProblem(args.input?.parameters);
    if (problem) throw new BadInputError([{ field: 'parameters', message: problem }]);
    return next.handle();
  }
}
