/**
 * Attestation keys end to end: the JWKS at /.well-known/beiming-keys.json is
 * public and cacheable; a restart with a new ATTESTATION_SIGNING_KEY on the
 * same database publishes both keys, so attestations signed before the
 * rotation still verify; `npm run verify-attestation` checks a document
 * offline with the documented exit codes.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from '../src/app.factory';
import { AppConfig, loadConfig } from '../src/platform/config/app-config';
import { Database } from '../src/platform/database/transaction';
import { AttestationKeysService, attestationKeyFromSeed } from '../src/provenance/attestation/attestation-keys.service';
import { AttestationSigner } from '../src/provenance/attestation/attestation-signer';
import type { AttestationContent, AttestationDocument } from '../src/provenance/attestation/attestation.statement';
import { verifyAttestation } from '../src/provenance/attestation/verify-attestation';
import type { Lineage } from '../src/provenance/lineage/lineage.types';
import { DistillationMethod, LineageRelation } from '../src/provenance/provenance.entity';
import { startTestApp, TestApp } from './support/app';

const URL = '/.well-known/beiming-keys.json';
const seed = () => randomBytes(32).toString('base64url');
const SEED_A = seed();
const SEED_B = seed();
const KEY_A = attestationKeyFromSeed(SEED_A);
const KEY_B = attestationKeyFromSeed(SEED_B);

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function content(name: string): AttestationContent {
  const lineage = {
    root: { modelId: uuid(3), name, slug: 'llama-student', organizationId: uuid(90), weightsDigest: `sha256:${'1e'.repeat(32)}`, commercialUse: true },
    ancestors: [],
    edges: [
      { childModelId: uuid(3), parentModelId: uuid(2), agreementId: uuid(20), relation: LineageRelation.DISTILLED, method: DistillationMethod.LOGITS, dataShareBps: null, termsHash: 'a'.repeat(64), terms: {} },
      { childModelId: uuid(2), parentModelId: uuid(1), agreementId: uuid(21), relation: LineageRelation.DISTILLED, method: DistillationMethod.SEQUENCES, dataShareBps: null, termsHash: 'b'.repeat(64), terms: {} },
    ],
    distillationGeneration: 2,
    depth: 2,
  } as unknown as Lineage;
  return {
    lineage,
    royaltyStack: {
      entries: [
        { modelId: uuid(2), organizationId: uuid(91), policy: 'LAP', shareBps: 1000, depth: 1, agreementId: uuid(20) },
        { modelId: uuid(1), organizationId: uuid(92), policy: 'LAP', shareBps: 500, depth: 2, agreementId: uuid(21) },
      ],
      totalBps: 1500,
    },
    certification: null,
  };
}

/** A second process of the app on the same database (what a restart with new settings is). */
async function bootOnSameDatabase(t: TestApp, overrides: Partial<Record<keyof AppConfig, unknown>>): Promise<{ app: NestFastifyApplication; get(url: string, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: any }> }> {
  const config = loadConfig(
    {},
    {
      nodeEnv: 'test',
      databaseUrl: t.db.url,
      jwtSecret: t.config.jwtSecret,
      secretsKey: t.config.secretsKey,
      logLevel: 'silent',
      graphqlQueryCache: 0,
      publicCacheTtlMs: 0,
      jobsEnabled: false,
      dataDir: t.config.dataDir,
      ...overrides,
    },
  );
  const app = await createApp(config, { bufferLogs: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    async get(url, headers = {}) {
      const res = await app.getHttpAdapter().getInstance().inject({ method: 'GET', url, headers });
      return { status: res.statusCode, headers: res.headers, body: JSON.parse(res.body) };
    },
  };
}

async function keyRows(ds: DataSource): Promise<{ key_id: string; algorithm: string; public_key: string; retired: boolean }[]> {
  return ds.query(`SELECT key_id, algorithm, public_key, retired_at IS NOT NULL AS retired FROM attestation_keys ORDER BY created_at, key_id`);
}

describe('attestation keys (e2e)', () => {
  let t: TestApp;
  let jwksA: any;
  let docA: AttestationDocument;

  beforeAll(async () => {
    t = await startTestApp({ attestationSigningKey: SEED_A });
  });
  afterAll(async () => {
    await t.app.close().catch(() => undefined);
    await t.db.drop();
  });

  it('publishes the current key at /.well-known/beiming-keys.json, anonymously, cacheable', async () => {
    const r = await t.request({ method: 'GET', url: URL });
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('public, max-age=300');
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.body).toEqual({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: KEY_A.publicKey, kid: KEY_A.keyId, use: 'sig', alg: 'EdDSA' }] });
    expect(KEY_A.keyId).toMatch(/^bm-[0-9a-f]{16}$/);
    jwksA = r.body;
    expect(await keyRows(t.dataSource)).toEqual([{ key_id: KEY_A.keyId, algorithm: 'Ed25519', public_key: KEY_A.publicKey, retired: false }]);
    // read-only: nothing else answers there
    const post = await t.request({ method: 'POST', url: URL, body: {} });
    expect(post.status).toBe(404);
  });

  it('signs through the AttestationSigner with the configured key; the document verifies against the JWKS', async () => {
    const signer = t.app.get(AttestationSigner);
    expect(signer.keyId).toBe(KEY_A.keyId);
    docA = await signer.sign(content('Llama-Student'), new Date('2026-04-01T12:00:00Z'));
    expect(docA.keyId).toBe(KEY_A.keyId);
    expect(verifyAttestation(docA, jwksA)).toEqual({ valid: true, statement: docA.statement });
    // a stored attestation references a recorded key (FK model_attestations.key_id → attestation_keys)
    expect((await keyRows(t.dataSource)).map((r) => r.key_id)).toContain(docA.keyId);
  });

  describe('after a restart with a new key (rotation)', () => {
    let b: Awaited<ReturnType<typeof bootOnSameDatabase>>;
    let jwksB: any;
    let docB: AttestationDocument;

    beforeAll(async () => {
      await t.app.close();
      b = await bootOnSameDatabase(t, { attestationSigningKey: SEED_B });
    });
    afterAll(() => b.app.close());

    it('publishes both keys; the old one is marked retired', async () => {
      const r = await b.get(URL);
      expect(r.status).toBe(200);
      expect(r.headers['cache-control']).toBe('public, max-age=300');
      jwksB = r.body;
      expect(jwksB.keys.map((k: any) => k.kid).sort()).toEqual([KEY_A.keyId, KEY_B.keyId].sort());
      expect(jwksB.keys.find((k: any) => k.kid === KEY_B.keyId)).toEqual({ kty: 'OKP', crv: 'Ed25519', x: KEY_B.publicKey, kid: KEY_B.keyId, use: 'sig', alg: 'EdDSA' });
      const rows = await keyRows(b.app.get(DataSource));
      expect(rows.map((row) => [row.key_id, row.retired])).toEqual([
        [KEY_A.keyId, true],
        [KEY_B.keyId, false],
      ]);
    });

    it('still verifies the attestation signed with the old key; new ones carry the new key id', async () => {
      expect(verifyAttestation(docA, jwksB).valid).toBe(true);
      docB = await b.app.get(AttestationSigner).sign(content('Llama-Student'), new Date());
      expect(docB.keyId).toBe(KEY_B.keyId);
      expect(docB.statement.keyId).toBe(KEY_B.keyId);
      expect(verifyAttestation(docB, jwksB).valid).toBe(true);
      // a key set saved before the rotation does not know the new key
      expect(verifyAttestation(docB, jwksA)).toEqual({ valid: false, reason: `the key set has no key ${KEY_B.keyId}` });
    });

    it('records a key once however many instances boot with it at the same time', async () => {
      const ds = b.app.get(DataSource);
      const seedC = seed();
      const seedD = seed();
      const services = [seedC, seedD, seedC, seedD, seedC, seedD].map(
        (s) => new AttestationKeysService({ attestationSigningKey: s } as AppConfig, new Database(ds)),
      );
      await Promise.all(services.map((s) => s.ensureCurrentKeyStored()));
      const rows = await keyRows(ds);
      expect(rows.map((r) => r.key_id).sort()).toEqual(
        [KEY_A.keyId, KEY_B.keyId, attestationKeyFromSeed(seedC).keyId, attestationKeyFromSeed(seedD).keyId].sort(),
      );
      expect(rows.filter((r) => !r.retired)).toHaveLength(1); // whichever recorded last is current
      const jwks = await services[0].jwks();
      expect(jwks.keys).toHaveLength(4);
      expect(verifyAttestation(docA, jwks).valid && verifyAttestation(docB, jwks).valid).toBe(true);
    });

    it('verifies offline with npm run verify-attestation: exit 0 VALID, 1 INVALID, 2 usage', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'beiming-attest-'));
      try {
        const file = (name: string, value: unknown) => {
          const p = join(dir, name);
          writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
          return p;
        };
        const att = file('attestation.json', docA);
        const keys = file('keys.json', jwksB);
        const tampered = file('tampered.json', { ...docA, payload: docA.payload.replace('"shareBps":500', '"shareBps":50') });
        const oldKeys = file('old-keys.json', jwksA);
        const attB = file('attestation-b.json', docB);
        const [valid, bad, unknownKey, usage, missing] = await Promise.all([
          cli([att, keys]),
          cli([tampered, keys]),
          cli([attB, oldKeys]),
          cli([att]),
          cli([join(dir, 'nope.json'), keys]),
        ]);
        expect(valid).toEqual({
          code: 0,
          stdout: `VALID model llama-student (${uuid(3)}) · weights sha256:${'1e'.repeat(32)} · issued 2026-04-01T12:00:00.000Z · key ${KEY_A.keyId}\n`,
          stderr: '',
        });
        expect(bad.code).toBe(1);
        expect(bad.stdout).toBe(`INVALID: the signature does not match the payload under key ${KEY_A.keyId}\n`);
        expect(unknownKey).toMatchObject({ code: 1, stdout: `INVALID: the key set has no key ${KEY_B.keyId}\n` });
        expect(usage.code).toBe(2);
        expect(usage.stderr).toMatch(/usage: npm run verify-attestation -- <attestation.json> <keys.json>/);
        expect(missing.code).toBe(2);
        expect(missing.stderr).toMatch(/cannot read the attestation .*nope\.json: ENOENT/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  });
});

const ROOT = resolve(__dirname, '..');

/** The script as `npm run verify-attestation` runs it, with no database or network settings. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      join(ROOT, 'node_modules/.bin/ts-node'),
      ['--transpile-only', 'scripts/verify-attestation.ts', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 50_000 },
      (err, stdout, stderr) => done({ code: err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
