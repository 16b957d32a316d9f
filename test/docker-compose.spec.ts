/**
 * The documented Docker start must boot: every variable a production start
 * requires (derived from the validated configuration, not listed here) is
 * provided by docker-compose.yml's app service or by the README's Docker
 * command, and the values the README's generator commands produce pass the
 * configuration's own validation (and make a usable Ed25519 signing key).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig, requiredInProduction } from '../src/platform/config/app-config';
import { attestationKeyFromSeed } from '../src/provenance/attestation/attestation-keys.service';
import { readmeSection } from './support/readme';

const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const COMPOSE_TEXT = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const COMPOSE = parse(COMPOSE_TEXT) as { services: Record<string, { environment?: Record<string, string> }> };

/** `NAME=$(command)` assignments of a shell command line (continuations joined). */
function assignments(command: string): Map<string, string> {
  const joined = command.replace(/\\\n\s*/g, ' ');
  return new Map([...joined.matchAll(/\b([A-Z][A-Z0-9_]*)=\$\(([^)]*)\)/g)].map((m) => [m[1], m[2].trim()]));
}

function readmeDockerCommand(): string {
  const section = readmeSection(README, 'Docker');
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.includes('docker compose up'));
  expect(blocks).toHaveLength(1);
  return blocks[0];
}

/** The comment block at the top of docker-compose.yml, without the `#`. */
const composeComment = (): string =>
  COMPOSE_TEXT.split('\n')
    .filter((l) => l.startsWith('#'))
    .map((l) => l.replace(/^#\s?/, ''))
    .join('\n');

describe('docker-compose.yml and the README Docker command', () => {
  const required = requiredInProduction();
  const env = COMPOSE.services.app.environment ?? {};
  const documented = assignments(readmeDockerCommand());

  it('derives the required list from the configuration', () => {
    expect(required).toEqual(expect.arrayContaining(['JWT_SECRET', 'SECRETS_KEY', 'ATTESTATION_SIGNING_KEY']));
    for (const name of required) {
      expect(() => loadConfig({ NODE_ENV: 'production', ...Object.fromEntries(required.filter((n) => n !== name).map((n) => [n, 'x'])) })).toThrow(
        new RegExp(`${name} is required when NODE_ENV=production`),
      );
    }
  });

  it('runs the app in production', () => {
    expect(env.NODE_ENV).toBe('production');
  });

  it.each(requiredInProduction())('provides %s to the app, from a literal or from the documented command', (name) => {
    expect(Object.keys(env)).toContain(name);
    const value = String(env[name]);
    const interpolated = /^\$\{([A-Z][A-Z0-9_]*)(:?[?-][^}]*)?\}$/.exec(value);
    if (interpolated) {
      expect({ name, setByReadme: documented.has(interpolated[1]) }).toEqual({ name, setByReadme: true });
    } else {
      expect(value.length).toBeGreaterThan(0);
    }
  });

  it('shows the same command in the comment at the top of docker-compose.yml', () => {
    const inComment = assignments(composeComment());
    expect(Object.fromEntries(inComment)).toEqual(Object.fromEntries(documented));
    expect(composeComment()).toContain('docker compose up --build');
  });

  it('has generator commands whose output the production configuration accepts', () => {
    const values: Record<string, string> = {};
    for (const [name, command] of documented) {
      values[name] = execFileSync('bash', ['-c', command], { encoding: 'utf8' }).trim();
    }
    const fixed = Object.fromEntries(Object.entries(env).filter(([, v]) => !String(v).includes('${')));
    const config = loadConfig({ ...fixed, ...values, DATA_DIR: mkdtempSync(join(tmpdir(), 'beiming-compose-')) });
    expect(config.isProduction).toBe(true);
    // The configuration's pattern is loose about the alphabet; the key must also decode to a 32-byte seed.
    expect(attestationKeyFromSeed(config.attestationSigningKey).publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(config.secretsKey, 'base64')).toHaveLength(32);
  });
});
