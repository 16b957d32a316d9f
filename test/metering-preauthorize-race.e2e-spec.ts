/**
 * The quota check of `metering_preauthorize` under real contention: many
 * sessions on separate connections, each blocked at a database barrier (a
 * shared advisory lock the test holds exclusively), all released by one
 * unlock, so they enter the function together. Only the function's
 * per-agreement lock keeps them from all reading the same "remaining quota".
 * Repeated rounds: a race that slips through once in a few rounds still fails.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { EntityManager } from 'typeorm';
import { UsageRecorder } from '../src/metering/usage/usage-recorder.service';
import { createTestDatabase, TestDatabase } from './support/database';
import { waitFor } from './support/race';

const CALLERS = 10;
const ROUNDS = 8;
const BARRIER_KEY = 917_001;

describe('metering_preauthorize under concurrent sessions (e2e)', () => {
  let db: TestDatabase;
  let controller: Client;
  const callers: Client[] = [];
  const recorder = new UsageRecorder();

  beforeAll(async () => {
    db = await createTestDatabase();
    controller = new Client({ connectionString: db.url });
    await controller.connect();
    for (let i = 0; i < CALLERS; i++) {
      const c = new Client({ connectionString: db.url });
      await c.connect();
      callers.push(c);
    }
  });
  afterAll(async () => {
    await Promise.all([controller, ...callers].map((c) => c.end()));
    await db.drop();
  });

  /** The recorder's own call, on one caller's connection. */
  const managerOf = (c: Client) => ({ query: async (sql: string, params: unknown[]) => (await c.query(sql, params)).rows }) as unknown as EntityManager;

  it(`admits exactly one of ${CALLERS} simultaneous requests for the last of a quota, in each of ${ROUNDS} rounds`, async () => {
    const admittedPerRound: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const agreementId = randomUUID();
      await controller.query('SELECT pg_advisory_lock($1)', [BARRIER_KEY]);
      const attempts = callers.map(async (c) => {
        await c.query('BEGIN');
        try {
          await c.query('SELECT pg_advisory_xact_lock_shared($1)', [BARRIER_KEY]); // the barrier
          // 70 of a 100-token quota each: one fits, a second would overdraw it.
          const pre = await recorder.preauthorize(managerOf(c), { agreementId, estimate: 70n, quota: 100n, perMinute: null, ttlMs: 60_000 });
          await c.query('COMMIT');
          return pre.admitted;
        } catch (e) {
          await c.query('ROLLBACK');
          throw e;
        }
      });
      // Every caller is waiting at the barrier before it opens.
      await waitFor(async () => {
        const [{ n }] = (await controller.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND objid = $1 AND NOT granted`, [BARRIER_KEY])).rows;
        return n === CALLERS;
      });
      await controller.query('SELECT pg_advisory_unlock($1)', [BARRIER_KEY]);
      const admitted = (await Promise.all(attempts)).filter(Boolean).length;
      admittedPerRound.push(admitted);
      const [{ n, tokens }] = (await controller.query(`SELECT count(*)::int AS n, coalesce(sum(tokens), 0)::int AS tokens FROM usage_reservations WHERE agreement_id = $1`, [agreementId])).rows;
      expect({ n, tokens }).toEqual({ n: admitted, tokens: 70 * admitted });
    }
    expect(admittedPerRound).toEqual(Array(ROUNDS).fill(1));
  });
});
