/**
 * Gateway benchmark (`npm run bench:gateway`): chat completions through the
 * gateway (`POST /v1/gateway/chat/completions`: API-key authentication, the
 * agreement, pre-authorisation, forwarding, reading the usage, recording it)
 * against the same demo upstream called directly, in the same run, streamed
 * and not streamed — four measurements with the same request body.
 *
 * Processes: the demo upstream runs in its own child process
 * (`node dist/scripts/upstream-demo.js`, i.e. `npm run upstream:demo`) and so
 * does the app (`node dist/src/main.js`, NODE_ENV=production, as
 * `npm run start:prod`). A child rather than in-process because this process
 * generates the load: in one process the load generator and the app would
 * share an event loop (each one's work would show up as the other's latency)
 * and the app's CPU and RSS could not be told apart. The load generators run
 * here: autocannon for throughput, one undici connection for latency.
 * (Measured 2026-11-27, gateway non-stream at 16 connections: app as a child
 * with autocannon here 136 and 101 req/s, app in-process with autocannon as a
 * child 121 and 108 req/s — the same within this machine's noise, so the
 * choice costs nothing.)
 *
 * Phases:
 * 1. Throughput: BENCH_CONNECTIONS connections (default 16); per target a
 *    warm-up (10 requests per connection, then rounds sized from the last
 *    rate until one lasts about 2 s), then a fixed number of requests sized
 *    from the warm-up rate to last about BENCH_DURATION s (default 10). A fixed count rather than a
 *    fixed time so every request sent is answered inside the phase and the
 *    usage check below is exact.
 * 2. Latency at one connection (at saturation latency measures queueing, not
 *    the gateway's cost): the four targets take turns in 1 s slices,
 *    BENCH_LATENCY_S slices each (default 6) after one warm-up slice each, so
 *    all four see the same state of the machine and the database;
 *    p50 added latency = p50(gateway) − p50(direct).
 * Then: every successful gateway request must be exactly one usage event
 * with the upstream's token counts, and no reservation may be left.
 *
 * Fixture notes: the licence has a period quota and a per-minute limit far
 * above what the run uses, so pre-authorisation runs on every request (as for
 * a real licence) but never refuses. The demo upstream listens on loopback
 * and speaks plain HTTP, so the app runs with
 * GATEWAY_ALLOW_PRIVATE_UPSTREAMS=true (production otherwise refuses
 * non-public upstream addresses — checked once per new upstream connection,
 * not per request — and plain-http upstream URLs).
 *
 * Environment: BENCH_DATABASE_URL (else an embedded PostgreSQL in a temporary
 * directory), BENCH_CONNECTIONS, BENCH_DURATION, BENCH_LATENCY_S,
 * BENCH_MAX_TOKENS (completion tokens per answer, default 64),
 * BENCH_AGREEMENTS (default 1: one distiller's job on one agreement; with more,
 * the throughput connections are spread over one GATEWAY key per agreement),
 * BENCH_UPSTREAM_DELAY_MS (default 0: the demo answers at once; e.g. 50 makes
 * it wait before answering, as a real model does, on both sides),
 * BENCH_LOG_LEVEL, BENCH_APP_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import 'reflect-metadata';
import { Client as PgClient } from 'pg';
import { AppChild, build, cpuMeter, cpuSecondsOf, CpuUse, disturbed, envInt, fmt, freshDatabase, loadAverage, logger, memoryOf, otherCpuNote, percentile, startApp, startUpstream, UpstreamChild } from './support/harness';
import { once, sequential, Target, throughput, ThroughputResult } from './support/load';
import { acceptOffer, configureUpstream, createApiKey, GraphqlClient, signUp, teacherWithOffer } from './support/parties';

/** The app's GATEWAY_USAGE_COMMIT (durable: the answer waits for the usage event's WAL flush). */
const USAGE_COMMIT = process.env.GATEWAY_USAGE_COMMIT === 'async' ? 'async' : 'durable';
const log = logger('gateway');
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 16);
const DURATION_S = envInt('BENCH_DURATION', 10);
const LATENCY_S = envInt('BENCH_LATENCY_S', 6);
const MAX_TOKENS = envInt('BENCH_MAX_TOKENS', 64);
const AGREEMENTS = envInt('BENCH_AGREEMENTS', 1);
const UPSTREAM_DELAY_MS = envInt('BENCH_UPSTREAM_DELAY_MS', 0, 0);
const TARGET_RATIO = 0.8;
/** The app's admission lease window (its GATEWAY_ADMISSION_LEASE_MS, inherited from this environment). */
const LEASE_MS = envInt('GATEWAY_ADMISSION_LEASE_MS', 1000);
/** The app's GATEWAY_ADMISSION_LEASE_TOKENS (0: every request pre-authorises on its own). */
const LEASE_TOKENS = envInt('GATEWAY_ADMISSION_LEASE_TOKENS', 50_000, 0);
const TARGET_P50_ADDED_MS = 2;

const requestBody = (stream: boolean): string =>
  JSON.stringify({
    model: 'demo-teacher',
    messages: [
      { role: 'system', content: 'You are a careful teacher model. Answer briefly and precisely.' },
      {
        role: 'user',
        content: `Explain in a few sentences how knowledge distillation trains a small student model from a large teacher.${UPSTREAM_DELAY_MS ? ` #demo:delay=${UPSTREAM_DELAY_MS}` : ''}`,
      },
    ],
    max_tokens: MAX_TOKENS,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });

interface Setup {
  /** One GATEWAY key per agreement. */
  gatewayKeys: string[];
  agreementIds: string[];
}

async function setUp(app: AppChild, upstream: UpstreamChild): Promise<Setup> {
  const gql = new GraphqlClient(`${app.baseUrl}/graphql`);
  const vendor = await signUp(gql, 'Bench vendor', 'US');
  const distiller = await signUp(gql, 'Bench distiller', 'FR');
  const s: Setup = { gatewayKeys: [], agreementIds: [] };
  for (let a = 0; a < AGREEMENTS; a++) {
    const offer = await teacherWithOffer(gql, vendor);
    const agreementId = await acceptOffer(gql, distiller, offer);
    s.agreementIds.push(agreementId);
    s.gatewayKeys.push((await createApiKey(gql, distiller, ['GATEWAY'], agreementId)).secret);
    await configureUpstream(gql, vendor, offer.modelId, upstream.url, upstream.apiKey);
  }
  return s;
}

interface Measured extends ThroughputResult {
  cpu: CpuUse;
  /** CPU seconds of the demo upstream's process */
  upstreamS: number;
}

/** CPU seconds per answered request, all processes that serve it (load generator included). */
const cpuPerRequest = (m: Measured) => (m.cpu.appS + m.cpu.postgresS + m.upstreamS + m.cpu.clientS) / m.ok;

async function main(): Promise<void> {
  log(
    `connections=${CONNECTIONS} duration≈${DURATION_S}s per target, latency ${LATENCY_S}s per target at 1 connection, max_tokens=${MAX_TOKENS}, ` +
      `agreements=${AGREEMENTS}, upstream delay ${UPSTREAM_DELAY_MS} ms; load average ${loadAverage()}`,
  );
  build(log);
  const db = await freshDatabase(log);
  log(`database: ${db.description}`);
  let upstream: UpstreamChild | null = null;
  let app: AppChild | null = null;
  try {
    upstream = await startUpstream(log);
    app = await startApp(db.url, log, { GATEWAY_ALLOW_PRIVATE_UPSTREAMS: 'true', GATEWAY_USAGE_COMMIT: USAGE_COMMIT });
    const s = await setUp(app, upstream);
    log(
      `set up through GraphQL: a vendor, ${AGREEMENTS} teacher(s) with an offer with (high) limits, a distiller, ${AGREEMENTS} agreement(s) with a GATEWAY key each, ` +
        `upstream ${upstream.url}${UPSTREAM_DELAY_MS ? ` answering after ${UPSTREAM_DELAY_MS} ms` : ''}`,
    );

    const upstreamOrigin = new URL(upstream.url).origin;
    const direct = (stream: boolean): Target => ({
      name: `direct ${stream ? 'stream' : 'non-stream'}`,
      origin: upstreamOrigin,
      path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${upstream!.apiKey}` },
      body: requestBody(stream),
    });
    const gateway = (stream: boolean): Target => ({
      name: `gateway ${stream ? 'stream' : 'non-stream'}`,
      origin: app!.baseUrl,
      path: '/v1/gateway/chat/completions',
      headers: { authorization: `Bearer ${s.gatewayKeys[0]}` },
      headersPerConnection: s.gatewayKeys.map((k) => ({ authorization: `Bearer ${k}` })),
      body: requestBody(stream),
    });

    // Same answer both ways, byte for byte (the demo upstream is deterministic and sees the same body).
    let gatewayOk = 0;
    for (const stream of [false, true]) {
      const a = await once(direct(stream));
      const b = await once(gateway(stream));
      if (a.status !== 200 || b.status !== 200) throw new Error(`sanity check: direct ${a.status}, gateway ${b.status}: ${b.text.slice(0, 500)}`);
      gatewayOk++;
      if (a.text !== b.text) throw new Error(`sanity check (${stream ? 'stream' : 'non-stream'}): the gateway's answer differs from the upstream's:\n${a.text.slice(0, 400)}\n---\n${b.text.slice(0, 400)}`);
    }
    log('sanity check: the gateway answers byte for byte what the upstream answers, streamed and not');

    const measure = async (t: Target, amount: number): Promise<Measured> => {
      const meter = await cpuMeter(app!.pid, db.url);
      const upstreamCpu0 = cpuSecondsOf(upstream!.pid);
      const r = await throughput(t, CONNECTIONS, amount);
      const cpu = await meter.stop();
      // The upstream's CPU is part of "other" in the meter; report it on its own.
      const upstreamS = cpuSecondsOf(upstream!.pid) - upstreamCpu0;
      cpu.otherS = Math.max(0, cpu.otherS - upstreamS);
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${t.name}: ${r.non2xx} non-2xx answers and ${r.errors} errors`);
      if (t.origin === app!.baseUrl) gatewayOk += r.ok;
      const per = (x: number) => fmt((x * 1e6) / r.ok);
      log(
        `${t.name}: ${r.ok} requests in ${fmt(r.elapsedS, 2)} s = ${fmt(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms (autocannon, 1 ms resolution); ` +
          `CPU µs per request: app ${per(cpu.appS)}, PostgreSQL ${per(cpu.postgresS)}, upstream ${per(upstreamS)}, autocannon ${per(cpu.clientS)}; ` +
          otherCpuNote(cpu, r.elapsedS),
      );
      return { ...r, cpu, upstreamS };
    };

    const rates: Record<string, Measured> = {};
    for (const stream of [false, true]) {
      for (const t of [direct(stream), gateway(stream)]) {
        // Warm up until a phase lasts about 2 s (the rate grows as the code gets optimised), then measure.
        let amount = CONNECTIONS * 10;
        let warm = await measure({ ...t, name: `${t.name} (warm-up)` }, amount);
        for (let i = 0; i < 5 && warm.elapsedS < 1.5; i++) {
          amount = Math.round(warm.rps * 2);
          warm = await measure({ ...t, name: `${t.name} (warm-up)` }, amount);
        }
        rates[t.name] = await measure(t, Math.round(warm.rps * DURATION_S));
      }
    }

    // Latency at one connection: the four targets take turns in 1 s slices.
    const lat: Record<string, number[]> = {};
    const targets = [direct(false), gateway(false), direct(true), gateway(true)];
    const clients = targets.map((t) => sequential(t));
    try {
      for (let round = 0; round <= LATENCY_S; round++) {
        for (let i = 0; i < targets.length; i++) {
          const got = await clients[i].run(1000);
          if (targets[i].origin === app.baseUrl) gatewayOk += got.length;
          if (round > 0) (lat[targets[i].name] ??= []).push(...got);
        }
      }
      const failed = clients.reduce((n, c) => n + c.failures, 0);
      if (failed > 0) throw new Error(`latency phase: ${failed} requests failed`);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    for (const t of targets) {
      const l = lat[t.name].sort((a, b) => a - b);
      log(`${t.name} at 1 connection: ${l.length} requests, p50 ${fmt(percentile(l, 50), 3)} ms, p90 ${fmt(percentile(l, 90), 3)} ms, p99 ${fmt(percentile(l, 99), 3)} ms`);
    }
    const mem = memoryOf(app.pid);

    // Every successful gateway request is one usage event with the upstream's reported usage; nothing left reserved
    // once the app's admission lease has run out (GATEWAY_ADMISSION_LEASE_MS, 1 s by default) and been released.
    await new Promise((r) => setTimeout(r, LEASE_MS + 500));
    const c = new PgClient({ connectionString: db.url });
    await c.connect();
    let events: number;
    let estimated: number;
    let reservations: number;
    let tokens: bigint;
    try {
      const r = await c.query(`SELECT count(*) AS n, count(*) FILTER (WHERE estimated) AS est, coalesce(sum(input_tokens + output_tokens), 0) AS tokens FROM usage_events WHERE source = 'GATEWAY'`);
      events = Number(r.rows[0].n);
      estimated = Number(r.rows[0].est);
      tokens = BigInt(r.rows[0].tokens);
      reservations = Number((await c.query(`SELECT count(*) AS n FROM usage_reservations`)).rows[0].n);
    } finally {
      await c.end();
    }
    const answer = JSON.parse((await once(direct(false))).text) as { usage: { total_tokens: number } };
    const expectedTokens = BigInt(gatewayOk) * BigInt(answer.usage.total_tokens);
    const verified = events === gatewayOk && estimated === 0 && reservations === 0 && tokens === expectedTokens;
    log(
      `verification: ${gatewayOk} successful gateway requests, ${events} GATEWAY usage events (${estimated} estimated), ` +
        `${tokens} tokens recorded (expected ${expectedTokens}), ${reservations} reservations left — ${verified ? 'OK' : 'MISMATCH'}`,
    );

    const nonstreamRatio = rates['gateway non-stream'].rps / rates['direct non-stream'].rps;
    const streamRatio = rates['gateway stream'].rps / rates['direct stream'].rps;
    const ratio = Math.min(nonstreamRatio, streamRatio);
    const added = (stream: boolean) => {
      const k = stream ? 'stream' : 'non-stream';
      return percentile(lat[`gateway ${k}`], 50) - percentile(lat[`direct ${k}`], 50);
    };
    const nonstreamAdded = added(false);
    const streamAdded = added(true);
    const p50Added = Math.max(nonstreamAdded, streamAdded);
    const cpuRatio = (k: string) => cpuPerRequest(rates[`direct ${k}`]) / cpuPerRequest(rates[`gateway ${k}`]);
    const quiet = Object.values(rates).every((m) => !disturbed(m.cpu, m.elapsedS));
    const met = ratio >= TARGET_RATIO && p50Added < TARGET_P50_ADDED_MS && verified;
    log(
      `throughput ratio gateway/direct: non-stream ${fmt(nonstreamRatio, 3)}, stream ${fmt(streamRatio, 3)} (target >= ${TARGET_RATIO}); ` +
        `p50 added latency at 1 connection: non-stream ${fmt(nonstreamAdded, 3)} ms, stream ${fmt(streamAdded, 3)} ms (target < ${TARGET_P50_ADDED_MS}); ` +
        `p50 at ${CONNECTIONS} connections (autocannon): non-stream ${rates['direct non-stream'].p50} → ${rates['gateway non-stream'].p50} ms, ` +
        `stream ${rates['direct stream'].p50} → ${rates['gateway stream'].p50} ms; CPU per request direct/gateway: non-stream ${fmt(cpuRatio('non-stream'), 3)}, ` +
        `stream ${fmt(cpuRatio('stream'), 3)}; peak RSS of the app ${fmt(mem.peakMb)} MiB` +
        (quiet ? '' : '; OTHER WORK ON THE MACHINE DISTURBED THE THROUGHPUT PHASES: run again on a quiet machine'),
    );
    console.log(
      `RESULT gateway ratio=${fmt(ratio, 3)} target>=${TARGET_RATIO} stream_ratio=${fmt(streamRatio, 3)} nonstream_ratio=${fmt(nonstreamRatio, 3)} ` +
        `p50_added_ms=${fmt(p50Added, 3)} target_p50_added_ms<${TARGET_P50_ADDED_MS} nonstream_p50_added_ms=${fmt(nonstreamAdded, 3)} stream_p50_added_ms=${fmt(streamAdded, 3)} ` +
        `gw_rps=${fmt(rates['gateway non-stream'].rps)} direct_rps=${fmt(rates['direct non-stream'].rps)} ` +
        `gw_stream_rps=${fmt(rates['gateway stream'].rps)} direct_stream_rps=${fmt(rates['direct stream'].rps)} ` +
        `connections=${CONNECTIONS} agreements=${AGREEMENTS} upstream_delay_ms=${UPSTREAM_DELAY_MS} lease_tokens=${LEASE_TOKENS} usage_commit=${USAGE_COMMIT} rss_peak_mb=${fmt(mem.peakMb)} ` +
        `cpu_ratio_nonstream=${fmt(cpuRatio('non-stream'), 3)} cpu_ratio_stream=${fmt(cpuRatio('stream'), 3)} usage_verified=${verified ? 'yes' : 'no'} quiet=${quiet ? 'yes' : 'no'} met=${met ? 'yes' : 'no'}`,
    );
  } finally {
    await app?.stop();
    await upstream?.stop();
    await db.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error('[bench:gateway] failed:', err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
