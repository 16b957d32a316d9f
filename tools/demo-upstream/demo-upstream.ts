/**
 * A deterministic OpenAI-compatible chat-completions server for tests,
 * benchmarks and the demo story (a tool, not part of the service). Standalone on purpose: plain
 * `node:http`, no Nest, no database, so a gateway benchmark measures the
 * gateway and not this server.
 *
 * The same request body always gets the same answer, byte for byte: the text
 * is drawn from a fixed vocabulary seeded by a hash of the prompt, `created`
 * is a constant and the id is a hash of the body. Test directives in the last
 * user message (`#demo:status=503`, `#demo:chunk-delay=50`, …, see
 * DIRECTIVES) make one server misbehave per request.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const DEMO_MODEL = 'demo-teacher';
/** Constant so answers never depend on the clock. */
export const DEMO_CREATED = 1_700_000_000;
export const DEMO_DEFAULT_MAX_TOKENS = 16;
export const DEMO_MAX_TOKENS_CAP = 4096;
/** Upper bound of `#demo:tokens=<n>` (streams of this size are still cheap). */
export const DEMO_TOKENS_DIRECTIVE_MAX = 100_000;
const MAX_DELAY_MS = 600_000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface DemoUpstreamOptions {
  /** 0 (default) = a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, /v1/* requires `Authorization: Bearer <apiKey>`, else 401. */
  apiKey?: string;
  /** Keep a log of chat-completion requests in `requests` (default true; benchmarks turn it off). */
  record?: boolean;
}

export interface DemoRequestLog {
  model: string;
  stream: boolean;
  authorization: string | undefined;
  /** True when the client closed the connection before the answer was complete. */
  aborted: boolean;
  /** The parsed JSON body, or the raw text when it was not valid JSON. */
  body: unknown;
  /** The HTTP status answered (set once known). */
  status: number;
  headers: IncomingHttpHeaders;
}

export interface DemoUpstream {
  /** Base URL to configure, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  port: number;
  requests: DemoRequestLog[];
  close(): Promise<void>;
}

export interface DemoUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface DemoDirectives {
  status?: number;
  delayMs?: number;
  chunkDelayMs?: number;
  malformed: boolean;
  noUsage: boolean;
  tokens?: number;
  /** Stream: after this many events, stop sending and hold the connection open until the client leaves. */
  stallAfter?: number;
  /** Error bodies (and the stream error) quote the request's Authorization header, as some real servers do. */
  echoAuth: boolean;
  /** Stream: after the role chunk and the first word, an OpenAI-style `{"error": …}` event, then the end. */
  streamError: boolean;
}

export interface DemoCompletion {
  id: string;
  created: number;
  model: string;
  stream: boolean;
  /** `stream_options.include_usage` */
  includeUsage: boolean;
  words: string[];
  /** words joined by single spaces */
  content: string;
  finishReason: 'stop' | 'length';
  usage: DemoUsage;
  directives: DemoDirectives;
}

/** An invalid request: answered 400 with an OpenAI error body. */
export class DemoRequestError extends Error {
  constructor(
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'DemoRequestError';
  }
}

/** The directives understood in the last user message. */
export const DIRECTIVES = ['status', 'delay', 'chunk-delay', 'malformed', 'no-usage', 'tokens', 'stall-after', 'echo-auth', 'stream-error'] as const;

// One "token" each; 64 entries so a byte of hash picks one.
const VOCABULARY = [
  'the', 'teacher', 'model', 'answers', 'with', 'care', 'and', 'a', 'student', 'learns',
  'from', 'every', 'token', 'it', 'sees', 'while', 'licence', 'terms', 'keep', 'usage',
  'honest', 'metered', 'billed', 'fairly', 'quietly', 'distilled', 'knowledge', 'flows', 'through', 'gateway',
  'vendor', 'buyer', 'agreement', 'quota', 'period', 'minute', 'stream', 'chunk', 'signal', 'pattern',
  'clear', 'small', 'large', 'steady', 'bright', 'careful', 'simple', 'exact', 'deterministic', 'demo',
  'river', 'mountain', 'north', 'sea', 'light', 'stone', 'garden', 'bridge', 'lantern', 'compass',
  'echo', 'harbor', 'meadow', 'orbit',
];

type Message = { role: string; content: unknown };

/**
 * Pure: validates an OpenAI chat-completions body and computes the
 * deterministic answer. Throws DemoRequestError for a bad body.
 */
export function demoCompletion(body: unknown): DemoCompletion {
  if (!isObject(body)) throw new DemoRequestError('The request body must be a JSON object.');
  const model = body.model === undefined ? DEMO_MODEL : body.model;
  if (typeof model !== 'string' || model === '') throw new DemoRequestError('model must be a non-empty string.', 'model');
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new DemoRequestError("'messages' must be a non-empty array.", 'messages');
  }
  const texts: string[] = [];
  let lastUserText: string | undefined;
  messages.forEach((m: unknown, i) => {
    if (!isObject(m) || typeof m.role !== 'string') throw new DemoRequestError(`messages[${i}] must have a string role.`, `messages[${i}].role`);
    const text = messageText(m as Message, i);
    texts.push(text);
    if (m.role === 'user') lastUserText = text;
  });
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw new DemoRequestError('stream must be a boolean.', 'stream');
  }
  const stream = body.stream === true;
  const includeUsage = stream && isObject(body.stream_options) && body.stream_options.include_usage === true;
  const maxTokens = optionalPositiveInt(body.max_completion_tokens, 'max_completion_tokens') ?? optionalPositiveInt(body.max_tokens, 'max_tokens');
  const directives = parseDirectives(lastUserText ?? '');

  let characters = 0;
  for (const t of texts) characters += codePoints(t);
  const promptTokens = Math.max(1, Math.ceil(characters / 4));

  let n: number;
  let finishReason: 'stop' | 'length';
  if (directives.tokens !== undefined) {
    n = directives.tokens;
    finishReason = 'stop';
  } else {
    n = Math.min(maxTokens ?? DEMO_DEFAULT_MAX_TOKENS, DEMO_MAX_TOKENS_CAP);
    finishReason = maxTokens !== undefined && n === maxTokens ? 'length' : 'stop';
  }

  const promptHash = createHash('sha256');
  messages.forEach((m: Message, i) => promptHash.update(`${m.role}\u0000${texts[i]}\u0001`));
  const words = pickWords(promptHash.digest(), n);
  const id = 'chatcmpl-demo' + createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 24);

  return {
    id,
    created: DEMO_CREATED,
    model,
    stream,
    includeUsage,
    words,
    content: words.join(' '),
    finishReason,
    usage: { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n },
    directives,
  };
}

/** The non-streamed answer body, exactly as served (invalid JSON under `#demo:malformed`). */
export function demoResponseText(c: DemoCompletion): string {
  const head = `{"id":${JSON.stringify(c.id)},"object":"chat.completion","created":${c.created},"model":${JSON.stringify(c.model)},"choices":[{"index":0,"message":{"role":"assistant","content":`;
  if (c.directives.malformed) return head + JSON.stringify(c.content).slice(0, 8);
  const usage = c.directives.noUsage ? '' : `,"usage":${JSON.stringify(c.usage)}`;
  return `${head}${JSON.stringify(c.content)},"refusal":null},"logprobs":null,"finish_reason":"${c.finishReason}"}]${usage},"system_fingerprint":null}`;
}

/**
 * The server-sent events of a streamed answer, one string per event
 * (`data: …\n\n`), in order. Under `#demo:malformed`: the role chunk, then a
 * broken data line, then the stream ends (no [DONE]).
 */
export function* demoSseEvents(c: DemoCompletion): Generator<string> {
  const usageNull = c.includeUsage && !c.directives.noUsage ? ',"usage":null' : '';
  const head = `data: {"id":${JSON.stringify(c.id)},"object":"chat.completion.chunk","created":${c.created},"model":${JSON.stringify(c.model)},"system_fingerprint":null,"choices":[`;
  const chunk = (delta: string, finish: string) =>
    `${head}{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish}}]${usageNull}}\n\n`;
  yield chunk('{"role":"assistant","content":"","refusal":null}', 'null');
  if (c.directives.malformed) {
    yield `${head}{"index":0,"delta":{"content":"${c.words[0] ?? ''}\n\n`;
    return;
  }
  if (c.directives.streamError) {
    if (c.words.length > 0) yield chunk(`{"content":${JSON.stringify(c.words[0])}}`, 'null');
    yield `data: ${demoErrorBody(500, 'The demo upstream failed mid-stream.')}\n\n`;
    return;
  }
  for (let i = 0; i < c.words.length; i++) {
    yield chunk(`{"content":${JSON.stringify(i === 0 ? c.words[i] : ' ' + c.words[i])}}`, 'null');
  }
  yield chunk('{}', `"${c.finishReason}"`);
  if (usageNull) yield `${head}],"usage":${JSON.stringify(c.usage)}}\n\n`;
  yield 'data: [DONE]\n\n';
}

/** OpenAI-style error body for a status. */
export function demoErrorBody(status: number, message?: string, param: string | null = null, code: string | null = null): string {
  const type =
    status === 400 ? 'invalid_request_error'
    : status === 401 ? 'invalid_request_error'
    : status === 403 ? 'permission_error'
    : status === 404 ? 'not_found_error'
    : status === 429 ? 'rate_limit_error'
    : status >= 500 ? 'server_error'
    : 'invalid_request_error';
  return JSON.stringify({ error: { message: message ?? `Demo upstream error ${status}.`, type, param, code } });
}

export function startDemoUpstream(opts: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
  const host = opts.host ?? '127.0.0.1';
  const record = opts.record ?? true;
  const expectedAuth = opts.apiKey !== undefined ? `Bearer ${opts.apiKey}` : undefined;
  const requests: DemoRequestLog[] = [];

  const server = createServer((req, res) => {
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
    if (path === '/health' && req.method === 'GET') return sendJson(res, 200, '{"status":"ok"}');
    if (path.startsWith('/v1/') && expectedAuth !== undefined && req.headers.authorization !== expectedAuth) {
      // Drain the body first so the keep-alive connection stays usable.
      return readBody(req, (raw) => {
        if (path === '/v1/chat/completions' && record) requests.push(logEntry(req, raw, 401));
        sendJson(res, 401, demoErrorBody(401, 'Incorrect API key provided.', null, 'invalid_api_key'));
      });
    }
    if (path === '/v1/models' && req.method === 'GET') {
      return sendJson(res, 200, JSON.stringify({ object: 'list', data: [{ id: DEMO_MODEL, object: 'model', created: DEMO_CREATED, owned_by: 'beiming-demo' }] }));
    }
    if (path === '/v1/chat/completions' && req.method === 'POST') {
      return readBody(req, (raw) => {
        chatCompletions(req, res, raw, record ? requests : null).catch(() => res.destroy());
      });
    }
    readBody(req, () => sendJson(res, 404, demoErrorBody(404, `Invalid URL (${req.method} ${path})`)));
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const urlHost = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${urlHost}:${port}/v1`,
        port,
        requests,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive and in-flight (delayed) connections would hold close() open.
            server.closeAllConnections();
          }),
      });
    });
  });
}

async function chatCompletions(req: IncomingMessage, res: ServerResponse, raw: string | null, log: DemoRequestLog[] | null): Promise<void> {
  if (raw === null) return sendJson(res, 413, demoErrorBody(413, 'Request body too large.'));
  let body: unknown;
  let entry: DemoRequestLog | undefined;
  try {
    body = JSON.parse(raw);
  } catch {
    if (log) log.push(logEntry(req, raw, 400));
    return sendJson(res, 400, demoErrorBody(400, 'We could not parse the JSON body of your request.'));
  }
  if (log) {
    entry = logEntry(req, body, 0);
    log.push(entry);
  }
  let c: DemoCompletion;
  try {
    c = demoCompletion(body);
  } catch (err) {
    if (!(err instanceof DemoRequestError)) throw err;
    if (entry) entry.status = 400;
    return sendJson(res, 400, demoErrorBody(400, err.message, err.param));
  }

  // 'close' before 'finish' = the client went away: stop writing, note it.
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  res.on('close', () => {
    if (res.writableFinished) return;
    closed = true;
    if (entry) entry.aborted = true;
    clearTimeout(timer);
    wake?.();
  });
  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      wake = r;
      timer = setTimeout(r, ms);
    });

  const d = c.directives;
  if (d.delayMs) await sleep(d.delayMs);
  if (closed) return;
  const status = d.status ?? 200;
  if (entry) entry.status = status;
  // Like servers that log-and-echo the request: the caller's credential ends up in the error body.
  const echo = d.echoAuth ? ` (request headers: authorization=${req.headers.authorization ?? ''})` : '';
  if (d.status !== undefined) {
    if (d.status === 429) res.setHeader('retry-after', '1');
    return sendJson(res, d.status, demoErrorBody(d.status, `Demo upstream error ${d.status}.${echo}`));
  }
  if (!c.stream) return sendJson(res, 200, demoResponseText(c));

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.flushHeaders();
  const chunkDelay = d.chunkDelayMs ?? 0;
  const events = echo ? [...demoSseEvents(c)].map((e) => (e.startsWith('data: {"error"') ? e.replace('mid-stream.', `mid-stream.${echo.replace(/"/g, "'")}`) : e)) : demoSseEvents(c);
  if (d.stallAfter !== undefined) {
    let sent = 0;
    for (const event of events) {
      if (sent++ === d.stallAfter) break;
      if (closed) return;
      if (!res.write(event)) await drained();
    }
    // Hang (headers and the first events sent) until the client gives up.
    await sleep(MAX_DELAY_MS);
    if (!closed) res.end();
    return;
  }
  if (chunkDelay > 0) {
    let first = true;
    for (const event of events) {
      if (!first) await sleep(chunkDelay);
      first = false;
      if (closed) return;
      if (!res.write(event)) await drained();
    }
  } else {
    // Produced as fast as the socket takes them: coalesce up to 16 KiB per
    // write (a few syscalls and chunk headers instead of one per word),
    // never the whole answer.
    let pending = '';
    for (const event of events) {
      pending += event;
      if (pending.length < 16_384) continue;
      if (closed) return;
      const ok = res.write(pending);
      pending = '';
      if (!ok) await drained();
    }
    if (closed) return;
    if (pending) res.write(pending);
  }
  if (!closed) res.end();

  async function drained(): Promise<void> {
    await new Promise<void>((r) => {
      wake = r;
      res.once('drain', r);
    });
  }
}

function logEntry(req: IncomingMessage, body: unknown, status: number): DemoRequestLog {
  const b = isObject(body) ? body : {};
  return {
    model: typeof b.model === 'string' ? b.model : '',
    stream: b.stream === true,
    authorization: req.headers.authorization,
    aborted: false,
    body,
    status,
    headers: req.headers,
  };
}

function readBody(req: IncomingMessage, done: (raw: string | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  });
  req.on('end', () => done(tooLarge ? null : Buffer.concat(chunks).toString('utf8')));
}

function sendJson(res: ServerResponse, status: number, text: string): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function parseDirectives(text: string): DemoDirectives {
  const d: DemoDirectives = { malformed: false, noUsage: false, echoAuth: false, streamError: false };
  for (const m of text.matchAll(/#demo:([a-z-]+)(?:=(\S*))?/g)) {
    const [, name, value] = m;
    switch (name) {
      case 'status':
        d.status = directiveInt(name, value, 400, 599);
        break;
      case 'delay':
        d.delayMs = directiveInt(name, value, 0, MAX_DELAY_MS);
        break;
      case 'chunk-delay':
        d.chunkDelayMs = directiveInt(name, value, 0, MAX_DELAY_MS);
        break;
      case 'tokens':
        d.tokens = directiveInt(name, value, 0, DEMO_TOKENS_DIRECTIVE_MAX);
        break;
      case 'malformed':
        d.malformed = true;
        break;
      case 'no-usage':
        d.noUsage = true;
        break;
      case 'stall-after':
        d.stallAfter = directiveInt(name, value, 0, DEMO_TOKENS_DIRECTIVE_MAX);
        break;
      case 'echo-auth':
        d.echoAuth = true;
        break;
      case 'stream-error':
        d.streamError = true;
        break;
      default:
        throw new DemoRequestError(`Unknown demo directive #demo:${name} (known: ${DIRECTIVES.join(', ')}).`, 'messages');
    }
  }
  return d;
}

function directiveInt(name: string, value: string | undefined, min: number, max: number): number {
  const n = value !== undefined && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new DemoRequestError(`#demo:${name} needs an integer between ${min} and ${max}.`, 'messages');
  }
  return n;
}

function messageText(m: Message, i: number): string {
  const content = m.content;
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw new DemoRequestError(`messages[${i}].content must be a string or an array of parts.`, `messages[${i}].content`);
  let text = '';
  content.forEach((part: unknown, j) => {
    if (!isObject(part) || typeof part.type !== 'string') {
      throw new DemoRequestError(`messages[${i}].content[${j}] must be a content part.`, `messages[${i}].content[${j}]`);
    }
    if (part.type !== 'text') return; // images, audio…: no characters
    if (typeof part.text !== 'string') throw new DemoRequestError(`messages[${i}].content[${j}].text must be a string.`, `messages[${i}].content[${j}].text`);
    text += (text ? '\n' : '') + part.text;
  });
  return text;
}

function optionalPositiveInt(v: unknown, param: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new DemoRequestError(`${param} must be a positive integer.`, param);
  return v;
}

/** Characters as Unicode code points (a surrogate pair counts once). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

/** mulberry32 seeded by the prompt hash: cheap, and the same on every platform. */
function pickWords(seed: Buffer, n: number): string[] {
  let a = seed.readUInt32LE(0);
  const words = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    words[i] = VOCABULARY[((t ^ (t >>> 14)) >>> 0) % VOCABULARY.length];
  }
  return words;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
