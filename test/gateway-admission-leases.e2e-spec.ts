/**
 * Gateway admission leases (src/metering/gateway/admission-leases.ts): one
 * database pre-authorisation per lease instead of one per request, never more
 * admitted than the licence allows, exact per-request arbitration near the
 * limit, and nothing left reserved once a lease has run out.
 */
import { AdmissionLeases } from '../src/metering/gateway/admission-leases';
import { DemoUpstream, startDemoUpstream } from '../tools/demo-upstream/demo-upstream';
import { UsageRecorder } from '../src/metering/usage/usage-recorder.service';
import { startTestApp, TestApp } from './support/app';
import { configureUpstream, meteringParties, MeteringParties } from './support/metering';
import { preauthorizeBarrier, waitFor } from './support/race';

const UPSTREAM_KEY = 'sk-lease-upstream';
// Long enough that ten sequential requests fit in one lease even on a loaded machine; waits for its end are polled.
const LEASE_MS = 2000;

describe('gateway admission leases (e2e)', () => {
  let t: TestApp;
  let upstream: DemoUpstream;

  beforeAll(async () => {
    upstream = await startDemoUpstream({ apiKey: UPSTREAM_KEY });
    t = await startTestApp({ gatewayAdmissionLeaseTokens: 50_000, gatewayAdmissionLeaseMs: LEASE_MS });
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
  });
  afterEach(() => jest.restoreAllMocks());

  async function parties(limits: { tokensPerPeriod: string | null; tokensPerMinute: string | null }): Promise<MeteringParties> {
    const q = await meteringParties(t, { limits });
    await configureUpstream(t, q, upstream.url, { apiKey: UPSTREAM_KEY });
    return q;
  }
  const chat = (key: string, maxTokens = 16) =>
    t.request({
      method: 'POST',
      url: '/v1/gateway/chat/completions',
      headers: { authorization: `Bearer ${key}` },
      body: { model: 'teacher', max_tokens: maxTokens, messages: [{ role: 'user', content: 'Explain distillation briefly.' }] },
    });
  const reservations = async (agreementId: string) =>
    (await t.dataSource.query(`SELECT count(*)::int AS n, coalesce(sum(tokens), 0)::text AS tokens FROM usage_reservations WHERE agreement_id = $1`, [agreementId]))[0];
  const events = async (agreementId: string) => (await t.dataSource.query(`SELECT count(*)::int AS n FROM usage_events WHERE agreement_id = $1`, [agreementId]))[0].n;
  /** Once the agreement's lease has run out and been released (polled, with a deadline). */
  const afterLease = (agreementId: string) =>
    waitFor(async () => (await reservations(agreementId)).n === 0 && !t.app.get(AdmissionLeases).snapshot().has(agreementId), LEASE_MS + 5000);

  it('admits many requests with one pre-authorisation, records each, and releases the lease when it runs out', async () => {
    const q = await parties({ tokensPerPeriod: '100000000', tokensPerMinute: '1000000' });
    const preauth = jest.spyOn(t.app.get(UsageRecorder), 'preauthorize');
    for (let i = 0; i < 10; i++) expect((await chat(q.gatewayKey)).status).toBe(200);
    expect(preauth).toHaveBeenCalledTimes(1);
    expect(preauth.mock.calls[0][1]).toMatchObject({ agreementId: q.agreementId, estimate: 50_000n });
    // The lease is one reservation of the block while it admits.
    expect(await reservations(q.agreementId)).toEqual({ n: 1, tokens: '50000' });
    const lease = t.app.get(AdmissionLeases).snapshot().get(q.agreementId)!;
    expect(lease).toMatchObject({ granted: 50_000n, inflight: 0, retired: false });
    expect(lease.consumed).toBeGreaterThan(0n);
    expect(await events(q.agreementId)).toBe(10);
    await afterLease(q.agreementId);
    expect(await reservations(q.agreementId)).toEqual({ n: 0, tokens: '0' });
    expect(t.app.get(AdmissionLeases).snapshot().has(q.agreementId)).toBe(false);
  });

  it('concurrent requests of one agreement wait for one grant', async () => {
    const q = await parties({ tokensPerPeriod: '100000000', tokensPerMinute: '1000000' });
    const preauth = jest.spyOn(t.app.get(UsageRecorder), 'preauthorize');
    const answers = await Promise.all(Array.from({ length: 20 }, () => chat(q.gatewayKey)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(preauth).toHaveBeenCalledTimes(1);
    expect(await events(q.agreementId)).toBe(20);
    await afterLease(q.agreementId);
    expect((await reservations(q.agreementId)).n).toBe(0);
  });

  it('a lease is capped by the licence: 1/20 of the period quota, 1/4 of the per-minute limit', async () => {
    const q = await parties({ tokensPerPeriod: '200000', tokensPerMinute: '200000' });
    const preauth = jest.spyOn(t.app.get(UsageRecorder), 'preauthorize');
    expect((await chat(q.gatewayKey)).status).toBe(200);
    expect(preauth.mock.calls[0][1]).toMatchObject({ estimate: 10_000n });
    const r = await parties({ tokensPerPeriod: null, tokensPerMinute: '8000' });
    expect((await chat(r.gatewayKey)).status).toBe(200);
    expect(preauth.mock.calls[1][1]).toMatchObject({ estimate: 2_000n });
  });

  it('near the quota it falls back to exact per-request reservations and never admits more than the quota allows', async () => {
    // Each request reserves about 24 tokens (prompt estimate + max_tokens 16); a block (1/20 of 600 = 30) fits one request.
    const q = await parties({ tokensPerPeriod: '600', tokensPerMinute: null });
    const preauth = jest.spyOn(t.app.get(UsageRecorder), 'preauthorize');
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const a = await chat(q.gatewayKey);
      statuses.push(a.status);
      if (a.status === 429) {
        expect(a.body.error.code).toBe('insufficient_quota');
        expect(a.headers['retry-after']).toBeDefined();
        break;
      }
    }
    expect(statuses[statuses.length - 1]).toBe(429);
    const [{ used, overage }] = await t.dataSource.query(
      `SELECT coalesce(sum(input_tokens + output_tokens), 0)::int AS used, coalesce(sum(overage_tokens), 0)::int AS overage FROM usage_events WHERE agreement_id = $1`,
      [q.agreementId],
    );
    expect(used).toBeLessThanOrEqual(600);
    expect(overage).toBe(0);
    // Some requests went through per-request reservations (the block no longer fit).
    expect(preauth.mock.calls.some((c) => (c[1] as { estimate: bigint }).estimate < 30n)).toBe(true);
    await afterLease(q.agreementId);
    expect((await reservations(q.agreementId)).n).toBe(0);
  });

  it('many concurrent requests against a small quota: recorded usage stays within it', async () => {
    const q = await parties({ tokensPerPeriod: '2000', tokensPerMinute: null });
    const answers = await Promise.all(Array.from({ length: 150 }, () => chat(q.gatewayKey)));
    const ok = answers.filter((a) => a.status === 200).length;
    expect(ok).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status !== 200).every((a) => a.status === 429)).toBe(true);
    const [{ used, overage }] = await t.dataSource.query(
      `SELECT coalesce(sum(input_tokens + output_tokens), 0)::int AS used, coalesce(sum(overage_tokens), 0)::int AS overage FROM usage_events WHERE agreement_id = $1`,
      [q.agreementId],
    );
    expect(used).toBeLessThanOrEqual(2000);
    expect(overage).toBe(0);
    expect(await events(q.agreementId)).toBe(ok);
    await afterLease(q.agreementId);
    expect((await reservations(q.agreementId)).n).toBe(0);
  });

  it('near the quota, simultaneous per-request admissions never exceed it, round after round', async () => {
    // Quota 400: a block (1/20 = 20) fits no request, so each request reserves on its own. 10 callers are
    // held at a barrier and released together; their pre-authorisations run on separate connections.
    const CALLERS = 10;
    for (let round = 0; round < 5; round++) {
      const q = await parties({ tokensPerPeriod: '400', tokensPerMinute: null });
      const barrier = preauthorizeBarrier(t.app.get(UsageRecorder), CALLERS);
      let answers: Awaited<ReturnType<typeof chat>>[];
      try {
        answers = await Promise.all(Array.from({ length: CALLERS }, () => chat(q.gatewayKey, 90)));
      } finally {
        barrier.restore();
      }
      expect(barrier.arrived()).toBe(CALLERS);
      // Each request reserves 8 (prompt) + 90 = 98 tokens: 4 fit in 400, the other 6 are refused.
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
      const [{ overage }] = await t.dataSource.query(`SELECT coalesce(sum(overage_tokens), 0)::int AS overage FROM usage_events WHERE agreement_id = $1`, [q.agreementId]);
      expect(overage).toBe(0);
      expect(await events(q.agreementId)).toBe(4);
    }
  });

  it('with leases off, every request pre-authorises on its own', async () => {
    const off = await startTestApp({ gatewayAdmissionLeaseTokens: 0 });
    try {
      const q = await meteringParties(off, { limits: { tokensPerPeriod: '100000000', tokensPerMinute: '1000000' } });
      await configureUpstream(off, q, upstream.url, { apiKey: UPSTREAM_KEY });
      const preauth = jest.spyOn(off.app.get(UsageRecorder), 'preauthorize');
      for (let i = 0; i < 3; i++) {
        const a = await off.request({
          method: 'POST',
          url: '/v1/gateway/chat/completions',
          headers: { authorization: `Bearer ${q.gatewayKey}` },
          body: { max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] },
        });
        expect(a.status).toBe(200);
      }
      expect(preauth).toHaveBeenCalledTimes(3);
      expect((await off.dataSource.query(`SELECT count(*)::int AS n FROM usage_reservations`))[0].n).toBe(0);
    } finally {
      await off.close();
    }
  });
});
