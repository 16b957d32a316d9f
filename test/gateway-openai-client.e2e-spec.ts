/**
 * The gateway as OpenAI's official client sees it: `new OpenAI({ baseURL:
 * '<server>/v1/gateway', apiKey: <GATEWAY key> })` — models, chat completions
 * streamed and not (with usage), and errors mapped to the client's own classes.
 * Also: paths outside the known routes keep OpenAI's error shape (404 / 405).
 */
import OpenAI from 'openai';
import { request as httpRequest } from 'undici';
import { demoCompletion, DemoUpstream, startDemoUpstream } from '../tools/demo-upstream/demo-upstream';
import { startTestApp, TestApp } from './support/app';
import { configureUpstream, meteringParties, MeteringParties } from './support/metering';

const UPSTREAM_KEY = 'sk-openai-client-upstream';

describe('gateway with the official openai client (e2e)', () => {
  let t: TestApp;
  let upstream: DemoUpstream;
  let base: string;
  let p: MeteringParties;
  // No retries: a 429 is asserted, not waited out.
  const client = (apiKey: string) => new OpenAI({ baseURL: `${base}/v1/gateway`, apiKey, maxRetries: 0 });

  beforeAll(async () => {
    upstream = await startDemoUpstream({ apiKey: UPSTREAM_KEY });
    t = await startTestApp({ gatewayAdmissionLeaseTokens: 0 });
    const fastify = t.app.getHttpAdapter().getInstance();
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(fastify.server.address() as { port: number }).port}`;
    p = await meteringParties(t);
    await configureUpstream(t, p, upstream.url, { apiKey: UPSTREAM_KEY });
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
  });

  it('lists and retrieves the models the key reaches: its agreement\'s teacher', async () => {
    const page = await client(p.gatewayKey).models.list();
    expect(page.data).toEqual([{ id: p.modelId, object: 'model', created: expect.any(Number), owned_by: p.vendor.organizationId }]);
    const model = await client(p.gatewayKey).models.retrieve(p.modelId);
    expect(model.id).toBe(p.modelId);
    const other = await meteringParties(t);
    await expect(client(p.gatewayKey).models.retrieve(other.modelId)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('creates a chat completion with usage', async () => {
    const body = { model: p.modelId, max_tokens: 9, messages: [{ role: 'user' as const, content: 'Explain distillation.' }] };
    const c = await client(p.gatewayKey).chat.completions.create(body);
    const expected = demoCompletion({ ...body, model: 'demo-teacher' });
    expect(c.choices[0].message.content).toBe(expected.content);
    expect(c.usage).toMatchObject({ prompt_tokens: expected.usage.prompt_tokens, completion_tokens: 9, total_tokens: expected.usage.total_tokens });
    const rows = await t.dataSource.query(`SELECT output_tokens FROM usage_events WHERE agreement_id = $1`, [p.agreementId]);
    expect(rows.map((r: { output_tokens: string }) => r.output_tokens)).toContain('9');
  });

  it('streams a chat completion, with the usage chunk when include_usage is asked', async () => {
    const body = { model: 'teacher', max_tokens: 6, messages: [{ role: 'user' as const, content: 'Stream it.' }] };
    const stream = await client(p.gatewayKey).chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    const expected = demoCompletion({ ...body, model: 'demo-teacher' });
    expect(text).toBe(expected.content);
    expect(usage).toMatchObject({ prompt_tokens: expected.usage.prompt_tokens, completion_tokens: 6 });
  });

  it('maps errors to the client\'s classes: bad key, over quota, unknown route, upstream failure', async () => {
    await expect(client('bm_not_a_real_key').models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(client('bm_not_a_real_key').chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );

    const small = await meteringParties(t, { limits: { tokensPerPeriod: '100', tokensPerMinute: null } });
    await configureUpstream(t, small, upstream.url, { apiKey: UPSTREAM_KEY });
    const ask = () => client(small.gatewayKey).chat.completions.create({ model: 'teacher', max_tokens: 60, messages: [{ role: 'user', content: 'hello #demo:tokens=60' }] });
    await ask();
    const refused = await ask().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('insufficient_quota');

    await expect(client(p.gatewayKey).embeddings.create({ model: 'teacher', input: 'x' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client(p.gatewayKey).chat.completions.create({ model: 'teacher', messages: [{ role: 'user', content: 'x #demo:status=500' }] })).rejects.toBeInstanceOf(
      OpenAI.InternalServerError,
    );
  });

  it('answers 404 and 405 under the REST prefixes in OpenAI\'s error shape', async () => {
    const get = async (method: string, path: string) => {
      const res = await httpRequest(`${base}${path}`, { method: method as 'GET', headers: { authorization: `Bearer ${p.gatewayKey}` } });
      return { status: res.statusCode, allow: res.headers.allow, body: (await res.body.json()) as any };
    };
    for (const path of ['/v1/gateway/completions', '/v1/gateway', '/v1/usage/summary', '/v1/gateway/v1/chat/completions']) {
      const r = await get('GET', path);
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ type: 'not_found_error', code: 'unknown_url', param: null, request_id: expect.any(String) });
      expect(r.body.error.message).toContain(path);
    }
    const wrongMethod = await get('GET', '/v1/gateway/chat/completions');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.allow).toBe('POST');
    expect(wrongMethod.body.error).toMatchObject({ type: 'invalid_request_error', code: 'method_not_allowed' });
    expect((await get('DELETE', '/v1/usage/events')).status).toBe(405);
    expect((await get('POST', '/v1/gateway/models')).status).toBe(405);
  });

  it('names the maximum when max_tokens is above it', async () => {
    const err = await client(p.gatewayKey)
      .chat.completions.create({ model: 'teacher', max_tokens: 2_000_000_000, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain('max_tokens must be a JSON integer from 1 to 1000000000 (got 2000000000)');
  });
});
