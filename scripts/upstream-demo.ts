/**
 * `npm run upstream:demo`: the deterministic OpenAI-compatible demo upstream
 * (tools/demo-upstream) on PORT (default 8787) and HOST (default
 * 127.0.0.1); DEMO_UPSTREAM_API_KEY, when set, is required as a bearer token.
 * A standalone dev tool, so it reads its three variables itself instead of
 * going through the app's configuration.
 */
import { DEMO_MODEL, startDemoUpstream } from '../tools/demo-upstream/demo-upstream';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got ${process.env.PORT}`);
  const apiKey = process.env.DEMO_UPSTREAM_API_KEY || undefined;
  // A long-running server keeps no request log (it would only grow).
  const up = await startDemoUpstream({ port, host: process.env.HOST || undefined, apiKey, record: false });
  console.log(
    `demo upstream listening: configure baseUrl=${up.url} upstreamModel=${DEMO_MODEL} apiKey=${apiKey ? '<DEMO_UPSTREAM_API_KEY>' : '<any>'}` +
      ' (directives in the last user message: #demo:status=<code> #demo:delay=<ms> #demo:chunk-delay=<ms> #demo:malformed #demo:no-usage #demo:tokens=<n> #demo:stall-after=<events> #demo:echo-auth #demo:stream-error)',
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    up.close().then(
      () => {
        console.log(`demo upstream stopped (${signal})`);
        process.exit(0);
      },
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
