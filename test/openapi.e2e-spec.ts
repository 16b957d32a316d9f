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
      '/.well-known/beiming-keys.json',
      '/models/{id}',
      '/models/{id}/licence',
      '/openapi.json',
      '/v1/gateway/chat/completions',
      '/v1/gateway/models',
      '/v1/gateway/models/{id}',
      '/v1/statements/{organizationId}/earnings/{file}',
      '/v1/statements/{organizationId}/usage/{file}',
      '/v1/stripe/webhooks',
      '/v1/usage/events',
      '/verify/{digest}',
    ]);
    // What a route that does not exist answers: a documented path may answer 404 for an unknown object, never this.
    const noRoute = (r: { status: number; body: any }, url: string) => r.status === 404 && r.body?.error?.message === `Cannot ${r.body?.method ?? 'GET'} ${url}`;
    const missing = await t.request({ method: 'GET', url: '/no-such-route/at-all', headers: { accept: 'application/json' } });
    expect(missing.body).toEqual({ error: { code: 'NOT_FOUND', message: 'Cannot GET /no-such-route/at-all' } });
    expect(noRoute(missing, '/no-such-route/at-all')).toBe(true);
    const fill = (path: string) =>
      path
        .replace('{id}', 'some-model')
        .replace('{organizationId}', '00000000-0000-4000-8000-000000000000')
        .replace('{file}', '2026-01.json')
        .replace('{digest}', 'sha256:' + '0'.repeat(64));
    for (const [path, methods] of paths) {
      for (const method of Object.keys(methods)) {
        const url = fill(path);
        const r = await t.request({ method: method.toUpperCase() as 'GET' | 'POST', url, body: method === 'post' ? {} : undefined, headers: { accept: 'application/json' } });
        expect([path, r.status]).not.toEqual([path, 405]);
        expect([path, method, noRoute({ status: r.status, body: { ...r.body, method: method.toUpperCase() } }, url)]).toEqual([path, method, false]);
      }
    }
  });

  it('documents the statement downloads as they answer', async () => {
    const r = await t.request({ method: 'GET', url: '/v1/statements/00000000-0000-4000-8000-000000000000/earnings/2026-01.json?currency=USD' });
    expect(Object.keys(doc.paths['/v1/statements/{organizationId}/earnings/{file}'].get.responses)).toContain(String(r.status));
    expect(r.status).toBe(401);
    expect(doc.components.securitySchemes.session).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('lists every rejection reason the ingestion endpoint can give', () => {
    expect(doc.components.schemas.UsageEventResult.properties.reason.enum).toEqual(
      expect.arrayContaining(['ID_REUSED', 'AGREEMENT_NOT_FOUND', 'INVALID_TOKENS', 'OCCURRED_IN_FUTURE']),
    );
  });
});
