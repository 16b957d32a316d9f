/**
 * The database under pressure: /health answers over its own connection while
 * the app's pool is fully held, and a statement cancelled by the statement
 * timeout answers a clear TIMEOUT error (not INTERNAL) and frees its connection.
 */
import { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { startTestApp, TestApp } from './support/app';

/** Resolves with the promise's value, or rejects once `ms` have passed (a generous upper bound, not a measurement). */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

describe('database under pressure', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ dbStatementTimeoutMs: 500 });
  });
  afterAll(() => t.close());

  it('/health answers 200 while every pooled connection is held in a transaction', async () => {
    const poolSize = (t.dataSource.options as { extra: { max: number } }).extra.max;
    const held: QueryRunner[] = [];
    try {
      for (let i = 0; i < poolSize; i++) {
        const qr = t.dataSource.createQueryRunner();
        await qr.connect();
        await qr.startTransaction();
        await qr.query('SELECT 1');
        held.push(qr);
      }
      // The pool is exhausted: an app query now waits for a connection.
      let appQueryDone = false;
      const waiting = t.dataSource.query('SELECT 1').then(() => (appQueryDone = true));
      const health = await within(10_000, t.request({ method: 'GET', url: '/health' }));
      expect(health.status).toBe(200);
      expect(health.body.info.database.status).toBe('up');
      expect(appQueryDone).toBe(false);
      await held[0].rollbackTransaction();
      await held[0].release();
      held.shift();
      await waiting;
    } finally {
      for (const qr of held) {
        await qr.rollbackTransaction();
        await qr.release();
      }
    }
  });

  it('a statement running past DB_STATEMENT_TIMEOUT_MS answers TIMEOUT and frees its connection', async () => {
    // Another session holds an exclusive lock on models: the catalog's read waits on it until the timeout cancels it.
    const locker = new Client({ connectionString: t.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE models IN ACCESS EXCLUSIVE MODE');
      const r = await within(10_000, t.gql('{ catalog(first: 5) { edges { node { id } } } }'));
      expect(r.errors).toHaveLength(1);
      expect(r.errors![0].extensions.code).toBe('TIMEOUT');
      expect(r.errors![0].message).toMatch(/took too long/);
      expect(r.errors![0].message).not.toMatch(/canceling statement/);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    const again = await t.gql('{ catalog(first: 5) { edges { node { id } } } }');
    expect(again.errors).toBeUndefined();
  });

  it('the app sessions carry the statement timeout', async () => {
    const [{ statement_timeout }] = await t.dataSource.query('SHOW statement_timeout');
    expect(statement_timeout).toBe('500ms');
  });
});
