/**
 * `npm run demo`: the whole marketplace story in one command, through the
 * public API of a running service (GraphQL, the gateway, REST), in sandbox
 * payments mode. It uses the service answering at the configured HOST:PORT,
 * or starts one (as `npm start` would) and leaves it running for the console.
 * See scripts/demo/service.ts for how the service and its two platform admins
 * are found or made, and scripts/demo/story.ts for the steps and how a second
 * run reuses what the first made (it never adds money twice).
 *
 * Settings: the app's own (PORT, HOST, DATA_DIR, DATABASE_URL,
 * EMBEDDED_PG_PORT, ADMIN_EMAIL, ADMIN_PASSWORD), plus DEMO_PASSWORD for the
 * demo's users (default beiming-demo-passphrase).
 */
import { loadConfig } from '../src/platform/config/app-config';
import { DEMO_MODEL, startDemoUpstream } from '../tools/demo-upstream/demo-upstream';
import { Api, DemoError, Session } from './demo/api';
import { ensureAdminsThroughBoot, ensureService } from './demo/service';
import { DEMO_ADMINS, DEMO_PASSWORD_DEFAULT, logInOrSignUp, PEOPLE, runStory } from './demo/story';

const TOTAL_STEPS = 17;

async function main(): Promise<void> {
  const config = loadConfig();
  const password = process.env.DEMO_PASSWORD || DEMO_PASSWORD_DEFAULT;
  if (config.stripeSecretKey) {
    throw new DemoError('STRIPE_SECRET_KEY is set: the demo moves the sandbox test clock and pays with sandbox test cards, so it only runs in sandbox payments mode (unset it)');
  }
  if (password.length < 12) throw new DemoError('DEMO_PASSWORD must be at least 12 characters');
  let n = 0;
  const step = (title: string) => {
    n++;
    const label = `[${n}/${TOTAL_STEPS}] ${title}`;
    process.stdout.write(`${label} … `);
    const started = Date.now();
    return {
      done(detail: string) {
        const secs = (Date.now() - started) / 1000;
        process.stdout.write(`${detail} ✓${secs >= 1 ? ` (${secs.toFixed(1)} s)` : ''}\n`);
      },
    };
  };
  const note = (line: string) => process.stdout.write(`\n      ${line}\n      `);

  // Which admins: see scripts/demo/service.ts (configured ones from the environment, else the demo's own two).
  const configured = config.adminEmails;
  const adminPassword = configured.length > 0 ? (config.adminPassword ?? '') : password;
  if (configured.length > 0 && !adminPassword) throw new DemoError('ADMIN_EMAIL is set without ADMIN_PASSWORD: the demo needs the admins\' password to log them in');

  let s = step('the service');
  const service = await ensureService(
    { port: config.port, host: config.host, dataDir: config.dataDir, databaseUrl: config.databaseUrl, embeddedPostgresPort: config.embeddedPostgresPort, stripeSecretKey: config.stripeSecretKey },
    configured.length > 0 ? null : { emails: DEMO_ADMINS, password },
    note,
  );
  s.done(service.startedByDemo ? `started ${service.base} (pid ${service.pid}, logs in ${service.logFile})` : `using the one running at ${service.base}`);
  const api = new Api(service.base);

  s = step('two platform admins (four eyes)');
  let how: string;
  let admins: Session[];
  if (configured.length > 0) {
    const first = await logInAdmin(api, configured[0], adminPassword);
    let second: Session;
    if (configured.length > 1) {
      second = await logInAdmin(api, configured[1], adminPassword);
      how = 'ADMIN_EMAIL\'s first two admins';
    } else {
      // One configured admin: it grants the role to the demo's second admin, through the API.
      const candidate = await logInOrSignUp(api, { role: 'admin', email: DEMO_ADMINS[1], organizationName: 'Beiming Operations', country: 'US' }, password);
      if (!candidate.isAdmin) await api.gql('grantPlatformAdmin', `mutation($e: String!) { grantPlatformAdmin(email: $e) { isAdmin } }`, { e: DEMO_ADMINS[1] }, first.token);
      second = await logInAdmin(api, DEMO_ADMINS[1], password);
      how = `${configured[0]} (ADMIN_EMAIL) and ${DEMO_ADMINS[1]}, granted by it`;
    }
    admins = [first, second];
  } else {
    const tryBoth = async () => Promise.all(DEMO_ADMINS.map((e) => tryLogIn(api, e, password)));
    let found = await tryBoth();
    how = service.startedByDemo ? 'the demo admins, ensured at boot (ADMIN_EMAIL of the service it started)' : 'the demo admins';
    if (found.some((a) => !a?.isAdmin)) {
      // A service started without admins: the boot's own bootstrap, on the app's database.
      await ensureAdminsThroughBoot(
        { port: config.port, host: config.host, dataDir: config.dataDir, databaseUrl: config.databaseUrl, embeddedPostgresPort: config.embeddedPostgresPort },
        DEMO_ADMINS,
        password,
      );
      found = await tryBoth();
      how = 'the demo admins, ensured through the boot\'s admin bootstrap on the app\'s database';
    }
    if (found.some((a) => !a?.isAdmin)) {
      throw new DemoError(`the demo admins (${DEMO_ADMINS.join(', ')}) could not log in as platform admins; if they exist with another password, set DEMO_PASSWORD`);
    }
    admins = found as Session[];
  }
  if (admins[0].userId === admins[1].userId) throw new DemoError('four eyes need two different admins');
  const clock = (await api.gql('sandboxClock', `query { sandboxClock { advanceable } }`, {}, admins[0].token)).sandboxClock;
  if (!clock.advanceable) {
    throw new DemoError('this service runs with a real payment processor (STRIPE_SECRET_KEY is set): the demo moves the sandbox test clock and pays with test cards, so it only runs in sandbox mode');
  }
  s.done(how);

  const result = await runStory({
    api,
    password,
    admins: { creator: admins[0], approver: admins[1], password: adminPassword },
    step,
    startUpstream: async () => {
      // The demo upstream in-process, on 8787 (`npm run upstream:demo`'s port) when free, so the gateway keeps working with it later.
      try {
        return await startDemoUpstream({ port: 8787, record: false });
      } catch {
        return startDemoUpstream({ port: 0, record: false });
      }
    },
  });

  const adminEmails = admins.map((a) => a.email);
  const lines = [
    '',
    result.alreadyComplete ? `The story of ${result.month} was already complete: nothing was added (no money moved twice).` : `The story of ${result.month} is complete.`,
    ...result.summary.map((l) => `  ${l}`),
    '',
    `Console: ${service.base}/console   (GraphiQL: ${service.base}/graphiql)`,
    'Log in as:',
    `  admin (created the payout batch)   ${adminEmails[0]}   ${configured.length > 0 ? '<ADMIN_PASSWORD>' : password}`,
    `  admin (approved it)                ${adminEmails[1]}   ${configured.length > 1 ? '<ADMIN_PASSWORD>' : password}`,
    ...Object.values(PEOPLE).map((p) => `  ${p.role.padEnd(33)}  ${p.email}   ${password}`),
    'What to look at:',
    `  base vendor        earnings by source (royalties from the student, pool), the payout SENT, statements for ${result.month}`,
    '  student vendor     models and offers, usage per agreement, earnings net of the royalty it passes on, payouts',
    '  per-licence        invoices (upfront and the month, the refund on it), agreements, API keys, usage',
    '  pool distiller     pool subscription, its invoices, usage under its pool agreements',
    `  admins             payout batches${result.batchId ? ` (/console/admin/payouts/${result.batchId})` : ''}, reconciliation of ${result.reconciledDays} days, audit log`,
    service.startedByDemo
      ? `The service keeps running (pid ${service.pid}, logs ${service.logFile}); stop it with: kill ${service.pid}`
      : 'The service was already running and keeps running.',
    `Gateway calls need the demo upstream again (\`npm run upstream:demo\`, model ${DEMO_MODEL}).`,
  ];
  console.log(lines.join('\n'));
}

async function tryLogIn(api: Api, email: string, password: string): Promise<Session | null> {
  try {
    const s = await logInOrSignUp(api, { role: 'admin', email, organizationName: null, country: null }, password);
    return s;
  } catch {
    return null;
  }
}

async function logInAdmin(api: Api, email: string, password: string): Promise<Session> {
  const s = await logInOrSignUp(api, { role: 'admin', email, organizationName: null, country: null }, password);
  if (!s.isAdmin) throw new DemoError(`${email} logged in but is not a platform admin`);
  return s;
}

main().catch((err) => {
  process.stdout.write('\n');
  if (err instanceof DemoError) console.error(`demo failed: ${err.message}`);
  else console.error('demo failed:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
