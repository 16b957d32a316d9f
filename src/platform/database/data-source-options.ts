import type { DataSourceOptions } from 'typeorm';

/**
 * What the connection maps: the feature modules' entities and the migrations.
 * Platform knows no feature module, so the composition root
 * (src/database-schema.ts) hands this in.
 */
export interface DatabaseSchema {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: Function[];
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: Function[];
}

export interface PoolOptions {
  /** PostgreSQL cancels any statement of the pool's sessions running longer (ms); 0 = no limit. */
  statementTimeoutMs?: number;
}

/** One definition of the TypeORM connection, shared by the app, the CLI and tests. */
export function dataSourceOptions(url: string, schema: DatabaseSchema, extra: Partial<DataSourceOptions> = {}, pool: PoolOptions = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: schema.entities,
    migrations: schema.migrations,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    logging: false,
    // Buckets, periods and cursors are UTC whatever the server's default time zone.
    extra: { max: 10, application_name: 'beiming', options: '-c TimeZone=UTC', ...(pool.statementTimeoutMs ? { statement_timeout: pool.statementTimeoutMs } : {}) },
    ...extra,
  } as DataSourceOptions;
}
