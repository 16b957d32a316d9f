/**
 * Errors of the platform's REST endpoints (the metering gateway and usage
 * ingestion, the payments webhook) in the shape OpenAI clients already
 * understand: `{"error": {message, type, code, param}}`, with the request id
 * to quote to support. Shared by feature modules, so it lives in platform/.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export type RestErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'request_too_large'
  | 'upstream_error'
  | 'server_error';

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly type: RestErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function restErrorBody(e: RestError, requestId: string) {
  return { error: { message: e.message, type: e.type, code: e.code, param: e.param, request_id: requestId } };
}

export async function sendRestError(reply: FastifyReply, e: RestError): Promise<void> {
  for (const [k, v] of Object.entries(e.headers)) void reply.header(k, v);
  await reply.status(e.status).type('application/json; charset=utf-8').send(restErrorBody(e, reply.request.id));
}

/** Route-level error handler: body-parser and size errors become REST errors; the unexpected is logged and hidden. */
export function restErrorHandler(log: { error(obj: object, msg: string): void }) {
  return async (err: Error & { statusCode?: number; code?: string }, req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (err instanceof RestError) return sendRestError(reply, err);
    if (err.statusCode === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendRestError(reply, new RestError(413, 'request_too_large', 'body_too_large', `The request body is larger than this endpoint accepts (${err.message})`));
    }
    if (err.statusCode === 415 || err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendRestError(reply, new RestError(415, 'invalid_request_error', 'unsupported_media_type', 'Send the body as application/json'));
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return sendRestError(reply, new RestError(400, 'invalid_request_error', 'invalid_body', `The body is not valid JSON: ${err.message}`));
    }
    log.error({ err, reqId: req.id, url: req.url }, 'unexpected error in REST endpoint');
    return sendRestError(reply, new RestError(500, 'server_error', 'internal_error', 'Internal error; quote the request id when reporting it'));
  };
}
