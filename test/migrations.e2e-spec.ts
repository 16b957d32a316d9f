/**
 * Migrations are the only way the schema changes: after applying them, the
 * entities' tables and columns must exist exactly (TypeORM's schema diff may
 * only propose dropping constraints/indexes that migrations add beyond what
 * entity decorators can express — FKs, CHECKs, expression indexes). Also every
 * migration reverts cleanly.
 */
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/platform/database/data-source-options';
import { MIGRATIONS } from '../migrations';
import { DATABASE_SCHEMA } from '../src/database-schema';
import { createTestDataSource } from './support/database';

describe('migrations', () => {
  let ctx: Awaited<ReturnType<typeof createTestDataSource>>;
  beforeAll(async () => {
    ctx = await createTestDataSource();
  });
  afterAll(() => ctx.close());

  it('leave no entity table or column unmigrated', async () => {
    const log = await ctx.ds.driver.createSchemaBuilder().log();
    const structural = log.upQueries
      .map((q) => q.query)
      .filter((q) => !/^ALTER TABLE "\w+" DROP CONSTRAINT "\w+"$/.test(q) && !/^DROP INDEX "public"\."\w+"$/.test(q));
    expect(structural).toEqual([]);
  });

  it('are all registered and applied in order', async () => {
    const rows = (await ctx.ds.query('SELECT name FROM typeorm_migrations ORDER BY id')) as { name: string }[];
    expect(rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => new (m as new () => { name: string })().name));
  });

  it('revert down to an empty schema and apply again', async () => {
    const ds = new DataSource(dataSourceOptions(ctx.db.url, DATABASE_SCHEMA));
    await ds.initialize();
    try {
      for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
      const tables = (await ds.query(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'typeorm_migrations'`,
      )) as unknown[];
      expect(tables).toEqual([]);
      const applied = await ds.runMigrations({ transaction: 'each' });
      expect(applied).toHaveLength(MIGRATIONS.length);
    } finally {
      await ds.destroy();
    }
  });
});
