import { AppError, ErrorCode } from '../errors/app-error';

/**
 * A GraphQL request refused at the HTTP edge, before Mercurius parses it: a
 * malformed body, or a request asking for more than one credential operation.
 * `reason` names the rule; `httpStatus` is the answer's status whatever media
 * type the client accepts.
 */
export class GraphQLRequestRejected extends AppError {
  constructor(
    message: string,
    readonly reason: string,
    readonly httpStatus = 400,
    details: Record<string, unknown> = {},
  ) {
    super(ErrorCode.BAD_USER_INPUT, message, { reason, ...details });
  }
}
