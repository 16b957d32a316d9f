/**
 * One executor process for the recovery specs: boots the app on
 * DATABASE_URL (Stripe adapter on STRIPE_API_BASE when STRIPE_SECRET_KEY is
 * set, else the sandbox), runs the payout executor once and prints its result
 * as one JSON line. With PAYOUT_CRASH_AT the process kills itself (SIGKILL) at
 * that recovery point. Run with `ts-node --transpile-only`.
 */
import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/platform/config/app-config';
import { PayoutExecutionService } from '../../src/payouts/payout-execution.service';

async function main(): Promise<void> {
  const config = loadConfig(process.env, { nodeEnv: 'test', logLevel: process.env.LOG_LEVEL ?? 'silent', jobsEnabled: false, dataDir: mkdtempSync(join(tmpdir(), 'beiming-exec-')) });
  const app = await createApp(config, { bufferLogs: false });
  await app.init();
  process.stdout.write('READY\n');
  const result = await app.get(PayoutExecutionService).run();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await app.close();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
