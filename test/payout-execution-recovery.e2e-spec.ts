/**
 * Exactly one transfer per payout across crashes and concurrent executors,
 * with real processes: the executor runs in CHILD PROCESSES (the app compiled
 * with swc, test/support/payout-executor-child.ts) against this spec's
 * database and the fake Stripe (Stripe adapter, real SDK over HTTP).
 *  - Killed (SIGKILL, through the PAYOUT_CRASH_AT test hook) after the ledger
 *    transaction, after the transfer call, after recording; restarted once
 *    the lease ran out: every payout SENT, one transfer each, each PAYOUT
 *    posted once, the ledger sums to zero, no vendor paid above its earnings.
 *  - Three processes executing the same batches at once: one transfer per
 *    payout, and one transfer request per payout (the claim's status guard:
 *    no payout is sent by two processes, not even as a replay).
 */
import { spawn } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startTestApp, TestApp } from './support/app';
import { FakeStripe } from './support/fake-stripe';
import { ApprovedBatchFixture, ledgerChecks, payoutsOf, seedApprovedBatch } from './support/payout-fixtures';

jest.setTimeout(240_000);

const ROOT = resolve(__dirname, '..');
const OUT = join(ROOT, 'node_modules', '.cache', `payout-exec-child-${randomBytes(4).toString('hex')}`);
const LEASE_SECONDS = 5;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  result: { picked: number; sent: number; failed: number; deferred: number } | null;
  stderr: string;
}

describe('payout execution — crashes and concurrent processes', () => {
  let fake: FakeStripe;
  let t: TestApp;

  beforeAll(async () => {
    const swc = spawnSync(join(ROOT, 'node_modules', '.bin', 'swc'), ['src', 'migrations', 'tools', 'test/support/payout-executor-child.ts', '-d', OUT, '--config-file', '.swcrc', '--copy-files', '--quiet'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (swc.status !== 0) throw new Error(`swc failed: ${swc.stderr}`);
    fake = await FakeStripe.start();
    fake.setAvailableBalance('usd', 1_000_000_000);
    t = await startTestApp({ stripeSecretKey: 'sk_test_recovery', stripeWebhookSecret: 'whsec_recovery', stripeApiBase: fake.url });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    rmSync(OUT, { recursive: true, force: true });
  });

  function runChild(env: Record<string, string> = {}): Promise<ChildResult> {
    return new Promise((done) => {
      const child = spawn(process.execPath, [join(OUT, 'test', 'support', 'payout-executor-child.js')], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          DATABASE_URL: t.db.url,
          STRIPE_SECRET_KEY: 'sk_test_recovery',
          STRIPE_WEBHOOK_SECRET: 'whsec_recovery',
          STRIPE_API_BASE: fake.url,
          PAYOUT_LEASE_SECONDS: String(LEASE_SECONDS),
          PAYOUT_CONCURRENCY: '3',
          PAYOUT_MAX_REQUESTS_PER_SECOND: '200',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code, signal) => {
        const line = out.split('\n').find((l) => l.startsWith('{'));
        done({ code, signal, result: line ? JSON.parse(line) : null, stderr: err });
      });
    });
  }

  async function expectExactlyOnce(b: ApprovedBatchFixture): Promise<void> {
    const rows = await payoutsOf(t.dataSource, b.batchId);
    expect(rows.map((r) => r.status)).toEqual(rows.map(() => 'SENT'));
    const per = fake.transfersPerPayout();
    const byId = new Map(fake.transfers().map((x) => [x.id, x]));
    for (const r of rows) {
      expect(per.get(r.id)).toBe(1);
      expect(byId.get(r.transfer_id!)?.metadata.payout_id).toBe(r.id);
    }
    const checks = await ledgerChecks(t.dataSource, b.batchId);
    expect(checks.ledgerSum).toBe(0n);
    expect(checks.postings.every((x) => x.payout_postings === 1 && x.failed_postings === 0)).toBe(true);
    expect(checks.overpaid).toEqual([]);
  }

  it.each(['after-ledger', 'after-transfer', 'after-record'] as const)('killed %s, restarted: exactly one transfer per payout', async (point) => {
    const b = await seedApprovedBatch(t.dataSource, { vendors: 4, mode: 'stripe', fake });
    const crashed = await runChild({ PAYOUT_CRASH_AT: point });
    expect(crashed.signal).toBe('SIGKILL');
    const afterCrash = await payoutsOf(t.dataSource, b.batchId);
    expect(afterCrash.some((p) => p.status === (point === 'after-record' ? 'SENT' : 'SENDING'))).toBe(true);
    // restart until everything is settled (leases of the dead process run out first)
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1000 + 500));
      const again = await runChild();
      expect(again.code).toBe(0);
      if ((await payoutsOf(t.dataSource, b.batchId)).every((p) => p.status === 'SENT')) break;
    }
    await expectExactlyOnce(b);
  });

  it('three processes executing the same batches at once: one transfer and one transfer request per payout', async () => {
    const b1 = await seedApprovedBatch(t.dataSource, { vendors: 12, mode: 'stripe', fake });
    const b2 = await seedApprovedBatch(t.dataSource, { vendors: 12, mode: 'stripe', fake });
    const results = await Promise.all([runChild(), runChild(), runChild()]);
    for (const r of results) expect(r.code).toBe(0);
    expect(results.reduce((a, r) => a + (r.result?.sent ?? 0), 0)).toBe(24);
    for (const b of [b1, b2]) {
      await expectExactlyOnce(b);
      const rows = await payoutsOf(t.dataSource, b.batchId);
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
      for (const r of rows) expect(fake.requestsTo('POST', '/v1/transfers').filter((q) => q.form['metadata[payout_id]'] === r.id)).toHaveLength(1);
    }
  });
});
