/**
 * `npm run verify-statement -- <statement.json> <keys.json> [<event.json> <proof.json>]`:
 * verifies a signed earnings or usage statement offline (no network, no
 * database) against a saved copy of GET /.well-known/beiming-keys.json; with
 * an event and its inclusion proof, also checks that the event is one of the
 * usage events the statement's Merkle root for its agreement covers.
 *
 * Prints `VALID …` and exits 0, or `INVALID: <reason>` and exits 1; a usage
 * error (wrong arguments, unreadable file) exits 2.
 */
import { readFileSync } from 'node:fs';
import { verifyStatement, verifyUsageInclusion } from '../src/earnings/statements/verify-statement';

const USAGE = 'usage: npm run verify-statement -- <statement.json> <keys.json> [<event.json> <proof.json>]\n' +
  '  statement.json  the signed statement {payload, signature, keyId, statement} (GET /v1/statements/…/<period>.json)\n' +
  '  keys.json       the key set, saved from GET /.well-known/beiming-keys.json\n' +
  '  event.json      a usage event {agreementId, eventId, occurredAt, inputTokens, outputTokens, source} (or a proof holding it as `leaf`)\n' +
  '  proof.json      its inclusion proof {leafIndex, treeSize, auditPath} (usageInclusionProof)';

function read(path: string, what: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    process.stderr.write(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n${USAGE}\n`);
    return null;
  }
}

function main(argv: string[]): number {
  if (argv.length === 1 && (argv[0] === '-h' || argv[0] === '--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (argv.length !== 2 && argv.length !== 4) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const files = argv.map((p, i) => read(p, ['the statement', 'the key set', 'the event', 'the proof'][i]));
  if (files.some((f) => f === null)) return 2;
  const result = verifyStatement(files[0], files[1]);
  if (!result.valid || !result.statement) {
    process.stdout.write(`INVALID: ${result.reason ?? 'unknown reason'}\n`);
    return 1;
  }
  const s = result.statement;
  const summary = `${s.type} · organization ${s.organizationId} · period ${s.period}${'currency' in s ? ` · ${s.currency}` : ''} · issued ${s.issuedAt} · key ${s.keyId}`;
  if (argv.length === 4) {
    const inclusion = verifyUsageInclusion(s, files[2], files[3]);
    if (!inclusion.valid) {
      process.stdout.write(`INVALID: ${inclusion.reason ?? 'unknown reason'}\n`);
      return 1;
    }
    process.stdout.write(`VALID ${summary} · event included in the agreement's Merkle root\n`);
    return 0;
  }
  process.stdout.write(`VALID ${summary}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
