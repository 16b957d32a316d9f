/**
 * Reads an OpenAI chat-completions event stream as it passes through the
 * gateway: forwards every event unchanged, remembers the `usage` the upstream
 * reports, counts the characters of streamed content (for an estimate when no
 * usage comes), and drops the usage-only chunk when the client did not ask for
 * it (the gateway always asks the upstream for usage). An `{"error": …}` event
 * is held back (it may quote the request): the gateway writes its own.
 */
import { StringDecoder } from 'node:string_decoder';

export interface TokenUsage {
  inputTokens: bigint;
  outputTokens: bigint;
}

/** `usage` of an OpenAI answer, when it holds two non-negative integers. */
export function readUsage(u: unknown): TokenUsage | null {
  if (u === null || typeof u !== 'object') return null;
  const { prompt_tokens: p, completion_tokens: c } = u as Record<string, unknown>;
  if (!Number.isSafeInteger(p) || !Number.isSafeInteger(c) || (p as number) < 0 || (c as number) < 0) return null;
  return { inputTokens: BigInt(p as number), outputTokens: BigInt(c as number) };
}

/** Characters of assistant text in a completion or a chunk. */
export function contentChars(choices: unknown): number {
  if (!Array.isArray(choices)) return 0;
  let n = 0;
  for (const c of choices) {
    const part = (c as { delta?: { content?: unknown }; message?: { content?: unknown } } | null) ?? {};
    const content = part.delta?.content ?? part.message?.content;
    if (typeof content === 'string') n += content.length;
  }
  return n;
}

const BOUNDARY = /\r?\n\r?\n/;

export class SseUsageScanner {
  usage: TokenUsage | null = null;
  contentChars = 0;
  events = 0;
  /** Data lines that were not JSON (a misbehaving upstream). */
  malformed = 0;
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  /** The data of an `{"error": …}` event the upstream sent (not forwarded). */
  upstreamError: string | null = null;

  constructor(
    private readonly forwardUsageChunk: boolean,
    /** Applied to every event forwarded (the gateway removes its secrets). */
    private readonly redact: (event: string) => string = (e) => e,
  ) {}

  /** Bytes in; the text to forward now (complete events only). */
  push(chunk: Buffer): string {
    this.buffer += this.decoder.write(chunk);
    let out = '';
    for (;;) {
      const m = BOUNDARY.exec(this.buffer);
      if (!m) break;
      const event = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      if (this.inspect(event)) out += `${this.redact(event)}\n\n`;
    }
    return out;
  }

  /** What is left when the upstream ends (an unterminated last event is forwarded as is). */
  end(): string {
    const rest = this.buffer + this.decoder.end();
    this.buffer = '';
    if (rest.trim() === '') return '';
    return this.inspect(rest) ? `${this.redact(rest)}\n\n` : '';
  }

  /** True when the event should be forwarded. */
  private inspect(event: string): boolean {
    this.events++;
    let data = '';
    for (const line of event.split(/\r?\n/)) {
      if (line.startsWith('data:')) data += line.slice(line.startsWith('data: ') ? 6 : 5);
    }
    if (data === '' || data === '[DONE]') return true;
    let json: { usage?: unknown; choices?: unknown; error?: unknown };
    try {
      json = JSON.parse(data) as typeof json;
    } catch {
      this.malformed++;
      return true;
    }
    if (json !== null && typeof json === 'object' && json.error !== undefined && json.error !== null) {
      this.upstreamError ??= data;
      return false;
    }
    this.contentChars += contentChars(json.choices);
    const usage = readUsage(json.usage);
    if (usage) {
      this.usage = usage;
      const usageOnly = Array.isArray(json.choices) && json.choices.length === 0;
      if (usageOnly && !this.forwardUsageChunk) return false;
    }
    return true;
  }
}
