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
      return reply.status(exception.getStatus()).send(exception.getResponse());
    }
    this.log.error({ err: exception, reqId: requestId }, 'internal error');
    return reply.status(500).send({ error: { code: ErrorCode.INTERNAL, message: 'Internal server error', requestId } });
  }
}
