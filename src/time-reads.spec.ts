/**
 * The time convention, checked: every time-dependent business rule reads the
 * platform Clock (src/platform/clock/clock.ts) — in TypeScript `clock.now()`,
 * in SQL a parameter holding it — so the sandbox test clock moves all of them
 * at once. A read of real time (`new Date()`, `Date.now()`, SQL `now()`,
 * `clock_timestamp()`, `current_timestamp`) anywhere else in src/ or in a
 * migration's functions fails this spec unless it is listed below with the
 * reason it is not business time.
 *
 * Not counted: column defaults (`default: () => 'now()'` in entities,
 * `DEFAULT now()` in migrations — row stamps), comments, and `new Date(x)`
 * with an argument (a conversion, not a read).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

const SRC = resolve(__dirname);
const ROOT = resolve(SRC, '..');

type Kind = 'new Date()' | 'Date.now()' | 'SQL now()' | 'clock_timestamp()' | 'current_timestamp';

const PATTERNS: Record<Kind, RegExp> = {
  'new Date()': /new Date\(\)/g,
  'Date.now()': /\bDate\.now\(\)/g,
  // `now()` not called on an object (clock.now()) and not a method's declaration (`now(): Date {`).
  'SQL now()': /(?<![.\w])now\(\)(?!\s*[:{])/g,
  'clock_timestamp()': /clock_timestamp\(\)/g,
  current_timestamp: /current_timestamp/gi,
};

const REAL_TIME = {
  // Records and bookkeeping
  row: 'row stamps (created/updated/completed/acknowledged/synced …): when the change was made, not business time',
  audit: 'the audit log records when an action really happened',
  // Security and abuse
  security: 'sessions, JWT and API key expiry, login throttling, revocation stamps: security runs on real time',
  rate: 'rate limits, sliding windows and their Retry-After: real time',
  webhook: "webhook signature tolerance and the inbox's delivery retries: the processor's real time",
  // Machinery
  cache: 'in-process cache TTLs and memos',
  lease: 'leases and reservations of in-flight work (they expire in real time if a process dies)',
  retention: 'retention of operational logs (upstream errors)',
  timing: 'measuring durations and waiting for start-up',
  jobs: 'job bookkeeping',
};

/** Files allowed to read real time: how many reads of each kind, and why. */
const ALLOWED: Record<string, { reads: Partial<Record<Kind, number>>; why: string }> = {
  'src/platform/clock/clock.ts': { reads: { 'Date.now()': 1, 'new Date()': 1 }, why: 'the Clock itself: business time is real time plus the sandbox offset; realNow() for the rest' },
  'src/platform/clock/clock-state.repository.ts': { reads: { 'SQL now()': 1 }, why: `advanced_at: ${REAL_TIME.row}` },
  'src/audit/audit.service.ts': { reads: { 'new Date()': 1 }, why: REAL_TIME.audit },
  'src/main.ts': { reads: { 'Date.now()': 2 }, why: REAL_TIME.timing },
  'src/platform/database/embedded-postgres.ts': { reads: { 'Date.now()': 2 }, why: REAL_TIME.timing },
  'src/platform/jobs/jobs.service.ts': { reads: { 'Date.now()': 2 }, why: `${REAL_TIME.jobs}: a run's duration` },
  'src/platform/graphql/public-response-cache.ts': { reads: { 'Date.now()': 2 }, why: REAL_TIME.cache },
  'src/platform/rate-limit/rate-limit.hook.ts': { reads: { 'Date.now()': 2 }, why: REAL_TIME.rate },
  'src/identity/api-key.service.ts': { reads: { 'new Date()': 1, 'Date.now()': 3 }, why: `${REAL_TIME.security}; ${REAL_TIME.cache}` },
  'src/identity/auth.service.ts': { reads: { 'Date.now()': 2 }, why: REAL_TIME.security },
  'src/identity/identity.repository.ts': { reads: { 'SQL now()': 5 }, why: `API key last use and login failure windows: ${REAL_TIME.security}` },
  'src/catalog/catalog.service.ts': { reads: { 'new Date()': 3 }, why: `a model's createdAt/updatedAt/listedAt: ${REAL_TIME.row}` },
  'src/licensing/license-offer.service.ts': { reads: { 'new Date()': 1 }, why: `retiredAt fallback: ${REAL_TIME.row}` },
  'src/licensing/licensing.repository.ts': { reads: { 'SQL now()': 1 }, why: `an offer's retired_at: ${REAL_TIME.row} (offers do not expire)` },
  'src/licensing/license-agreement.service.ts': { reads: { 'Date.now()': 2 }, why: `the gateway's metering view: ${REAL_TIME.cache}` },
  'src/metering/gateway/admission-leases.ts': { reads: { 'Date.now()': 4 }, why: REAL_TIME.lease },
  'src/metering/upstream/teacher-upstream.service.ts': { reads: { 'Date.now()': 3 }, why: `${REAL_TIME.cache}; upstream call latency (${REAL_TIME.timing})` },
  'src/metering/upstream/upstream.repository.ts': { reads: { 'SQL now()': 3 }, why: `${REAL_TIME.row}; ${REAL_TIME.retention}` },
  'src/metering/anomaly/anomaly.repository.ts': {
    reads: { 'SQL now()': 5 },
    why: `fallbacks when no time is given (the burst job passes the Clock's) and acknowledgement stamps: ${REAL_TIME.row}`,
  },
  'src/billing/close/period-close.repository.ts': { reads: { 'SQL now()': 1 }, why: `updated_at: ${REAL_TIME.row} (close_started_at/closed_at take the Clock's time)` },
  'src/billing/collection/collection.repository.ts': {
    reads: { 'SQL now()': 7 },
    why: `updated_at and a dispute's closed_at: ${REAL_TIME.row} (attempt schedules, first failure and settlement take the Clock's time)`,
  },
  'src/billing/collection/payment-attempt.repository.ts': { reads: { 'SQL now()': 6 }, why: `an attempt's claim (${REAL_TIME.lease}) and completed_at (${REAL_TIME.row})` },
  'src/billing/collection/refund.repository.ts': { reads: { 'SQL now()': 2 }, why: `a refund's completed_at: ${REAL_TIME.row} (its ledger posting is dated by the Clock)` },
  'src/billing/pool/pool.repository.ts': { reads: { 'SQL now()': 5 }, why: `a subscription's updated_at: ${REAL_TIME.row} (started_at, ended_at and periods take the Clock's time)` },
  'src/billing/vendor-fee.repository.ts': { reads: { 'SQL now()': 2 }, why: `set_at of a fee override: ${REAL_TIME.row}` },
  'src/payments/payments.repository.ts': { reads: { 'SQL now()': 2 }, why: REAL_TIME.row },
  'src/payments/sandbox/sandbox.repository.ts': { reads: { 'SQL now()': 1 }, why: REAL_TIME.row },
  'src/payments/sandbox/sandbox-payments.adapter.ts': { reads: { 'Date.now()': 1 }, why: "the simulated processor's own object timestamps (a real processor's are real time too)" },
  'src/payments/stripe/stripe-payments.adapter.ts': { reads: { 'Date.now()': 1 }, why: "a Retry-After HTTP date from the processor is a real-time instant (how long to wait before the next request)" },
  'src/payments/webhooks/stripe-webhook.routes.ts': { reads: { 'Date.now()': 1 }, why: REAL_TIME.webhook },
  'src/payments/webhooks/webhook-inbox.repository.ts': { reads: { 'SQL now()': 4 }, why: REAL_TIME.webhook },
  'src/payouts/payout-accounts.repository.ts': { reads: { 'SQL now()': 5 }, why: `connected account sync bookkeeping: ${REAL_TIME.row}` },
  'src/payouts/payout-reversals.repository.ts': { reads: { 'SQL now()': 1 }, why: `a payout's updated_at when a reversal is booked: ${REAL_TIME.row}` },
  'src/provenance/attestation/attestation-keys.repository.ts': { reads: { 'SQL now()': 1 }, why: `a signing key's retirement: key management, ${REAL_TIME.row}` },
  'src/provenance/attestation/attestation-keys.service.ts': { reads: { 'Date.now()': 2 }, why: REAL_TIME.cache },
  'src/provenance/certification/certification.repository.ts': {
    reads: { 'clock_timestamp()': 2 },
    why: `certified_at orders certifications that waited for the model's lock: ${REAL_TIME.row} (expiry is judged on the Clock)`,
  },
  'migrations/1795800100000-CatalogLicensing.ts': { reads: { 'SQL now()': 2 }, why: `an offer's public_at: ${REAL_TIME.row}` },
  'migrations/1795800200000-Metering.ts': {
    reads: { 'clock_timestamp()': 2 },
    why: 'received_at and the two-day window of minute rollups (row stamps); the original pre-authorisation, replaced by BusinessTimeMetering',
  },
  'migrations/1795800600000-Billing.ts': { reads: { 'SQL now()': 1 }, why: `the updated_at trigger: ${REAL_TIME.row}` },
  'migrations/1795801300000-PoolPlans.ts': {
    reads: { 'clock_timestamp()': 2 },
    why: `the pool allowance's pre-authorisation: the fallback when no Clock time is passed, and reservations (${REAL_TIME.lease})`,
  },
  'migrations/1795801410000-BusinessTimeMetering.ts': {
    reads: { 'clock_timestamp()': 3 },
    why: `pre-authorisation: the fallback when no business time is given, and reservations (${REAL_TIME.lease}); down() restores the original`,
  },
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [join(dir, e.name)] : [],
  );
}

/** The real-time reads of `text`, by kind, with their line numbers. */
export function timeReads(text: string): Partial<Record<Kind, number[]>> {
  const out: Partial<Record<Kind, number[]>> = {};
  text.split('\n').forEach((line, i) => {
    const code = line
      .replace(/\/\/.*$/, '')
      .replace(/default: \(\) => 'now\(\)'/g, '')
      .replace(/DEFAULT now\(\)/gi, '');
    if (/^\s*(\*|\/\*)/.test(code)) return;
    for (const [kind, re] of Object.entries(PATTERNS) as [Kind, RegExp][]) {
      const n = code.match(re)?.length ?? 0;
      for (let k = 0; k < n; k++) (out[kind] ??= []).push(i + 1);
    }
  });
  return out;
}

function inventory(): Record<string, Partial<Record<Kind, number[]>>> {
  const files = [...sourceFiles(SRC), ...sourceFiles(join(ROOT, 'migrations'))];
  const out: Record<string, Partial<Record<Kind, number[]>>> = {};
  for (const file of files) {
    const reads = timeReads(readFileSync(file, 'utf8'));
    if (Object.keys(reads).length > 0) out[relative(ROOT, file).split(sep).join('/')] = reads;
  }
  return out;
}

describe('time: business rules read the platform Clock', () => {
  it('recognises reads of real time, and ignores the Clock, conversions, comments and column defaults', () => {
    expect(timeReads('const a = new Date(); const b = Date.now();')).toEqual({ 'new Date()': [1], 'Date.now()': [1] });
    expect(timeReads("`UPDATE t SET x = now() WHERE y < clock_timestamp() OR z < CURRENT_TIMESTAMP`")).toEqual({
      'SQL now()': [1],
      'clock_timestamp()': [1],
      current_timestamp: [1],
    });
    expect(timeReads('this.clock.now(); clock.now(); new Date(r.at); new Date(ms)')).toEqual({});
    expect(timeReads("  now(): Date {\n// Date.now()\n * now()\n@Column({ default: () => 'now()' })\n\"created_at\" timestamptz NOT NULL DEFAULT now(),")).toEqual({});
  });

  it('no new read of real time: each one is listed with its reason', () => {
    const found = inventory();
    const unexpected: string[] = [];
    for (const [file, reads] of Object.entries(found)) {
      const allowed = ALLOWED[file]?.reads ?? {};
      for (const [kind, lines] of Object.entries(reads) as [Kind, number[]][]) {
        if (lines.length > (allowed[kind] ?? 0)) {
          unexpected.push(`${file}: ${kind} at line ${lines.join(', ')} (allowed ${allowed[kind] ?? 0}) — read the Clock, or list it here with why it is not business time`);
        }
      }
    }
    expect(unexpected).toEqual([]);
  });

  it('the list does not go stale: every allowed read still exists, as often as listed', () => {
    const found = inventory();
    const stale: string[] = [];
    for (const [file, { reads }] of Object.entries(ALLOWED)) {
      for (const [kind, n] of Object.entries(reads) as [Kind, number][]) {
        const have = found[file]?.[kind]?.length ?? 0;
        if (have !== n) stale.push(`${file}: ${kind} listed ${n}, found ${have}`);
      }
    }
    expect(stale).toEqual([]);
  });
});
