/**
 * The distillation gateway over real sockets: the app listens on a port, the
 * demo upstream on another, and requests go through undici like a client's.
 */
import { request as httpRequest } from 'undici';
import { demoCompletion, DemoUpstream, startDemoUpstream } from '../tools/demo-upstream/demo-upstream';
import { UsageRecorder } from '../src/metering/usage/usage-recorder.service';
import { startTestApp, TestApp } from './support/app';
import { configureUpstream, createApiKey, meteringParties, MeteringParties } from './support/metering';
import { preauthorizeBarrier, waitFor } from './support/race';

const UPSTREAM_KEY = 'sk-vendor-secret-0123456789';

interface GatewayAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

describe('distillation gateway (e2e)', () => {
  let t: TestApp;
  let upstream: DemoUpstream;
  let base: string;
  let p: MeteringParties;

  async function call(key: string | null, body: unknown, opts: { signal?: AbortSignal } = {}): Promise<GatewayAnswer> {
    const res = await httpRequest(`${base}/v1/gateway/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
      signal: opts.signal,
    });
    const text = await res.body.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* event stream */
    }
    return { status: res.statusCode, headers: res.headers, text, json };
  }

  const chat = (content: string, over: Record<string, unknown> = {}) => ({ model: 'teacher', messages: [{ role: 'user', content }], ...over });

  const eventsOf = (agreementId: string) =>
    t.dataSource.query(
      `SELECT event_id, source, input_tokens, output_tokens, overage_tokens, estimated, metadata, api_key_id
         FROM usage_events WHERE agreement_id = $1 ORDER BY received_at`,
      [agreementId],
    );
  const reservationsOf = async (agreementId: string) =>
    Number((await t.dataSource.query(`SELECT count(*) AS n FROM usage_reservations WHERE agreement_id = $1`, [agreementId]))[0].n);
  /** Reservations left once this process's admission lease (50 ms here) has run out: polled until none are left, or the deadline. */
  const reservationsAfterLease = async (agreementId: string) => {
    await waitFor(async () => (await reservationsOf(agreementId)) === 0).catch(() => undefined);
    return reservationsOf(agreementId);
  };

  async function partiesWithUpstream(limits?: { tokensPerPeriod: string | null; tokensPerMinute: string | null }, over: Record<string, unknown> = {}) {
    const q = await meteringParties(t, { limits });
    await configureUpstream(t, q, upstream.url, { apiKey: UPSTREAM_KEY, ...over });
    return q;
  }

  beforeAll(async () => {
    upstream = await startDemoUpstream({ apiKey: UPSTREAM_KEY });
    // Short admission leases, so "nothing left reserved" can be checked right after the requests.
    t = await startTestApp({ gatewayAdmissionLeaseMs: 50 });
    const fastify = t.app.getHttpAdapter().getInstance();
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const addr = fastify.server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
    p = await partiesWithUpstream();
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
  });

  describe('forwarding and metering', () => {
    it('answers a chat completion from the upstream and records its usage under the request id', async () => {
      const body = chat('Summarise the licence terms.', { max_tokens: 12 });
      const r = await call(p.gatewayKey, body);
      expect(r.status).toBe(200);
      const expected = demoCompletion({ ...body, model: 'demo-teacher' });
      expect(r.json.choices[0].message.content).toBe(expected.content);
      expect(r.json.usage).toEqual(expected.usage);
      const requestId = r.headers['x-request-id'] as string;
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);

      // The vendor's credential and upstream model were used; the distiller never sees them.
      const seen = upstream.requests[upstream.requests.length - 1];
      expect(seen.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(seen.model).toBe('demo-teacher');
      expect(r.text).not.toContain(UPSTREAM_KEY);

      const [event] = await eventsOf(p.agreementId);
      expect(event).toMatchObject({
        event_id: requestId,
        source: 'GATEWAY',
        input_tokens: String(expected.usage.prompt_tokens),
        output_tokens: String(expected.usage.completion_tokens),
        estimated: false,
        overage_tokens: '0',
        metadata: { stream: false, upstreamModel: 'demo-teacher' },
      });
      expect(await reservationsAfterLease(p.agreementId)).toBe(0);
    });

    it('streams server-sent events through and records the usage the upstream reports at the end', async () => {
      const q = await partiesWithUpstream();
      const body = chat('Stream me a story.', { stream: true, max_tokens: 20 });
      const r = await call(q.gatewayKey, body);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
      const events = r.text.split('\n\n').filter(Boolean);
      expect(events[events.length - 1]).toBe('data: [DONE]');
      const expected = demoCompletion({ ...body, model: 'demo-teacher' });
      const text = events
        .filter((e) => e !== 'data: [DONE]')
        .map((e) => JSON.parse(e.slice(6)))
        .map((c) => c.choices?.[0]?.delta?.content ?? '')
        .join('');
      expect(text).toBe(expected.content);
      // The client did not ask for usage: the usage-only chunk the gateway requested is not passed on.
      expect(r.text).not.toContain('"prompt_tokens"');
      expect(upstream.requests[upstream.requests.length - 1].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });

      // A streamed answer ends first; its usage is recorded right after.
      const [event] = await waitFor(async () => ((await eventsOf(q.agreementId)).length ? eventsOf(q.agreementId) : null));
      expect(event).toMatchObject({
        event_id: r.headers['x-request-id'],
        input_tokens: String(expected.usage.prompt_tokens),
        output_tokens: String(expected.usage.completion_tokens),
        estimated: false,
      });
      expect(await reservationsAfterLease(q.agreementId)).toBe(0);
    });

    it('passes the usage chunk on when the client asks for it', async () => {
      const r = await call(p.gatewayKey, chat('With usage please.', { stream: true, stream_options: { include_usage: true }, max_tokens: 3 }));
      const usageChunk = r.text.split('\n\n').find((e) => e.includes('"prompt_tokens"'));
      expect(usageChunk).toBeDefined();
      expect(JSON.parse(usageChunk!.slice(6)).choices).toEqual([]);
    });

    it('records an answer without usage as ESTIMATED and flags the agreement, never free', async () => {
      const q = await partiesWithUpstream();
      const r = await call(q.gatewayKey, chat('No counts here #demo:no-usage #demo:tokens=8'));
      expect(r.status).toBe(200);
      expect(r.json.usage).toBeUndefined();
      const [event] = await eventsOf(q.agreementId);
      expect(event.estimated).toBe(true);
      expect(BigInt(event.input_tokens) + BigInt(event.output_tokens)).toBeGreaterThan(0n);
      expect(event.metadata.estimatedBecause).toBe('UPSTREAM_REPORTED_NO_USAGE');
      const flags = await t.dataSource.query(`SELECT kind FROM anomaly_flags WHERE agreement_id = $1`, [q.agreementId]);
      expect(flags).toEqual([{ kind: 'ESTIMATED_USAGE' }]);
    });
  });

  it('records every one of many concurrent requests exactly once (usage writes are grouped)', async () => {
    const q = await partiesWithUpstream({ tokensPerPeriod: '100000000', tokensPerMinute: '100000000' });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => call(q.gatewayKey, chat(`concurrent ${i}`, { max_tokens: 5, stream: i % 2 === 0 }))));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const ids = new Set(answers.map((a) => a.headers['x-request-id']));
    const rows = await waitFor(async () => {
      const r = await eventsOf(q.agreementId);
      return r.length === 40 ? r : null;
    });
    expect(rows).toHaveLength(40);
    expect(new Set(rows.map((r: { event_id: string }) => r.event_id))).toEqual(ids);
    const [total] = await t.dataSource.query(
      `SELECT (SELECT sum(input_tokens + output_tokens) FROM usage_events WHERE agreement_id = $1)::text AS raw,
              (SELECT sum(input_tokens + output_tokens) FROM usage_period_totals WHERE agreement_id = $1)::text AS rolled`,
      [q.agreementId],
    );
    expect(total.rolled).toBe(total.raw);
    expect(await reservationsAfterLease(q.agreementId)).toBe(0);
  });

  describe('upstream failures are not billed', () => {
    it.each([
      ['an upstream 500', '#demo:status=500', 502, 'upstream_error'],
      ['an upstream 401 (bad vendor credential)', '#demo:status=401', 502, 'upstream_error'],
      ['malformed JSON', '#demo:malformed', 502, 'upstream_malformed'],
    ])('answers %s with %s and records nothing', async (_name, directive, status, code) => {
      const q = await partiesWithUpstream();
      const r = await call(q.gatewayKey, chat(`fail ${directive}`));
      expect(r.status).toBe(status);
      expect(r.json.error).toMatchObject({ type: 'upstream_error', code });
      expect(r.json.error.message).toMatch(/nothing was billed/);
      expect(await eventsOf(q.agreementId)).toHaveLength(0);
      expect(await reservationsAfterLease(q.agreementId)).toBe(0);
    });

    it('answers 504 when the upstream is slower than its timeout, and records nothing', async () => {
      const q = await partiesWithUpstream(undefined, { timeoutMs: 200 });
      const r = await call(q.gatewayKey, chat('slow #demo:delay=1500'));
      expect(r.status).toBe(504);
      expect(r.json.error.code).toBe('upstream_timeout');
      expect(await eventsOf(q.agreementId)).toHaveLength(0);
      expect(await reservationsAfterLease(q.agreementId)).toBe(0);
    });

    it('answers 502 when the upstream cannot be reached', async () => {
      const q = await meteringParties(t);
      await configureUpstream(t, q, 'http://127.0.0.1:9/v1');
      const r = await call(q.gatewayKey, chat('anyone there?'));
      expect(r.status).toBe(502);
      expect(r.json.error.code).toBe('upstream_unreachable');
      expect(await eventsOf(q.agreementId)).toHaveLength(0);
    });

    it('answers 503 while the vendor has not configured an upstream', async () => {
      const q = await meteringParties(t);
      const r = await call(q.gatewayKey, chat('hello'));
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe('upstream_not_configured');
    });
  });

  it('aborts the upstream when the client disconnects mid-stream and records what was streamed as estimated', async () => {
    const q = await partiesWithUpstream();
    const ac = new AbortController();
    const res = await httpRequest(`${base}/v1/gateway/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${q.gatewayKey}` },
      body: JSON.stringify(chat('Go slowly #demo:chunk-delay=50 #demo:tokens=200', { stream: true })),
      signal: ac.signal,
    });
    expect(res.statusCode).toBe(200);
    const requestId = res.headers['x-request-id'];
    let received = '';
    await expect(
      (async () => {
        for await (const chunk of res.body) {
          received += chunk.toString();
          if (received.split('\n\n').length > 4) ac.abort();
        }
      })(),
    ).rejects.toThrow();
    // The upstream saw its request aborted well before the 200 words were sent.
    const seen = upstream.requests[upstream.requests.length - 1];
    await waitFor(() => seen.aborted);
    // Usage is recorded once the gateway notices: estimated from the prompt and the text streamed.
    const [event] = await waitFor(async () => {
      const rows = await eventsOf(q.agreementId);
      return rows.length > 0 ? rows : null;
    });
    expect(event).toMatchObject({ event_id: requestId, estimated: true });
    expect(event.metadata.estimatedBecause).toBe('CLIENT_DISCONNECTED');
    expect(Number(event.output_tokens)).toBeGreaterThan(0);
    expect(Number(event.output_tokens)).toBeLessThan(200);
    expect(await reservationsAfterLease(q.agreementId)).toBe(0);
  });

  describe('pre-authorisation', () => {
    it('lets only one of many requests racing for the last of a quota through, round after round', async () => {
      // 10 tokens reserved for the prompt estimate + max_tokens 60 = 70 per request; 100 left: one fits.
      // Every pre-authorisation is held until all have arrived, then they run together on separate connections.
      const CALLERS = 8;
      for (let round = 0; round < 5; round++) {
        const q = await partiesWithUpstream({ tokensPerPeriod: '100', tokensPerMinute: null });
        const barrier = preauthorizeBarrier(t.app.get(UsageRecorder), CALLERS);
        const body = chat('x'.repeat(40), { max_tokens: 60 });
        let answers: GatewayAnswer[];
        try {
          answers = await Promise.all(Array.from({ length: CALLERS }, () => call(q.gatewayKey, body)));
        } finally {
          barrier.restore();
        }
        expect(barrier.arrived()).toBe(CALLERS);
        const statuses = answers.map((a) => a.status).sort();
        expect(statuses).toEqual([200, ...Array(CALLERS - 1).fill(429)]);
        const refused = answers.find((a) => a.status === 429)!;
        expect(refused.json.error.code).toBe('insufficient_quota');
        expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
        expect(await eventsOf(q.agreementId)).toHaveLength(1);
      }
    });

    it('refuses with 429 and Retry-After once the per-minute rate is used up', async () => {
      const q = await partiesWithUpstream({ tokensPerPeriod: null, tokensPerMinute: '100' });
      const first = await call(q.gatewayKey, chat('hello #demo:tokens=60', { max_tokens: 60 }));
      expect(first.status).toBe(200);
      const second = await call(q.gatewayKey, chat('hello again', { max_tokens: 60 }));
      expect(second.status).toBe(429);
      expect(second.json.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
      const retry = Number(second.headers['retry-after']);
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(60);
      expect(second.headers['x-ratelimit-limit-tokens']).toBe('100');
    });

    it('refuses with 400 a request that could never fit the limits', async () => {
      const q = await partiesWithUpstream({ tokensPerPeriod: '1000', tokensPerMinute: '500' });
      const r = await call(q.gatewayKey, chat('hi', { max_tokens: 800 }));
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ code: 'request_exceeds_rate_limit', param: 'max_tokens' });
      const noMax = await call(q.gatewayKey, chat('hi'));
      expect(noMax.status).toBe(400);
      expect(noMax.json.error.message).toMatch(/set a smaller max_tokens/);
    });
  });

  describe('keys and agreements', () => {
    it('refuses a missing, invalid, revoked or wrong-scope key', async () => {
      expect((await call(null, chat('hi'))).status).toBe(401);
      expect((await call('bm_nope', chat('hi'))).status).toBe(401);
      expect((await call(p.distiller.token, chat('hi'))).json.error.code).toBe('invalid_api_key');
      const read = await createApiKey(t, p.distiller, ['READ']);
      const wrong = await call(read.secret, chat('hi'));
      expect(wrong.status).toBe(403);
      expect(wrong.json.error.code).toBe('insufficient_scope');
      const k = await createApiKey(t, p.distiller, ['GATEWAY'], p.agreementId);
      expect((await call(k.secret, chat('hi', { max_tokens: 1 }))).status).toBe(200);
      await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: k.id }, p.distiller.token);
      const revoked = await call(k.secret, chat('hi'));
      expect(revoked.status).toBe(401);
      expect(revoked.json.error.code).toBe('invalid_api_key');
    });

    it("does not let a key reach another agreement's teacher", async () => {
      const other = await partiesWithUpstream();
      const before = upstream.requests.length;
      for (const model of [other.modelId, other.agreementId]) {
        const r = await call(p.gatewayKey, chat('hi', { model }));
        expect(r.status).toBe(404);
        expect(r.json.error.code).toBe('model_not_found');
      }
      expect(upstream.requests.length).toBe(before);
      // Its own agreement or model id is fine, in either case (UUIDs are case-insensitive on input).
      expect((await call(p.gatewayKey, chat('hi', { model: p.modelId, max_tokens: 1 }))).status).toBe(200);
      expect((await call(p.gatewayKey, chat('hi', { model: p.modelId.toUpperCase(), max_tokens: 1 }))).status).toBe(200);
    });

    it('refuses a suspended agreement with 403, flags the attempt, and serves again once reinstated', async () => {
      const q = await partiesWithUpstream();
      const change = (name: string) =>
        t.gql(`mutation($i: AgreementStatusChangeInput!) { ${name}(input: $i) { __typename } }`, { i: { id: q.agreementId, reason: 'review' } }, q.vendor.token);
      await change('suspendAgreement');
      const before = upstream.requests.length;
      const r1 = await call(q.gatewayKey, chat('hi'));
      const r2 = await call(q.gatewayKey, chat('hi'));
      expect(r1.status).toBe(403);
      expect(r1.json.error.code).toBe('agreement_suspended');
      expect(r2.status).toBe(403);
      expect(upstream.requests.length).toBe(before);
      const flags = await t.dataSource.query(`SELECT kind, occurrences FROM anomaly_flags WHERE agreement_id = $1`, [q.agreementId]);
      expect(flags).toEqual([{ kind: 'USAGE_AFTER_SUSPENSION', occurrences: 2 }]);
      await change('reinstateAgreement');
      expect((await call(q.gatewayKey, chat('hi', { max_tokens: 1 }))).status).toBe(200);
      await change('terminateAgreement');
      const ended = await call(q.gatewayKey, chat('hi'));
      expect(ended.status).toBe(403);
      expect(ended.json.error.code).toBe('agreement_ended');
    });

    it('refuses to create a GATEWAY key for an agreement that has ended; a suspended one still gets one', async () => {
      const q = await meteringParties(t);
      const change = (name: string) =>
        t.gql(`mutation($i: AgreementStatusChangeInput!) { ${name}(input: $i) { __typename } }`, { i: { id: q.agreementId, reason: 'review' } }, q.vendor.token);
      const create = () =>
        t.gql(
          `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }`,
          { i: { organizationId: q.distiller.organizationId, name: 'late key', scopes: ['GATEWAY'], agreementId: q.agreementId } },
          q.distiller.token,
        );
      await change('suspendAgreement');
      expect((await create()).errors).toBeUndefined();
      await change('terminateAgreement');
      const keysBefore = await t.dataSource.query(`SELECT count(*)::int AS n FROM api_keys WHERE agreement_id = $1`, [q.agreementId]);
      const r = await create();
      expect(r.data).toBeNull();
      expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(r.errors?.[0].message).toBe(
        `agreementId: agreement ${q.agreementId} has ended (TERMINATED); a GATEWAY key needs an agreement that is not terminated or expired`,
      );
      expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM api_keys WHERE agreement_id = $1`, [q.agreementId])).toEqual(keysBefore);
    });

    it('explains a request that is not a chat completion', async () => {
      const noMessages = await call(p.gatewayKey, { model: 'x' });
      expect(noMessages.status).toBe(400);
      expect(noMessages.json.error).toMatchObject({ code: 'missing_messages', param: 'messages' });
      const badMax = await call(p.gatewayKey, chat('hi', { max_tokens: -3 }));
      expect(badMax.json.error).toMatchObject({ code: 'invalid_max_tokens', param: 'max_tokens' });
      const badStream = await call(p.gatewayKey, chat('hi', { stream: 'yes' }));
      expect(badStream.json.error.param).toBe('stream');
    });
  });
});

describe('distillation gateway with public upstreams only (production default)', () => {
  it('refuses to call an upstream on a private address, and bills nothing', async () => {
    const upstream = await startDemoUpstream({ apiKey: UPSTREAM_KEY });
    const t = await startTestApp({ gatewayAllowPrivateUpstreams: false });
    try {
      const q = await meteringParties(t);
      await configureUpstream(t, q, upstream.url, { apiKey: UPSTREAM_KEY });
      const r = await t.request({
        method: 'POST',
        url: '/v1/gateway/chat/completions',
        headers: { authorization: `Bearer ${q.gatewayKey}` },
        body: { messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 },
      });
      expect(r.status).toBe(502);
      expect(r.body.error.code).toBe('upstream_address_not_public');
      expect(upstream.requests).toHaveLength(0);
      expect(await t.dataSource.query(`SELECT 1 FROM usage_events WHERE agreement_id = $1`, [q.agreementId])).toHaveLength(0);
      // The admission lease (50 ms) runs out and is released.
      await waitFor(async () => (await t.dataSource.query(`SELECT 1 FROM usage_reservations WHERE agreement_id = $1`, [q.agreementId])).length === 0);
    } finally {
      await t.close();
      await upstream.close();
    }
  });
});

describe('distillation gateway with GATEWAY_USAGE_COMMIT=async', () => {
  it('records usage exactly as in durable mode', async () => {
    const upstream = await startDemoUpstream({ apiKey: UPSTREAM_KEY });
    const t = await startTestApp({ gatewayUsageCommit: 'async', gatewayAdmissionLeaseMs: 50 });
    try {
      const q = await meteringParties(t, { limits: { tokensPerPeriod: '1000000', tokensPerMinute: null } });
      await configureUpstream(t, q, upstream.url, { apiKey: UPSTREAM_KEY });
      const r = await t.request({
        method: 'POST',
        url: '/v1/gateway/chat/completions',
        headers: { authorization: `Bearer ${q.gatewayKey}` },
        body: { messages: [{ role: 'user', content: 'async please' }], max_tokens: 4 },
      });
      expect(r.status).toBe(200);
      const rows = await t.dataSource.query(`SELECT event_id, input_tokens, output_tokens FROM usage_events WHERE agreement_id = $1`, [q.agreementId]);
      expect(rows).toEqual([{ event_id: r.headers['x-request-id'], input_tokens: String(r.body.usage.prompt_tokens), output_tokens: String(r.body.usage.completion_tokens) }]);
      // The admission lease (50 ms) runs out and is released.
      await waitFor(async () => (await t.dataSource.query(`SELECT 1 FROM usage_reservations WHERE agreement_id = $1`, [q.agreementId])).length === 0);
    } finally {
      await t.close();
      await upstream.close();
    }
  });
});
