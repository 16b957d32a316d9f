/**
 * Period-close benchmark (`npm run bench:close`): the time to close a billing
 * period for BENCH_AGREEMENTS agreements (default 10,000) when the month holds
 * 1 M usage events and when it holds 4 M — each in a fresh database — against
 * the baseline of one raw SQL `GROUP BY agreement_id` over that month's
 * usage_events. A close reads the per-agreement rollups (usage_period_totals),
 * never the events, so its time should follow the agreements, not the events:
 * target close_4m ÷ close_1m ≤ 1.3, where the baseline grows about 4×.
 *
 * Per size: a fresh database (BENCH_DATABASE_URL server, or an embedded
 * PostgreSQL), the app as a child process (`node dist/src/main.js`,
 * NODE_ENV=production, as `npm run start:prod`, with an admin from
 * ADMIN_EMAIL / ADMIN_PASSWORD and JOBS_ENABLED=false so no scheduled job
 * runs into the timing), seeding (bench/support/close-seed.ts:
 * vendors and offers through GraphQL; distillers, agreements, events and
 * rollups with set-based SQL; then VACUUM ANALYZE + CHECKPOINT), then:
 * 1. the close: `closeBillingPeriod(period)` over HTTP as the admin, timed end
 *    to end, then verified (one invoice per distiller and currency, the usage
 *    lines equal to the rollups, one INVOICE_ISSUED posting per OPEN invoice);
 * 2. the baseline: `SELECT agreement_id, sum(…), count(*) FROM usage_events
 *    WHERE occurred_at in the month GROUP BY agreement_id`, run twice, the
 *    second (warm) run reported.
 * The CPU other processes took during each timed phase is printed; when it
 * exceeded 10 % of the machine during a close, the RESULT says quiet=no (the
 * baseline's check is only printed: its parallel workers count as "other").
 *
 * Environment: BENCH_DATABASE_URL, BENCH_AGREEMENTS (default 10000),
 * BENCH_DISTILLERS (default BENCH_AGREEMENTS / 5), BENCH_VENDORS (default 20),
 * BENCH_EVENTS_SMALL (default 1000000), BENCH_EVENTS_LARGE (default 4000000),
 * BENCH_LOG_LEVEL (the app's, default warn).
 */
import 'reflect-metadata';
import { Client } from 'pg';
import { periodOf, previousPeriod } from '../src/billing/billing-period';
import { build, cpuMeter, CpuUse, disturbed, envInt, fmt, freshDatabase, loadAverage, logger, otherCpuNote, startApp } from './support/harness';
import { seedForClose } from './support/close-seed';
import { GraphqlClient } from './support/parties';

const log = logger('close');
const AGREEMENTS = envInt('BENCH_AGREEMENTS', 10_000);
const DISTILLERS = envInt('BENCH_DISTILLERS', Math.max(1, Math.floor(AGREEMENTS / 5)));
const VENDORS = envInt('BENCH_VENDORS', 20);
const SMALL = envInt('BENCH_EVENTS_SMALL', 1_000_000);
const LARGE = envInt('BENCH_EVENTS_LARGE', 4_000_000);
const TARGET = 1.3;
const ADMIN_EMAIL = 'close-bench-admin@example.test';
const ADMIN_PASSWORD = 'close bench admin password';

interface Run {
  events: number;
  closeS: number;
  closeCpu: CpuUse;
  groupByS: number;
  groupByCpu: CpuUse;
  invoices: number;
  verified: boolean;
}

async function timed<T>(appPid: number, url: string, work: () => Promise<T>): Promise<{ value: T; s: number; cpu: CpuUse }> {
  const meter = await cpuMeter(appPid, url);
  const t0 = process.hrtime.bigint();
  const value = await work();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { value, s, cpu: await meter.stop() };
}

async function runSize(events: number): Promise<Run> {
  const period = previousPeriod(periodOf(new Date()));
  const agreementsPerDistiller = Math.ceil(AGREEMENTS / DISTILLERS);
  const db = await freshDatabase(log);
  log(`[${events} events] database: ${db.description}`);
  let app: Awaited<ReturnType<typeof startApp>> | null = null;
  try {
    // Background jobs off: a minute or five-minute job (expiry, webhook sweep, invoice collection) landing on the
    // timed close would be measured with it.
    app = await startApp(db.url, log, { ADMIN_EMAIL, ADMIN_PASSWORD, JOBS_ENABLED: 'false' });
    const gql = new GraphqlClient(`${app.baseUrl}/graphql`);
    const seed = await seedForClose(
      gql,
      db.url,
      { vendors: VENDORS, distillers: DISTILLERS, agreementsPerDistiller, events, periodStart: period.start, periodEnd: period.end },
      (m) => log(`[${events} events] ${m}`),
    );
    const login = await gql.call(
      `mutation($i: LogInInput!) { logIn(input: $i) { __typename ... on AuthPayload { accessToken } } }`,
      { i: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } },
    );
    const token = login.logIn.accessToken as string;

    const close = await timed(app.pid, db.url, () =>
      gql.call(
        `mutation($p: String!) { closeBillingPeriod(period: $p) { __typename ... on BillingPeriodClose { invoiceCount invoicesCreated totals { currency invoiceCount total { formatted } } } ... on BusinessError { code message } } }`,
        { p: period.period },
        token,
      ),
    );
    const result = close.value.closeBillingPeriod;
    if (result.__typename !== 'BillingPeriodClose') throw new Error(`close refused: ${JSON.stringify(result)}`);
    log(
      `[${events} events] close of ${period.period}: ${fmt(close.s, 2)} s, ${result.invoiceCount} invoices ` +
        `(${result.totals.map((t: any) => `${t.invoiceCount} × ${t.currency}, ${t.total.formatted}`).join('; ')}); ` +
        `CPU app ${fmt(close.cpu.appS, 2)} s, PostgreSQL ${fmt(close.cpu.postgresS, 2)} s; ${otherCpuNote(close.cpu, close.s)}`,
    );

    const c = new Client({ connectionString: db.url, application_name: 'bench-baseline' });
    await c.connect();
    let verified = false;
    let groupBy: Awaited<ReturnType<typeof timed<number>>>;
    try {
      const [check] = (
        await c.query(
          `SELECT (SELECT count(*) FROM invoices WHERE kind = 'PERIOD' AND period = $1)::int AS invoices,
                  (SELECT count(*) FROM ledger_transactions WHERE kind = 'INVOICE_ISSUED')::int AS postings,
                  (SELECT count(*) FROM invoices WHERE kind = 'PERIOD' AND period = $1 AND status = 'OPEN')::int AS open,
                  (SELECT count(*) FROM usage_period_totals t
                     CROSS JOIN LATERAL (SELECT sum(quantity) FILTER (WHERE kind = 'USAGE_INPUT') AS i, sum(quantity) FILTER (WHERE kind = 'USAGE_OUTPUT') AS o,
                                                sum(overage_tokens) AS v
                                           FROM invoice_lines l WHERE l.agreement_id = t.agreement_id AND l.usage_period = $1) b
                    WHERE t.period_start = $2 AND (t.input_tokens, t.output_tokens, t.overage_tokens) IS DISTINCT FROM (b.i, b.o, b.v))::int AS mismatched`,
          [period.period, period.start.toISOString()],
        )
      ).rows;
      verified = check.invoices === seed.expectedInvoices && check.postings === check.open && check.mismatched === 0;
      log(
        `[${events} events] verification: ${check.invoices} invoices (expected ${seed.expectedInvoices}), ${check.postings} INVOICE_ISSUED postings for ` +
          `${check.open} OPEN invoices, ${check.mismatched} agreements whose usage lines differ from the rollups — ${verified ? 'OK' : 'MISMATCH'}`,
      );
      const sql = `SELECT agreement_id, sum(input_tokens), sum(output_tokens), sum(overage_tokens), count(*)
                     FROM usage_events WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY agreement_id`;
      const params = [period.start.toISOString(), period.end.toISOString()];
      const cold = await timed(app.pid, db.url, async () => (await c.query(sql, params)).rowCount ?? 0);
      groupBy = await timed(app.pid, db.url, async () => (await c.query(sql, params)).rowCount ?? 0);
      log(
        `[${events} events] baseline GROUP BY agreement_id over usage_events: first run ${fmt(cold.s, 2)} s, second ${fmt(groupBy.s, 2)} s ` +
          `(${groupBy.value} groups); ${otherCpuNote(groupBy.cpu, groupBy.s)} — PostgreSQL's parallel workers for this query come and go ` +
          `within it and are counted as other processes, so this phase's quiet check is not used`,
      );
    } finally {
      await c.end();
    }
    return { events: seed.events, closeS: close.s, closeCpu: close.cpu, groupByS: groupBy.s, groupByCpu: groupBy.cpu, invoices: result.invoiceCount, verified };
  } finally {
    await app?.stop();
    await db.stop();
  }
}

async function main(): Promise<void> {
  log(`agreements=${AGREEMENTS} distillers=${DISTILLERS} vendors=${VENDORS} events=${SMALL} then ${LARGE}; load average ${loadAverage()}`);
  build(log);
  const small = await runSize(SMALL);
  const large = await runSize(LARGE);
  const ratio = large.closeS / small.closeS;
  const groupRatio = large.groupByS / small.groupByS;
  const quiet = [small, large].every((r) => !disturbed(r.closeCpu, r.closeS));
  const verified = small.verified && large.verified;
  log(
    `close ${fmt(small.closeS, 2)} s → ${fmt(large.closeS, 2)} s (×${fmt(ratio, 2)}, target ≤ ${TARGET}) while the GROUP BY baseline went ` +
      `${fmt(small.groupByS, 2)} s → ${fmt(large.groupByS, 2)} s (×${fmt(groupRatio, 2)})` +
      (quiet ? '' : '; OTHER WORK ON THE MACHINE DISTURBED A TIMED CLOSE: run again on a quiet machine'),
  );
  console.log(
    `RESULT close ratio=${fmt(ratio, 3)} target<=${TARGET} close_1m_s=${fmt(small.closeS, 3)} close_4m_s=${fmt(large.closeS, 3)} ` +
      `groupby_1m_s=${fmt(small.groupByS, 3)} groupby_4m_s=${fmt(large.groupByS, 3)} agreements=${AGREEMENTS} events_small=${small.events} ` +
      `events_large=${large.events} invoices=${large.invoices} verified=${verified ? 'yes' : 'no'} quiet=${quiet ? 'yes' : 'no'} ` +
      `met=${ratio <= TARGET && verified ? 'yes' : 'no'}`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error('[bench:close] failed:', err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
