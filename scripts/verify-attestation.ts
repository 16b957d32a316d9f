/**
 * `npm run verify-attestation -- <attestation.json> <keys.json>`: verifies an
 * attestation offline (no network, no database) against a saved copy of
 * GET /.well-known/beiming-keys.json.
 *
 * Prints `VALID …summary…` and exits 0, or `INVALID: <reason>` and exits 1;
 * a usage error (wrong arguments, unreadable file) exits 2.
 */
import { readFileSync } from 'node:fs';
import { summarizeStatement, verifyAttestation } from '../src/provenance/attestation/verify-attestation';

const USAGE = 'usage: npm run verify-attestation -- <attestation.json> <keys.json>\n' +
  '  attestation.json  the attestation document {payload, signature, keyId, statement}\n' +
  '  keys.json         the key set, saved from GET /.well-known/beiming-keys.json';

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    process.stderr.write(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n${USAGE}\n`);
    process.exit(2);
  }
}

function main(argv: string[]): number {
  if (argv.length === 1 && (argv[0] === '-h' || argv[0] === '--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (argv.length !== 2) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const attestation = read(argv[0], 'the attestation');
  const keys = read(argv[1], 'the key set');
  const result = verifyAttestation(attestation, keys);
  if (result.valid && result.statement) {
    process.stdout.write(`VALID ${summarizeStatement(result.statement)}\n`);
    return 0;
  }
  process.stdout.write(`INVALID: ${result.reason ?? 'unknown reason'}\n`);
  return 1;
}

process.exitCode = main(process.argv.slice(2));
