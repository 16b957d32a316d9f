/**
 * Abuse benchmark (`npm run bench:abuse`): does anonymous, limit-shaped load
 * starve an authenticated user and the health check?
 *
 * The app runs as `npm run start:prod` in a child process (bench/support/harness.ts)
 * with its default limits and TRUST_PROXY=true, so each attacker can present
 * its own client address (X-Forwarded-For: 198.51.100.<n>, 203.0.113.<n> in
 * phase 3) — 32 clients with 32
 * budgets, as from 32 machines, not one address that is throttled at once.
 *
 * Phases, with `/health` polled every 200 ms throughout (a failure: not 200,
 * or no answer within 2 s):
 * 1. idle: an authenticated client sends `{ me { id } }` one request at a time
 *    (one keep-alive connection), BENCH_USER_RPS a second at most (default 10,
 *    half its default budget of 1,200 a minute: a user within its rate limit,
 *    so every answer it gets must be a 200), for BENCH_IDLE_S s (default 20)
 *    → p99_idle;
 * 2. red team: BENCH_CLIENTS anonymous clients (default 32), each in a closed
 *    loop, for BENCH_DURATION s (default 20) send 15 aliases of
 *    `teacherModel(id) { cycloneDx huggingFaceCardYaml obligations { notice } }`
 *    with a fresh comment per request (so no response cache helps), while the
 *    authenticated client keeps measuring;
 * 3. the same within the cost limit: BENCH_VARIANT_ALIASES aliases (default 4,
 *    0 skips the phase), which the cost limit accepts, so the points budget is
 *    what stops them.
 * The attackers run in a worker thread, so their event loop does not delay
 * the measuring client's. `p99_abuse_ms` is the worse of phases 2 and 3.
 *
 * RESULT: ratio = p99_abuse / p99_idle (target ≤ 5), health failures (target 0),
 * rejected = attacker requests answered 400 (cost limit) or 429 (rate limit).
 *
 * Environment: BENCH_DATABASE_URL (else an embedded PostgreSQL in a temporary
 * directory), BENCH_CLIENTS, BENCH_DURATION, BENCH_IDLE_S, BENCH_USER_RPS, BENCH_VARIANT_ALIASES,
 * BENCH_LOG_LEVEL.
 */
import 'reflect-metadata';
import { Worker } from 'node:worker_threads';
import { AppChild, build, envInt, fmt, freshDatabase, loadAverage, logger, percentile, startApp } from './support/harness';
import { sequential, Target } from './support/load';
import { GraphqlClient, signUp, teacherWithOffer } from './support/parties';

const log = logger('abuse');
const CLIENTS = envInt('BENCH_CLIENTS', 32);
const DURATION_S = envInt('BENCH_DURATION', 20);
const IDLE_S = envInt('BENCH_IDLE_S', 20);
const USER_RPS = envInt('BENCH_USER_RPS', 10);
const VARIANT_ALIASES = envInt('BENCH_VARIANT_ALIASES', 4, 0);
const RED_TEAM_ALIASES = 15;
const TARGET_RATIO = 5;
const HEALTH_EVERY_MS = 200;
const HEALTH_TIMEOUT_MS = 2000;

/** The attackers: closed loops in a worker thread; posts the status counts when told to stop. */
const ATTACKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, clients, aliases, modelId, network } = workerData;
const fields = 'cycloneDx huggingFaceCardYaml obligations { notice }';
const selection = Array.from({ length: aliases }, (_, i) => 'm' + i + ': teacherModel(id: "' + modelId + '") { ' + fields + ' }').join(' ');
const counts = {};
let stop = false;
let n = 0;
parentPort.on('message', () => { stop = true; });
async function client(i) {
  const headers = { 'content-type': 'application/json', 'x-forwarded-for': network + '.' + (i + 1) };
  while (!stop) {
    const body = JSON.stringify({ query: '# request ' + (n++) + ' ' + Math.random() + '\\n{ ' + selection + ' }' });
    let key;
    try {
      const res = await fetch(url, { method: 'POST', headers, body });
      await res.arrayBuffer();
      key = String(res.status);
    } catch (e) {
      key = 'error';
    }
    counts[key] = (counts[key] || 0) + 1;
  }
}
Promise.all(Array.from({ length: clients }, (_, i) => client(i))).then(() => parentPort.postMessage(counts));
`;

interface HealthPoller {
  failures: number;
  polls: number;
  worstMs: number;
  stop(): Promise<void>;
}

function pollHealth(baseUrl: string): HealthPoller {
  let running = true;
  const p: HealthPoller = { failures: 0, polls: 0, worstMs: 0, stop: async () => undefined };
  const loop = (async () => {
    while (running) {
      const t0 = Date.now();
      try {
        const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
        await res.arrayBuffer();
        if (res.status !== 200) p.failures++;
      } catch {
        p.failures++;
      }
      p.polls++;
      p.worstMs = Math.max(p.worstMs, Date.now() - t0);
      await new Promise((r) => setTimeout(r, HEALTH_EVERY_MS));
    }
  })();
  p.stop = async () => {
    running = false;
    await loop;
  };
  return p;
}

interface PhaseResult {
  p50: number;
  p99: number;
  n: number;
  failures: number;
  attackers: Record<string, number>;
}

/** `network`: the attackers' addresses are `<network>.1` … (each phase its own, so one phase's spent budgets do not stop the next). */
async function phase(app: AppChild, me: Target, seconds: number, attack: { aliases: number; modelId: string; network: string } | null): Promise<PhaseResult> {
  const client = sequential(me);
  let worker: Worker | null = null;
  let attackers: Promise<Record<string, number>> = Promise.resolve({});
  if (attack) {
    worker = new Worker(ATTACKER_SOURCE, { eval: true, workerData: { url: `${app.baseUrl}/graphql`, clients: CLIENTS, ...attack } });
    attackers = new Promise((resolve, reject) => {
      worker!.once('message', resolve);
      worker!.once('error', reject);
    });
    await new Promise((r) => setTimeout(r, 500)); // let the attack reach full strength
  }
  const latencies = (await client.run(seconds * 1000, 1000 / USER_RPS)).sort((a, b) => a - b);
  const failures = client.failures;
  await client.close();
  if (worker) {
    worker.postMessage('stop');
    const counts = await attackers;
    await worker.terminate();
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length, failures, attackers: counts };
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length, failures, attackers: {} };
}

const describe = (r: PhaseResult) =>
  `me p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms over ${r.n} requests (${r.failures} non-2xx)` +
  (Object.keys(r.attackers).length ? `; attackers' answers by status ${JSON.stringify(r.attackers)}` : '');

async function main(): Promise<void> {
  log(`load average ${loadAverage()} (the machine is shared: other work moves these figures)`);
  const db = await freshDatabase(log);
  log(`database: ${db.description}`);
  build(log);
  const app = await startApp(db.url, log, { TRUST_PROXY: 'true', JOBS_ENABLED: 'false' });
  let health: HealthPoller | null = null;
  try {
    const gql = new GraphqlClient(`${app.baseUrl}/graphql`);
    const vendor = await signUp(gql, 'Abuse Bench Vendor', 'US');
    const { modelId } = await teacherWithOffer(gql, vendor);
    const user = await signUp(gql, 'Abuse Bench User', 'FR');
    const me: Target = { name: 'me', origin: app.baseUrl, path: '/graphql', headers: { authorization: `Bearer ${user.token}` }, body: JSON.stringify({ query: '{ me { id } }' }) };
    const check = await fetch(`${app.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...me.headers }, body: me.body });
    if (check.status !== 200) throw new Error(`{ me { id } } answered ${check.status}: ${await check.text()}`);

    health = pollHealth(app.baseUrl);
    await phase(app, me, 2, null); // warm-up
    const idle = await phase(app, me, IDLE_S, null);
    log(`idle: ${describe(idle)}`);
    const redTeam = await phase(app, me, DURATION_S, { aliases: RED_TEAM_ALIASES, modelId, network: '198.51.100' });
    log(`red team (${CLIENTS} anonymous clients, ${RED_TEAM_ALIASES} aliases of the exports, ${DURATION_S} s): ${describe(redTeam)}`);
    let variant: PhaseResult | null = null;
    if (VARIANT_ALIASES > 0) {
      variant = await phase(app, me, DURATION_S, { aliases: VARIANT_ALIASES, modelId, network: '203.0.113' });
      log(`within the cost limit (${CLIENTS} clients, ${VARIANT_ALIASES} aliases, ${DURATION_S} s): ${describe(variant)}`);
    }
    await health.stop();
    log(`health: ${health.polls} polls, ${health.failures} failures, slowest ${health.worstMs} ms`);

    const abusePhases = [redTeam, ...(variant ? [variant] : [])];
    const p99Abuse = Math.max(...abusePhases.map((r) => r.p99));
    const rejected = abusePhases.reduce((n, r) => n + (r.attackers['400'] ?? 0) + (r.attackers['429'] ?? 0), 0);
    const answered = abusePhases.reduce((n, r) => n + Object.values(r.attackers).reduce((a, b) => a + b, 0), 0);
    const meFailures = idle.failures + abusePhases.reduce((n, r) => n + r.failures, 0);
    log(`attackers: ${answered} requests, ${rejected} rejected (400 cost limit / 429 rate limit); the measured client had ${meFailures} non-2xx answers`);
    const ratio = p99Abuse / idle.p99;
    // The measured user stays within its budget, so any non-2xx it got is a failure of the target too.
    const met = ratio <= TARGET_RATIO && health.failures === 0 && meFailures === 0;
    console.log(
      `RESULT abuse ratio=${fmt(ratio, 2)} target<=${TARGET_RATIO} health_failures=${health.failures} user_failures=${meFailures} p99_idle_ms=${fmt(idle.p99, 2)} p99_abuse_ms=${fmt(p99Abuse, 2)} rejected=${rejected} met=${met ? 'yes' : 'no'}`,
    );
  } finally {
    await health?.stop();
    await app.stop();
    await db.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
