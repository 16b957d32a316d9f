/**
 * The one place where errors become GraphQL responses. AppError codes pass
 * through (with field-level details for bad input); GraphQL syntax, validation
 * and limit errors are BAD_USER_INPUT; anything else is INTERNAL with a generic
 * message (logged with its stack, never shown to the client).
 */
import { Logger } from '@nestjs/common';
import { ExecutionResult, GraphQLError } from 'graphql';
import { isQueryCanceled } from '../database/pg-errors';
import { AppError, ErrorCode, StatementTimeoutError } from '../errors/app-error';

interface FormattedError {
  message: string;
  locations?: readonly { line: number; column: number }[];
  path?: readonly (string | number)[];
  extensions: Record<string, unknown>;
}

// Nest's logger is backed by pino (nestjs-pino); Fastify's own logger is off.
const log = new Logger('GraphQL');

function format(error: GraphQLError): FormattedError {
  // A statement cancelled by the statement timeout is the request's size or the database's load, not a bug.
  const original = isQueryCanceled(error.originalError) ? new StatementTimeoutError() : error.originalError;
  const base = { locations: error.locations, path: error.path };
  if (original instanceof AppError) {
    return { ...base, message: original.message, extensions: { code: original.code, ...original.details } };
  }
  const isExecution = error.path !== undefined;
  if (!original || !isExecution || original instanceof GraphQLError) {
    // Parse / validation / variable-coercion errors: the request itself is wrong.
    const ext = (error.extensions ?? {}) as Record<string, unknown>;
    return { ...base, message: error.message, extensions: { ...ext, code: ErrorCode.BAD_USER_INPUT } };
  }
  log.error({ err: original, path: error.path?.join('.') }, 'unhandled error in resolver');
  return { ...base, message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL } };
}

export function formatGraphQLErrors(
  execution: ExecutionResult & { errors: readonly GraphQLError[]; statusCode?: number },
): { statusCode: number; response: ExecutionResult } {
  const flat: GraphQLError[] = [];
  for (const e of execution.errors) {
    const nested = (e.originalError as { errors?: unknown } | undefined)?.errors;
    if (Array.isArray(nested)) {
      for (const n of nested) flat.push(n instanceof GraphQLError ? n : new GraphQLError(String((n as Error).message ?? n)));
    } else {
      flat.push(e);
    }
  }
  const errors = flat.map(format);
  const requestLevel = !execution.data && errors.every((e) => e.extensions.code === ErrorCode.BAD_USER_INPUT && !e.path);
  const statusCode = requestLevel ? 400 : 200;
  return { statusCode, response: { data: execution.data ?? null, errors: errors as unknown as GraphQLError[] } };
}
