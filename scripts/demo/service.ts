/**
 * The service the demo talks to, and its platform admins.
 *
 * Service: the one already answering /health at the configured HOST:PORT
 * (src/platform/config, default 127.0.0.1:3000) is used as it is; when nothing
 * listens there the demo builds the app and starts `node dist/src/main.js`
 * itself — exactly what `npm start` runs, on the same configuration (embedded
 * PostgreSQL unless DATABASE_URL is set) — detached, with its logs in
 * DATA_DIR/demo-server.log, and leaves it running for the console.
 *
 * Admins (four eyes need two): the service only has the platform admins its
 * configuration ensures at boot (ADMIN_EMAIL / ADMIN_PASSWORD). The demo
 * chooses, in this order:
 *  1. ADMIN_EMAIL / ADMIN_PASSWORD in the demo's environment: the running
 *     service's configured admins; their first address creates the payout
 *     batch, the second approves it. With only one address, that admin grants
 *     the role to the demo's second admin through the API (grantPlatformAdmin).
 *  2. Otherwise, when the demo starts the service itself, it passes its two
 *     demo admins in ADMIN_EMAIL / ADMIN_PASSWORD, so the boot ensures them.
 *  3. Otherwise (a service started by plain `npm start`, with no admin), the
 *     demo ensures its two demo admins through the same code the boot runs
 *     (AuthService's bootstrap: `ensureAdmin`, audited as identity.admin.ensured),
 *     by building the application once without listening, with the app's own
 *     database configuration (DATABASE_URL, or the embedded PostgreSQL's URL
 *     and password from DATA_DIR) and ADMIN_EMAIL set to the demo admins.
 *     Logging them in afterwards proves it worked.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DemoError, sleep } from './api';

export const ROOT = resolve(__dirname, '..', '..');

export interface ServiceSettings {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  embeddedPostgresPort: number;
  stripeSecretKey?: string;
}

export interface ServiceHandle {
  base: string;
  startedByDemo: boolean;
  pid: number | null;
  logFile: string | null;
}

async function healthy(base: string): Promise<'beiming' | 'other' | 'none'> {
  try {
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2_000) });
    if (res.status !== 200) return 'other';
    const body = (await res.json().catch(() => null)) as { status?: string } | null;
    return body && typeof body === 'object' && 'status' in body ? 'beiming' : 'other';
  } catch {
    return 'none';
  }
}

function npm(args: string[]): void {
  const cli = /npm-cli\.js$/.test(process.env.npm_execpath ?? '') ? process.env.npm_execpath : undefined;
  // Quiet unless it fails: the demo's progress lines stay readable.
  const r = cli
    ? spawnSync(process.execPath, [cli, ...args], { cwd: ROOT, encoding: 'utf8' })
    : spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new DemoError(`npm ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${`${r.stdout ?? ''}${r.stderr ?? ''}`.trim()}`);
}

/** Builds dist/ (swc, and the GraphiQL and console bundles) as `npm start` does. */
export function build(): void {
  npm(['run', 'build', '--silent']);
}

export async function ensureService(
  s: ServiceSettings,
  demoAdmins: { emails: string[]; password: string } | null,
  progress: (line: string) => void,
): Promise<ServiceHandle> {
  const host = s.host === '0.0.0.0' ? '127.0.0.1' : s.host;
  const base = `http://${host}:${s.port}`;
  const state = await healthy(base);
  if (state === 'beiming') return { base, startedByDemo: false, pid: null, logFile: null };
  if (state === 'other') throw new DemoError(`something else answers on ${base} (its /health is not Beiming's): stop it, or set PORT`);

  progress(`nothing answers on ${base}: building and starting the service (embedded PostgreSQL unless DATABASE_URL is set) …`);
  build();
  mkdirSync(s.dataDir, { recursive: true });
  const logFile = resolve(s.dataDir, 'demo-server.log');
  const fd = openSync(logFile, 'a');
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(s.port), LOG_FORMAT: process.env.LOG_FORMAT ?? 'json' };
  delete env.npm_lifecycle_event;
  if (demoAdmins) {
    env.ADMIN_EMAIL = demoAdmins.emails.join(',');
    env.ADMIN_PASSWORD = demoAdmins.password;
  }
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], { cwd: ROOT, env, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 180_000;
  while ((await healthy(base)) !== 'beiming') {
    if (exited !== undefined) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n');
      throw new DemoError(`the service exited (code ${exited}) before it was healthy; the end of ${logFile}:\n${tail}`);
    }
    if (Date.now() > deadline) throw new DemoError(`the service did not answer ${base}/health within 3 minutes; see ${logFile}`);
    await sleep(250);
  }
  child.unref();
  writeFileSync(resolve(s.dataDir, 'demo-server.pid'), `${child.pid}\n`);
  return { base, startedByDemo: true, pid: child.pid ?? null, logFile };
}

/**
 * Mechanism 3 above: the boot's own admin bootstrap, run against the app's
 * database without serving. Uses the built app (dist/, built here if missing).
 */
export async function ensureAdminsThroughBoot(s: ServiceSettings, emails: string[], password: string): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'src', 'app.factory.js'))) build();
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { loadConfig } = require(join(ROOT, 'dist', 'src', 'platform', 'config', 'app-config.js')) as typeof import('../../src/platform/config/app-config');
  const { createApp } = require(join(ROOT, 'dist', 'src', 'app.factory.js')) as typeof import('../../src/app.factory');
  const { EMBEDDED_DATABASE } = require(join(ROOT, 'dist', 'src', 'platform', 'database', 'embedded-postgres.js')) as typeof import('../../src/platform/database/embedded-postgres');
  const { loadOrCreateLocalSecret } = require(join(ROOT, 'dist', 'src', 'platform', 'config', 'local-secrets.js')) as typeof import('../../src/platform/config/local-secrets');
  /* eslint-enable @typescript-eslint/no-require-imports */
  let databaseUrl = s.databaseUrl;
  if (!databaseUrl) {
    // The embedded PostgreSQL the running service started: same port, same generated password (DATA_DIR/local-secrets.json).
    const password = loadOrCreateLocalSecret(resolve(s.dataDir), 'embeddedPostgresPassword', 24);
    databaseUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${s.embeddedPostgresPort}/${EMBEDDED_DATABASE}`;
  }
  const config = loadConfig(process.env, {
    databaseUrl,
    adminEmail: emails.join(','),
    adminPassword: password,
    jobsEnabled: false,
    logLevel: 'silent',
  });
  const app = await createApp(config, { bufferLogs: false });
  try {
    await app.init(); // onApplicationBootstrap: AuthService ensures ADMIN_EMAIL's admins
  } finally {
    await app.close();
  }
}
