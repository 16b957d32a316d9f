/**
 * Secrets generated for local use when the operator has not configured one
 * (never in production): created once with a CSPRNG, kept in
 * `<dataDir>/local-secrets.json` (mode 0600) so tokens survive restarts.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function loadOrCreateLocalSecret(dataDir: string, name: string, bytes = 48): string {
  const dir = resolve(dataDir);
  const file = join(dir, 'local-secrets.json');
  mkdirSync(dir, { recursive: true });
  const secrets: Record<string, string> = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>)
    : {};
  if (!secrets[name]) {
    secrets[name] = randomBytes(bytes).toString('base64url');
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    renameSync(tmp, file);
  }
  chmodSync(file, 0o600);
  return secrets[name];
}
