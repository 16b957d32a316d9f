/**
 * `npm start`: configuration → database (embedded PostgreSQL under .data/ when
 * DATABASE_URL is unset) → migrations → serve. SIGINT/SIGTERM close the app
 * and stop the embedded PostgreSQL cleanly.
 */
import 'reflect-metadata';
import pino from 'pino';
import { createApp } from './app.factory';
import { AppConfig, ConfigError, loadConfig } from './platform/config/app-config';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from './platform/database/embedded-postgres';
import { DATABASE_SCHEMA } from './database-schema';
import { runMigrations } from './platform/database/migrate';
import { pinoOptions } from './platform/logging/logger-options';

async function main(): Promise<void> {
  const started = Date.now();
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = pino({ ...pinoOptions(config), name: 'beiming' });
  let embedded: EmbeddedPostgresHandle | null = null;

  let stopping = false;
  const stop = async (signal: string, app?: { close(): Promise<void> }) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    try {
      await app?.close();
    } finally {
      await embedded?.stop();
      log.info('stopped');
      // pretty logs go through a worker thread: let it write the last lines
      await new Promise<void>((resolve) => log.flush(() => resolve()));
      process.exit(0);
    }
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  if (!config.databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPostgresPort, {
      info: (m) => log.info(m),
      warn: (m) => log.warn(m),
    });
    config.databaseUrl = embedded.url;
    log.info({ port: config.embeddedPostgresPort, dataDir: config.dataDir }, 'embedded PostgreSQL started');
  }
  log.info({ config: config.describe() }, 'configuration');

  try {
    const applied = await runMigrations(config.databaseUrl, DATABASE_SCHEMA);
    log.info({ applied }, applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date');
    const app = await createApp(config);
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    process.once('SIGINT', () => void stop('SIGINT', app));
    process.once('SIGTERM', () => void stop('SIGTERM', app));
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // Do not leave the embedded PostgreSQL running behind a failed start (port in use, bad migration, …).
    await embedded?.stop();
    throw err;
  }

  const base = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
  const lines = [
    `Beiming is serving (${Date.now() - started} ms, ${embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'})`,
    `  GraphQL   POST ${base}/graphql`,
    `  Console   ${base}/console`,
    ...(config.isProduction ? [] : [`  GraphiQL  ${base}/graphiql`]),
    `  Health    ${base}/health`,
    ...(config.metricsEnabled ? [`  Metrics   ${base}/metrics`] : []),
  ];
  console.log(lines.join('\n'));
}

main().catch((err) => {
  console.error('Beiming failed to start:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
