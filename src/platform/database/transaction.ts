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
