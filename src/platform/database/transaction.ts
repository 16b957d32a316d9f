import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export type Tx = EntityManager;

/** Work that must only happen once a transaction's changes are visible to everyone (cache invalidation, notifications). */
export type AfterCommitEffect = () => void | Promise<void>;

// The effects queued on each open transaction opened by Database.transaction.
const pendingEffects = new WeakMap<Tx, AfterCommitEffect[]>();
const log = new Logger('Database');

/**
 * Queues `effect` to run after `tx` commits, never if it rolls back (or the
 * commit fails). An effect that ran inside the transaction could act on a
 * change that is then rolled back, or be undone by a concurrent reader that
 * still sees the old rows (e.g. a cache refilled from them before the commit).
 * Only transactions opened by Database.transaction can carry effects.
 */
export function afterCommit(tx: Tx, effect: AfterCommitEffect): void {
  const queue = pendingEffects.get(tx);
  if (!queue) throw new Error('afterCommit needs a transaction opened by Database.transaction');
  queue.push(effect);
}

/**
 * One explicit transaction per mutation / job. Services that write take the
 * `Tx` as a parameter, so code cannot silently run outside it.
 */
@Injectable()
export class Database {
  constructor(readonly dataSource: DataSource) {}

  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const effects: AfterCommitEffect[] = [];
    const result = await this.dataSource.transaction('READ COMMITTED', (tx) => {
      pendingEffects.set(tx, effects);
      return work(tx);
    });
    // Committed: an effect that fails is logged, it does not turn the committed change into an error.
    for (const effect of effects) {
      try {
        await effect();
      } catch (err) {
        log.error(`after-commit effect failed: ${String(err)}`, err instanceof Error ? err.stack : undefined);
      }
    }
    return result;
  }

  /** The non-transactional manager, for reads. */
  get reader(): EntityManager {
    return this.dataSource.manager;
  }
}

/**
 * Runs independent reads together when `em` draws a connection per query
 * (the pool), one after the other when it is bound to a single connection (a
 * transaction's or a query runner's): a pg client runs one query at a time,
 * and queueing several on it at once is deprecated.
 */
export async function readTogether<T extends readonly unknown[]>(em: EntityManager, reads: { [K in keyof T]: () => Promise<T[K]> }): Promise<T> {
  if (em.queryRunner === undefined) return (await Promise.all(reads.map((read) => read()))) as unknown as T;
  const out: unknown[] = [];
  for (const read of reads) out.push(await read());
  return out as unknown as T;
}
