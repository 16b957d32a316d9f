/**
 * Load generators for the gateway benchmark.
 *
 * - `throughput`: autocannon (lighter per request than any undici loop, so it
 *   leaves the most CPU to what is measured) in this process, with a fixed
 *   number of requests (`amount`): every request sent is answered before the
 *   phase ends, so "requests answered 2xx" is exact and can be compared with
 *   the usage events the gateway recorded. Its latency histogram has 1 ms
 *   resolution, hence:
 * - `sequential`: one keep-alive connection (undici), one request at a time,
 *   latency to the last byte of the body with hrtime (µs resolution).
 */
import { Client } from 'undici';

export interface Target {
  name: string;
  /** origin, e.g. http://127.0.0.1:1234 */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Throughput only: connection i sends headers[i % length] merged over `headers` (e.g. one API key per agreement). */
  headersPerConnection?: Array<Record<string, string>>;
}

export interface ThroughputResult {
  ok: number;
  non2xx: number;
  errors: number;
  elapsedS: number;
  rps: number;
  /** autocannon's latency percentiles (ms, 1 ms resolution) */
  p50: number;
  p99: number;
}

interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number };
}
// autocannon ships no types; this is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (
  opts: Record<string, unknown>,
  done: (err: Error | null, result: AutocannonResult) => void,
) => { on(event: 'response', listener: () => void): void };

export async function throughput(t: Target, connections: number, amount: number): Promise<ThroughputResult> {
  const headers = { ...t.headers, 'content-type': 'application/json' };
  let nextConnection = 0;
  const per = t.headersPerConnection;
  // autocannon notices the end of a fixed amount at its next sampling tick: time the phase from
  // the start to the last answer here instead of using its start/finish.
  const started = process.hrtime.bigint();
  let last = started;
  const r = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${t.origin}${t.path}`,
        method: 'POST',
        headers,
        body: t.body,
        connections,
        amount: Math.max(amount, connections),
        timeout: 30,
        sampleInt: 100,
        ...(per && per.length > 0
          ? { setupClient: (client: { setHeaders(h: Record<string, string>): void }) => client.setHeaders({ ...headers, ...per[nextConnection++ % per.length] }) }
          : {}),
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('response', () => {
      last = process.hrtime.bigint();
    });
  });
  const elapsedS = Number(last - started) / 1e9;
  return {
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    elapsedS,
    rps: r['2xx'] / elapsedS,
    p50: r.latency.p50,
    p99: r.latency.p99,
  };
}

export interface Sequential {
  /**
   * Sends requests one after the other for `ms`; returns the latencies (ms) of 2xx answers.
   * With `everyMs`, at most one request starts per `everyMs` (a paced client, as a person or
   * a polite integration is; a late request is sent at once, never bunched to catch up).
   */
  run(ms: number, everyMs?: number): Promise<number[]>;
  failures: number;
  close(): Promise<void>;
}

export function sequential(t: Target): Sequential {
  const client = new Client(t.origin, { pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = { ...t.headers, 'content-type': 'application/json' };
  const s: Sequential = {
    failures: 0,
    async run(ms, everyMs = 0) {
      const latencies: number[] = [];
      const end = Date.now() + ms;
      let next = Date.now();
      while (Date.now() < end) {
        if (everyMs > 0) {
          const wait = next - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          next = Math.max(next + everyMs, Date.now());
        }
        const t0 = process.hrtime.bigint();
        const res = await client.request({ path: t.path, method: 'POST', headers, body: t.body });
        for await (const _chunk of res.body) {
          /* read to the last byte */
        }
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (res.statusCode >= 200 && res.statusCode < 300) latencies.push(ms);
        else s.failures++;
      }
      return latencies;
    },
    close: () => client.close(),
  };
  return s;
}

/** One request, the whole answer as text. */
export async function once(t: Target): Promise<{ status: number; text: string }> {
  const res = await fetch(`${t.origin}${t.path}`, { method: 'POST', headers: { ...t.headers, 'content-type': 'application/json' }, body: t.body });
  return { status: res.status, text: await res.text() };
}
