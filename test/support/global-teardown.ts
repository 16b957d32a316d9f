import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { withDatabase } from './pg-url';

export default async function globalTeardown(): Promise<void> {
  const url = process.env.TEST_DATABASE_URL;
  const template = process.env.BEIMING_TEST_TEMPLATE;
  if (url && template) {
    const admin = new Client({ connectionString: withDatabase(url, 'postgres') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
  const embedded = (globalThis as Record<string, unknown>).__BEIMING_EMBEDDED__ as
    | { pg: { stop(): Promise<void> }; dir: string }
    | undefined;
  if (embedded) {
    await embedded.pg.stop();
    rmSync(embedded.dir, { recursive: true, force: true });
  }
}
