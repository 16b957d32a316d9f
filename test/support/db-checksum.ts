/**
 * A checksum of the whole application database (every table of the app's
 * schemas, read from the catalog), for tests that claim "nothing was written".
 */
import type { TestApp } from './app';

/**
 * Schemas left out, each for a reason:
 * - PostgreSQL's own catalogs (pg_catalog, information_schema, pg_toast) are
 *   not the application's data;
 * - `pgboss` belongs to the job queue, which keeps its own bookkeeping
 *   (maintenance and monitoring timestamps) on its own clock; what a job
 *   changes lands in the app's tables, which are all covered.
 * No table of the app's own schemas is left out: refused requests write
 * nothing at all (no audit row either).
 */
const NOT_APP_DATA = ['pg_catalog', 'information_schema', 'pg_toast', 'pgboss'];

/**
 * Every table of the application's schemas, read from the catalog so a new
 * table is covered without touching a list: ordinary and partitioned tables
 * (a partitioned table's rows include its partitions', which are not listed
 * twice), in every schema but NOT_APP_DATA and temporary ones.
 */
export async function appTables(t: Pick<TestApp, 'dataSource'>): Promise<string[]> {
  const rows: { name: string }[] = await t.dataSource.query(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname <> ALL ($1) AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
      ORDER BY 1`,
    [NOT_APP_DATA],
  );
  return rows.map((r) => r.name);
}

/**
 * Row count and a hash of the rows of each table. `ignore` leaves out a column
 * that legitimately changes on a read, in the rows (`x`) where `where` holds,
 * e.g. an API key's last_used_at:
 * `{ 'public.api_keys': { column: 'last_used_at', where: 'x.id = $1' } }` with
 * the key's id in `params`.
 */
export async function databaseChecksum(
  t: Pick<TestApp, 'dataSource'>,
  tables: string[],
  ignore: Record<string, { column: string; where: string }> = {},
  params: unknown[] = [],
): Promise<Record<string, string>> {
  const table = (name: string, i: number) => {
    const skip = ignore[name];
    const row = skip ? `(to_jsonb(x) - CASE WHEN ${skip.where} THEN '${skip.column}' ELSE '' END)` : 'to_jsonb(x)';
    return `(SELECT count(*) || ':' || coalesce(md5(string_agg(${row}::text, '|' ORDER BY ${row}::text)), '') FROM ${name} x) AS t${i}`;
  };
  const [row] = await t.dataSource.query(`SELECT ${tables.map(table).join(', ')}`, params);
  return Object.fromEntries(tables.map((name, i) => [name, row[`t${i}`] as string]));
}
