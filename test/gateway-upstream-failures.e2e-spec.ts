/**
 * What the gateway says and bills when the teacher's upstream fails, over real
 * sockets: upstream error bodies (which may quote the vendor's credential)
 * never reach the distiller; the vendor reads them, redacted, in its upstream
 * error log; a stream cut short is billed for what was delivered and the error
 * says exactly what; GATEWAY_MAX_REQUEST_MS bounds a trickling upstream.
 */
import { request as httpRequest } from 'undici';
import { DemoUpstream, startDemoUpstream } from '../tools/demo-upstream/demo-upstream';
import { startTestApp, TestApp } from './support/app';
import { configureUpstream, meteringParties, MeteringParties } from './support/metering';

const UPSTREAM_KEY = 'sk-vendor-SECRET-4b1d9e0c7a';
const MAX_REQUEST_MS = 1500;

describe('gateway upstream failures (e2e)', () => {
  let t: TestApp;
  let upstream: DemoUpstream;
  let base: string;

  beforeAll(async () => {
    upstream = await startDemoUpstream({ apiKey: UPSTREAM_KEY });
    t = await startTestApp({ gatewayAdmissionLeaseMs: 50, gatewayMaxRequestMs: MAX_REQUEST_MS });
    const fastify = t.app.getHttpAdapter().getInstance();
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(fastify.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
  });

  async function parties(over: Record<string, unknown> = {}): Promise<MeteringParties> {
    const q = await meteringParties(t, { limits: { tokensPerPeriod: '1000000', tokensPerMinute: null } });
    await configureUpstream(t, q, upstream.url, { apiKey: UPSTREAM_KEY, ...over });
    return q;
  }
  async function call(key: string, content: string, over: Record<string, unknown> = {}) {
    const res = await httpRequest(`${base}/v1/gateway/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'teacher', messages: [{ role: 'user', content }], ...over }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, requestId: String(res.headers['x-request-id'] ?? ''), text };
  }
  /** The last SSE event's JSON. */
  const lastEvent = (text: string) => {
    const events = text.split('\n\n').filter(Boolean);
    return JSON.parse(events[events.length - 1].slice(6));
  };
  const events = (agreementId: string) =>
    t.dataSource.query(`SELECT event_id, input_tokens, output_tokens, estimated, metadata FROM usage_events WHERE agreement_id = $1`, [agreementId]);
  const reservations = async (agreementId: string) =>
    Number((await t.dataSource.query(`SELECT count(*) AS n FROM usage_reservations WHERE agreement_id = $1`, [agreementId]))[0].n);
  const errorLog = (q: MeteringParties, token: string) =>
    t.gql(
      `query($a: ID!) { teacherUpstreamErrors(agreementId: $a) { requestId streamed upstreamStatus code detail occurredAt } }`,
      { a: q.agreementId },
      token,
    );

  describe('an upstream error body that quotes the Authorization header', () => {
    it.each([false, true])('never reaches the distiller (stream: %s); the vendor reads it redacted', async (stream) => {
      const q = await parties();
      const r = await call(q.gatewayKey, 'fail #demo:status=500 #demo:echo-auth', { stream });
      // The upstream really did echo the credential.
      expect(upstream.requests[upstream.requests.length - 1].authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(r.status).toBe(502);
      expect(r.text).not.toContain(UPSTREAM_KEY);
      expect(r.text).not.toContain('request headers');
      const error = JSON.parse(r.text).error;
      expect(error).toMatchObject({ type: 'upstream_error', code: 'upstream_error', request_id: r.requestId });
      expect(error.message).toBe(
        "The teacher's upstream answered 500; nothing was delivered and nothing was billed. The vendor can see the upstream's detail for this request id",
      );
      expect(await events(q.agreementId)).toHaveLength(0);

      const log = await errorLog(q, q.vendor.token);
      expect(log.errors).toBeUndefined();
      const [entry] = log.data!.teacherUpstreamErrors;
      expect(entry).toMatchObject({ requestId: r.requestId, streamed: stream, upstreamStatus: 500, code: 'upstream_error' });
      expect(entry.detail).toContain('request headers: authorization=[REDACTED]');
      expect(entry.detail).not.toContain(UPSTREAM_KEY);
      const stored = await t.dataSource.query(`SELECT detail FROM upstream_errors WHERE request_id = $1`, [r.requestId]);
      expect(stored[0].detail).not.toContain(UPSTREAM_KEY);
    });

    it('an error event mid-stream is replaced by the gateway\'s own; what was delivered is recorded as estimated', async () => {
      const q = await parties();
      const r = await call(q.gatewayKey, 'one word then an error #demo:stream-error #demo:echo-auth', { stream: true });
      expect(r.status).toBe(200);
      expect(r.text).not.toContain(UPSTREAM_KEY);
      const { error } = lastEvent(r.text);
      expect(error).toMatchObject({ code: 'upstream_error', request_id: r.requestId });
      const [event] = await waitFor(async () => ((await events(q.agreementId)).length ? events(q.agreementId) : null));
      const [i, o] = [Number(event.input_tokens), Number(event.output_tokens)];
      expect(event).toMatchObject({ event_id: r.requestId, estimated: true, metadata: { estimatedBecause: 'UPSTREAM_FAILED' } });
      expect(o).toBeGreaterThan(0);
      expect(error.message).toBe(
        `The teacher's upstream reported an error mid-answer; ${i + o} tokens (${i} estimated for the prompt, ${o} for the text delivered before the failure) were recorded as estimated usage. The vendor can see the upstream's detail for this request id`,
      );
      const [entry] = (await errorLog(q, q.vendor.token)).data!.teacherUpstreamErrors;
      expect(entry).toMatchObject({ requestId: r.requestId, streamed: true, upstreamStatus: null });
      expect(entry.detail).toContain('[REDACTED]');
      expect(entry.detail).not.toContain(UPSTREAM_KEY);
    });

    it('the log is the vendor\'s alone: the distiller and other organizations get NOT_FOUND', async () => {
      const q = await parties();
      await call(q.gatewayKey, '#demo:status=503');
      const other = await parties();
      for (const token of [q.distiller.token, other.vendor.token]) {
        const r = await errorLog(q, token);
        expect(r.errors?.[0].extensions.code).toBe('NOT_FOUND');
      }
      expect((await errorLog(q, q.vendor.token)).data!.teacherUpstreamErrors).toHaveLength(1);
    });
  });

  describe('timeouts', () => {
    it('a stream that hangs before any text: nothing recorded, and the message says so', async () => {
      const q = await parties({ timeoutMs: 300 });
      const r = await call(q.gatewayKey, 'hang after the role chunk #demo:stall-after=1', { stream: true });
      expect(r.status).toBe(200);
      const { error } = lastEvent(r.text);
      expect(error).toMatchObject({ code: 'upstream_timeout', request_id: r.requestId });
      expect(error.message).toBe("The teacher's upstream sent nothing for 300 ms; nothing was delivered and nothing was billed");
      // The stream has ended; give the (not expected) record a moment by checking the reservation is gone first.
      await waitFor(async () => (await reservations(q.agreementId)) === 0);
      expect(await events(q.agreementId)).toHaveLength(0);
      expect((await errorLog(q, q.vendor.token)).data!.teacherUpstreamErrors[0]).toMatchObject({ code: 'upstream_timeout', streamed: true });
    });

    it('a stream that hangs after some text: exactly what was delivered is recorded as estimated, and the message says how much', async () => {
      const q = await parties({ timeoutMs: 300 });
      // role chunk + 3 words, then silence.
      const r = await call(q.gatewayKey, 'three words then silence #demo:stall-after=4 #demo:tokens=50', { stream: true });
      const { error } = lastEvent(r.text);
      expect(error.code).toBe('upstream_timeout');
      const delivered = r.text
        .split('\n\n')
        .filter((e) => e.startsWith('data: {"id"'))
        .map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content ?? '')
        .join('');
      const [event] = await waitFor(async () => ((await events(q.agreementId)).length ? events(q.agreementId) : null));
      const [i, o] = [Number(event.input_tokens), Number(event.output_tokens)];
      expect(o).toBe(Math.ceil(delivered.length / 4));
      expect(event).toMatchObject({ estimated: true, metadata: { estimatedBecause: 'UPSTREAM_TIMED_OUT' } });
      expect(error.message).toBe(
        `The teacher's upstream sent nothing for 300 ms; ${i + o} tokens (${i} estimated for the prompt, ${o} for the text delivered before the failure) were recorded as estimated usage`,
      );
    });

    it('an upstream trickling a chunk at a time within its idle timeout is cut at GATEWAY_MAX_REQUEST_MS', async () => {
      // A word every 100 ms stays within the 1,000 ms idle timeout; 100 words would take 10 s.
      const q = await parties({ timeoutMs: 1000 });
      const r = await call(q.gatewayKey, 'trickle #demo:chunk-delay=100 #demo:tokens=100', { stream: true });
      const { error } = lastEvent(r.text);
      expect(error.code).toBe('upstream_timeout');
      expect(r.text).not.toContain('[DONE]');
      const seen = upstream.requests[upstream.requests.length - 1];
      await waitFor(() => seen.aborted);
      const [event] = await waitFor(async () => ((await events(q.agreementId)).length ? events(q.agreementId) : null));
      const [i, o] = [Number(event.input_tokens), Number(event.output_tokens)];
      expect(o).toBeGreaterThan(0);
      expect(o).toBeLessThan(100);
      expect(error.message).toBe(
        `The request did not finish within the gateway's limit of ${MAX_REQUEST_MS} ms per request; ${i + o} tokens (${i} estimated for the prompt, ${o} for the text delivered before the failure) were recorded as estimated usage`,
      );
    });

    it('the deadline applies to a request that is not streamed, and nothing is billed', async () => {
      const q = await parties({ timeoutMs: 10_000 });
      const r = await call(q.gatewayKey, 'slow headers #demo:delay=5000');
      expect(r.status).toBe(504);
      expect(JSON.parse(r.text).error.message).toBe(`The request did not finish within the gateway's limit of ${MAX_REQUEST_MS} ms per request; nothing was delivered and nothing was billed`);
      await waitFor(async () => (await reservations(q.agreementId)) === 0);
      expect(await events(q.agreementId)).toHaveLength(0);
    });
  });
});

async function waitFor<T>(probe: () => T | Promise<T>, timeoutMs = 5000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
