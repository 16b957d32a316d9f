import fc from 'fast-check';
import { readUsage, SseUsageScanner } from './sse-usage-scanner';

const chunk = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } })}\n\n`;
const stream = [chunk('Hel'), chunk('lo'), usageChunk, 'data: [DONE]\n\n'].join('');

describe('SseUsageScanner', () => {
  it('forwards events unchanged, reads usage and counts streamed characters', () => {
    const s = new SseUsageScanner(true);
    const out = s.push(Buffer.from(stream)) + s.end();
    expect(out).toBe(stream);
    expect(s.usage).toEqual({ inputTokens: 11n, outputTokens: 7n });
    expect(s.contentChars).toBe(5);
  });

  it('drops the usage-only chunk when the client did not ask for usage', () => {
    const s = new SseUsageScanner(false);
    const out = s.push(Buffer.from(stream)) + s.end();
    expect(out).toBe([chunk('Hel'), chunk('lo'), 'data: [DONE]\n\n'].join(''));
    expect(s.usage).toEqual({ inputTokens: 11n, outputTokens: 7n });
  });

  it('gives the same result however the bytes are split (even inside a multi-byte character)', () => {
    const text = [chunk('héllo 🌍'), chunk(' wörld'), usageChunk, 'data: [DONE]\n\n'].join('');
    const bytes = Buffer.from(text);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
        const s = new SseUsageScanner(true);
        let out = '';
        for (let i = 0; i + 1 < points.length; i++) out += s.push(bytes.subarray(points[i], points[i + 1]));
        out += s.end();
        expect(out).toBe(text);
        expect(s.usage).toEqual({ inputTokens: 11n, outputTokens: 7n });
        expect(s.contentChars).toBe('héllo 🌍 wörld'.length);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('passes malformed data lines through and counts them', () => {
    const s = new SseUsageScanner(true);
    const out = s.push(Buffer.from('data: {"choices": [\n\n')) + s.end();
    expect(out).toBe('data: {"choices": [\n\n');
    expect(s.malformed).toBe(1);
    expect(s.usage).toBeNull();
  });

  it('handles CRLF framing and an unterminated last event', () => {
    const s = new SseUsageScanner(true);
    const out = s.push(Buffer.from(`data: ${JSON.stringify({ choices: [{ delta: { content: 'ab' } }] })}\r\n\r\ndata: [DONE]`)) + s.end();
    expect(out).toContain('data: [DONE]\n\n');
    expect(s.contentChars).toBe(2);
  });
});

describe('readUsage', () => {
  it('accepts only non-negative safe integers', () => {
    expect(readUsage({ prompt_tokens: 3, completion_tokens: 0 })).toEqual({ inputTokens: 3n, outputTokens: 0n });
    for (const bad of [null, 'x', {}, { prompt_tokens: -1, completion_tokens: 1 }, { prompt_tokens: 1.5, completion_tokens: 1 }, { prompt_tokens: 2 ** 60, completion_tokens: 1 }, { prompt_tokens: '3', completion_tokens: 1 }]) {
      expect(readUsage(bad)).toBeNull();
    }
  });
});
