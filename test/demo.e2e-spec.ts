/**
 * `npm run demo` as a user runs it, against a real service process on a fresh
 * database: the service is started (built app, as `npm start`) without any
 * platform admin, the demo script runs as a child process pointed at it —
 * it must ensure its two admins through the boot's bootstrap — and the end
 * state is checked in the database and through the API: a balanced ledger,
 * the payout batch approved by another admin than its creator and its payouts
 * SENT, each vendor's earnings = paid out + still owed, reconciliation with
 * zero unmatched, the refund, the pool distribution. A second run (with the
 * admins given in ADMIN_EMAIL this time) adds nothing. Then the demo is run
 * with nothing listening on its port: it starts the service itself, leaves it
 * running, and the story works there too.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from './support/database';
import { assertLedgerInvariant } from './support/ledger-invariant';

jest.setTimeout(240_000);
const ROOT = join(__dirname, '..');
const DEMO_ADMINS = ['admin.ada@demo.beiming.example', 'admin.ben@demo.beiming.example'];
const PASSWORD = 'beiming-demo-passphrase';

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

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', ...env };
  delete e.NODE_ENV; // development, as a user runs it
  for (const k of ['ADMIN_EMAIL', 'ADMIN_PASSWORD', 'STRIPE_SECRET_KEY', 'DEMO_PASSWORD']) if (!(k in env)) delete e[k];
  return e;
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`)).status === 200;
  } catch {
    return false;
  }
}

/** The demo script as `npm run demo` runs it (ts-node, transpile only). */
function runDemo(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', join(ROOT, 'scripts', 'demo.ts')], {
    cwd: ROOT,
    env: childEnv(env),
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

async function gql(port: number, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<any> {
  const r = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await r.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function logIn(port: number, email: string): Promise<{ token: string; organizationId: string | null }> {
  const d = await gql(port, `mutation($i: LogInInput!) { logIn(input: $i) { __typename ... on AuthPayload { accessToken memberships { organization { id } } } } }`, {
    i: { email, password: PASSWORD },
  });
  expect(d.logIn.__typename).toBe('AuthPayload');
  return { token: d.logIn.accessToken, organizationId: d.logIn.memberships[0]?.organization.id ?? null };
}

/** What the end state must be after the story, checked in the database and through the API. */
async function checkStory(db: Client, port: number): Promise<void> {
  const q = async (sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows;
  // Every ledger transaction balanced (and the ledger's other invariants).
  await assertLedgerInvariant({ query: (sql: string) => q(sql) } as unknown as DataSource);

  // One payout batch, created by one admin and approved by another; every payout SENT with a transfer.
  const batches = await q(`SELECT id, status, created_by, approved_by FROM payout_batches`);
  expect(batches).toHaveLength(1);
  expect(batches[0].status).toBe('COMPLETED');
  expect(batches[0].approved_by).not.toBeNull();
  expect(batches[0].approved_by).not.toBe(batches[0].created_by);
  const admins = await q(`SELECT id, email FROM users WHERE is_admin ORDER BY email`);
  expect(admins.map((a: any) => a.email)).toEqual(DEMO_ADMINS);
  expect(new Set([batches[0].created_by, batches[0].approved_by])).toEqual(new Set(admins.map((a: any) => a.id)));
  const payouts = await q(`SELECT organization_id, status, transfer_id, amount_minor::text AS amount FROM payouts`);
  expect(payouts).toHaveLength(2);
  for (const p of payouts) {
    expect(['SENT', 'PAID']).toContain(p.status);
    expect(p.transfer_id).toMatch(/^tr_sandbox_/);
  }

  // Each vendor: what it earned (its payable account's credits, refunds taken back) = paid out + still owed; nothing pending.
  for (const email of ['aurora@demo.beiming.example', 'borealis@demo.beiming.example']) {
    const v = await logIn(port, email);
    const [earned] = await q(
      `SELECT coalesce(-sum(e.amount_minor), 0)::text AS amount FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE a.code = $1`,
      [`vendor:${v.organizationId}:payable`],
    );
    const [paid] = await q(`SELECT coalesce(sum(amount_minor), 0)::text AS amount FROM payouts WHERE organization_id = $1 AND status IN ('SENT', 'PAID')`, [v.organizationId]);
    const e = (await gql(port, `query($o: ID!) { earnings(organizationId: $o) { currency payable { amountMinor } pending { amountMinor } paidOut { amountMinor } } }`, { o: v.organizationId }, v.token))
      .earnings.find((x: any) => x.currency === 'USD');
    expect(BigInt(paid.amount)).toBeGreaterThan(0n);
    expect(e.paidOut.amountMinor).toBe(paid.amount);
    expect(BigInt(e.paidOut.amountMinor) + BigInt(e.payable.amountMinor)).toBe(BigInt(earned.amount));
    expect(e.pending.amountMinor).toBe('0');
  }
  // The royalty cascade of the upfront fee, computed from the rules: the platform fee (PLATFORM_FEE_BPS, default 15 %) off the
  // payment, then the base teacher's LAP share (the lineage edge's) of the student vendor's net, in the same ledger transaction.
  const orgOf = async (email: string) =>
    (await q(`SELECT m.organization_id AS id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1`, [email]))[0].id as string;
  const [baseOrg, studentOrg] = [await orgOf('aurora@demo.beiming.example'), await orgOf('borealis@demo.beiming.example')];
  const [upfront] = await q(`SELECT id, total_minor::text AS total FROM invoices WHERE kind = 'UPFRONT' AND status = 'PAID'`);
  const [edge] = await q(`SELECT royalty_policy, royalty_share_bps FROM model_lineage_edges`);
  expect(edge.royalty_policy).toBe('LAP');
  const gross = BigInt(upfront.total);
  const fee = (gross * 1500n) / 10_000n;
  const royalty = ((gross - fee) * BigInt(edge.royalty_share_bps)) / 10_000n;
  expect(((gross - fee) * BigInt(edge.royalty_share_bps)) % 10_000n).toBe(0n); // the demo's amounts divide exactly
  const posting = Object.fromEntries(
    (
      await q(
        `SELECT a.code, sum(e.amount_minor)::text AS amount FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
           JOIN ledger_accounts a ON a.id = e.account_id WHERE t.reference = $1 GROUP BY a.code`,
        [`invoice:${upfront.id}:paid`],
      )
    ).map((r: any) => [r.code, r.amount]),
  );
  expect(posting).toMatchObject({
    'platform:fees': String(-fee),
    [`vendor:${studentOrg}:payable`]: String(-(gross - fee - royalty)),
    [`vendor:${baseOrg}:payable`]: String(-royalty),
  });

  // Reconciliation: every day of the story run, nothing unmatched.
  const runs = await q(`SELECT DISTINCT ON (day) day, difference_count, timing_count, result FROM reconciliation_runs ORDER BY day, ran_at DESC`);
  expect(runs.length).toBeGreaterThanOrEqual(25);
  for (const r of runs) expect([r.difference_count, r.timing_count]).toEqual([0, 0]);

  // The refund, visible on the month invoice (distiller's view).
  const d1 = await logIn(port, 'cirrus@demo.beiming.example');
  const invoices = (await gql(port, `query($o: ID!) { invoices(organizationId: $o, first: 20) { edges { node { kind status amountRefunded { amountMinor } } } } }`, { o: d1.organizationId }, d1.token))
    .invoices.edges.map((x: any) => x.node);
  expect(invoices.filter((i: any) => i.amountRefunded.amountMinor !== '0')).toEqual([{ kind: 'PERIOD', status: 'PAID', amountRefunded: { amountMinor: '2500' } }]);
  expect(invoices.every((i: any) => i.status === 'PAID')).toBe(true);

  // The pool period distributed once, from the paid subscription.
  const dist = await q(`SELECT gross_minor::text AS gross, distributed_minor::text AS distributed FROM pool_distributions`);
  expect(dist).toHaveLength(1);
  expect(BigInt(dist[0].distributed)).toBeGreaterThan(0n);
}

const COUNTS = `SELECT (SELECT count(*) FROM invoices)::int AS invoices, (SELECT count(*) FROM payouts)::int AS payouts,
  (SELECT count(*) FROM payout_batches)::int AS batches, (SELECT count(*) FROM ledger_transactions)::int AS ledger,
  (SELECT count(*) FROM pool_distributions)::int AS pool, (SELECT count(*) FROM invoice_refunds)::int AS refunds,
  (SELECT count(*) FROM usage_events)::int AS usage, (SELECT count(*) FROM users)::int AS users,
  (SELECT count(*) FROM models)::int AS models, (SELECT count(*) FROM license_offers)::int AS offers,
  (SELECT count(*) FROM license_agreements)::int AS agreements`;

describe('npm run demo', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'beiming-demo-cwd-')); // development mode writes schema.gql to its cwd
  const dataDir = mkdtempSync(join(tmpdir(), 'beiming-demo-data-'));
  const databases: TestDatabase[] = [];
  const clients: Client[] = [];
  let service: ChildProcess | null = null;
  let detachedPid: number | null = null;

  beforeAll(() => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'pipe' });
  });
  afterAll(async () => {
    if (service && service.exitCode === null) {
      service.kill('SIGTERM');
      await new Promise((r) => service!.once('exit', r));
    }
    if (detachedPid) {
      try {
        process.kill(detachedPid, 'SIGTERM');
        for (let i = 0; i < 100; i++) {
          process.kill(detachedPid, 0);
          await new Promise((r) => setTimeout(r, 100));
        }
      } catch {
        /* gone */
      }
    }
    for (const c of clients) await c.end();
    for (const d of databases) await d.drop();
    rmSync(cwd, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function freshDatabase(): Promise<{ db: TestDatabase; client: Client }> {
    const db = await createTestDatabase();
    databases.push(db);
    const client = new Client({ connectionString: db.url });
    await client.connect();
    clients.push(client);
    return { db, client };
  }

  it('tells the whole story against a running service without admins, and a second run adds nothing', async () => {
    const { db, client } = await freshDatabase();
    const port = await freePort();
    // The service as a user started it with `npm start` and DATABASE_URL: no ADMIN_EMAIL.
    service = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], { cwd, env: childEnv({ DATABASE_URL: db.url, PORT: String(port), DATA_DIR: dataDir }) });
    let serverOut = '';
    service.stdout!.on('data', (d) => (serverOut += d));
    service.stderr!.on('data', (d) => (serverOut += d));
    for (let i = 0; !(await healthy(port)); i++) {
      if (service.exitCode !== null || i > 600) throw new Error(`service did not start: ${serverOut}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await client.query(`SELECT count(*)::int AS n FROM users WHERE is_admin`)).rows[0].n).toBe(0);

    const first = await runDemo({ DATABASE_URL: db.url, PORT: String(port), DATA_DIR: dataDir });
    expect({ code: first.code, output: first.output }).toEqual({ code: 0, output: expect.stringContaining('[17/17] reconciliation') });
    expect(first.output).toContain(`using the one running at http://127.0.0.1:${port}`);
    expect(first.output).toContain("ensured through the boot's admin bootstrap");
    expect(first.output).toMatch(/\[10\/17\] distiller traffic through the gateway \(demo upstream\) … 180 calls/);
    expect(first.output).toContain(`Console: http://127.0.0.1:${port}/console`);
    for (const email of [...DEMO_ADMINS, 'aurora@demo.beiming.example', 'borealis@demo.beiming.example', 'cirrus@demo.beiming.example', 'delta@demo.beiming.example']) {
      expect(first.output).toContain(email);
    }
    expect((await client.query(`SELECT count(*)::int AS n FROM usage_events WHERE source = 'GATEWAY'`)).rows[0].n).toBe(180);
    await checkStory(client, port);
    // The audit log says how the admins came to be: the boot's bootstrap.
    expect((await client.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'identity.admin.ensured'`)).rows[0].n).toBe(2);

    const before = (await client.query(COUNTS)).rows[0];
    // Second run, the admins given as the service's configured ones this time.
    const second = await runDemo({ DATABASE_URL: db.url, PORT: String(port), DATA_DIR: dataDir, ADMIN_EMAIL: DEMO_ADMINS.join(','), ADMIN_PASSWORD: PASSWORD });
    expect({ code: second.code, output: second.output }).toEqual({ code: 0, output: expect.stringContaining('was already complete: nothing was added') });
    expect(second.output).toContain("ADMIN_EMAIL's first two admins");
    expect((await client.query(COUNTS)).rows[0]).toEqual(before);
    await checkStory(client, port);

    service.kill('SIGTERM');
    await new Promise((r) => service!.once('exit', r));
  });

  it('starts the service itself when nothing listens on its port, and leaves it running', async () => {
    const { db, client } = await freshDatabase();
    const port = await freePort();
    expect(await healthy(port)).toBe(false);
    const run = await runDemo({ DATABASE_URL: db.url, PORT: String(port), DATA_DIR: dataDir });
    expect({ code: run.code, output: run.output }).toEqual({ code: 0, output: expect.stringContaining('[17/17] reconciliation') });
    const pidFile = join(dataDir, 'demo-server.pid');
    expect(existsSync(pidFile)).toBe(true);
    detachedPid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(run.output).toContain(`started http://127.0.0.1:${port} (pid ${detachedPid}, logs in ${join(dataDir, 'demo-server.log')})`);
    expect(run.output).toContain('ensured at boot');
    // Still serving after the demo exited.
    expect(await healthy(port)).toBe(true);
    await checkStory(client, port);
  });
});
