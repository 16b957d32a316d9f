import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isQueryCanceled } from '../database/pg-errors';
import { AppError, ErrorCode, httpStatusFor, StatementTimeoutError } from './app-error';

/**
 * REST answers for AppError (and anything unexpected). GraphQL errors are left
 * to the GraphQL error formatter: the filter rethrows them unchanged.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('HttpErrorFilter');

  catch(thrown: unknown, host: ArgumentsHost): unknown {
    if (host.getType<string>() === 'graphql') throw thrown;
    const exception = isQueryCanceled(thrown) ? new StatementTimeoutError() : thrown;
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof AppError) {
      const status = httpStatusFor(exception.code);
      if (exception.details.retryAfterSeconds) void reply.header('retry-after', String(exception.details.retryAfterSeconds));
      return reply.status(status).send({ error: { code: exception.code, message: exception.message, ...exception.details } });
    }
    if (exception instanceof HttpException) {
      return reply.status(exception.getStatus()).send(exception.getResponse());
    }
    this.log.error(exception);
    return reply.status(500).send({ error: { code: ErrorCode.INTERNAL, message: 'Internal server error' } });
  }
}
