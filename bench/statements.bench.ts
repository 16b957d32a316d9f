/**
 * Usage Merkle root benchmark (`npm run bench:statements`): how fast the
 * Merkle root of a closed period's usage is computed for one agreement, at
 * 1 M and then 4 M events, against a baseline that reads the same rows by the
 * same read path and only SHA-256-hashes each row's leaf bytes — so the ratio
 * is the cost of the tree itself (leaf/node domain-separated hashing, the
 * streaming accumulator, the token totals), and memory must stay flat in the
 * number of events (the rows are streamed page by page, never all loaded).
 *
 * 1. A fresh database (BENCH_DATABASE_URL server, or an embedded PostgreSQL),
 *    migrations applied, one vendor, distiller, model, offer and agreement
 *    (SQL), and the previous month as a CLOSED billing period.
 * 2. Per size: events are added with INSERT … SELECT generate_series (in
 *    batches, progress printed) until the agreement holds that many events of
 *    the month, all received before the close; then VACUUM ANALYZE and a
 *    CHECKPOINT, and one untimed baseline pass to warm the cache.
 * 3. BENCH_ROUNDS rounds (default 2) of baseline then feature, in this
 *    process; the best time of each is reported:
 *    - feature: `UsageMerkleService.periodRoot(em, agreementId, period)` — the
 *      real code path, through the app's DataSource;
 *    - baseline: the same repository reads (`closedPeriodBounds`, then
 *      `billedEventsPage` pages of the same size, one REPEATABLE READ
 *      transaction), each row's leaf bytes
 *      (`usageLeafBytes`) hashed with SHA-256, nothing else.
 *    Every feature run is checked: event count and token totals equal a SQL
 *    count/sum, and every round gives the same root.
 * 4. Peak RSS of this process during the feature runs (VmHWM, reset after a
 *    full GC before each run — the script runs node with --expose-gc):
 *    rss_growth_mb = peak at 4 M − peak at 1 M; target < 64 MB.
 *
 * Target: ratio = feature events/s ÷ baseline events/s ≥ 0.5 at both sizes.
 * Ends with one line:
 *   RESULT statements ratio=<min> target>=0.5 rss_growth_mb=<x> events_s_1m=… events_s_4m=… baseline_s_1m=… baseline_s_4m=… met=yes|no
 *
 * Environment: BENCH_DATABASE_URL, BENCH_EVENTS_SMALL (default 1000000),
 * BENCH_EVENTS_LARGE (default 4000000), BENCH_ROUNDS (default 2),
 * BENCH_KEEP_DATABASE=1 (do not drop the scratch database).
 */
import 'reflect-metadata';
import { hash } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { periodOf, previousPeriod } from '../src/billing/billing-period';
import { DATABASE_SCHEMA } from '../src/database-schema';
import { usageLeafBytes } from '../src/earnings/usage-proofs/merkle';
import { USAGE_PROOF_PAGE_ROWS, UsageMerkleService, UsagePeriodRoot } from '../src/earnings/usage-proofs/usage-merkle.service';
import { UsageProofsRepository } from '../src/earnings/usage-proofs/usage-proofs.repository';
import { dataSourceOptions } from '../src/platform/database/data-source-options';
import { runMigrations } from '../src/platform/database/migrate';
import { envInt, fmt, freshDatabase, logger, memoryOf, resetPeakMemory } from './support/harness';

const log = logger('statements');
const SMALL = envInt('BENCH_EVENTS_SMALL', 1_000_000);
const LARGE = envInt('BENCH_EVENTS_LARGE', 4_000_000);
const ROUNDS = envInt('BENCH_ROUNDS', 2);
const TARGET = 0.5;
const RSS_TARGET_MB = 64;
const INSERT_BATCH = 500_000;

interface SizeResult {
  events: number;
  featureS: number;
  baselineS: number;
  peakMb: number;
  root: string;
}

async function seedAgreement(c: Client, periodStart: Date, periodEnd: Date, period: string): Promise<string> {
  const started = new Date(periodStart.getTime() - 86_400_000).toISOString();
  const { rows } = await c.query(
    `WITH v AS (INSERT INTO organizations (name, country) VALUES ('Statements bench vendor', 'US') RETURNING id),
          d AS (INSERT INTO organizations (name, country) VALUES ('Statements bench distiller', 'FR') RETURNING id),
          m AS (INSERT INTO models (organization_id, slug, name, card, modalities, status)
                SELECT v.id, 'statements-bench', 'Statements bench teacher', '{}'::jsonb, ARRAY['text'], 'LISTED' FROM v
                RETURNING id, organization_id),
          o AS (INSERT INTO license_offers (model_id, organization_id, name, version, terms, pricing, terms_hash, currency,
                                            upfront_fee_minor, input_per_million_minor, output_per_million_minor,
                                            minimum_commitment_minor, pool_eligible, status)
                SELECT m.id, m.organization_id, 'bench', 1, '{}'::jsonb,
                       '{"currency":"EUR","inputPerMillionMinor":"150","outputPerMillionMinor":"600","minimumCommitmentMinor":"0","upfrontFeeMinor":"0"}'::jsonb,
                       repeat('0', 64), 'EUR', 0, 150, 600, 0, false, 'ACTIVE' FROM m
                RETURNING id, model_id, organization_id, terms, pricing, terms_hash)
     INSERT INTO license_agreements (offer_id, model_id, vendor_organization_id, distiller_organization_id, accepted_at,
                                     terms_snapshot, pricing_snapshot, terms_hash, status, status_changed_at, starts_at)
     SELECT o.id, o.model_id, o.organization_id, d.id, $1, o.terms, o.pricing, o.terms_hash, 'ACTIVE', $1, $1 FROM o, d
     RETURNING id`,
    [started],
  );
  // The month, closed now: every event below is received at its end, before the close.
  await c.query(
    `INSERT INTO billing_periods (period, period_start, period_end, status, close_started_at, closed_at, invoice_count)
     VALUES ($1, $2, $3, 'CLOSED', now(), now(), 0)`,
    [period, periodStart.toISOString(), periodEnd.toISOString()],
  );
  return rows[0].id as string;
}

/** Adds events numbered from+1 … to: ids in byte order of their number, spread over the month, tokens varying. */
async function loadEvents(c: Client, agreementId: string, periodStart: Date, periodEnd: Date, from: number, to: number): Promise<void> {
  const spanMs = periodEnd.getTime() - periodStart.getTime() - 1;
  for (let lo = from; lo < to; lo += INSERT_BATCH) {
    const hi = Math.min(to, lo + INSERT_BATCH);
    const t0 = Date.now();
    await c.query(
      `INSERT INTO usage_events (agreement_id, event_id, source, occurred_at, received_at, input_tokens, output_tokens, payload_hash)
       SELECT $1, 'ev-' || lpad(g::text, 10, '0'), CASE WHEN g % 3 = 0 THEN 'GATEWAY' ELSE 'REPORTED' END,
              $2::timestamptz + make_interval(secs => ((g::bigint * 104729) % $5::bigint) / 1000.0),
              $6::timestamptz, 500 + (g * 37) % 4000, 50 + (g * 13) % 1200, '\\x00'::bytea
         FROM generate_series($3::int, $4::int) g`,
      [agreementId, periodStart.toISOString(), lo + 1, hi, spanMs, periodEnd.toISOString()],
    );
    log(`  inserted events ${lo + 1}…${hi} in ${Date.now() - t0} ms`);
  }
}

async function baseline(ds: DataSource, repo: UsageProofsRepository, agreementId: string, period: string): Promise<number> {
  return ds.manager.transaction('REPEATABLE READ', async (tx) => {
    const bounds = await repo.closedPeriodBounds(tx, period);
    if (!bounds) throw new Error(`period ${period} is not closed`);
    let n = 0;
    let after = '';
    for (;;) {
      const page = await repo.billedEventsPage(tx, agreementId, bounds, after, USAGE_PROOF_PAGE_ROWS);
      for (const e of page) {
        hash(
          'sha256',
          usageLeafBytes({ agreementId, eventId: e.event_id, occurredAt: e.occurred_at, inputTokens: e.input_tokens, outputTokens: e.output_tokens, source: e.source }),
          'buffer',
        );
        n++;
      }
      if (page.length < USAGE_PROOF_PAGE_ROWS) return n;
      after = page[page.length - 1].event_id;
    }
  });
}

async function seconds<T>(work: () => Promise<T>): Promise<{ value: T; s: number }> {
  const t0 = process.hrtime.bigint();
  const value = await work();
  return { value, s: Number(process.hrtime.bigint() - t0) / 1e9 };
}

async function main(): Promise<void> {
  if (LARGE <= SMALL) throw new Error('BENCH_EVENTS_LARGE must be larger than BENCH_EVENTS_SMALL');
  const p = previousPeriod(periodOf(new Date()));
  const db = await freshDatabase(log);
  log(`database: ${db.description}`);
  const c = new Client({ connectionString: db.url });
  let ds: DataSource | null = null;
  try {
    await runMigrations(db.url, DATABASE_SCHEMA);
    await c.connect();
    const agreementId = await seedAgreement(c, p.start, p.end, p.period);
    log(`agreement ${agreementId}; period ${p.period} CLOSED`);
    ds = new DataSource(dataSourceOptions(db.url, DATABASE_SCHEMA));
    await ds.initialize();
    const repo = new UsageProofsRepository();
    const service = new UsageMerkleService(repo);
    const canResetPeak = resetPeakMemory(process.pid);
    if (!canResetPeak) log('cannot reset the peak RSS of this process: peaks are cumulative');

    const results: SizeResult[] = [];
    let loaded = 0;
    for (const size of [SMALL, LARGE]) {
      log(`[${size} events] loading ${size - loaded} events (INSERT … SELECT generate_series)`);
      const t0 = Date.now();
      await loadEvents(c, agreementId, p.start, p.end, loaded, size);
      loaded = size;
      await c.query('VACUUM ANALYZE usage_events');
      await c.query('CHECKPOINT');
      const expected = (
        await c.query(`SELECT count(*)::int AS n, sum(input_tokens)::text AS i, sum(output_tokens)::text AS o FROM usage_events WHERE agreement_id = $1`, [agreementId])
      ).rows[0] as { n: number; i: string; o: string };
      if (expected.n !== size) throw new Error(`expected ${size} events, found ${expected.n}`);
      log(`[${size} events] loaded, vacuumed and checkpointed in ${fmt((Date.now() - t0) / 1000, 1)} s`);

      const warm = await seconds(() => baseline(ds!, repo, agreementId, p.period));
      log(`[${size} events] warm-up baseline pass: ${fmt(warm.s, 2)} s`);
      let bestBaseline = Infinity;
      let bestFeature = Infinity;
      let peakMb = 0;
      let root: string | null = null;
      for (let r = 1; r <= ROUNDS; r++) {
        const b = await seconds(() => baseline(ds!, repo, agreementId, p.period));
        if (b.value !== size) throw new Error(`baseline read ${b.value} events, expected ${size}`);
        bestBaseline = Math.min(bestBaseline, b.s);
        global.gc?.();
        resetPeakMemory(process.pid);
        const f = await seconds(() => service.periodRoot(ds!.manager, agreementId, p.period));
        const mem = memoryOf(process.pid);
        peakMb = Math.max(peakMb, mem.peakMb);
        const v: UsagePeriodRoot = f.value;
        if (v.eventCount !== size || v.inputTokens !== BigInt(expected.i) || v.outputTokens !== BigInt(expected.o)) {
          throw new Error(`feature totals ${v.eventCount}/${v.inputTokens}/${v.outputTokens} differ from SQL ${size}/${expected.i}/${expected.o}`);
        }
        if (root !== null && root !== v.merkleRoot) throw new Error(`root changed between rounds: ${root} vs ${v.merkleRoot}`);
        root = v.merkleRoot;
        bestFeature = Math.min(bestFeature, f.s);
        log(
          `[${size} events] round ${r}: baseline ${fmt(b.s, 2)} s (${fmt(size / b.s)} events/s), ` +
            `merkle root ${fmt(f.s, 2)} s (${fmt(size / f.s)} events/s), peak RSS ${fmt(mem.peakMb, 1)} MB, root ${v.merkleRoot.slice(0, 16)}…`,
        );
      }
      results.push({ events: size, featureS: bestFeature, baselineS: bestBaseline, peakMb, root: root! });
      log(
        `[${size} events] best: merkle root ${fmt(size / bestFeature)} events/s, baseline ${fmt(size / bestBaseline)} events/s, ` +
          `ratio ${fmt(bestBaseline / bestFeature, 3)}, peak RSS ${fmt(peakMb, 1)} MB`,
      );
    }

    const [small, large] = results;
    const rate = (r: SizeResult, s: number) => r.events / s;
    const ratioSmall = rate(small, small.featureS) / rate(small, small.baselineS);
    const ratioLarge = rate(large, large.featureS) / rate(large, large.baselineS);
    const ratio = Math.min(ratioSmall, ratioLarge);
    const growth = large.peakMb - small.peakMb;
    const met = ratio >= TARGET && growth < RSS_TARGET_MB;
    log(`ratios: ${fmt(ratioSmall, 3)} at ${small.events}, ${fmt(ratioLarge, 3)} at ${large.events}; peak RSS ${fmt(small.peakMb, 1)} → ${fmt(large.peakMb, 1)} MB`);
    console.log(
      `RESULT statements ratio=${fmt(ratio, 3)} target>=${TARGET} rss_growth_mb=${fmt(growth, 1)} ` +
        `events_s_1m=${fmt(rate(small, small.featureS))} events_s_4m=${fmt(rate(large, large.featureS))} ` +
        `baseline_s_1m=${fmt(rate(small, small.baselineS))} baseline_s_4m=${fmt(rate(large, large.baselineS))} met=${met ? 'yes' : 'no'}`,
    );
  } finally {
    await ds?.destroy().catch(() => undefined);
    await c.end().catch(() => undefined);
    if (process.env.BENCH_KEEP_DATABASE === '1') log(`kept ${db.url}`);
    else await db.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
