/**
 * Payout execution benchmark (`npm run bench:payouts`): one approved batch of
 * BENCH_VENDORS payouts (default 2,000) executed by the app's executor through
 * the Stripe adapter (the official SDK over HTTP) against the local
 * Stripe-compatible server (test/support/fake-stripe.ts), which answers at
 * most BENCH_STRIPE_RATE requests per second (default 100, sliding one-second
 * window) and 429 beyond.
 *
 * Baseline: the floor that limit imposes on the requests the executor must
 * make — one transfer per payout plus one balance read per currency per run
 * (no payout can be tied to a charge here) — floor = requests ÷ limit
 * (2,001 ÷ 100 ≈ 20 s). Target: wall ≤ 1.15 × floor, no duplicate transfer,
 * every payout SENT.
 *
 * Steps: a fresh database (BENCH_DATABASE_URL server, or an embedded
 * PostgreSQL), migrations, the fake server in this process, the batch seeded
 * with test/support/payout-fixtures.ts (vendors with old enough earnings,
 * connected accounts on both sides, a batch APPROVED by a second admin), the
 * app built in-process (NODE_ENV=production, jobs off) with
 * PAYOUT_MAX_REQUESTS_PER_SECOND = the server's limit and PAYOUT_CONCURRENCY
 * (BENCH_CONCURRENCY, default 16); then one timed executor run, then the
 * checks: per payout exactly one transfer at the server, SENT with that
 * transfer's id, the ledger summing to zero.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.NODE_ENV = 'production';
/* eslint-disable @typescript-eslint/no-require-imports */
const { createApp } = require('../src/app.factory') as typeof import('../src/app.factory');
const { loadConfig } = require('../src/platform/config/app-config') as typeof import('../src/platform/config/app-config');
const { runMigrations } = require('../src/platform/database/migrate') as typeof import('../src/platform/database/migrate');
const { DATABASE_SCHEMA } = require('../src/database-schema') as typeof import('../src/database-schema');
const { PayoutExecutionService } = require('../src/payouts/payout-execution.service') as typeof import('../src/payouts/payout-execution.service');
const { FakeStripe } = require('../test/support/fake-stripe') as typeof import('../test/support/fake-stripe');
const { seedApprovedBatch, payoutsOf, ledgerChecks } = require('../test/support/payout-fixtures') as typeof import('../test/support/payout-fixtures');
const { envInt, fmt, freshDatabase, loadAverage, logger } = require('./support/harness') as typeof import('./support/harness');
/* eslint-enable @typescript-eslint/no-require-imports */
import { DataSource } from 'typeorm';

const log = logger('payouts');
const VENDORS = envInt('BENCH_VENDORS', 2000);
const LIMIT = envInt('BENCH_STRIPE_RATE', 100);
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 16);
const TARGET = 1.15;

async function main(): Promise<void> {
  const db = await freshDatabase(log);
  log(`database: ${db.description}`);
  const fake = await FakeStripe.start();
  let app: Awaited<ReturnType<typeof createApp>> | null = null;
  try {
    await runMigrations(db.url, DATABASE_SCHEMA);
    fake.setAvailableBalance('usd', 1_000_000_000_000);
    const config = loadConfig({}, {
      nodeEnv: 'production',
      databaseUrl: db.url,
      jwtSecret: randomBytes(32).toString('hex'),
      secretsKey: randomBytes(32).toString('base64url'),
      attestationSigningKey: randomBytes(32).toString('base64url'),
      logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
      dataDir: mkdtempSync(join(tmpdir(), 'beiming-bench-payouts-')),
      jobsEnabled: false,
      stripeSecretKey: 'sk_test_bench',
      stripeWebhookSecret: 'whsec_bench',
      stripeApiBase: fake.url,
      payoutMaxRequestsPerSecond: LIMIT,
      payoutConcurrency: CONCURRENCY,
    });
    app = await createApp(config);
    await app.init();
    const ds = app.get(DataSource);
    let t0 = Date.now();
    const batch = await seedApprovedBatch(ds, { vendors: VENDORS, mode: 'stripe', fake });
    await ds.query('ANALYZE');
    log(`seeded ${VENDORS} vendors, accounts and one approved batch (${batch.payouts.length} payouts, ${batch.totalMinor} USD minor) in ${Date.now() - t0} ms`);

    fake.reset();
    fake.limitRate(LIMIT);
    log(`load average before the run: ${loadAverage()} (the run needs the executor, PostgreSQL and the fake server on this machine's CPUs)`);
    const executor = app.get(PayoutExecutionService);
    t0 = performance.now();
    const run = await executor.run({ batchId: batch.batchId });
    const wallS = (performance.now() - t0) / 1000;
    log(`load average after the run: ${loadAverage()}`);
    const requests = fake.requests.length;
    const r429 = fake.requests.filter((r) => r.status === 429).length;
    log(`run: ${JSON.stringify({ ...run, completedBatches: run.completedBatches.length })}`);

    // checks
    const rows = await payoutsOf(ds, batch.batchId);
    const per = fake.transfersPerPayout();
    const transfers = [...per.values()].reduce((a, b) => a + b, 0);
    const duplicates = [...per.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
    const byId = new Map(fake.transfers().map((t) => [t.id, t]));
    const sent = rows.filter((r) => r.status === 'SENT' && r.transfer_id && byId.get(r.transfer_id)?.metadata.payout_id === r.id).length;
    const ledger = await ledgerChecks(ds, batch.batchId);
    // the requests this executor must make: a transfer per payout and a balance read per currency
    const required = VENDORS + 1;
    const floorS = required / LIMIT;
    const ratio = wallS / floorS;
    const ok = sent === VENDORS && duplicates === 0 && ledger.ledgerSum === 0n && ledger.overpaid.length === 0;
    log(`wall ${fmt(wallS, 2)} s for ${VENDORS} payouts; floor ${fmt(floorS, 2)} s (${required} required requests at ${LIMIT}/s); ${requests} requests made, ${r429} answered 429`);
    log(`checks: sent ${sent}/${VENDORS}, transfers ${transfers}, duplicates ${duplicates}, ledger Σ ${ledger.ledgerSum}, overpaid vendors ${ledger.overpaid.length} → ${ok ? 'OK' : 'FAILED'}`);
    console.log(
      `RESULT payouts ratio=${fmt(ratio, 3)} target<=${TARGET} wall_s=${fmt(wallS, 2)} floor_s=${fmt(floorS, 2)} transfers=${transfers} duplicates=${duplicates} sent=${sent} requests=${requests} r429=${r429}`,
    );
    if (!ok) process.exitCode = 1;
  } finally {
    await app?.close();
    await fake.close();
    await db.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
