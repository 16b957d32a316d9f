/**
 * The gateway's reading of an OpenAI chat-completions request: only what it
 * needs to meter (messages for the prompt estimate, stream, max_tokens); the
 * rest goes to the upstream as sent.
 */
import { RestError } from '../../platform/http/rest-errors';

/** The largest `max_tokens` / `max_completion_tokens` the gateway passes on. */
export const MAX_TOKENS_PARAM = 1_000_000_000;

export interface ChatRequest {
  body: Record<string, unknown>;
  stream: boolean;
  clientWantsUsage: boolean;
  promptChars: number;
  maxTokens: number | null;
}

/** Rough tokens for text when an upstream does not count: ~4 characters per token, rounded up. */
export const estimateTokens = (chars: number): bigint => BigInt(Math.ceil(chars / 4));

function textOf(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (Array.isArray(content)) {
    let n = 0;
    for (const p of content) if (p && typeof (p as { text?: unknown }).text === 'string') n += (p as { text: string }).text.length;
    return n;
  }
  return 0;
}

export function parseChatRequest(raw: unknown): ChatRequest {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new RestError(400, 'invalid_request_error', 'invalid_body', 'The body must be a JSON object (an OpenAI chat-completions request)');
  }
  const body = raw as Record<string, unknown>;
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw new RestError(400, 'invalid_request_error', 'missing_messages', 'messages must be a non-empty array', 'messages');
  }
  let promptChars = 0;
  for (const m of body.messages) {
    if (m === null || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string') {
      throw new RestError(400, 'invalid_request_error', 'invalid_message', 'each message must be an object with a role', 'messages');
    }
    promptChars += textOf((m as { content?: unknown }).content);
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    throw new RestError(400, 'invalid_request_error', 'invalid_stream', 'stream must be a boolean', 'stream');
  }
  let maxTokens: number | null = null;
  for (const param of ['max_completion_tokens', 'max_tokens'] as const) {
    const v = body[param];
    if (v === undefined || v === null) continue;
    if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > MAX_TOKENS_PARAM) {
      throw new RestError(
        400,
        'invalid_request_error',
        'invalid_max_tokens',
        `${param} must be a JSON integer from 1 to ${MAX_TOKENS_PARAM} (got ${JSON.stringify(v)})`,
        param,
      );
    }
    maxTokens = v as number;
    break;
  }
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
  return {
    body,
    stream: body.stream === true,
    clientWantsUsage: streamOptions?.include_usage === true,
    promptChars,
    maxTokens,
  };
}
