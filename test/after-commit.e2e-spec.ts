/**
 * afterCommit (platform/database/transaction.ts): effects queued on a
 * transaction run once it has committed — when another connection already
 * sees its rows — and never when it rolls back or its commit fails.
 */
import { Client } from 'pg';
import { isUniqueViolation } from '../src/platform/database/pg-errors';
import { afterCommit, Database } from '../src/platform/database/transaction';
import { createTestDataSource } from './support/database';

describe('Database.transaction with afterCommit', () => {
  let ctx: Awaited<ReturnType<typeof createTestDataSource>>;
  let db: Database;
  let other: Client;
  const seen = async (id: number): Promise<boolean> =>
    (await other.query('SELECT 1 FROM after_commit_probe WHERE id = $1', [id])).rowCount === 1;

  beforeAll(async () => {
    ctx = await createTestDataSource();
    db = new Database(ctx.ds);
    await ctx.ds.query('CREATE TABLE after_commit_probe (id int PRIMARY KEY)');
    // A unique constraint checked at COMMIT: lets a test make the commit itself fail.
    await ctx.ds.query('CREATE TABLE after_commit_deferred (id int, CONSTRAINT after_commit_deferred_uq UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)');
    other = new Client({ connectionString: ctx.db.url });
    await other.connect();
  });
  afterAll(async () => {
    await other.end();
    await ctx.close();
  });

  it('runs the effects after the commit, in order, when other connections see the change', async () => {
    const events: string[] = [];
    const result = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO after_commit_probe (id) VALUES (1)');
      afterCommit(tx, async () => {
        events.push(`first sees row: ${await seen(1)}`);
      });
      afterCommit(tx, () => {
        events.push('second');
      });
      events.push(`in transaction, other sees row: ${await seen(1)}`);
      return 'done';
    });
    expect(result).toBe('done');
    expect(events).toEqual(['in transaction, other sees row: false', 'first sees row: true', 'second']);
  });

  it('never runs them when the work throws (rollback)', async () => {
    const ran: string[] = [];
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO after_commit_probe (id) VALUES (2)');
        afterCommit(tx, () => {
          ran.push('effect');
        });
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(ran).toEqual([]);
    expect(await seen(2)).toBe(false);
  });

  it('never runs them when the COMMIT itself fails', async () => {
    const ran: string[] = [];
    const err = await db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO after_commit_probe (id) VALUES (3)');
        await tx.query('INSERT INTO after_commit_deferred (id) VALUES (1), (1)'); // violates only at commit
        afterCommit(tx, () => {
          ran.push('effect');
        });
      })
      .catch((e: unknown) => e);
    expect(isUniqueViolation(err, 'after_commit_deferred_uq')).toBe(true);
    expect(ran).toEqual([]);
    expect(await seen(3)).toBe(false);
  });

  it('keeps the commit when an effect fails, and still runs the later effects', async () => {
    const ran: string[] = [];
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO after_commit_probe (id) VALUES (4)');
        afterCommit(tx, () => {
          throw new Error('effect failed');
        });
        afterCommit(tx, () => {
          ran.push('later');
        });
        return 4;
      }),
    ).resolves.toBe(4);
    expect(ran).toEqual(['later']);
    expect(await seen(4)).toBe(true);
  });

  it('refuses a transaction it did not open (its effects could not be run after the commit)', async () => {
    await expect(
      ctx.ds.transaction(async (tx) => {
        afterCommit(tx, () => undefined);
      }),
    ).rejects.toThrow(/Database\.transaction/);
    expect(() => afterCommit(ctx.ds.manager, () => undefined)).toThrow(/Database\.transaction/);
  });
});
