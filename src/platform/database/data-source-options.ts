import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from '../../entities';
import { MIGRATIONS } from '../../../migrations';

/** One definition of the TypeORM connection, shared by the app, the CLI and tests. */
export function dataSourceOptions(url: string, extra: Partial<DataSourceOptions> = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    logging: false,
    // Buckets, periods and cursors are UTC whatever the server's default time zone.
    extra: { max: 10, application_name: 'beiming', options: '-c TimeZone=UTC' },
    ...extra,
  } as DataSourceOptions;
}
