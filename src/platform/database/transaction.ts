import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export type Tx = EntityManager;

/**
 * One explicit transaction per mutation / job. Services that write take the
 * `Tx` as a parameter, so code cannot silently run outside it.
 */
@Injectable()
export class Database {
  constructor(readonly dataSource: DataSource) {}

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction('READ COMMITTED', work);
  }

  /** The non-transactional manager, for reads. */
  get reader(): EntityManager {
    return this.dataSource.manager;
  }
}
