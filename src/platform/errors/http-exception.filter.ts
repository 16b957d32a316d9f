import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isQueryCanceled } from '../database/pg-errors';
import { AppError, ErrorCode, httpStatusFor, isClientFacing, StatementTimeoutError } from './app-error';

/**
 * REST answers for AppError (and anything unexpected). GraphQL errors are left
 * to the GraphQL error formatter: the filter rethrows them unchanged. As there,
 * an INTERNAL AppError is a bug: the client gets a generic message and the
 * request id, the log gets the error.
 */
const HTTP_CODES: Record<number, ErrorCode> = {
  401: ErrorCode.UNAUTHENTICATED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  409: ErrorCode.CONFLICT,
  429: ErrorCode.TOO_MANY_REQUESTS,
};

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('HttpErrorFilter');

  catch(thrown: unknown, host: ArgumentsHost): unknown {
    if (host.getType<string>() === 'graphql') throw thrown;
    const exception = isQueryCanceled(thrown) ? new StatementTimeoutError() : thrown;
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const requestId = host.switchToHttp().getRequest<FastifyRequest>()?.id;
    if (exception instanceof AppError && isClientFacing(exception)) {
      const status = httpStatusFor(exception.code);
      if (exception.details.retryAfterSeconds) void reply.header('retry-after', String(exception.details.retryAfterSeconds));
      return reply.status(status).send({ error: { code: exception.code, message: exception.message, ...exception.details } });
    }
    if (exception instanceof HttpException) {
      // The framework's own refusals (no such route, a method the route lacks) in the same shape as ours.
      const status = exception.getStatus();
      const code = HTTP_CODES[status] ?? (status >= 500 ? ErrorCode.INTERNAL : ErrorCode.BAD_USER_INPUT);
      return reply.status(status).send({ error: { code, message: exception.message } });
    }
    this.log.error({ err: exception, reqId: requestId }, 'internal error');
    return reply.status(500).send({ error: { code: ErrorCode.INTERNAL, message: 'Internal server error', requestId } });
  }
}
