/**
 * `npm run schema:print`: regenerates schema.gql (committed) by booting the app
 * in development mode, which writes the code-first schema, then stopping.
 * Uses DATABASE_URL or the embedded PostgreSQL under .data/.
 */
import 'reflect-metadata';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/platform/config/app-config';
import { startEmbeddedPostgres } from '../src/platform/database/embedded-postgres';
import { DATABASE_SCHEMA } from '../src/database-schema';
import { runMigrations } from '../src/platform/database/migrate';
import { SCHEMA_FILE } from '../src/platform/graphql/graphql.module';

async function main(): Promise<void> {
  const config = loadConfig(process.env, { nodeEnv: 'development', logLevel: 'silent', adminEmail: undefined, adminPassword: undefined });
  const embedded = config.databaseUrl
    ? null
    : await startEmbeddedPostgres(config.dataDir, config.embeddedPostgresPort, { info: () => undefined, warn: console.warn });
  try {
    config.databaseUrl ??= embedded!.url;
    await runMigrations(config.databaseUrl, DATABASE_SCHEMA);
    const app = await createApp(config);
    await app.init();
    await app.close();
    console.log(`wrote ${SCHEMA_FILE}`);
  } finally {
    await embedded?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
