import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DATABASE_SCHEMA } from '../../src/database-schema';
import { dataSourceOptions } from '../../src/platform/database/data-source-options';
import { withDatabase } from './pg-url';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run tests through jest (test/support/global-setup.ts)`);
  return v;
}

/** A fresh database cloned from the migrated template; drop it in afterAll. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = env('TEST_DATABASE_URL');
  const template = env('BEIMING_TEST_TEMPLATE');
  const name = `beiming_t_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: withDatabase(server, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(server, name),
    async drop() {
      const c = new Client({ connectionString: withDatabase(server, 'postgres') });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A DataSource on a fresh test database, for integration specs of services. */
export async function createTestDataSource(): Promise<{ ds: DataSource; db: TestDatabase; close(): Promise<void> }> {
  const db = await createTestDatabase();
  const ds = new DataSource(dataSourceOptions(db.url, DATABASE_SCHEMA));
  await ds.initialize();
  return {
    ds,
    db,
    async close() {
      await ds.destroy();
      await db.drop();
    },
  };
}
