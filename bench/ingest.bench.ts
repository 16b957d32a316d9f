/**
 * Usage-ingestion benchmark (`npm run bench:ingest`): vendor usage reports
 * through the full HTTP path (`POST /v1/usage/events`: API-key
 * authentication, JSON parsing, per-event validation and payload hash, the
 * agreement lookup, and `metering_record_usage` — idempotent insert, overage,
 * minute/hour/period rollups — in one transaction per batch) against a
 * baseline of the same rows written by raw `pg` multi-row
 * `INSERT … ON CONFLICT DO NOTHING` into an identical table, in the same run,
 * same batch size, same concurrency, same number of events.
 *
 * The baseline table is identical to usage_events: `CREATE TABLE
 * bench_usage_events_baseline (LIKE usage_events INCLUDING ALL)` (same
 * columns, defaults, CHECK constraints, primary key and index) plus the same
 * foreign key on agreement_id, which LIKE does not copy (it costs about a
 * quarter of a plain insert; BENCH_BASELINE_FK=0 leaves it out to show that).
 * The immutability trigger is not copied: it fires on UPDATE/DELETE only, so
 * it costs an insert nothing.
 *
 * Processes: the app is a child process (`node dist/src/main.js`,
 * NODE_ENV=production, as `npm run start:prod`) so its peak RSS (VmHWM, reset
 * just before the ingest warm-up) is its own; this process sends the
 * pre-built batches (undici, one keep-alive connection per client) and runs the
 * baseline's `pg` clients.
 *
 * Workload: BENCH_CONNECTIONS concurrent clients (default 4: on 2 cores, 2
 * clients left the app idle between batches and 8 only added queueing —
 * measured 2026-11-27: about 21k, 23-25k and 23k events/s for 2, 4 and 8);
 * client c reports for vendor c mod BENCH_VENDORS, each batch spread over that
 * vendor's agreements (so concurrent batches of one vendor contend for the same
 * per-agreement metering locks, as a vendor's parallel reporters would).
 * Phases: warm-up of both sides (the app's on a fresh table without planner
 * statistics), VACUUM ANALYZE + CHECKPOINT (outside the timings, so neither
 * side pays for the other's autovacuum), app, VACUUM ANALYZE + CHECKPOINT,
 * baseline. Each phase prints the CPU spent per 1000 events by the app, by
 * this database's PostgreSQL processes and by this process, and the CPU that
 * other processes took meanwhile: a run is flagged not quiet (quiet=no) when
 * other work took more than 10% of the machine, and then its rates say
 * little; `cpu_ratio` (baseline CPU per event ÷ app CPU per event) is less
 * sensitive to such disturbance.
 *
 * Environment: BENCH_DATABASE_URL (a PostgreSQL server; a scratch database is
 * created on it and dropped after; default: an embedded PostgreSQL in a
 * temporary directory), BENCH_EVENTS (measured events per side, default
 * 200000), BENCH_WARMUP_EVENTS (default 20000), BENCH_BATCH (default 500),
 * BENCH_CONNECTIONS (concurrent clients, default 4), BENCH_VENDORS (default 4),
 * BENCH_AGREEMENTS (default 8), BENCH_BASELINE_FK=0 (leave usage_events' foreign
 * key off the baseline table, to isolate its per-row cost), BENCH_LOG_LEVEL (the
 * app's, default warn), BENCH_APP_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import 'reflect-metadata';
import { randomBytes, randomInt } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { Client as HttpClient } from 'undici';
import { usagePayloadHash } from '../src/metering/usage/usage-event.validation';
import { AppChild, build, cpuMeter, CpuUse, disturbed, envInt, fmt, freshDatabase, loadAverage, logger, memoryOf, otherCpuNote, percentile, resetPeakMemory, startApp } from './support/harness';
import { acceptOffer, createApiKey, GraphqlClient, signUp, teacherWithOffer } from './support/parties';

const log = logger('ingest');
const EVENTS = envInt('BENCH_EVENTS', 200_000);
const WARMUP_EVENTS = envInt('BENCH_WARMUP_EVENTS', 20_000);
const BATCH = envInt('BENCH_BATCH', 500);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 4);
const VENDORS = envInt('BENCH_VENDORS', 4);
const AGREEMENTS = envInt('BENCH_AGREEMENTS', 8);
/** Give the baseline table usage_events' foreign key too (to see what the per-row check costs). */
const BASELINE_FK = process.env.BENCH_BASELINE_FK !== '0';
const TARGET_RATIO = 0.5;
const TARGET_EVENTS_S = 10_000;
const HOUR_MS = 3_600_000;

interface Vendor {
  /** USAGE_REPORT key */
  key: string;
  keyId: string;
  agreementIds: string[];
}

interface Batch {
  /** `{"events":[…]}` as sent to the app */
  json: string;
  /** The same rows as `INSERT` parameters, 11 per event */
  params: unknown[];
  events: number;
}

interface PhaseResult {
  events: number;
  accepted: number;
  elapsedS: number;
  latenciesMs: number[];
  cpu: CpuUse;
}

const COLUMNS = 11;
const insertSql = (rows: number): string => {
  const values: string[] = [];
  for (let r = 0; r < rows; r++) {
    const b = r * COLUMNS;
    // received_at is the statement's time, as in metering_record_usage; overage_tokens is 0 (no quota).
    values.push(`($${b + 1},$${b + 2},$${b + 3},$${b + 4},now(),$${b + 5},$${b + 6},$${b + 7},$${b + 8},$${b + 9},$${b + 10},$${b + 11})`);
  }
  return `INSERT INTO bench_usage_events_baseline (agreement_id, event_id, source, occurred_at, received_at, input_tokens,
            output_tokens, overage_tokens, estimated, payload_hash, metadata, api_key_id)
          VALUES ${values.join(',')} ON CONFLICT DO NOTHING`;
};

/**
 * Events for `total`, in batches of BATCH; batch b belongs to client b % CONNECTIONS,
 * and client c reports for vendor c % VENDORS (events spread over that vendor's
 * agreements). Unique ids; occurredAt within the last hour; JSON and SQL
 * parameters built from the same values.
 */
function makeBatches(vendors: Vendor[], total: number, tag: string): Batch[][] {
  const perClient: Batch[][] = Array.from({ length: CONNECTIONS }, () => []);
  const now = Date.now();
  let seq = 0;
  for (let b = 0; seq < total; b++) {
    const client = b % CONNECTIONS;
    const vendor = vendors[client % vendors.length];
    const n = Math.min(BATCH, total - seq);
    const events: string[] = new Array(n);
    const params: unknown[] = [];
    for (let i = 0; i < n; i++, seq++) {
      const agreementId = vendor.agreementIds[randomInt(vendor.agreementIds.length)];
      const id = `${tag}-${seq.toString().padStart(8, '0')}`;
      const occurredAt = new Date(now - 1000 - randomInt(HOUR_MS - 60_000));
      const inputTokens = 50 + randomInt(4000);
      const outputTokens = 10 + randomInt(1000);
      const metadata = { requestId: `req_${tag}_${seq}`, route: 'chat' };
      const iso = occurredAt.toISOString();
      events[i] = JSON.stringify({ id, agreementId, occurredAt: iso, inputTokens, outputTokens, metadata });
      const hash = usagePayloadHash({ occurredAt, inputTokens: BigInt(inputTokens), outputTokens: BigInt(outputTokens), metadata });
      params.push(agreementId, id, 'REPORTED', iso, String(inputTokens), String(outputTokens), '0', false, hash, JSON.stringify(metadata), vendor.keyId);
    }
    perClient[client].push({ json: `{"events":[${events.join(',')}]}`, params, events: n });
  }
  return perClient;
}

async function setUp(app: AppChild, databaseUrl: string): Promise<Vendor[]> {
  if (AGREEMENTS < VENDORS) throw new Error('BENCH_AGREEMENTS must be at least BENCH_VENDORS');
  const gql = new GraphqlClient(`${app.baseUrl}/graphql`);
  const distiller = await signUp(gql, 'Bench distiller', 'FR');
  const vendors: Array<Vendor & { user: Awaited<ReturnType<typeof signUp>> }> = [];
  for (let v = 0; v < VENDORS; v++) {
    const user = await signUp(gql, `Bench vendor ${v + 1}`, 'US');
    const key = await createApiKey(gql, user, ['USAGE_REPORT']);
    vendors.push({ user, key: key.secret, keyId: key.id, agreementIds: [] });
  }
  for (let a = 0; a < AGREEMENTS; a++) {
    const vendor = vendors[a % VENDORS];
    const offer = await teacherWithOffer(gql, vendor.user);
    vendor.agreementIds.push(await acceptOffer(gql, distiller, offer));
  }
  // Agreements accepted a moment ago would refuse usage from the last hour
  // (BEFORE_AGREEMENT_START): the fixture dates them two hours back.
  const c = new PgClient({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query(`UPDATE license_agreements SET starts_at = starts_at - interval '2 hours', accepted_at = accepted_at - interval '2 hours'`);
    await c.query(`CREATE TABLE bench_usage_events_baseline (LIKE usage_events INCLUDING ALL)`);
    if (BASELINE_FK) {
      await c.query(`ALTER TABLE bench_usage_events_baseline ADD FOREIGN KEY (agreement_id) REFERENCES license_agreements (id) ON DELETE RESTRICT`);
    }
  } finally {
    await c.end();
  }
  return vendors;
}

async function ingestPhase(app: AppChild, databaseUrl: string, vendors: Vendor[], batches: Batch[][]): Promise<PhaseResult> {
  const clients = batches.map(() => new HttpClient(app.baseUrl, { pipelining: 1, keepAliveTimeout: 60_000 }));
  const latenciesMs: number[] = [];
  let accepted = 0;
  let events = 0;
  const problems: string[] = [];
  const meter = await cpuMeter(app.pid, databaseUrl);
  let cpu: PhaseResult['cpu'];
  const t0 = process.hrtime.bigint();
  try {
    await Promise.all(
      batches.map(async (mine, c) => {
        const authorization = `Bearer ${vendors[c % vendors.length].key}`;
        for (const batch of mine) {
          const s = process.hrtime.bigint();
          const res = await clients[c].request({
            path: '/v1/usage/events',
            method: 'POST',
            headers: { authorization, 'content-type': 'application/json' },
            body: batch.json,
          });
          const text = await res.body.text();
          latenciesMs.push(Number(process.hrtime.bigint() - s) / 1e6);
          if (res.statusCode !== 200) throw new Error(`POST /v1/usage/events answered ${res.statusCode}: ${text.slice(0, 500)}`);
          const r = JSON.parse(text) as { accepted: number; duplicates: number; rejected: number; results: Array<{ status: string; reason?: string; message?: string }> };
          events += batch.events;
          accepted += r.accepted;
          if (r.accepted !== batch.events && problems.length < 5) {
            const bad = r.results.find((x) => x.status !== 'accepted');
            problems.push(`${r.duplicates} duplicates, ${r.rejected} rejected, e.g. ${JSON.stringify(bad)}`);
          }
        }
      }),
    );
  } finally {
    cpu = await meter.stop();
    await Promise.all(clients.map((c) => c.close()));
  }
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const p of problems) log(`NOT ACCEPTED: ${p}`);
  return { events, accepted, elapsedS, latenciesMs: latenciesMs.sort((a, b) => a - b), cpu };
}

async function baselinePhase(app: AppChild, databaseUrl: string, batches: Batch[][]): Promise<PhaseResult> {
  const clients = batches.map(() => new PgClient({ connectionString: databaseUrl, application_name: 'bench-baseline' }));
  await Promise.all(clients.map((c) => c.connect()));
  const fullSql = insertSql(BATCH);
  const latenciesMs: number[] = [];
  let inserted = 0;
  let events = 0;
  const meter = await cpuMeter(app.pid, databaseUrl);
  let cpu: PhaseResult['cpu'];
  const t0 = process.hrtime.bigint();
  try {
    await Promise.all(
      batches.map(async (mine, c) => {
        for (const batch of mine) {
          const s = process.hrtime.bigint();
          const r = await clients[c].query(batch.events === BATCH ? fullSql : insertSql(batch.events), batch.params);
          latenciesMs.push(Number(process.hrtime.bigint() - s) / 1e6);
          events += batch.events;
          inserted += r.rowCount ?? 0;
        }
      }),
    );
  } finally {
    cpu = await meter.stop();
    await Promise.all(clients.map((c) => c.end()));
  }
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  return { events, accepted: inserted, elapsedS, latenciesMs: latenciesMs.sort((a, b) => a - b), cpu };
}

/**
 * Between phases, outside the timings: VACUUM ANALYZE the tables written so far
 * and CHECKPOINT, so neither side pays for the other's autovacuum and both
 * start right after a checkpoint (same full-page-write cost).
 */
async function settle(databaseUrl: string): Promise<void> {
  const t0 = Date.now();
  const c = new PgClient({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query(`VACUUM (ANALYZE) usage_events, usage_rollups_minute, usage_rollups_hour, usage_period_totals, bench_usage_events_baseline`);
    await c.query('CHECKPOINT').catch((e: Error) => log(`CHECKPOINT not possible (${e.message}); continuing`));
  } finally {
    await c.end();
  }
  log(`settled (VACUUM ANALYZE + CHECKPOINT) in ${Date.now() - t0} ms`);
}

const describe = (name: string, r: PhaseResult) => {
  const rate = r.accepted / r.elapsedS;
  log(
    `${name}: ${r.accepted}/${r.events} events stored in ${fmt(r.elapsedS, 2)} s = ${fmt(rate)} events/s; ` +
      `per batch of ${BATCH}: p50 ${fmt(percentile(r.latenciesMs, 50), 1)} ms, p99 ${fmt(percentile(r.latenciesMs, 99), 1)} ms, max ${fmt(r.latenciesMs[r.latenciesMs.length - 1], 1)} ms; ` +
      `CPU per 1000 events: app ${fmt((r.cpu.appS * 1e6) / r.events)} ms, PostgreSQL ${fmt((r.cpu.postgresS * 1e6) / r.events)} ms, ` +
      `this process ${fmt((r.cpu.clientS * 1e6) / r.events)} ms; ${otherCpuNote(r.cpu, r.elapsedS)}`,
  );
  return rate;
};

async function main(): Promise<void> {
  log(`events=${EVENTS} per side (+${WARMUP_EVENTS} warm-up) batch=${BATCH} connections=${CONNECTIONS} vendors=${VENDORS} agreements=${AGREEMENTS}${BASELINE_FK ? ', baseline table with the foreign key' : ', baseline table WITHOUT the foreign key'}; load average ${loadAverage()}`);
  build(log);
  const db = await freshDatabase(log);
  log(`database: ${db.description}`);
  let app: AppChild | null = null;
  try {
    // One API key sends all the load: its per-key rate limit is not what this measures.
    app = await startApp(db.url, log, { RATE_LIMIT_AUTHENTICATED_PER_MINUTE: '0' });
    let t0 = Date.now();
    const vendors = await setUp(app, db.url);
    log(`set up through GraphQL in ${Date.now() - t0} ms: ${VENDORS} vendors, ${AGREEMENTS} agreements (${vendors.map((v) => v.agreementIds.length).join('+')}), one USAGE_REPORT key per vendor; client c reports for vendor c mod ${VENDORS}`);

    t0 = Date.now();
    const tag = randomBytes(3).toString('hex');
    const warm = makeBatches(vendors, WARMUP_EVENTS, `${tag}w`);
    const measured = makeBatches(vendors, EVENTS, `${tag}m`);
    log(`built ${WARMUP_EVENTS + EVENTS} events (JSON bodies and INSERT parameters) in ${Date.now() - t0} ms`);

    const idle = memoryOf(app.pid);
    const reset = resetPeakMemory(app.pid);
    log(`app RSS before ingest: ${fmt(idle.rssMb)} MiB (peak since start ${fmt(idle.peakMb)} MiB; peak ${reset ? 'reset now' : 'could not be reset: peak since start is reported'})`);

    const warmApp = await ingestPhase(app, db.url, vendors, warm);
    describe('warm-up, app', warmApp);
    const warmBaseline = await baselinePhase(app, db.url, warm);
    describe('warm-up, baseline', warmBaseline);
    await settle(db.url);
    const feature = await ingestPhase(app, db.url, vendors, measured);
    const featureRate = describe('app (POST /v1/usage/events)', feature);
    const mem = memoryOf(app.pid);
    await settle(db.url);
    const baseline = await baselinePhase(app, db.url, measured);
    const baselineRate = describe('baseline (pg multi-row INSERT … ON CONFLICT DO NOTHING)', baseline);

    // Nothing dropped: every accepted event is a row, and the rollups count them all.
    const c = new PgClient({ connectionString: db.url });
    await c.connect();
    let rows: number;
    let rolled: number;
    let baselineRows: number;
    try {
      rows = Number((await c.query(`SELECT count(*) AS n FROM usage_events`)).rows[0].n);
      rolled = Number((await c.query(`SELECT coalesce(sum(events), 0) AS n FROM usage_period_totals`)).rows[0].n);
      baselineRows = Number((await c.query(`SELECT count(*) AS n FROM bench_usage_events_baseline`)).rows[0].n);
    } finally {
      await c.end();
    }
    const sent = warmApp.events + feature.events;
    const appAccepted = warmApp.accepted + feature.accepted;
    const baselineInserted = warmBaseline.accepted + baseline.accepted;
    const verified = rows === appAccepted && appAccepted === sent && rolled === rows && baselineRows === baselineInserted && baselineInserted === sent;
    log(
      `verification: usage_events rows ${rows}, accepted events ${appAccepted}, events sent ${sent}, rollup event count ${rolled}, ` +
        `baseline rows ${baselineRows} (inserted ${baselineInserted}) — ${verified ? 'OK, nothing dropped' : 'MISMATCH'}`,
    );

    const ratio = featureRate / baselineRate;
    // CPU spent per event (app + PostgreSQL + client) on each side: less sensitive to other work on the machine than rates.
    const cpuPerEvent = (r: PhaseResult) => (r.cpu.appS + r.cpu.postgresS + r.cpu.clientS) / r.events;
    const cpuRatio = cpuPerEvent(baseline) / cpuPerEvent(feature);
    const quiet = !disturbed(feature.cpu, feature.elapsedS) && !disturbed(baseline.cpu, baseline.elapsedS);
    const met = ratio >= TARGET_RATIO && featureRate > TARGET_EVENTS_S && verified;
    log(
      `ratio app/baseline = ${fmt(ratio, 3)} (target >= ${TARGET_RATIO}); app ${fmt(featureRate)} events/s (target > ${TARGET_EVENTS_S}); ` +
        `CPU per event baseline/app = ${fmt(cpuRatio, 3)}; peak RSS (VmHWM) of the app's process during ingestion ${fmt(mem.peakMb)} MiB` +
        (quiet ? '' : '; OTHER WORK ON THE MACHINE DISTURBED THE MEASURED PHASES: run again on a quiet machine'),
    );
    console.log(
      `RESULT ingest ratio=${fmt(ratio, 3)} target>=${TARGET_RATIO} events_s=${fmt(featureRate)} baseline_s=${fmt(baselineRate)} ` +
        `p99_batch_ms=${fmt(percentile(feature.latenciesMs, 99), 1)} baseline_p99_ms=${fmt(percentile(baseline.latenciesMs, 99), 1)} ` +
        `rss_peak_mb=${fmt(mem.peakMb)} target_events_s>${TARGET_EVENTS_S} connections=${CONNECTIONS} agreements=${AGREEMENTS} ` +
        `vendors=${VENDORS} batch=${BATCH} events=${EVENTS} baseline_fk=${BASELINE_FK ? 'yes' : 'no'} cpu_ratio=${fmt(cpuRatio, 3)} rows_verified=${verified ? 'yes' : 'no'} quiet=${quiet ? 'yes' : 'no'} met=${met ? 'yes' : 'no'}`,
    );
  } finally {
    await app?.stop();
    await db.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error('[bench:ingest] failed:', err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
