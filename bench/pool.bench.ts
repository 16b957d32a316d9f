/**
 * Pool distribution benchmark (`npm run bench:pool`): a USER_CENTRIC pool
 * period with BENCH_POOL_SUBSCRIBERS subscribers (default 100,000),
 * BENCH_POOL_TEACHERS teachers (default 1,000) and BENCH_POOL_PAIRS
 * (subscriber, teacher) usage pairs in the rollups (default 2,000,000: one
 * pool agreement and one usage_period_totals row each), every subscriber's
 * invoice of the period PAID.
 *
 * Baseline, same run and database: the bare GROUP BY over those rollups that
 * the distribution needs (tokens per subscriber and teacher of the plan's
 * pool agreements in the month), run twice, the warm run reported. Timed:
 * the distribution — `closePoolPeriod(period)` over HTTP as an admin (the
 * computation, the ledger transaction with each teacher's royalty cascade,
 * the stored lines) plus the statements (the admin's lines, one vendor's and
 * one distiller's USER_CENTRIC breakdown). Target: ≤ 3 × the baseline.
 *
 * Events: the month before last holds BENCH_EVENTS_SMALL raw usage events
 * (default 1,000,000) and last month BENCH_EVENTS_LARGE (default 4,000,000),
 * with the same rollups in both months; both are distributed and the ratio
 * of the two distributions' times is reported (target ≤ 1.3: the
 * distribution reads rollups, never events).
 *
 * Seeding is set-based SQL after one vendor, model and offer made through
 * GraphQL (cloned for the other teachers); pool agreements carry empty
 * snapshots (only their parties and subscription matter here). The app runs
 * as a child process (NODE_ENV=production, JOBS_ENABLED=false).
 *
 * Environment: BENCH_DATABASE_URL, BENCH_POOL_SUBSCRIBERS, BENCH_POOL_TEACHERS,
 * BENCH_POOL_PAIRS, BENCH_EVENTS_SMALL, BENCH_EVENTS_LARGE, BENCH_LOG_LEVEL.
 */
import 'reflect-metadata';
import { Client } from 'pg';
import { periodOf, previousPeriod, PeriodRange } from '../src/billing/billing-period';
import { build, cpuMeter, CpuUse, envInt, fmt, freshDatabase, loadAverage, logger, otherCpuNote, startApp } from './support/harness';
import { GraphqlClient, signUp } from './support/parties';

const log = logger('pool');
const SUBSCRIBERS = envInt('BENCH_POOL_SUBSCRIBERS', 100_000);
const TEACHERS = envInt('BENCH_POOL_TEACHERS', 1_000);
const PAIRS = envInt('BENCH_POOL_PAIRS', 2_000_000);
const SMALL = envInt('BENCH_EVENTS_SMALL', 1_000_000);
const LARGE = envInt('BENCH_EVENTS_LARGE', 4_000_000);
const TARGET = 3;
const EVENTS_TARGET = 1.3;
const ADMIN_EMAIL = 'pool-bench-admin@example.test';
const ADMIN_PASSWORD = 'pool bench admin password';
const BATCH = 250_000;

async function timed<T>(appPid: number | null, url: string, work: () => Promise<T>): Promise<{ value: T; s: number; cpu: CpuUse }> {
  const meter = await cpuMeter(appPid, url);
  const t0 = process.hrtime.bigint();
  const value = await work();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { value, s, cpu: await meter.stop() };
}

async function seed(c: Client, gql: GraphqlClient, adminToken: string, months: Array<{ p: PeriodRange; events: number }>): Promise<string> {
  let t0 = Date.now();
  // One vendor, model and pool-eligible offer through the API; the other teachers are copies (their own vendor each).
  const vendor = await signUp(gql, 'Pool bench vendor 0', 'US');
  const created = await gql.call(
    `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) { __typename ... on TeacherModel { id } } }`,
    { i: { organizationId: vendor.organizationId, slug: 'pool-bench-0', name: 'Pool bench teacher 0', card: { summary: 'A teacher.', modalities: ['TEXT'] } } },
    vendor.token,
  );
  const modelId = created.createTeacherModel.id as string;
  await gql.call(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: modelId }, vendor.token);
  await gql.call(
    `mutation($i: PublishLicenseOfferInput!) { publishLicenseOffer(input: $i) { id } }`,
    {
      i: {
        modelId,
        name: 'pool',
        terms: {
          outputTraining: 'PERMITTED', distillationIsDerivative: true, commercialUse: true, researchOnly: false,
          attribution: { displayString: 'Built with Teacher', placements: ['MODEL_CARD'], noticeText: null },
          naming: { rule: 'NONE', token: null }, inheritance: { copyLicence: false, useRestrictionsFlowDown: false, reciprocal: false },
          thresholds: [], territory: { excludedCountries: [], endUsersExempt: false }, acceptableUsePolicyUrl: null, termDays: null,
          governingLaw: 'California, USA', royalty: { policy: 'LAP', shareBps: 500 }, limits: { tokensPerPeriod: null, tokensPerMinute: null }, watermarkRequired: false,
        },
        pricing: { currency: 'EUR', upfrontFeeMinor: '0', inputPerMillionMinor: '100', outputPerMillionMinor: '400', minimumCommitmentMinor: '0', poolEligible: true },
      },
    },
    vendor.token,
  );
  const plan = await gql.call(
    `mutation($i: CreatePoolPlanInput!) { createPoolPlan(input: $i) { plan { id } } }`,
    { i: { name: 'Bench pool', currency: 'EUR', monthlyFeeMinor: '1999', tokenAllowance: '100000000', overage: 'REFUSE', distribution: 'USER_CENTRIC', minimumTokensToEarn: '50000', platformFeeBps: 2000 } },
    adminToken,
  );
  const planId = plan.createPoolPlan.plan.id as string;
  await c.query(`CREATE TEMP TABLE bench_teachers (n int PRIMARY KEY, org uuid, model uuid, offer uuid)`);
  await c.query(`INSERT INTO bench_teachers SELECT 0, o.organization_id, o.model_id, o.id FROM license_offers o WHERE o.model_id = $1`, [modelId]);
  // Copies of the model and offer (row templates, so every column and check is the real one).
  await c.query(
    `WITH orgs AS (INSERT INTO organizations (name, country) SELECT 'Pool bench vendor ' || g, 'US' FROM generate_series(1, $1 - 1) g RETURNING id),
          numbered AS (SELECT id, row_number() OVER (ORDER BY id)::int AS n FROM orgs)
     INSERT INTO bench_teachers (n, org, model, offer) SELECT n, id, gen_random_uuid(), gen_random_uuid() FROM numbered`,
    [TEACHERS],
  );
  await c.query(
    `INSERT INTO models SELECT (jsonb_populate_record(NULL::models, to_jsonb(m) || jsonb_build_object('id', t.model, 'organization_id', t.org,
            'slug', 'pool-bench-' || t.n, 'name', 'Pool bench teacher ' || t.n))).*
       FROM models m CROSS JOIN bench_teachers t WHERE m.id = $1 AND t.n > 0`,
    [modelId],
  );
  await c.query(
    `INSERT INTO license_offers SELECT (jsonb_populate_record(NULL::license_offers, to_jsonb(o) || jsonb_build_object('id', t.offer, 'model_id', t.model,
            'organization_id', t.org))).*
       FROM license_offers o CROSS JOIN bench_teachers t WHERE o.model_id = $1 AND t.n > 0`,
    [modelId],
  );
  log(`${TEACHERS} teachers (one through GraphQL, copies in SQL) and a USER_CENTRIC plan in ${Date.now() - t0} ms`);

  t0 = Date.now();
  await c.query(`CREATE TEMP TABLE bench_subs (n int PRIMARY KEY, org uuid, sub uuid)`);
  await c.query(
    `WITH orgs AS (INSERT INTO organizations (name, country) SELECT 'Pool bench distiller ' || g, 'FR' FROM generate_series(1, $1) g RETURNING id)
     INSERT INTO bench_subs SELECT (row_number() OVER (ORDER BY id) - 1)::int, id, gen_random_uuid() FROM orgs`,
    [SUBSCRIBERS],
  );
  // Started now: no renewal of a closed month touches them.
  await c.query(
    `INSERT INTO pool_subscriptions (id, plan_id, distiller_organization_id, currency, status, started_at)
     SELECT s.sub, $1, s.org, 'EUR', 'ACTIVE', now() FROM bench_subs s`,
    [planId],
  );
  for (const { p } of months) {
    await c.query(`INSERT INTO billing_periods (period, period_start, period_end) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [p.period, p.start.toISOString(), p.end.toISOString()]);
    // One PAID POOL invoice per subscriber (fees vary a little), through the invoice states (DRAFT with its line, OPEN, PAID), and its period row.
    await c.query(
      `WITH inv AS (
         INSERT INTO invoices (number, distiller_organization_id, currency, kind, period, pool_subscription_id, total_minor)
         SELECT 'BM-' || to_char(now(), 'YYYYMM') || '-' || lpad(nextval('invoice_number_seq')::text, 6, '0'), s.org, 'EUR', 'POOL', $1, s.sub,
                1999 - (s.n % 7) * 10
           FROM bench_subs s RETURNING id, pool_subscription_id, total_minor)
       INSERT INTO invoice_lines (invoice_id, position, kind, usage_period, amount_minor, description)
       SELECT id, 1, 'POOL_FEE', $1, total_minor, 'Pool plan fee' FROM inv`,
      [p.period],
    );
    await c.query(`UPDATE invoices SET status = 'OPEN', issued_at = now(), due_at = now() WHERE kind = 'POOL' AND period = $1`, [p.period]);
    await c.query(`UPDATE invoices SET status = 'PAID', amount_paid_minor = total_minor, paid_at = now() WHERE kind = 'POOL' AND period = $1`, [p.period]);
    await c.query(
      `INSERT INTO pool_subscription_periods (subscription_id, period, plan_id, invoice_id, fee_minor, days_covered, days_in_period)
       SELECT i.pool_subscription_id, $1, $2, i.id, i.total_minor, $3, $3 FROM invoices i WHERE i.kind = 'POOL' AND i.period = $1`,
      [p.period, planId, p.days],
    );
  }
  log(`${SUBSCRIBERS} subscribers, their subscriptions and ${months.length} PAID invoices each (SQL) in ${Date.now() - t0} ms`);

  // Pairs: subscriber n uses teachers (n·7 + k·13) mod T for k < pairs per subscriber — distinct while 13·k < T.
  t0 = Date.now();
  const perSub = Math.ceil(PAIRS / SUBSCRIBERS);
  await c.query(
    `INSERT INTO license_agreements (offer_id, model_id, vendor_organization_id, distiller_organization_id, accepted_at, terms_snapshot, pricing_snapshot,
                                     terms_hash, status, status_changed_at, starts_at, pool_subscription_id)
     SELECT t.offer, t.model, t.org, s.org, $1, '{}'::jsonb, '{}'::jsonb, repeat('0', 64), 'ACTIVE', $1, $1, s.sub
       FROM bench_subs s CROSS JOIN generate_series(0, $2 - 1) k
       JOIN bench_teachers t ON t.n = (s.n * 7 + k * 13) % $3
      WHERE s.n::bigint * $2 + k < $4`,
    [months[0].p.start.toISOString(), perSub, TEACHERS, PAIRS],
  );
  const agreements = Number((await c.query(`SELECT count(*) AS n FROM license_agreements WHERE pool_subscription_id IS NOT NULL`)).rows[0].n);
  log(`${agreements} pool agreements (SQL) in ${Date.now() - t0} ms`);

  for (const { p, events } of months) {
    t0 = Date.now();
    // Skewed usage: some teachers far above the threshold, the tail below it.
    await c.query(
      `INSERT INTO usage_period_totals (agreement_id, period_start, input_tokens, output_tokens, overage_tokens, events)
       SELECT a.id, $1, 1000 + (abs(hashtext(a.id::text)) % 20000) * (1 + (t.n % 10 = 0)::int * 9), 200 + abs(hashtext(a.id::text)) % 3000, 0, 1
         FROM license_agreements a JOIN bench_teachers t ON t.model = a.model_id WHERE a.pool_subscription_id IS NOT NULL`,
      [p.start.toISOString()],
    );
    // Raw events of the month (not summed into the rollups above: only their number changes between the months).
    await c.query(`CREATE TEMP TABLE IF NOT EXISTS bench_agreements AS SELECT id, (row_number() OVER (ORDER BY id) - 1)::bigint AS n FROM license_agreements WHERE pool_subscription_id IS NOT NULL`);
    const span = p.end.getTime() - p.start.getTime() - 1;
    for (let from = 0; from < events; from += BATCH) {
      await c.query(
        `INSERT INTO usage_events (agreement_id, event_id, source, occurred_at, received_at, input_tokens, output_tokens, overage_tokens, estimated, payload_hash)
         SELECT a.id, 'pool-bench-' || $5 || '-' || g, 'REPORTED', $1::timestamptz + make_interval(secs => ((g * 104729) % $2::bigint) / 1000.0), now(), 10, 5, 0, false, '\\x00'::bytea
           FROM generate_series($3::bigint, $4::bigint - 1) g JOIN bench_agreements a ON a.n = g % $6`,
        [p.start.toISOString(), span, from, Math.min(events, from + BATCH), p.period, agreements],
      );
    }
    log(`${p.period}: ${agreements} rollup rows and ${events} raw usage events (SQL) in ${Date.now() - t0} ms`);
  }
  t0 = Date.now();
  await c.query('VACUUM ANALYZE');
  await c.query('CHECKPOINT');
  log(`VACUUM ANALYZE + CHECKPOINT in ${Date.now() - t0} ms`);
  return planId;
}

const BASELINE = `SELECT a.distiller_organization_id, a.model_id, a.vendor_organization_id, sum(t.input_tokens + t.output_tokens)
                    FROM pool_subscription_periods sp
                    JOIN license_agreements a ON a.pool_subscription_id = sp.subscription_id
                    JOIN usage_period_totals t ON t.agreement_id = a.id AND t.period_start = $3
                   WHERE sp.plan_id = $1 AND sp.period = $2
                   GROUP BY 1, 2, 3`;

async function main(): Promise<void> {
  log(`subscribers=${SUBSCRIBERS} teachers=${TEACHERS} pairs=${PAIRS} events=${SMALL} then ${LARGE}; load average ${loadAverage()}`);
  build(log);
  const m1 = previousPeriod(periodOf(new Date()));
  const m2 = previousPeriod(m1);
  const db = await freshDatabase(log);
  let app: Awaited<ReturnType<typeof startApp>> | null = null;
  const c = new Client({ connectionString: db.url, application_name: 'bench-seed' });
  try {
    app = await startApp(db.url, log, { ADMIN_EMAIL, ADMIN_PASSWORD, JOBS_ENABLED: 'false' });
    const gql = new GraphqlClient(`${app.baseUrl}/graphql`);
    const login = await gql.call(`mutation($i: LogInInput!) { logIn(input: $i) { __typename ... on AuthPayload { accessToken } } }`, { i: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    const token = login.logIn.accessToken as string;
    await c.connect();
    const planId = await seed(c, gql, token, [{ p: m2, events: SMALL }, { p: m1, events: LARGE }]);
    const { rows: [probe] } = await c.query(
      `SELECT (SELECT vendor_organization_id FROM license_agreements WHERE pool_subscription_id IS NOT NULL ORDER BY id LIMIT 1) AS vendor,
              (SELECT distiller_organization_id FROM license_agreements WHERE pool_subscription_id IS NOT NULL ORDER BY id LIMIT 1) AS distiller`,
    );

    const results: Array<{ period: string; events: number; baselineS: number; closeS: number; statementsS: number; totalS: number; verified: boolean }> = [];
    for (const [p, events] of [[m2, SMALL], [m1, LARGE]] as const) {
      const params = [planId, p.period, p.start.toISOString()];
      await timed(app.pid, db.url, async () => (await c.query(BASELINE, params)).rowCount);
      const base = await timed(app.pid, db.url, async () => (await c.query(BASELINE, params)).rowCount ?? 0);
      log(`[${p.period}, ${events} events] baseline GROUP BY over the rollups: ${fmt(base.s, 2)} s (${base.value} groups); ${otherCpuNote(base.cpu, base.s)}`);

      const close = await timed(app.pid, db.url, () =>
        gql.call(
          `mutation($p: String!) { closePoolPeriod(period: $p) { __typename ... on PoolPeriodClose { distributions { planId gross { amountMinor } distributed { amountMinor } platformFee { amountMinor } } } } }`,
          { p: p.period },
          token,
        ),
      );
      const statements = await timed(app.pid, db.url, async () => {
        const q = `query($p: ID!, $period: String!, $o: ID) { poolStatement(planId: $p, period: $period, organizationId: $o) {
          lines { modelId amount { amountMinor } } feeBreakdown { modelId amount { amountMinor } } } }`;
        const all = await gql.call(q, { p: planId, period: p.period }, token);
        await gql.call(q, { p: planId, period: p.period, o: probe.vendor }, token);
        await gql.call(q, { p: planId, period: p.period, o: probe.distiller }, token);
        return all.poolStatement.lines.length as number;
      });
      const d = close.value.closePoolPeriod.distributions.find((x: any) => x.planId === planId);
      const { rows: [check] } = await c.query(
        `SELECT (SELECT coalesce(sum(amount_minor), 0)::text FROM pool_distribution_lines WHERE plan_id = $1 AND period = $2) AS lines,
                (SELECT count(*)::int FROM ledger_transactions WHERE reference = 'pool:' || $1 || ':' || $2 || ':distributed') AS postings,
                (SELECT count(*)::int FROM pool_distribution_subscribers WHERE plan_id = $1 AND period = $2) AS subscribers`,
        [planId, p.period],
      );
      const verified = d !== undefined && check.lines === d.distributed.amountMinor && check.postings === 1 && check.subscribers === SUBSCRIBERS;
      const totalS = close.s + statements.s;
      log(
        `[${p.period}, ${events} events] distribution ${fmt(close.s, 2)} s + statements ${fmt(statements.s, 2)} s (${statements.value} teacher lines) = ${fmt(totalS, 2)} s; ` +
          `gross ${d?.gross.amountMinor}, fee ${d?.platformFee.amountMinor}, distributed ${d?.distributed.amountMinor}; CPU app ${fmt(close.cpu.appS, 2)} s, ` +
          `PostgreSQL ${fmt(close.cpu.postgresS, 2)} s; ${otherCpuNote(close.cpu, close.s)}; verification ${verified ? 'OK' : `MISMATCH ${JSON.stringify(check)}`}`,
      );
      results.push({ period: p.period, events, baselineS: base.s, closeS: close.s, statementsS: statements.s, totalS, verified });
    }
    const [small, large] = results;
    const ratio = small.totalS / small.baselineS;
    const eventsRatio = large.totalS / small.totalS;
    const verified = results.every((r) => r.verified);
    console.log(
      `RESULT pool ratio=${fmt(ratio, 3)} target<=${TARGET} events_ratio=${fmt(eventsRatio, 3)} target<=${EVENTS_TARGET} ` +
        `distribution_s=${fmt(small.totalS, 3)} baseline_s=${fmt(small.baselineS, 3)} distribution_4m_s=${fmt(large.totalS, 3)} ` +
        `subscribers=${SUBSCRIBERS} teachers=${TEACHERS} pairs=${PAIRS} events_small=${SMALL} events_large=${LARGE} verified=${verified ? 'yes' : 'no'} ` +
        `met=${ratio <= TARGET && eventsRatio <= EVENTS_TARGET && verified ? 'yes' : 'no'}`,
    );
  } catch (e) {
    console.error('[bench:pool] failed:', e instanceof Error ? e.stack : e);
    throw e;
  } finally {
    await c.end().catch(() => undefined);
    await app?.stop();
    await db.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error('[bench:pool] failed:', err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
