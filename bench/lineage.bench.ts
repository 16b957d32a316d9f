/**
 * Lineage benchmark (`npm run bench:lineage`): for a generated DAG of
 * 1,024 ancestors above one model, the time to compute its royalty stack and
 * obligations — the whole path a request takes: LineageLoader.assembleFor (the
 * recursive CTE over the edges, the ancestor models, the agreements' terms,
 * depth / generation), royaltyStack, obligations — against the baseline of the
 * bare recursive-CTE fetch of the ancestor rows, in the same run, on the same
 * connection pool, interleaved iteration by iteration.
 *
 * Baseline (decided here): the loader's own recursive CTE (the same SQL,
 * through LineageLoader.ancestryEdges: every edge of the ancestry, raw rows)
 * followed by the ancestor model rows (`SELECT` of the six columns a lineage
 * uses, `WHERE id = ANY(…)`, raw rows): the rows any lineage computation has
 * to read, with nothing parsed, hydrated or computed. The edges-only CTE is
 * timed too (`baseline_edges_ms`, and the stricter `ratio_vs_edges`).
 *
 * ratio = feature p50 ÷ baseline p50 (medians: robust to the GC pauses and
 * scheduler hiccups of a shared 2-core machine; means are printed too).
 *
 * The loader keeps the accepted terms of the agreements it has read (they
 * never change), so a request reads them from the database only the first
 * time: the feature as requests see it in a running server is the app's
 * LineageLoader (warm). The first read after a start is measured too, with a
 * fresh LineageLoader each iteration (`cold_ratio`, `cold_feature_ms`). The
 * three (baseline, feature, first read) run interleaved, in rotating order.
 *
 * Environment: BENCH_DATABASE_URL (a PostgreSQL server: a scratch database is
 * created on it and dropped after; default: an embedded PostgreSQL in a
 * temporary directory), BENCH_ITERATIONS (default 200), BENCH_WARMUP (default
 * 30), BENCH_ANCESTORS (default 1024), BENCH_NOISE_LINEAGES (unrelated
 * lineages of the same size also stored, default 3), BENCH_SEED (default 42),
 * BENCH_PROFILE_ITERATIONS (the "where the time goes" phase, default 50; 0
 * skips it).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from 'typeorm';
import { ROOT, cpuMeter, envInt, fmt, freshDatabase, loadAverage, logger, otherCpuNote, percentile } from './support/harness';
import { hotFunctions } from './support/lineage-profile';
import { seedLineage } from './support/lineage-seed';

// As in production (`npm run start:prod`): graphql-js reads NODE_ENV when first loaded, so the app's modules are required after this line.
process.env.NODE_ENV = 'production';
/* eslint-disable @typescript-eslint/no-require-imports */
const { createApp } = require('../src/app.factory') as typeof import('../src/app.factory');
const { loadConfig } = require('../src/platform/config/app-config') as typeof import('../src/platform/config/app-config');
const { runMigrations } = require('../src/platform/database/migrate') as typeof import('../src/platform/database/migrate');
const { DATABASE_SCHEMA } = require('../src/database-schema') as typeof import('../src/database-schema');
const { Database } = require('../src/platform/database/transaction') as typeof import('../src/platform/database/transaction');
const { ModelEntity } = require('../src/catalog/model.entity') as typeof import('../src/catalog/model.entity');
const { CatalogService } = require('../src/catalog/catalog.service') as typeof import('../src/catalog/catalog.service');
const { LicenseAgreementService } = require('../src/licensing/license-agreement.service') as typeof import('../src/licensing/license-agreement.service');
const { LineageLoader, measure: measureLineage, toLineageModel } = require('../src/provenance/lineage/lineage.loader') as typeof import('../src/provenance/lineage/lineage.loader');
const { royaltyStack } = require('../src/provenance/lineage/royalty-stack') as typeof import('../src/provenance/lineage/royalty-stack');
const { obligations } = require('../src/provenance/lineage/obligations') as typeof import('../src/provenance/lineage/obligations');
/* eslint-enable @typescript-eslint/no-require-imports */

const log = logger('lineage');
const ITERATIONS = envInt('BENCH_ITERATIONS', 200);
const WARMUP = envInt('BENCH_WARMUP', 30, 0);
const ANCESTORS = envInt('BENCH_ANCESTORS', 1024);
const NOISE = envInt('BENCH_NOISE_LINEAGES', 3, 0);
const SEED = envInt('BENCH_SEED', 42, 0);
const PROFILE = envInt('BENCH_PROFILE_ITERATIONS', 50, 0);
const TARGET = 2;

/** The ancestor model rows of the baseline: the columns a lineage node carries (toLineageModel), raw — the same SQL as the loader's LINEAGE_NODES. */
const MODEL_ROWS = `SELECT id, organization_id, slug, name, weights_digest, commercial_use FROM models WHERE id = ANY($1::uuid[])`;
/** For the profile only: the same SQL as the loader's AGREEMENT_TERMS (internal to the loader). */
const AGREEMENT_TERMS = `
  SELECT id, terms_hash,
         CASE WHEN row_number() OVER (PARTITION BY terms_hash ORDER BY id) = 1 THEN terms_snapshot END AS terms_snapshot
    FROM license_agreements WHERE id = ANY($1::uuid[])`;

const now = () => process.hrtime.bigint();
const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;

interface Stats {
  mean: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
}
function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: percentile(s, 50), p95: percentile(s, 95), min: s[0], max: s[s.length - 1] };
}
const show = (s: Stats) => `mean ${fmt(s.mean, 2)}  p50 ${fmt(s.p50, 2)}  p95 ${fmt(s.p95, 2)}  (min ${fmt(s.min, 2)}, max ${fmt(s.max, 2)})`;

async function main(): Promise<void> {
  log(`ancestors=${ANCESTORS} noise_lineages=${NOISE} seed=${SEED} iterations=${ITERATIONS} warmup=${WARMUP} node ${process.version}, load average ${loadAverage()}`);
  const database = await freshDatabase(log);
  log(`database: ${database.description}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'beiming-bench-lineage-'));
  let app: Awaited<ReturnType<typeof createApp>> | null = null;
  try {
    await runMigrations(database.url, DATABASE_SCHEMA);
    let t0 = Date.now();
    const seeded = await seedLineage(database.url, { ancestors: ANCESTORS, noise: NOISE, seed: SEED });
    log(
      `seeded in ${Date.now() - t0} ms: measured lineage ${seeded.ancestors} ancestors, ${seeded.edges} edges (${seeded.rootParents} into the root, depth ${seeded.depth}), ` +
        `${seeded.agreements} distinct agreements, ${seeded.termsHashes} distinct terms hashes, terms snapshots ~${seeded.meanTermsBytes} bytes; ` +
        `database: ${seeded.totalModels} models, ${seeded.totalEdges} edges, ${seeded.totalAgreements} agreements`,
    );

    // The application's own providers, built as the server builds them (no HTTP listener, no background jobs).
    const config = loadConfig({}, {
      nodeEnv: 'production',
      databaseUrl: database.url,
      jwtSecret: randomBytes(32).toString('hex'),
      secretsKey: randomBytes(32).toString('base64url'),
      attestationSigningKey: randomBytes(32).toString('base64url'),
      logLevel: 'silent',
      dataDir,
      port: 0,
      jobsEnabled: false,
    });
    t0 = Date.now();
    app = await createApp(config);
    await app.init();
    log(`app initialised in ${Date.now() - t0} ms (NODE_ENV=production, jobs off); DB pool max 10`);
    const loader = app.get(LineageLoader, { strict: false });
    const em: EntityManager = app.get(Database, { strict: false }).reader;
    const catalog = app.get(CatalogService, { strict: false });
    const agreementService = app.get(LicenseAgreementService, { strict: false });

    // A request for a model's royalty stack / obligations already holds the model (the GraphQL root): not timed.
    const root = toLineageModel(await em.findOneByOrFail(ModelEntity, { id: seeded.rootId }));
    const obligationsModel = { name: root.name, commercialUse: root.commercialUse };

    const baseline = async () => {
      const a = now();
      const edges = await loader.ancestryEdges(em, [root.modelId]);
      const b = now();
      const ids = [...new Set(edges.map((r) => r.parent_model_id))];
      const models: unknown[] = await em.query(MODEL_ROWS, [ids]);
      const c = now();
      return { total: ms(a, c), edgesOnly: ms(a, b), edges: edges.length, models: models.length };
    };
    const feature = async (withLoader: InstanceType<typeof LineageLoader> = loader) => {
      const a = now();
      const lineage = await withLoader.assembleFor(em, root);
      const b = now();
      const stack = royaltyStack(lineage);
      const c = now();
      const ob = obligations(lineage, obligationsModel);
      const d = now();
      return { total: ms(a, d), load: ms(a, b), stack: ms(b, c), obligations: ms(c, d), lineage, result: { stack, ob } };
    };

    // Correctness before any timing: the feature sees the whole DAG, and the stack matches an independent computation.
    {
      const f = await feature();
      const bl = await baseline();
      const problems: string[] = [];
      if (f.lineage.ancestors.length !== seeded.ancestors) problems.push(`lineage has ${f.lineage.ancestors.length} ancestors, expected ${seeded.ancestors}`);
      if (f.lineage.edges.length !== seeded.edges) problems.push(`lineage has ${f.lineage.edges.length} edges, expected ${seeded.edges}`);
      if (f.lineage.depth !== seeded.depth) problems.push(`lineage depth ${f.lineage.depth}, expected ${seeded.depth}`);
      if (bl.edges !== seeded.edges || bl.models !== seeded.ancestors) problems.push(`baseline fetched ${bl.edges} edges / ${bl.models} models`);
      if (f.result.stack.totalBps !== seeded.expectedTotalBps) problems.push(`royalty stack totals ${f.result.stack.totalBps} bps, expected ${seeded.expectedTotalBps}`);
      // The first read above filled the loader's terms cache: a second read must give the very same answer.
      const again = await feature();
      if (JSON.stringify(again.lineage) !== JSON.stringify(f.lineage) || JSON.stringify(again.result) !== JSON.stringify(f.result)) {
        problems.push('a second read (terms from the loader cache) differs from the first');
      }
      if (problems.length > 0) throw new Error(`wrong answer: ${problems.join('; ')}`);
      const ob = f.result.ob;
      log(
        `checked: ${f.lineage.ancestors.length} ancestors, ${f.lineage.edges.length} edges, depth ${f.lineage.depth}, distillation generation ${f.lineage.distillationGeneration}; ` +
          `royalty stack ${f.result.stack.entries.length} entries, ${f.result.stack.totalBps} bps (as computed independently); ` +
          `obligations: ${ob.attributions.length} attributions, ${ob.naming.length} naming rules, ${ob.useRestrictions.length} use restrictions, ` +
          `${ob.conflicts.length} conflicts (${[...new Set(ob.conflicts.map((x) => x.kind))].join(', ')}), NOTICE ${ob.notice.split('\n').length} lines / ${Buffer.byteLength(ob.notice)} bytes`,
      );
    }

    t0 = Date.now();
    for (let i = 0; i < WARMUP; i++) {
      await baseline();
      await feature();
      await feature(new LineageLoader(catalog));
    }
    log(`warm-up: ${WARMUP} iterations of each in ${Date.now() - t0} ms`);

    // Interleaved, alternating which goes first, so drift on the machine hits both alike.
    const base: number[] = [];
    const baseEdges: number[] = [];
    const feat: number[] = [];
    const cold: number[] = [];
    const coldLoad: number[] = [];
    const load: number[] = [];
    const stack: number[] = [];
    const obl: number[] = [];
    const meter = await cpuMeter(null, database.url);
    const started = Date.now();
    for (let i = 0; i < ITERATIONS; i++) {
      const runBaseline = async () => {
        const r = await baseline();
        base.push(r.total);
        baseEdges.push(r.edgesOnly);
      };
      const runFeature = async () => {
        const r = await feature();
        feat.push(r.total);
        load.push(r.load);
        stack.push(r.stack);
        obl.push(r.obligations);
      };
      // The loader keeps the agreements' terms it has read (they never change): a fresh loader shows the first read after a start.
      const runCold = async () => {
        const r = await feature(new LineageLoader(catalog));
        cold.push(r.total);
        coldLoad.push(r.load);
      };
      const order = [runBaseline, runFeature, runCold];
      for (let k = 0; k < 3; k++) await order[(i + k) % 3]();
    }
    const elapsedS = (Date.now() - started) / 1000;
    const cpu = await meter.stop();
    log(`measured ${ITERATIONS} iterations of each in ${fmt(elapsedS, 1)} s; CPU: this process ${fmt(cpu.clientS, 1)} s, PostgreSQL ${fmt(cpu.postgresS, 1)} s, ${otherCpuNote(cpu, elapsedS)}`);

    const B = stats(base);
    const BE = stats(baseEdges);
    const F = stats(feat);
    const L = stats(load);
    const S = stats(stack);
    const O = stats(obl);
    const C = stats(cold);
    const CL = stats(coldLoad);
    const coldRatio = C.p50 / B.p50;
    const ratio = F.p50 / B.p50;
    const ratioMean = F.mean / B.mean;
    const ratioEdges = F.p50 / BE.p50;
    const met = ratio <= TARGET;
    console.log('');
    console.log(`lineage: ${seeded.ancestors} ancestors, ${seeded.edges} edges, ${seeded.agreements} agreements, N=${ITERATIONS} (ms per computation)`);
    console.log(`  baseline (recursive CTE edges + ancestor model rows, raw)  ${show(B)}`);
    console.log(`    of which the recursive CTE alone (edges)                ${show(BE)}`);
    console.log(`  feature (assembleFor + royaltyStack + obligations)         ${show(F)}`);
    console.log(`    fetch + assemble (LineageLoader.assembleFor)             ${show(L)}`);
    console.log(`    royaltyStack                                             ${show(S)}`);
    console.log(`    obligations                                              ${show(O)}`);
    console.log(`  feature, first read (fresh loader: terms not yet read)     ${show(C)}`);
    console.log(`    fetch + assemble (LineageLoader.assembleFor)             ${show(CL)}`);
    console.log(`  ratio feature/baseline: p50 ${fmt(ratio, 3)} (target <= ${TARGET}: ${met ? 'met' : 'MISSED'}), mean ${fmt(ratioMean, 3)}; against the edges-only CTE: p50 ${fmt(ratioEdges, 3)}`);
    console.log(`  first read after a start (cold terms): p50 ${fmt(coldRatio, 3)} (${coldRatio <= TARGET ? 'within' : 'ABOVE'} ${TARGET})`);
    console.log('');

    if (PROFILE > 0) {
      await profile({
        em, loader, catalog, agreementService, rootId: root.modelId, iterations: PROFILE, baseline, feature: () => feature(),
        coldFeature: () => feature(new LineageLoader(catalog)), databaseUrl: database.url,
      });
    }

    console.log(
      `RESULT lineage ratio=${fmt(ratio, 3)} target<=${TARGET} feature_ms=${fmt(F.p50, 2)} baseline_ms=${fmt(B.p50, 2)} ` +
        `feature_mean_ms=${fmt(F.mean, 2)} baseline_mean_ms=${fmt(B.mean, 2)} feature_p95_ms=${fmt(F.p95, 2)} baseline_p95_ms=${fmt(B.p95, 2)} ` +
        `cold_ratio=${fmt(coldRatio, 3)} cold_feature_ms=${fmt(C.p50, 2)} load_ms=${fmt(L.p50, 2)} stack_ms=${fmt(S.p50, 3)} obligations_ms=${fmt(O.p50, 2)} baseline_edges_ms=${fmt(BE.p50, 2)} ratio_vs_edges=${fmt(ratioEdges, 3)} ` +
        `ancestors=${seeded.ancestors} edges=${seeded.edges} agreements=${seeded.agreements} n=${ITERATIONS} met=${met ? 'yes' : 'no'}`,
    );
  } finally {
    await app?.close();
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Where the feature's time goes: each query of the loader on its own (and the
 * ones the loader used before it read raw rows, for comparison), JSON parsing
 * of the terms snapshots, the pure parts, CPU profiles of obligations() and of
 * the whole feature, and the CPU split between this process and PostgreSQL.
 */
async function profile(p: {
  em: EntityManager;
  loader: InstanceType<typeof LineageLoader>;
  catalog: InstanceType<typeof CatalogService>;
  agreementService: InstanceType<typeof LicenseAgreementService>;
  rootId: string;
  iterations: number;
  baseline: () => Promise<unknown>;
  feature: () => Promise<{ lineage: import('../src/provenance/lineage/lineage.types').Lineage }>;
  coldFeature: () => Promise<unknown>;
  databaseUrl: string;
}): Promise<void> {
  const { em, loader, catalog, agreementService, rootId, iterations } = p;
  const edges = await loader.ancestryEdges(em, [rootId]);
  const modelIds = [...new Set(edges.map((r) => r.parent_model_id))];
  const agreementIds = edges.map((r) => r.agreement_id);
  const distinctAgreements = [...new Set(agreementIds)];
  const lineage = (await p.feature()).lineage;

  const time = async (fn: () => unknown): Promise<Stats> => {
    for (let i = 0; i < 5; i++) await fn();
    const xs: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const a = now();
      await fn();
      xs.push(ms(a, now()));
    }
    return stats(xs);
  };
  const rows: Array<[string, Stats]> = [];
  rows.push(['recursive CTE, edges (ancestryEdges)', await time(() => loader.ancestryEdges(em, [rootId]))]);
  rows.push([`ancestor nodes as the loader reads them (6 columns, raw, ${modelIds.length} ids)`, await time(() => em.query(MODEL_ROWS, [modelIds]))]);
  rows.push([`  earlier loader: catalog.findModels (TypeORM entities)`, await time(() => catalog.findModels(em, modelIds))]);
  rows.push(['  same rows, raw SELECT * (card jsonb parsed, no hydration)', await time(() => em.query(`SELECT * FROM models WHERE id = ANY($1::uuid[])`, [modelIds]))]);
  rows.push([`agreements' terms, first read by the loader (one snapshot per hash)`, await time(() => em.query(AGREEMENT_TERMS, [distinctAgreements]))]);
  rows.push([`  earlier loader: lineageViews (${distinctAgreements.length} snapshots parsed)`, await time(() => agreementService.lineageViews(em, agreementIds))]);
  const SNAP_TEXT = `SELECT id, model_id, vendor_organization_id, distiller_organization_id, status, terms_hash, terms_snapshot::text AS terms
                       FROM license_agreements WHERE id = ANY($1::uuid[]) ORDER BY id`;
  rows.push(['  same rows, snapshots as text (no JSON.parse)', await time(() => em.query(SNAP_TEXT, [distinctAgreements]))]);
  const texts: Array<{ terms: string }> = await em.query(SNAP_TEXT, [distinctAgreements]);
  rows.push(['  JSON.parse of those snapshots alone', await time(() => texts.map((t) => JSON.parse(t.terms)))]);
  const views = edges.map((r) => ({ childModelId: r.child_model_id, parentModelId: r.parent_model_id, relation: r.relation }));
  rows.push(['depth / generation (measure, pure)', await time(() => measureLineage(rootId, views))]);
  rows.push(['royaltyStack (pure)', await time(() => royaltyStack(lineage))]);
  const obModel = { name: lineage.root.name, commercialUse: lineage.root.commercialUse };
  rows.push(['obligations (pure)', await time(() => obligations(lineage, obModel))]);
  console.log(`where the time goes (each part alone, ${iterations} iterations after 5 warm-up, ms):`);
  for (const [name, s] of rows) console.log(`  ${name.padEnd(72)} ${show(s)}`);

  // CPU profiles (V8 sampling): the functions with the most self time.
  const printHot = (title: string, r: Awaited<ReturnType<typeof hotFunctions>>, n: number) => {
    console.log(`${title}: ${fmt(r.totalMs / n, 2)} ms CPU per run in this process; most self time:`);
    for (const f of r.functions) console.log(`  ${fmt(f.share * 100, 1).padStart(5)} %  ${fmt(f.selfMs / n, 2).padStart(6)} ms  ${f.name}  ← ${f.caller}`);
  };
  printHot(
    'profile of obligations()',
    await hotFunctions(async () => {
      for (let i = 0; i < iterations; i++) obligations(lineage, obModel);
    }, ROOT),
    iterations,
  );
  printHot(
    'profile of the whole feature (CPU in this process only; waiting on PostgreSQL is idle)',
    await hotFunctions(async () => {
      for (let i = 0; i < iterations; i++) await p.feature();
    }, ROOT, 14),
    iterations,
  );

  // CPU split: the same work back to back, baseline only then feature only.
  const split = async (name: string, fn: () => Promise<unknown>) => {
    const meter = await cpuMeter(null, p.databaseUrl);
    const t0 = Date.now();
    for (let i = 0; i < iterations; i++) await fn();
    const elapsed = (Date.now() - t0) / 1000;
    const cpu = await meter.stop();
    console.log(
      `  ${name.padEnd(10)} ${iterations}× in ${fmt(elapsed * 1000, 0)} ms: node ${fmt((cpu.clientS * 1000) / iterations, 2)} ms CPU/iteration, ` +
        `PostgreSQL ${fmt((cpu.postgresS * 1000) / iterations, 2)} ms CPU/iteration; ${otherCpuNote(cpu, elapsed)}`,
    );
  };
  console.log('CPU per iteration (node = this process: driver parsing, TypeORM, assembly, pure functions):');
  await split('baseline', p.baseline);
  await split('feature', p.feature);
  await split('cold', p.coldFeature);
  console.log('');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error('[bench:lineage] failed:', err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
