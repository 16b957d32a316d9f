/**
 * Once per `npm test`: a PostgreSQL server (TEST_DATABASE_URL, or an embedded
 * PostgreSQL 18 in a temporary directory) and a template database with every
 * migration applied. Each test file clones the template (CREATE DATABASE …
 * TEMPLATE), so files never share data and no file pays for migrations.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ensureConsoleBundle } from '../../scripts/build-console';
import { ensureGraphiqlBundle } from '../../scripts/build-graphiql';
import { startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres';
import { DATABASE_SCHEMA } from '../../src/database-schema';
import { runMigrations } from '../../src/platform/database/migrate';
import { withDatabase } from './pg-url';

export default async function globalSetup(): Promise<void> {
  // The GraphiQL page's assets are built by `npm run build`; a fresh clone that only ran `npm ci` has none yet.
  if (await ensureGraphiqlBundle()) console.log('\n[test] built the GraphiQL bundle (dist/graphiql)');
  if (await ensureConsoleBundle()) console.log('\n[test] built the console (dist/console)');
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const dir = mkdtempSync(join(tmpdir(), 'beiming-test-'));
    const port = 55000 + (process.pid % 5000);
    const pg = await startEmbeddedPostgres(dir, port, { info: () => undefined, warn: (m) => console.warn(m) });
    (globalThis as Record<string, unknown>).__BEIMING_EMBEDDED__ = { pg, dir };
    serverUrl = pg.url;
    process.env.TEST_DATABASE_URL = serverUrl;
    process.env.BEIMING_TEST_SERVER = 'embedded PostgreSQL 18';
  }
  const template = `beiming_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${template}`);
    const version = (await admin.query('SHOW server_version')).rows[0].server_version as string;
    process.env.BEIMING_TEST_SERVER ??= `PostgreSQL ${version}`;
  } finally {
    await admin.end();
  }
  await runMigrations(withDatabase(serverUrl, template), DATABASE_SCHEMA);
  process.env.BEIMING_TEST_TEMPLATE = template;
  console.log(`\n[test] ${process.env.BEIMING_TEST_SERVER}; template database ${template}`);
}
