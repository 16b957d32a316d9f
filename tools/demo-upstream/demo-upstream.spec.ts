import {
  DEMO_CREATED,
  DemoRequestError,
  type DemoUpstream,
  demoCompletion,
  demoResponseText,
  demoSseEvents,
  startDemoUpstream,
} from './demo-upstream';

const user = (content: unknown) => ({ role: 'user', content });
const body = (overrides: Record<string, unknown> = {}) => ({
  model: 'demo-teacher',
  messages: [{ role: 'system', content: 'You are' }, user('hello world')],
  ...overrides,
});

async function waitFor(cond: () => boolean, ms = 1000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Polls without timers (they may be faked), with a deadline. */
async function waitForIo(cond: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

// Assertions read arbitrary JSON.
const readJson = (r: Response): Promise<any> => r.json();

/** SSE data payloads of a stream body. */
const dataLines = (text: string) =>
  text
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return e.slice('data: '.length);
    });

describe('demoCompletion (pure)', () => {
  it('is deterministic and depends on the prompt', () => {
    const a = demoCompletion(body());
    expect(demoCompletion(body())).toEqual(a);
    expect(a.created).toBe(DEMO_CREATED);
    expect(a.id).toMatch(/^chatcmpl-demo[0-9a-f]{24}$/);
    const b = demoCompletion(body({ messages: [user('something else entirely')] }));
    expect(b.content).not.toBe(a.content);
    expect(b.id).not.toBe(a.id);
    // Same prompt, different body (stream flag): same words, different id.
    const s = demoCompletion(body({ stream: true }));
    expect(s.content).toBe(a.content);
    expect(s.id).not.toBe(a.id);
  });

  it('counts prompt tokens as ceil(characters / 4) and one completion token per word', () => {
    const c = demoCompletion(body()); // 'You are' (7) + 'hello world' (11) = 18 chars
    expect(c.usage).toEqual({ prompt_tokens: 5, completion_tokens: 16, total_tokens: 21 });
    expect(c.words).toHaveLength(16);
    expect(c.content.split(' ')).toEqual(c.words);
    expect(c.finishReason).toBe('stop');

    expect(demoCompletion({ messages: [user('')] }).usage.prompt_tokens).toBe(1); // at least 1
    expect(demoCompletion({ messages: [user('abcd')] }).usage.prompt_tokens).toBe(1);
    expect(demoCompletion({ messages: [user('abcde')] }).usage.prompt_tokens).toBe(2);
    // Text parts count, other parts do not; a surrogate pair is one character.
    const parts = demoCompletion({
      messages: [user([{ type: 'text', text: 'abc' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: '😀😀' }])],
    });
    expect(parts.usage.prompt_tokens).toBe(2); // 'abc' + '\n' + 2 emoji = 6 characters
    expect(demoCompletion({ model: 'other', messages: [user('x')] }).model).toBe('other');
    expect(demoCompletion({ messages: [user('x')] }).model).toBe('demo-teacher');
  });

  it('caps the answer at max_tokens (finish "length") and at 4096', () => {
    const c = demoCompletion(body({ max_tokens: 5 }));
    expect(c.usage.completion_tokens).toBe(5);
    expect(c.finishReason).toBe('length');
    expect(c.words).toEqual(demoCompletion(body()).words.slice(0, 5));
    expect(demoCompletion(body({ max_tokens: 50, max_completion_tokens: 3 })).usage.completion_tokens).toBe(3);
    const big = demoCompletion(body({ max_tokens: 10_000 }));
    expect(big.usage.completion_tokens).toBe(4096);
    expect(big.finishReason).toBe('stop');
  });

  it('reads directives from the last user message only', () => {
    const c = demoCompletion({
      messages: [user('#demo:status=500'), { role: 'assistant', content: 'ok' }, user('go #demo:tokens=3 #demo:no-usage #demo:chunk-delay=7'), { role: 'assistant', content: '#demo:malformed' }],
      max_tokens: 2,
    });
    expect(c.directives).toEqual({ malformed: false, noUsage: true, tokens: 3, chunkDelayMs: 7, echoAuth: false, streamError: false });
    expect(c.usage.completion_tokens).toBe(3); // tokens=n wins over max_tokens
    expect(c.finishReason).toBe('stop');
    expect(demoCompletion({ messages: [user('#demo:tokens=0')] }).content).toBe('');
  });

  it.each([
    ['not an object', [], null],
    ['no messages', { model: 'm' }, 'messages'],
    ['empty messages', { messages: [] }, 'messages'],
    ['message without role', { messages: [{ content: 'x' }] }, 'messages[0].role'],
    ['numeric content', { messages: [user(5)] }, 'messages[0].content'],
    ['text part without text', { messages: [user([{ type: 'text' }])] }, 'messages[0].content[0].text'],
    ['fractional max_tokens', { messages: [user('x')], max_tokens: 1.5 }, 'max_tokens'],
    ['zero max_completion_tokens', { messages: [user('x')], max_completion_tokens: 0 }, 'max_completion_tokens'],
    ['string stream', { messages: [user('x')], stream: 'yes' }, 'stream'],
    ['unknown directive', { messages: [user('#demo:explode')] }, 'messages'],
    ['bad directive value', { messages: [user('#demo:status=200')] }, 'messages'],
    ['negative delay', { messages: [user('#demo:delay=-1')] }, 'messages'],
  ])('rejects %s', (_name, input, param) => {
    let err: unknown;
    try {
      demoCompletion(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DemoRequestError);
    expect((err as DemoRequestError).param).toBe(param);
  });
});

describe('demo upstream server', () => {
  let up: DemoUpstream;
  beforeAll(async () => {
    up = await startDemoUpstream();
  });
  afterAll(() => up.close());

  const post = (b: unknown, init: RequestInit = {}) =>
    fetch(`${up.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof b === 'string' ? b : JSON.stringify(b),
      ...init,
    });

  it('serves health and the model list, 404 elsewhere', async () => {
    expect(up.url).toBe(`http://127.0.0.1:${up.port}/v1`);
    const health = await fetch(`http://127.0.0.1:${up.port}/health`);
    expect(health.status).toBe(200);
    expect(await readJson(health)).toEqual({ status: 'ok' });
    const models = await readJson(await fetch(`${up.url}/models`));
    expect(models.data.map((m: { id: string }) => m.id)).toEqual(['demo-teacher']);
    const nope = await fetch(`${up.url}/embeddings`, { method: 'POST', body: '{}' });
    expect(nope.status).toBe(404);
    expect((await readJson(nope)).error.type).toBe('not_found_error');
  });

  it('answers a non-streamed request deterministically, byte for byte, with usage', async () => {
    const b = body({ max_tokens: 7 });
    const r1 = await post(b);
    const t1 = await r1.text();
    const t2 = await (await post(b)).text();
    expect(r1.status).toBe(200);
    expect(r1.headers.get('content-type')).toBe('application/json');
    expect(r1.headers.get('content-length')).toBe(String(Buffer.byteLength(t1)));
    expect(r1.headers.get('connection')).toBe('keep-alive');
    expect(t2).toBe(t1);
    const c = demoCompletion(b);
    expect(t1).toBe(demoResponseText(c));
    const json = JSON.parse(t1);
    expect(json).toMatchObject({
      id: c.id,
      object: 'chat.completion',
      created: DEMO_CREATED,
      model: 'demo-teacher',
      choices: [{ index: 0, message: { role: 'assistant', content: c.content }, finish_reason: 'length' }],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    });
    expect(json.choices[0].message.content.split(' ')).toHaveLength(7);
  });

  it('streams one chunk per word, then finish_reason, the usage chunk and [DONE]', async () => {
    const b = body({ stream: true, stream_options: { include_usage: true }, max_tokens: 4 });
    const res = await post(b);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const text = await res.text();
    expect(text).toBe([...demoSseEvents(demoCompletion(b))].join(''));
    const lines = dataLines(text);
    expect(lines.at(-1)).toBe('[DONE]');
    const chunks = lines.slice(0, -1).map((l) => JSON.parse(l));
    expect(chunks).toHaveLength(1 + 4 + 1 + 1);
    for (const ch of chunks) expect(ch).toMatchObject({ object: 'chat.completion.chunk', created: DEMO_CREATED, model: 'demo-teacher' });
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const words = chunks.slice(1, 5).map((ch) => ch.choices[0].delta.content);
    expect(words.join('')).toBe(demoCompletion(body({ max_tokens: 4 })).content);
    expect(chunks[5].choices[0]).toMatchObject({ delta: {}, finish_reason: 'length' });
    for (const ch of chunks.slice(0, 6)) expect(ch.usage).toBeNull();
    expect(chunks[6].choices).toEqual([]);
    expect(chunks[6].usage).toEqual({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
    expect(up.requests.at(-1)).toMatchObject({ model: 'demo-teacher', stream: true, aborted: false, status: 200, body: b });
  });

  it('sends no usage chunk unless include_usage is asked', async () => {
    const text = await (await post(body({ stream: true, max_tokens: 2 }))).text();
    const lines = dataLines(text);
    expect(lines).toHaveLength(1 + 2 + 1 + 1);
    expect(text).not.toContain('usage');
    expect(JSON.parse(lines[3]).choices[0].finish_reason).toBe('length');
  });

  it('answers 400 with an OpenAI error for invalid JSON or missing messages', async () => {
    const bad = await post('{"model":');
    expect(bad.status).toBe(400);
    expect((await readJson(bad)).error).toEqual({ message: expect.any(String), type: 'invalid_request_error', param: null, code: null });
    expect(up.requests.at(-1)).toMatchObject({ body: '{"model":', status: 400 });
    const none = await post({ model: 'demo-teacher' });
    expect(none.status).toBe(400);
    expect((await readJson(none)).error).toMatchObject({ type: 'invalid_request_error', param: 'messages' });
  });

  it('#demo:status answers that status with an error body, streamed or not', async () => {
    for (const stream of [false, true]) {
      const res = await post({ messages: [user('fail #demo:status=503')], stream });
      expect(res.status).toBe(503);
      expect((await readJson(res)).error).toMatchObject({ type: 'server_error' });
    }
    const limited = await post({ messages: [user('#demo:status=429')] });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await readJson(limited)).error.type).toBe('rate_limit_error');
  });

  // The server's timers are faked (its sockets are real): what is checked is the order of events, not elapsed time.
  const fakeTimers = () => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'Date', 'hrtime', 'performance'] });

  it('#demo:delay waits before the headers', async () => {
    fakeTimers();
    try {
      const before = up.requests.length;
      const pending = post({ messages: [user('#demo:delay=150')] });
      await waitForIo(() => up.requests.length > before);
      const entry = up.requests[before];
      await jest.advanceTimersByTimeAsync(149);
      expect(entry.status).toBe(0); // still waiting: nothing answered
      await jest.advanceTimersByTimeAsync(1);
      const res = await pending;
      expect(entry.status).toBe(200);
      expect(res.status).toBe(200);
      await res.text();
    } finally {
      jest.useRealTimers();
    }
  });

  it('#demo:chunk-delay spaces the stream chunks', async () => {
    fakeTimers();
    try {
      const res = await post({ messages: [user('#demo:chunk-delay=20 #demo:tokens=3')], stream: true });
      const reader = res.body!.getReader();
      // The first event goes at once; the next ones only as the server's timer advances.
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(dataLines(first)).toHaveLength(1);
      expect(JSON.parse(dataLines(first)[0]).choices[0].delta.role).toBe('assistant');
      let rest = '';
      for (;;) {
        await jest.advanceTimersByTimeAsync(20);
        const { value, done } = await reader.read();
        if (done) break;
        rest += new TextDecoder().decode(value);
      }
      // role + 3 words + finish + [DONE] = 6 events
      expect(dataLines(first + rest)).toHaveLength(6);
    } finally {
      jest.useRealTimers();
    }
  });

  it('#demo:stall-after sends that many events, then holds the connection until the client leaves', async () => {
    const before = up.requests.length;
    const ac = new AbortController();
    const res = await post({ messages: [user('#demo:stall-after=2 #demo:tokens=5')], stream: true }, { signal: ac.signal });
    const reader = res.body!.getReader();
    let text = '';
    while (dataLines(text).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    expect(dataLines(text)).toHaveLength(2);
    expect(up.requests[before].aborted).toBe(false);
    ac.abort();
    await waitFor(() => up.requests[before].aborted);
  });

  it('#demo:echo-auth quotes the Authorization header in errors; #demo:stream-error ends a stream with an error event', async () => {
    const failed = await post({ messages: [user('#demo:status=500 #demo:echo-auth')] }, { headers: { authorization: 'Bearer sk-echo' } });
    expect(failed.status).toBe(500);
    expect((await readJson(failed)).error.message).toContain('Bearer sk-echo');
    const text = await (await post({ messages: [user('#demo:stream-error #demo:echo-auth')], stream: true }, { headers: { authorization: 'Bearer sk-echo' } })).text();
    const lines = dataLines(text);
    expect(JSON.parse(lines[1]).choices[0].delta.content).toBeTruthy();
    const error = JSON.parse(lines[lines.length - 1]).error;
    expect(error.message).toContain('Bearer sk-echo');
    expect(text).not.toContain('[DONE]');
  });

  it('#demo:malformed sends an unparsable body / data line', async () => {
    const res = await post({ messages: [user('#demo:malformed')] });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.startsWith('{"id":"chatcmpl-demo')).toBe(true);
    expect(() => JSON.parse(text)).toThrow(SyntaxError);

    const stream = await (await post({ messages: [user('#demo:malformed')], stream: true, stream_options: { include_usage: true } })).text();
    const lines = dataLines(stream);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]).choices[0].delta.role).toBe('assistant');
    expect(() => JSON.parse(lines[1])).toThrow(SyntaxError);
    expect(stream).not.toContain('[DONE]');
  });

  it('#demo:no-usage omits usage, streamed or not', async () => {
    const json = await readJson(await post({ messages: [user('#demo:no-usage')] }));
    expect(json.choices[0].message.content.split(' ')).toHaveLength(16);
    expect(json).not.toHaveProperty('usage');
    const text = await (await post({ messages: [user('#demo:no-usage')], stream: true, stream_options: { include_usage: true } })).text();
    expect(text).not.toContain('usage');
    expect(dataLines(text).at(-1)).toBe('[DONE]');
  });

  it('#demo:tokens gives exactly n words', async () => {
    const json = await readJson(await post({ messages: [user('#demo:tokens=3')], max_tokens: 100 }));
    expect(json.choices[0].message.content.split(' ')).toHaveLength(3);
    expect(json.choices[0].finish_reason).toBe('stop');
    expect(json.usage.completion_tokens).toBe(3);
    const zero = await readJson(await post({ messages: [user('#demo:tokens=0')] }));
    expect(zero.choices[0].message.content).toBe('');
    expect(zero.usage.completion_tokens).toBe(0);
  });

  it('marks a stream the client aborts as aborted and stops early', async () => {
    const before = up.requests.length;
    const ac = new AbortController();
    const res = await post({ messages: [user('#demo:chunk-delay=50 #demo:tokens=100')], stream: true }, { signal: ac.signal });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('"role":"assistant"');
    expect(up.requests[before].aborted).toBe(false);
    ac.abort();
    await waitFor(() => up.requests[before].aborted);
  });

  it('marks a request aborted during #demo:delay', async () => {
    const before = up.requests.length;
    const ac = new AbortController();
    const pending = post({ messages: [user('#demo:delay=5000')] }, { signal: ac.signal }).catch((e: Error) => e);
    await waitFor(() => up.requests.length > before);
    ac.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await waitFor(() => up.requests[before].aborted);
  });
});

describe('demo upstream with an api key', () => {
  it('requires the bearer key on /v1 and records the header received', async () => {
    const up = await startDemoUpstream({ apiKey: 'sk-demo' });
    try {
      const b = JSON.stringify(body());
      const anon = await fetch(`${up.url}/chat/completions`, { method: 'POST', body: b });
      expect(anon.status).toBe(401);
      expect((await readJson(anon)).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key' });
      const wrong = await fetch(`${up.url}/chat/completions`, { method: 'POST', body: b, headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      await wrong.text();
      expect((await fetch(`${up.url}/models`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${up.port}/health`)).status).toBe(200);
      const ok = await fetch(`${up.url}/chat/completions`, { method: 'POST', body: b, headers: { authorization: 'Bearer sk-demo' } });
      expect(ok.status).toBe(200);
      expect((await readJson(ok)).usage.total_tokens).toBe(21);
      expect(up.requests.map((r) => [r.authorization, r.status])).toEqual([
        [undefined, 401],
        ['Bearer nope', 401],
        ['Bearer sk-demo', 200],
      ]);
    } finally {
      await up.close();
    }
  });

  it('closes promptly with an in-flight stream, and can skip recording', async () => {
    const up = await startDemoUpstream({ record: false });
    const res = await fetch(`${up.url}/chat/completions`, {
      method: 'POST',
      // The stream would take 16 × 10 minutes: close() resolving at all shows it does not wait for it.
      body: JSON.stringify({ messages: [user('#demo:chunk-delay=600000')], stream: true }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    await up.close();
    await expect(reader.read()).rejects.toThrow();
    expect(up.requests).toEqual([]);
  });
});
