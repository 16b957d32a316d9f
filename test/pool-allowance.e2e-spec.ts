/**
 * The pool's shared token allowance at the gateway.
 *
 * - REFUSE under real contention: many admissions on one subscriber's several
 *   pool agreements, each on its own database connection, held at a database
 *   barrier (an advisory lock the test holds exclusively) and released by one
 *   unlock, so they enter `metering_pool_preauthorize` together; only the
 *   subscription's lock keeps them from all reading the same "allowance
 *   left". Repeated rounds.
 * - Over HTTP: past the allowance the gateway answers 429 with a JSON error
 *   naming the pool allowance; on a BILL plan the same calls go through and
 *   the tokens beyond the allowance are an overage line on the next invoice.
 */
import { Client } from 'pg';
import type { EntityManager } from 'typeorm';
import { nextPeriod, periodOf } from '../src/billing/billing-period';
import { PoolSubscriptionService } from '../src/billing/pool/pool-subscription.service';
import { UsageRecorder } from '../src/metering/usage/usage-recorder.service';
import { Clock } from '../src/platform/clock/clock';
import { rateTokens } from '../src/platform/money/rating';
import { startDemoUpstream, DemoUpstream } from '../tools/demo-upstream/demo-upstream';
import { startTestApp, TestApp } from './support/app';
import { createModel, publishOk } from './support/licensing';
import { configureUpstream, createApiKey } from './support/metering';
import { waitFor } from './support/race';
import { makeAdmin, signUp, TestUser } from './support/users';

const UPSTREAM_KEY = 'sk-vendor-secret-pool-0123';
const CALLERS = 12;
const ROUNDS = 6;
const BARRIER_KEY = 917_101;
const ALLOWANCE = 1000n;
const ESTIMATE = 300n; // three fit in the allowance, a fourth would overdraw it

describe('pool allowance at the gateway (e2e)', () => {
  let t: TestApp;
  let upstream: DemoUpstream;
  let admin: TestUser;
  const vendors: TestUser[] = [];
  const models: string[] = [];

  beforeAll(async () => {
    upstream = await startDemoUpstream({ apiKey: UPSTREAM_KEY });
    t = await startTestApp({ gatewayAdmissionLeaseMs: 50 });
    admin = await makeAdmin(t, await signUp(t, { country: 'US' }));
    for (let i = 0; i < 4; i++) {
      const v = await signUp(t, { country: 'US' });
      const { id } = await createModel(t, v);
      await configureUpstream(t, { vendor: v, modelId: id } as never, upstream.url, { apiKey: UPSTREAM_KEY });
      vendors.push(v);
      models.push(id);
    }
  });
  afterAll(async () => {
    t.app.get(Clock).now = () => new Date();
    await t.close();
    await upstream.close();
  });

  async function gql(query: string, vars: Record<string, unknown>, user: TestUser) {
    const r = await t.gql(query, vars, user.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!;
  }

  /** A plan in its own currency, a distiller subscribed to it, one pool agreement (with a gateway key) per teacher. */
  async function subscriberWithAgreements(currency: string, overage: 'REFUSE' | 'BILL', allowance: bigint) {
    const plan = (await gql(`mutation($i: CreatePoolPlanInput!) { createPoolPlan(input: $i) { plan { id } } }`, {
      i: {
        name: `Shared ${currency}`, currency, monthlyFeeMinor: '1000', tokenAllowance: String(allowance), overage,
        ...(overage === 'BILL' ? { overagePerMillionMinor: '250000' } : {}), distribution: 'PRO_RATA', minimumTokensToEarn: '0', platformFeeBps: 0,
      },
    }, admin)).createPoolPlan.plan.id;
    const distiller = await signUp(t, { country: 'FR' });
    const sub = (await gql(`mutation($p: ID!, $o: ID!) { subscribeToPool(planId: $p, organizationId: $o) { ... on PoolSubscription { id } } }`, { p: plan, o: distiller.organizationId }, distiller)).subscribeToPool.id as string;
    const agreements: Array<{ id: string; key: string }> = [];
    for (let i = 0; i < models.length; i++) {
      const o = await publishOk(t, vendors[i], models[i], { name: `pool ${currency}`, pricing: { currency, poolEligible: true } });
      const id = (await gql(`mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { ... on LicenseAgreement { id } } }`, {
        i: { offerId: o.id, organizationId: distiller.organizationId, acceptedTermsHash: o.termsHash, viaPool: true },
      }, distiller)).acceptLicenseOffer.id as string;
      agreements.push({ id, key: (await createApiKey(t, distiller, ['GATEWAY'], id)).secret });
    }
    return { plan, sub, distiller, agreements };
  }

  it(`REFUSE: ${CALLERS} simultaneous admissions over four pool agreements never reserve beyond the shared allowance, in each of ${ROUNDS} rounds`, async () => {
    const s = await subscriberWithAgreements('GBP', 'REFUSE', ALLOWANCE);
    const recorder = t.app.get(UsageRecorder);
    const controller = new Client({ connectionString: t.db.url });
    const callers = Array.from({ length: CALLERS }, () => new Client({ connectionString: t.db.url }));
    await Promise.all([controller, ...callers].map((c) => c.connect()));
    const managerOf = (c: Client) => ({ query: async (sql: string, params: unknown[]) => (await c.query(sql, params)).rows }) as unknown as EntityManager;
    const ids = s.agreements.map((a) => a.id);
    try {
      const admittedPerRound: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        await controller.query(`DELETE FROM usage_reservations WHERE agreement_id = ANY($1::uuid[])`, [ids]);
        await controller.query('SELECT pg_advisory_lock($1)', [BARRIER_KEY]);
        const attempts = callers.map(async (c, i) => {
          await c.query('BEGIN');
          try {
            await c.query('SELECT pg_advisory_xact_lock_shared($1)', [BARRIER_KEY]); // the barrier
            const pre = await recorder.preauthorize(managerOf(c), { agreementId: ids[i % ids.length], estimate: ESTIMATE, quota: null, perMinute: null, ttlMs: 60_000, poolSubscriptionId: s.sub });
            await c.query('COMMIT');
            return pre;
          } catch (e) {
            await c.query('ROLLBACK');
            throw e;
          }
        });
        // Every caller waits at the barrier before it opens.
        await waitFor(async () => {
          const [{ n }] = (await controller.query(
            `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND objid = $1 AND NOT granted`,
            [BARRIER_KEY],
          )).rows;
          return n === CALLERS;
        });
        await controller.query('SELECT pg_advisory_unlock($1)', [BARRIER_KEY]);
        const results = await Promise.all(attempts);
        const admitted = results.filter((r) => r.admitted).length;
        admittedPerRound.push(admitted);
        expect(results.filter((r) => !r.admitted).every((r) => r.refusal === 'QUOTA' && r.poolAllowance === ALLOWANCE)).toBe(true);
        const [{ tokens }] = (await controller.query(`SELECT coalesce(sum(tokens), 0)::text AS tokens FROM usage_reservations WHERE agreement_id = ANY($1::uuid[])`, [ids])).rows;
        expect(BigInt(tokens)).toBeLessThanOrEqual(ALLOWANCE);
      }
      expect(admittedPerRound).toEqual(Array(ROUNDS).fill(Number(ALLOWANCE / ESTIMATE)));
    } finally {
      await controller.query(`DELETE FROM usage_reservations WHERE agreement_id = ANY($1::uuid[])`, [ids]);
      await Promise.all([controller, ...callers].map((c) => c.end()));
    }
  });

  const chat = (tokens: number) => ({ model: 'teacher', messages: [{ role: 'user', content: `go #demo:tokens=${tokens}` }], max_tokens: 100 });
  const call = (key: string, body: unknown) =>
    t.request({ method: 'POST', url: '/v1/gateway/chat/completions', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
  const usedBy = async (ids: string[]) =>
    BigInt((await t.dataSource.query(`SELECT coalesce(sum(input_tokens + output_tokens), 0)::text AS n FROM usage_events WHERE agreement_id = ANY($1::uuid[])`, [ids]))[0].n);

  it('REFUSE over HTTP: past the shared allowance any of the agreements gets 429 naming the pool allowance; nothing is recorded for it', async () => {
    const s = await subscriberWithAgreements('SEK', 'REFUSE', 400n);
    const ids = s.agreements.map((a) => a.id);
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof call>> | null = null;
    // Calls rotate over the agreements until one is refused.
    for (let i = 0; i < 12 && !refused; i++) {
      const r = await call(s.agreements[i % s.agreements.length].key, chat(60));
      statuses.push(r.status);
      if (r.status === 429) refused = r;
      else expect(r.status).toBe(200);
    }
    expect(refused).not.toBeNull();
    expect(new Set(statuses.slice(0, -1)).size).toBe(1);
    expect(statuses.length).toBeGreaterThan(2); // several agreements shared it before the refusal
    expect(refused!.body.error).toMatchObject({ type: 'rate_limit_error', code: 'insufficient_quota' });
    expect(refused!.body.error.message).toMatch(/pool subscription's shared allowance/);
    expect(refused!.body.error.message).toMatch(/ of 400 remain/);
    expect(refused!.headers['x-ratelimit-limit-tokens']).toBe('400');
    expect(Number(refused!.headers['retry-after'])).toBeGreaterThan(0);
    const used = await usedBy(ids);
    expect(used).toBeLessThanOrEqual(400n);
    // Every other agreement of the subscription is refused too, and nothing more is recorded.
    for (const a of s.agreements) expect((await call(a.key, chat(60))).status).toBe(429);
    expect(await usedBy(ids)).toBe(used);
    // The distiller reads the same use of its allowance; a stranger cannot read the subscription at all.
    expect(await allowanceUse(s.sub, s.distiller)).toEqual({
      period: periodOf(new Date()).period, allowanceTokens: '400', usedTokens: String(used), remainingTokens: String(400n - used),
      overageTokens: '0', usedBps: Number((used * 10_000n) / 400n),
    });
    const stranger = await signUp(t, { country: 'FR' });
    const r = await t.gql(`query($id: ID!) { poolSubscription(id: $id) { allowanceUse { usedTokens } } }`, { id: s.sub }, stranger.token);
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(r.data?.poolSubscription ?? null).toBeNull();
  });

  async function allowanceUse(sub: string, user: TestUser) {
    return (await gql(
      `query($id: ID!) { poolSubscription(id: $id) { allowanceUse { period allowanceTokens usedTokens remainingTokens overageTokens usedBps } } }`,
      { id: sub },
      user,
    )).poolSubscription.allowanceUse;
  }

  it('BILL over HTTP: the same calls go through; the tokens beyond the allowance are a POOL_OVERAGE line on the next invoice', async () => {
    const s = await subscriberWithAgreements('NOK', 'BILL', 400n);
    const ids = s.agreements.map((a) => a.id);
    for (let i = 0; i < 12; i++) expect((await call(s.agreements[i % s.agreements.length].key, chat(60))).status).toBe(200);
    const used = await usedBy(ids);
    expect(used).toBeGreaterThan(400n);
    expect(await allowanceUse(s.sub, s.distiller)).toMatchObject({ usedTokens: String(used), remainingTokens: '0', overageTokens: String(used - 400n), usedBps: 10_000 });
    const next = nextPeriod(periodOf(t.app.get(Clock).now()));
    t.app.get(Clock).now = () => new Date(next.start.getTime() + 3_600_000);
    try {
      await t.app.get(PoolSubscriptionService).renew(next.period);
    } finally {
      t.app.get(Clock).now = () => new Date();
    }
    const lines = await t.dataSource.query(
      `SELECT l.kind, l.quantity::text, l.amount_minor::text FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
        WHERE i.pool_subscription_id = $1 AND i.period = $2 ORDER BY l.position`,
      [s.sub, next.period],
    );
    expect(lines).toEqual([
      { kind: 'POOL_FEE', quantity: null, amount_minor: '1000' },
      { kind: 'POOL_OVERAGE', quantity: String(used - 400n), amount_minor: String(rateTokens(used - 400n, 250_000n)) },
    ]);
  });
});
