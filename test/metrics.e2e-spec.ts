/**
 * GET /metrics: valid Prometheus text; counters move with HTTP requests,
 * GraphQL operations (by name and outcome), gateway calls and reported usage;
 * gauges for the webhook inbox and the database; bounded labels (no ids);
 * a bearer token when METRICS_TOKEN is set; no endpoint when disabled.
 */
import { randomUUID } from 'node:crypto';
import { DemoUpstream, startDemoUpstream } from '../tools/demo-upstream/demo-upstream';
import { loadConfig } from '../src/platform/config/app-config';
import { startTestApp, TestApp } from './support/app';
import { configureUpstream, meteringParties, reportUsage, usageEvent } from './support/metering';
import { Exposition, parsePrometheus } from './support/prometheus';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

async function scrape(t: TestApp, headers: Record<string, string> = {}): Promise<Exposition> {
  const r = await t.request({ method: 'GET', url: '/metrics', headers: { 'content-type': '', ...headers } });
  expect(r.status).toBe(200);
  expect(String(r.headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(r.text);
}

describe('metrics (e2e)', () => {
  describe('enabled, without a token', () => {
    let t: TestApp;
    let upstream: DemoUpstream;
    beforeAll(async () => {
      upstream = await startDemoUpstream();
      t = await startTestApp();
    });
    afterAll(async () => {
      await t?.close();
      await upstream?.close();
    });

    it('serves every documented family in valid Prometheus text', async () => {
      const m = await scrape(t);
      for (const [name, type] of Object.entries({
        beiming_http_requests_total: 'counter',
        beiming_http_request_duration_seconds: 'histogram',
        beiming_graphql_operations_total: 'counter',
        beiming_graphql_operation_duration_seconds: 'histogram',
        beiming_gateway_requests_total: 'counter',
        beiming_gateway_upstream_duration_seconds: 'histogram',
        beiming_gateway_tokens_total: 'counter',
        beiming_usage_events_total: 'counter',
        beiming_job_runs_total: 'counter',
        beiming_job_duration_seconds: 'histogram',
        beiming_webhook_inbox_pending: 'gauge',
        beiming_db_pool_connections: 'gauge',
        beiming_db_connections: 'gauge',
      })) {
        expect({ name, type: m.types.get(name) }).toEqual({ name, type });
      }
      expect(m.value('beiming_db_pool_connections', { state: 'busy' })).toBeGreaterThanOrEqual(0);
      // Our own families are never NaN. prom-client's event-loop lag summary is NaN until its
      // monitor has taken a first sample (valid Prometheus text, and timing-dependent), so the
      // process_* families are left out of this check.
      expect(m.samples.filter((s) => Number.isNaN(s.value) && !s.name.startsWith('beiming_process_')).map((s) => s.name)).toEqual([]);
      expect(m.samples.filter((s) => s.name === 'beiming_db_connections').reduce((n, s) => n + s.value, 0)).toBeGreaterThan(0);
    });

    it('counts GraphQL operations by name and outcome, HTTP requests by route pattern', async () => {
      const key = (operation: string, type: string, outcome: string) => ({ operation, type, outcome });
      const before = await scrape(t);
      const count = (m: Exposition, l: Record<string, string>) => m.value('beiming_graphql_operations_total', l) ?? 0;

      expect((await t.gql('query CatalogProbe { catalog(first: 1) { totalCount } }')).errors).toBeUndefined();
      expect((await t.gql('query CatalogProbe { catalog(first: 1) { totalCount } }')).errors).toBeUndefined();
      expect((await t.gql('{ catalog(first: 1) { totalCount } }')).errors).toBeUndefined();
      expect((await t.gql(`query WhoAmI { me { id } }`)).errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
      expect((await t.gql(`query Broken { nope }`)).status).toBe(400);
      expect((await t.request({ method: 'POST', url: '/graphql', body: { query: '{ catalog(first: 1) {', operationName: 'Unparsable' } })).status).toBe(400);
      const batch = await t.request({ method: 'POST', url: '/graphql', body: [{ query: 'mutation BatchB { logOut }' }, { query: 'query BatchA { catalog(first: 1) { totalCount } }' }] });
      expect(batch.status).toBe(200);
      await t.request({ method: 'GET', url: `/models/${randomUUID()}`, headers: { 'content-type': '' } });

      const after = await scrape(t);
      const moved = (l: Record<string, string>) => count(after, l) - count(before, l);
      expect(moved(key('CatalogProbe', 'query', 'ok'))).toBe(2);
      expect(moved(key('anonymous', 'query', 'ok'))).toBe(1);
      expect(moved(key('WhoAmI', 'query', 'UNAUTHENTICATED'))).toBe(1);
      expect(moved(key('Broken', 'query', 'BAD_USER_INPUT'))).toBe(1);
      expect(moved(key('Unparsable', 'query', 'BAD_USER_INPUT'))).toBe(1);
      expect(moved(key('BatchB', 'mutation', 'BAD_USER_INPUT'))).toBe(1);
      expect(moved(key('BatchA', 'query', 'ok'))).toBe(1);
      expect(after.value('beiming_graphql_operation_duration_seconds_count', { operation: 'CatalogProbe', type: 'query' })).toBeGreaterThanOrEqual(2);
      const http = (m: Exposition) => m.value('beiming_http_requests_total', { method: 'POST', route: '/graphql', status: '200' }) ?? 0;
      expect(http(after) - http(before)).toBeGreaterThanOrEqual(4);
      expect(after.value('beiming_http_requests_total', { method: 'GET', route: '/models/:id', status: '404' })).toBeGreaterThanOrEqual(1);
      // No label carries an id or a raw URL.
      expect(after.samples.filter((s) => Object.values(s.labels).some((v) => UUID.test(v)))).toEqual([]);
    });

    it('counts gateway requests, upstream latency and tokens, and reported usage by result', async () => {
      const p = await meteringParties(t);
      await configureUpstream(t, p, upstream.url);
      const before = await scrape(t);
      const r = await t.request({
        method: 'POST',
        url: '/v1/gateway/chat/completions',
        headers: { authorization: `Bearer ${p.gatewayKey}` },
        body: { model: 'teacher', max_tokens: 8, messages: [{ role: 'user', content: 'Explain distillation.' }] },
      });
      expect(r.status).toBe(200);
      const m1 = usageEvent(p.agreementId, 'm-1');
      const reported = await reportUsage(t, p.reportKey, {
        // The same event twice (one object: two calls could straddle a millisecond and differ) — the second is a duplicate.
        events: [m1, m1, usageEvent(randomUUID(), 'm-2'), usageEvent(p.agreementId, 'm-3', { inputTokens: -1 })],
      });
      expect(reported.body).toMatchObject({ accepted: 1, duplicates: 1, rejected: 2 });

      const after = await scrape(t);
      const moved = (name: string, labels: Record<string, string>) => (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
      expect(moved('beiming_gateway_requests_total', { status: '200' })).toBe(1);
      expect(moved('beiming_gateway_upstream_duration_seconds_count', { outcome: '200' })).toBe(1);
      expect(moved('beiming_gateway_tokens_total', { kind: 'input', estimated: 'false' })).toBe(r.body.usage.prompt_tokens);
      expect(moved('beiming_gateway_tokens_total', { kind: 'output', estimated: 'false' })).toBe(r.body.usage.completion_tokens);
      expect(moved('beiming_usage_events_total', { result: 'accepted', reason: '' })).toBe(1);
      expect(moved('beiming_usage_events_total', { result: 'duplicate', reason: '' })).toBe(1);
      expect(moved('beiming_usage_events_total', { result: 'rejected', reason: 'AGREEMENT_NOT_FOUND' })).toBe(1);
      expect(moved('beiming_usage_events_total', { result: 'rejected', reason: 'INVALID_TOKENS' })).toBe(1);
    });

    it('reads the webhook inbox depth at scrape time', async () => {
      const before = await scrape(t);
      expect(before.value('beiming_webhook_inbox_pending', { due: 'true' })).toBe(0);
      await t.dataSource.query(
        `INSERT INTO payment_webhook_events (id, source, type, livemode, payload) VALUES ($1, 'sandbox', 'payment_intent.succeeded', false, '{}'::jsonb)`,
        [`evt_metrics_${randomUUID()}`],
      );
      const after = await scrape(t);
      expect((after.value('beiming_webhook_inbox_pending', { due: 'true' }) ?? 0) + (after.value('beiming_webhook_inbox_pending', { due: 'false' }) ?? 0)).toBe(1);
    });
  });

  describe('protected by METRICS_TOKEN', () => {
    let t: TestApp;
    const token = 'metrics-token-0123456789';
    beforeAll(async () => {
      t = await startTestApp({ metricsToken: token });
    });
    afterAll(() => t?.close());

    it('answers 401 without the token or with another, and the metrics with it', async () => {
      for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${token}`, `Bearer ${token}x`]) {
        const r = await t.request({ method: 'GET', url: '/metrics', headers: { 'content-type': '', ...(authorization ? { authorization } : {}) } });
        expect({ authorization, status: r.status }).toEqual({ authorization, status: 401 });
        expect(r.text).not.toContain('beiming_http_requests_total');
      }
      await scrape(t, { authorization: `Bearer ${token}` });
    });
  });

  describe('disabled', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ metricsEnabled: false });
    });
    afterAll(() => t?.close());

    it('has no /metrics endpoint', async () => {
      const r = await t.request({ method: 'GET', url: '/metrics', headers: { 'content-type': '' } });
      expect(r.status).toBe(404);
    });
  });

  it('is off by default in production and on elsewhere', () => {
    const secrets = { JWT_SECRET: 'j'.repeat(40), SECRETS_KEY: 'A'.repeat(43), ATTESTATION_SIGNING_KEY: 'B'.repeat(43), DATA_DIR: '/tmp/beiming-metrics-config' };
    expect(loadConfig({ ...secrets, NODE_ENV: 'production' }).metricsEnabled).toBe(false);
    expect(loadConfig({ ...secrets, NODE_ENV: 'production', METRICS_ENABLED: 'true' }).metricsEnabled).toBe(true);
    expect(loadConfig({ ...secrets, NODE_ENV: 'development' }).metricsEnabled).toBe(true);
    expect(() => loadConfig({ ...secrets, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 16/);
  });
});
