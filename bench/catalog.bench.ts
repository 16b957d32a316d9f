/**
 * Catalog benchmark (`npm run bench:catalog`): throughput and p99 latency of
 * the public catalog query against the cheapest possible GraphQL query
 * (`{ __typename }`) on the same app in the same run, so the ratio says what
 * the catalog costs regardless of the machine; plus cold and warm `npm start`
 * time to the first healthy answer.
 *
 * The headline `ratio` (and `met`) is the catalog *executed* on every request
 * (public response cache off: resolver, SQL, GraphQL execution,
 * serialisation): a cache hit returns stored bytes and says nothing about the
 * catalog's cost. The default configuration (answers from the response cache)
 * is reported beside it as cached_*. Every answer during the load is compared
 * byte for byte with a reference answer checked against the database before
 * the load; one wrong answer fails the run, like a non-2xx.
 *
 * Environment: BENCH_DATABASE_URL (a PostgreSQL server; a scratch database is
 * created on it and dropped after), BENCH_DURATION (s, default 10),
 * BENCH_CONNECTIONS (default 20), BENCH_MODELS (default 1000), BENCH_VENDORS
 * (default 50), BENCH_SKIP_START=1 (skip the start-time phase).
 */
import 'reflect-metadata';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import type { EmbeddedPostgresHandle } from '../src/platform/database/embedded-postgres';

// The in-process app runs as in production (config nodeEnv 'production', as `npm run start:prod`):
// graphql-js reads NODE_ENV when first loaded, so the app's modules are required after this line.
process.env.NODE_ENV = 'production';
/* eslint-disable @typescript-eslint/no-require-imports */
const { createApp } = require('../src/app.factory') as typeof import('../src/app.factory');
const { loadConfig } = require('../src/platform/config/app-config') as typeof import('../src/platform/config/app-config');
const { startEmbeddedPostgres } = require('../src/platform/database/embedded-postgres') as typeof import('../src/platform/database/embedded-postgres');
const { runMigrations } = require('../src/platform/database/migrate') as typeof import('../src/platform/database/migrate');
const { DATABASE_SCHEMA } = require('../src/database-schema') as typeof import('../src/database-schema');
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = resolve(__dirname, '..');
const envInt = (name: string, dflt: number) => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : dflt;
};
const DURATION = envInt('BENCH_DURATION', 10);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 20);
const MODELS = envInt('BENCH_MODELS', 1000);
const VENDORS = envInt('BENCH_VENDORS', 50);
const TARGET = 0.5;

const CATALOG_QUERY = '{ catalog(first: 20) { totalCount edges { node { id name vendor { name } card { summary } } } } }';
const BASELINE_QUERY = '{ __typename }';

const log = (msg: string) => console.log(`[bench:catalog] ${msg}`);

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** 1,000 LISTED models over ~50 vendors in two statements (listed_at spread over the last days). */
async function seed(url: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      `INSERT INTO organizations (name, country) SELECT 'Vendor ' || g, 'US' FROM generate_series(1, $1) g`,
      [VENDORS],
    );
    await c.query(
      `WITH v AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM organizations)
       INSERT INTO models (organization_id, slug, name, card, parameter_count, modalities, status, listed_at)
       SELECT v.id, 'model-' || g, 'Teacher model ' || g,
              jsonb_build_object('summary', 'A teacher model number ' || g || ' for distillation into smaller students.',
                                 'parameterCount', (1000000000::bigint * (1 + g % 70))::text, 'modalities', jsonb_build_array('TEXT'),
                                 'contextLength', 8192, 'languages', jsonb_build_array('en'), 'trainingDataSummary', null,
                                 'evaluations', '[]'::jsonb, 'intendedUses', '[]'::jsonb, 'limitations', '[]'::jsonb, 'baseModels', '[]'::jsonb),
              1000000000::bigint * (1 + g % 70), ARRAY['TEXT'], 'LISTED', now() - g * interval '1 minute'
       FROM generate_series(1, $1) g JOIN v ON v.k = g % $2`,
      [MODELS, VENDORS],
    );
    await c.query('ANALYZE');
  } finally {
    await c.end();
  }
}

interface LoadResult {
  rps: number;
  p99: number;
  non2xx: number;
  errors: number;
  requests: number;
  /** 2xx answers whose body differed from the expected one */
  mismatches: number;
}

/**
 * autocannon in a child process, so the load generator does not share the
 * app's event loop. `expectBody`: every answer's body must equal it (autocannon
 * counts the others as mismatches; it reads every body anyway).
 */
async function load(url: string, query: string, duration: number, expectBody: string): Promise<LoadResult> {
  const bin = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
  const args = [bin, '-c', String(CONNECTIONS), '-d', String(duration), '-m', 'POST', '-H', 'content-type=application/json',
    '-b', JSON.stringify({ query }), '-E', expectBody, '-j', url];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((res) => child.on('exit', res));
  if (code !== 0) throw new Error(`autocannon exited with ${code}: ${err}`);
  const r = JSON.parse(out) as {
    requests: { average: number; total: number };
    latency: { p99: number };
    non2xx: number;
    errors: number;
    mismatches: number;
  };
  if (typeof r.mismatches !== 'number') throw new Error('autocannon reported no mismatch count: answers would go unchecked');
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, requests: r.requests.total, mismatches: r.mismatches };
}

/** One answer, checked with `expectData`; its exact text is what every answer under load must equal. */
async function referenceAnswer(url: string, query: string, expectData: (d: any) => boolean): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const text = await res.text();
  const body = JSON.parse(text) as { data?: unknown; errors?: unknown };
  if (res.status !== 200 || body.errors || !expectData(body.data)) {
    throw new Error(`unexpected answer to ${query}: ${res.status} ${text.slice(0, 500)}`);
  }
  return text;
}

/** The first catalog page as the database has it: the 20 most recently listed models and their vendors. */
async function expectedFirstPage(url: string): Promise<{ id: string; name: string; vendor: string; summary: string }[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT m.id, m.name, o.name AS vendor, m.card->>'summary' AS summary FROM models m JOIN organizations o ON o.id = m.organization_id
        WHERE m.status = 'LISTED' ORDER BY m.listed_at DESC, m.id DESC LIMIT 20`,
    );
    return rows;
  } finally {
    await c.end();
  }
}

interface Phases {
  /** default configuration: answers from the public response cache */
  cached: LoadResult;
  cachedBaseline: LoadResult;
  /** response cache off: every request executes */
  executed: LoadResult;
  executedBaseline: LoadResult;
}

async function throughput(): Promise<Phases> {
  const dir = mkdtempSync(join(tmpdir(), 'beiming-bench-'));
  let embedded: EmbeddedPostgresHandle | null = null;
  let scratch: { server: string; name: string } | null = null;
  let databaseUrl: string;
  if (process.env.BENCH_DATABASE_URL) {
    const server = process.env.BENCH_DATABASE_URL;
    const name = `beiming_bench_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: withDatabase(server, 'postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    scratch = { server, name };
    databaseUrl = withDatabase(server, name);
    log(`database: scratch database ${name} on BENCH_DATABASE_URL`);
  } else {
    const t0 = Date.now();
    embedded = await startEmbeddedPostgres(dir, await freePort(), { info: () => undefined, warn: (m) => log(m) });
    databaseUrl = embedded.url;
    log(`database: embedded PostgreSQL started in ${Date.now() - t0} ms`);
  }
  try {
    await runMigrations(databaseUrl, DATABASE_SCHEMA);
    let t0 = Date.now();
    await seed(databaseUrl);
    log(`seeded ${MODELS} LISTED models over ${VENDORS} vendors in ${Date.now() - t0} ms`);

    // production mode: introspection off and no schema file written; the query cache and the
    // public response cache stay at their defaults. A second app with the response cache off
    // measures the catalog when every request executes (resolver, SQL, serialisation).
    const serve = async (publicCacheTtlMs?: number) => {
      const config = loadConfig({}, {
        nodeEnv: 'production',
        databaseUrl,
        jwtSecret: randomBytes(32).toString('hex'),
        secretsKey: randomBytes(32).toString('base64url'),
        attestationSigningKey: randomBytes(32).toString('base64url'),
        logLevel: 'silent',
        dataDir: dir,
        port: 0,
        // The load comes from one address: the per-client rate limits (which would refuse it
        // within a second) are not what this measures.
        rateLimitAnonymousPerMinute: 0,
        rateLimitAnonymousPointsPerMinute: 0,
        ...(publicCacheTtlMs === undefined ? {} : { publicCacheTtlMs }),
      });
      const app = await createApp(config);
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.getHttpAdapter().getInstance().server.address() as { port: number };
      const url = `http://127.0.0.1:${address.port}/graphql`;
      log(`app listening on ${url} (query cache ${config.graphqlQueryCache}, public response cache ${config.publicCacheTtlMs} ms)`);
      const catalogBody = await referenceAnswer(url, CATALOG_QUERY, (d) => {
        const nodes = d.catalog.edges.map((e: any) => e.node);
        const got = nodes.map((n: any) => ({ id: n.id, name: n.name, vendor: n.vendor.name, summary: n.card.summary }));
        return d.catalog.totalCount === MODELS && JSON.stringify(got) === JSON.stringify(firstPage);
      });
      const baselineBody = await referenceAnswer(url, BASELINE_QUERY, (d) => d.__typename === 'Query');
      return { app, url, catalogBody, baselineBody };
    };
    const firstPage = await expectedFirstPage(databaseUrl);
    if (firstPage.length !== 20) throw new Error(`seed: expected 20 models on the first page, found ${firstPage.length}`);
    const measure = async (name: string, url: string, query: string, body: string): Promise<LoadResult> => {
      log(`${name}: ${DURATION} s, ${CONNECTIONS} connections: ${query}`);
      const r = await load(url, query, DURATION, body);
      log(`${name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${r.requests} requests, non-2xx ${r.non2xx}, errors ${r.errors}, wrong answers ${r.mismatches}`);
      if (r.non2xx > 0 || r.errors > 0 || r.mismatches > 0) {
        throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.mismatches} answers that differ from the checked reference`);
      }
      return r;
    };
    // Each app: warm-up, then its baseline and its catalog back to back, so both sides of a ratio see the same machine.
    const phase = async (label: string, publicCacheTtlMs?: number): Promise<{ catalog: LoadResult; baseline: LoadResult }> => {
      const s = await serve(publicCacheTtlMs);
      try {
        t0 = Date.now();
        await load(s.url, BASELINE_QUERY, 2, s.baselineBody);
        await load(s.url, CATALOG_QUERY, 2, s.catalogBody);
        log(`${label}: warm-up done in ${Date.now() - t0} ms`);
        const baseline = await measure(`${label}: baseline`, s.url, BASELINE_QUERY, s.baselineBody);
        const catalog = await measure(`${label}: catalog`, s.url, CATALOG_QUERY, s.catalogBody);
        return { catalog, baseline };
      } finally {
        await s.app.close();
      }
    };

    const executed = await phase('executed (response cache off)', 0);
    const cached = await phase('cached (default configuration)');
    return { executed: executed.catalog, executedBaseline: executed.baseline, cached: cached.catalog, cachedBaseline: cached.baseline };
  } finally {
    await embedded?.stop();
    if (scratch) {
      const admin = new Client({ connectionString: withDatabase(scratch.server, 'postgres') });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${scratch.name} WITH (FORCE)`);
      await admin.end();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Spawns the built server and measures the time from spawn to the first 200 from GET /health. */
async function startOnce(dataDir: string, cwd: string): Promise<number> {
  const port = await freePort();
  const pgPort = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.NODE_ENV;
  const started = Date.now();
  // cwd is a scratch directory: in development mode the server writes schema.gql into its cwd.
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  try {
    for (;;) {
      if (exitedEarly) throw new Error(`server exited before answering /health: ${stderr.slice(-2000)}`);
      if (Date.now() - started > 120_000) throw new Error('server not healthy after 120 s');
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        if (res.status === 200) return Date.now() - started;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    if (!exitedEarly) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

async function startTimes(): Promise<{ cold: number; warm: number }> {
  log('building (npm run build)');
  const t0 = Date.now();
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`npm run build failed (${build.status})`);
  log(`built in ${Date.now() - t0} ms`);
  const dataDir = mkdtempSync(join(tmpdir(), 'beiming-start-data-'));
  const cwd = mkdtempSync(join(tmpdir(), 'beiming-start-cwd-'));
  try {
    const cold = await startOnce(dataDir, cwd);
    log(`cold start (fresh DATA_DIR, initdb + migrations): ${cold} ms to healthy`);
    const warm = await startOnce(dataDir, cwd);
    log(`warm start (same DATA_DIR): ${warm} ms to healthy`);
    return { cold, warm };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  log(`models=${MODELS} vendors=${VENDORS} duration=${DURATION}s connections=${CONNECTIONS}`);
  const { executed, executedBaseline, cached, cachedBaseline } = await throughput();
  const ratio = executed.rps / executedBaseline.rps;
  const cachedRatio = cached.rps / cachedBaseline.rps;
  const met = ratio >= TARGET;
  log(`ratio executed catalog/baseline = ${ratio.toFixed(3)} (target >= ${TARGET}: ${met ? 'met' : 'NOT met'}); from the response cache: ${cachedRatio.toFixed(3)}`);
  const starts = process.env.BENCH_SKIP_START === '1' ? { cold: -1, warm: -1 } : await startTimes();
  const answers = executed.requests + executedBaseline.requests + cached.requests + cachedBaseline.requests;
  console.log(
    `RESULT catalog ratio=${ratio.toFixed(3)} target>=${TARGET} catalog_rps=${executed.rps.toFixed(0)} baseline_rps=${executedBaseline.rps.toFixed(0)} ` +
      `catalog_p99_ms=${executed.p99} baseline_p99_ms=${executedBaseline.p99} cached_ratio=${cachedRatio.toFixed(3)} ` +
      `cached_rps=${cached.rps.toFixed(0)} cached_p99_ms=${cached.p99} cached_baseline_rps=${cachedBaseline.rps.toFixed(0)} ` +
      `answers_checked=${answers} cold_start_ms=${starts.cold} warm_start_ms=${starts.warm} met=${met ? 'yes' : 'no'}`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error('[bench:catalog] failed:', err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
