/**
 * The one place where errors become GraphQL responses. AppError codes pass
 * through (with field-level details for bad input); GraphQL syntax, validation
 * and limit errors are BAD_USER_INPUT; an INTERNAL AppError (a bug, by its own
 * code, unless it is a DependencyUnavailableError) and anything unexpected
 * reach the client as a generic INTERNAL error
 * carrying the request id, and the log as the error with its stack and the
 * same request id.
 *
 * The HTTP status depends on what the client accepts (media-type.ts): a
 * request that cannot execute is 400, or 200 for a client that asked for
 * `application/json` (the specification's legacy rule); a request refused at
 * the HTTP edge keeps its own status (413 for a body too large).
 */
import { Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ExecutionResult, GraphQLError } from 'graphql';
import { AppConfig } from '../config/app-config';
import { isQueryCanceled } from '../database/pg-errors';
import { AppError, ErrorCode, isClientFacing, StatementTimeoutError } from '../errors/app-error';
import { responseMediaType } from './media-type';
import { GraphQLRequestRejected } from './request-rejected';

interface FormattedError {
  message: string;
  locations?: readonly { line: number; column: number }[];
  path?: readonly (string | number)[];
  extensions: Record<string, unknown>;
}

/** Errors Fastify raises before the GraphQL handler runs (bad JSON, body too large, …). */
interface HttpLayerError extends Error {
  code: string;
  statusCode: number;
}

// Nest's logger is backed by pino (nestjs-pino); Fastify's own logger is off.
const log = new Logger('GraphQL');

const TOKEN_LIMIT = /^Syntax Error: Document contains more that (\d+) tokens/;
// graphql-js appends schema names it knows to some messages; production hides the schema.
const SUGGESTION = / Did you mean [^]*\?$/;

function isHttpLayerError(e: unknown): e is HttpLayerError {
  return e instanceof Error && typeof (e as HttpLayerError).code === 'string' && (e as HttpLayerError).code.startsWith('FST_') && typeof (e as HttpLayerError).statusCode === 'number';
}

export function graphqlErrorFormatter(config: AppConfig) {
  function internal(error: GraphQLError, err: Error, requestId: string | undefined): FormattedError {
    log.error({ err, reqId: requestId, path: error.path?.join('.') }, err instanceof AppError ? 'internal error' : 'unhandled error in resolver');
    return {
      locations: error.locations,
      path: error.path,
      message: 'Internal server error',
      extensions: { code: ErrorCode.INTERNAL, requestId },
    };
  }

  function format(error: GraphQLError, requestId: string | undefined): { error: FormattedError; httpStatus?: number } {
    // A statement cancelled by the statement timeout is the request's size or the database's load, not a bug.
    const original = isQueryCanceled(error.originalError) ? new StatementTimeoutError() : error.originalError;
    const base = { locations: error.locations, path: error.path };
    if (original instanceof AppError) {
      if (!isClientFacing(original)) return { error: internal(error, original, requestId) };
      const httpStatus = original instanceof GraphQLRequestRejected ? original.httpStatus : undefined;
      return { error: { ...base, message: original.message, extensions: { code: original.code, ...original.details } }, httpStatus };
    }
    if (isHttpLayerError(original)) {
      const tooLarge = original.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      const message = tooLarge ? `The request body exceeds ${config.graphqlMaxBodyBytes} bytes` : original.message;
      const extensions = tooLarge ? { code: ErrorCode.BAD_USER_INPUT, reason: 'BODY_TOO_LARGE', maxBytes: config.graphqlMaxBodyBytes } : { code: ErrorCode.BAD_USER_INPUT };
      return { error: { message, extensions }, httpStatus: original.statusCode };
    }
    const isExecution = error.path !== undefined;
    if (!original || !isExecution || original instanceof GraphQLError) {
      // Parse / validation / variable-coercion errors: the request itself is wrong.
      const ext = (error.extensions ?? {}) as Record<string, unknown>;
      const tokens = TOKEN_LIMIT.exec(error.message);
      if (tokens) {
        return { error: { message: `The query has more than ${tokens[1]} tokens`, extensions: { code: ErrorCode.BAD_USER_INPUT, reason: 'TOO_MANY_TOKENS', maxTokens: Number(tokens[1]) } } };
      }
      const message = config.isProduction ? error.message.replace(SUGGESTION, '') : error.message;
      return { error: { ...base, message, extensions: { ...ext, code: ErrorCode.BAD_USER_INPUT } } };
    }
    return { error: internal(error, original, requestId) };
  }

  return function formatGraphQLErrors(
    execution: ExecutionResult & { errors: readonly GraphQLError[] },
    context?: { request?: FastifyRequest },
  ): { statusCode: number; response: ExecutionResult } {
    const request = context?.request;
    const flat: GraphQLError[] = [];
    for (const e of execution.errors) {
      const nested = (e.originalError as { errors?: unknown } | undefined)?.errors;
      if (Array.isArray(nested)) {
        for (const n of nested) flat.push(n instanceof GraphQLError ? n : new GraphQLError(String((n as Error).message ?? n), { originalError: n as Error }));
      } else {
        flat.push(e);
      }
    }
    const formatted = flat.map((e) => format(e, request?.id));
    const errors = formatted.map((f) => f.error);
    const edgeStatus = Math.max(0, ...formatted.map((f) => f.httpStatus ?? 0));
    const requestLevel = !execution.data && errors.every((e) => e.extensions.code === ErrorCode.BAD_USER_INPUT && !e.path);
    const mediaType = request ? responseMediaType(request.headers) : 'json';
    let statusCode = 200;
    if (edgeStatus > 0) statusCode = edgeStatus;
    else if (requestLevel) statusCode = mediaType === 'json-legacy' ? 200 : 400;
    // application/graphql-response+json: a request that did not execute has no `data` entry at all.
    const omitData = mediaType === 'graphql-response+json' && (requestLevel || edgeStatus > 0);
    const response = { data: omitData ? undefined : (execution.data ?? null), errors: errors as unknown as GraphQLError[] };
    return { statusCode, response };
  };
}
