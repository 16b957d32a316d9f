/**
 * Exceptions are for bad input, authentication, authorization and bugs.
 * Expected business outcomes are union results (see business-error.type.ts).
 * Each exception carries one of these codes; graphql/error-formatter.ts maps
 * them to the GraphQL response in one place.
 */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  CONFLICT = 'CONFLICT',
  TOO_MANY_REQUESTS = 'TOO_MANY_REQUESTS',
  /** The database cancelled a statement that ran past DB_STATEMENT_TIMEOUT_MS. */
  TIMEOUT = 'TIMEOUT',
  INTERNAL = 'INTERNAL',
}

export interface FieldError {
  /** Dotted path of the offending input field, e.g. `terms.royalty.shareBps`. */
  field: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required') {
    super(ErrorCode.UNAUTHENTICATED, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed') {
    super(ErrorCode.FORBIDDEN, message);
  }
}

/** Also what another organization's ids produce: they behave as absent. */
export class NotFoundError extends AppError {
  constructor(entity: string, id?: string) {
    super(ErrorCode.NOT_FOUND, id ? `${entity} ${id} not found` : `${entity} not found`, { entity });
  }
}

export class BadInputError extends AppError {
  constructor(
    readonly fields: FieldError[],
    message = fields.length === 1 ? `${fields[0].field}: ${fields[0].message}` : 'Invalid input',
  ) {
    super(ErrorCode.BAD_USER_INPUT, message, { fields });
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ErrorCode.CONFLICT, message, details);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(ErrorCode.TOO_MANY_REQUESTS, message, { retryAfterSeconds });
  }
}

export class StatementTimeoutError extends AppError {
  constructor() {
    super(ErrorCode.TIMEOUT, 'The request took too long in the database and was cancelled; retry, or ask for less (smaller pages, fewer fields)');
  }
}

/**
 * Something the platform depends on failed (the payment processor, …): INTERNAL
 * for the client, but with a message written for it and details such as
 * `retryable`. Not a bug: answered as is; whoever raises it logs the cause.
 * Every other INTERNAL AppError is a bug and reaches the client as a generic
 * message with the request id only.
 */
export class DependencyUnavailableError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ErrorCode.INTERNAL, message, details);
  }
}

/** INTERNAL errors whose message and details the client may see. */
export function isClientFacing(error: AppError): boolean {
  return error.code !== ErrorCode.INTERNAL || error instanceof DependencyUnavailableError;
}

export function assertUnreachable(x: never): never {
  throw new Error(`Unreachable: ${String(x)}`);
}

/** HTTP status for REST endpoints (GraphQL answers 200 with `errors`). */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.UNAUTHENTICATED:
      return 401;
    case ErrorCode.FORBIDDEN:
      return 403;
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.BAD_USER_INPUT:
      return 400;
    case ErrorCode.CONFLICT:
      return 409;
    case ErrorCode.TOO_MANY_REQUESTS:
      return 429;
    case ErrorCode.TIMEOUT:
      return 503;
    case ErrorCode.INTERNAL:
      return 500;
    default:
      return assertUnreachable(code);
  }
}
