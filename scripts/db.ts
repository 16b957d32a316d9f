/**
 * `npm run migration:generate -- migrations/<Name>` | `migration:run` | `migration:revert`:
 * the TypeORM CLI against DATABASE_URL, or against the embedded PostgreSQL
 * under .data/ when none is configured (started for the command, then stopped).
 */
import { spawnSync } from 'node:child_process';
import { loadConfig } from '../src/platform/config/app-config';
import { startEmbeddedPostgres } from '../src/platform/database/embedded-postgres';

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (!['migration:generate', 'migration:run', 'migration:revert', 'migration:show'].includes(command ?? '')) {
    console.error('usage: db.ts migration:generate|migration:run|migration:revert|migration:show [args]');
    process.exit(2);
  }
  const config = loadConfig();
  const embedded = config.databaseUrl
    ? null
    : await startEmbeddedPostgres(config.dataDir, config.embeddedPostgresPort, { info: console.log, warn: console.warn });
  try {
    const result = spawnSync(
      process.execPath,
      [require.resolve('typeorm/cli-ts-node-commonjs.js'), command, '-d', 'scripts/data-source.ts', ...rest],
      {
        stdio: 'inherit',
        env: { ...process.env, DATABASE_URL: config.databaseUrl ?? embedded!.url, TS_NODE_TRANSPILE_ONLY: 'true' },
      },
    );
    process.exitCode = result.status ?? 1;
  } finally {
    await embedded?.stop();
  }
}

void main();
