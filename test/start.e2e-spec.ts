/**
 * `npm start` as a user runs it: the built server on an embedded PostgreSQL
 * under DATA_DIR (kept between runs), the URLs it prints, a clean stop on
 * SIGTERM, recovery after SIGKILL left an orphaned PostgreSQL, and DATABASE_URL.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from './support/database';

jest.setTimeout(120_000);
const ROOT = join(__dirname, '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function start(env: Record<string, string>, port: number): Promise<Running> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, PORT: String(port), LOG_LEVEL: 'warn' };
  delete childEnv.NODE_ENV; // development, as `npm start`
  if (!env.DATABASE_URL) delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], { cwd: env.DATA_DIR_CWD ?? ROOT, env: childEnv });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${out}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      if (r.status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`server not healthy in time: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out, exited };
}

function postmasterPid(dataDir: string): number | null {
  const f = join(dataDir, 'postgres', 'postmaster.pid');
  return existsSync(f) ? Number(readFileSync(f, 'utf8').split('\n')[0]) : null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'beiming-start-'));
  const cwd = mkdtempSync(join(tmpdir(), 'beiming-cwd-')); // development mode writes schema.gql to its cwd

  beforeAll(() => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'pipe' });
  });
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  it('serves on an embedded PostgreSQL, prints its URLs, and stops PostgreSQL on SIGTERM', async () => {
    const port = await freePort();
    const s = await start({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), DATA_DIR_CWD: cwd }, port);
    expect(s.output()).toContain(`GraphQL   POST http://127.0.0.1:${port}/graphql`);
    expect(s.output()).toContain(`GraphiQL  http://127.0.0.1:${port}/graphiql`);
    expect(s.output()).toContain(`Console   http://127.0.0.1:${port}/console`);
    // The console was built by `npm run build` and is served with its script.
    const page = await fetch(`http://127.0.0.1:${port}/console`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/console/assets/console.js');
    expect((await fetch(`http://127.0.0.1:${port}/console/assets/console.js`)).status).toBe(200);
    const pg = postmasterPid(dataDir);
    expect(pg).not.toBeNull();
    const r = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ catalog { totalCount } }' }),
    });
    expect(await r.json()).toEqual({ data: { catalog: { totalCount: 0 } } });
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(alive(pg!)).toBe(false);
    expect(postmasterPid(dataDir)).toBeNull();
  });

  it('recovers after SIGKILL left an orphaned PostgreSQL, keeping the data', async () => {
    const pgPort = String(await freePort());
    const port = await freePort();
    const first = await start({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: pgPort, DATA_DIR_CWD: cwd }, port);
    const signUp = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($i: SignUpInput!) { signUp(input: $i) { __typename } }',
        variables: { i: { email: 'kept@example.test', password: 'correct horse battery staple', organizationName: 'Kept' } },
      }),
    });
    expect(((await signUp.json()) as any).data.signUp.__typename).toBe('AuthPayload');
    const orphan = postmasterPid(dataDir)!;
    first.child.kill('SIGKILL');
    await first.exited;
    expect(alive(orphan)).toBe(true); // what a killed run leaves behind

    const second = await start({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: pgPort, DATA_DIR_CWD: cwd }, port);
    expect(second.output()).toMatch(/Stopping orphaned PostgreSQL/);
    const logIn = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($i: LogInInput!) { logIn(input: $i) { __typename } }',
        variables: { i: { email: 'kept@example.test', password: 'correct horse battery staple' } },
      }),
    });
    expect(((await logIn.json()) as any).data.logIn.__typename).toBe('AuthPayload'); // data kept between runs
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(alive(orphan)).toBe(false);
  });

  it('fails clearly when its port is taken, and stops the PostgreSQL it started', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(await freePort()), LOG_LEVEL: 'warn' };
      delete env.NODE_ENV;
      delete env.DATABASE_URL;
      const child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], { cwd, env });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(out).toMatch(/Beiming failed to start:.*EADDRINUSE/);
      expect(postmasterPid(dataDir)).toBeNull(); // no orphaned PostgreSQL
    } finally {
      blocker.close();
    }
  });

  it('uses DATABASE_URL instead when it is set, applying migrations', async () => {
    const empty = await createTestDatabase();
    // an empty database: drop the cloned schema to see migrations applied from scratch
    const { Client } = await import('pg');
    const c = new Client({ connectionString: empty.url });
    await c.connect();
    await c.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    await c.end();
    try {
      const port = await freePort();
      const s = await start({ DATABASE_URL: empty.url, DATA_DIR: mkdtempSync(join(tmpdir(), 'beiming-nodata-')), DATA_DIR_CWD: cwd }, port);
      expect(s.output()).toContain('DATABASE_URL');
      const c2 = new Client({ connectionString: empty.url });
      await c2.connect();
      const { rows } = await c2.query('SELECT count(*)::int AS n FROM typeorm_migrations');
      await c2.end();
      expect(rows[0].n).toBeGreaterThan(0);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    } finally {
      await empty.drop();
    }
  });
});
