/**
 * GET /openapi.json: a valid OpenAPI 3.1 document whose every path and method
 * answers on the running app (not 404), so the document cannot drift from
 * the routes silently.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { startTestApp, TestApp } from './support/app';

describe('OpenAPI document (e2e)', () => {
  let t: TestApp;
  let doc: any;

  beforeAll(async () => {
    t = await startTestApp();
    const r = await t.request({ method: 'GET', url: '/openapi.json' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    doc = r.body;
  });
  afterAll(() => t.close());

  it('validates against the OpenAPI 3.1 schema', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('documents routes that exist', async () => {
    const paths = Object.entries(doc.paths as Record<string, Record<string, unknown>>);
    expect(paths.map(([p]) => p).sort()).toEqual([
      '/openapi.json',
      '/v1/gateway/chat/completions',
      '/v1/gateway/models',
      '/v1/gateway/models/{id}',
      '/v1/stripe/webhooks',
      '/v1/usage/events',
    ]);
    for (const [path, methods] of paths) {
      for (const method of Object.keys(methods)) {
        const r = await t.request({ method: method.toUpperCase() as 'GET' | 'POST', url: path.replace('{id}', 'some-model'), body: method === 'post' ? {} : undefined });
        expect([path, r.status]).not.toEqual([path, 404]);
        expect([path, r.status]).not.toEqual([path, 405]);
      }
    }
  });

  it('lists every rejection reason the ingestion endpoint can give', () => {
    expect(doc.components.schemas.UsageEventResult.properties.reason.enum).toEqual(
      expect.arrayContaining(['ID_REUSED', 'AGREEMENT_NOT_FOUND', 'INVALID_TOKENS', 'OCCURRED_IN_FUTURE']),
    );
  });
});
