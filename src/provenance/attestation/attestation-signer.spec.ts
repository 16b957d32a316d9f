/**
 * Signing and offline verification, without a database: round trip, RFC 8032
 * interoperability, and tampering — every leaf of a realistic statement, the
 * signature, the key id, the key set — must fail verification.
 */
import { randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../platform/config/app-config';
import type { Lineage } from '../lineage/lineage.types';
import { DistillationMethod, LineageRelation } from '../provenance.entity';
import { AttestationKeyPair, AttestationKeysService, attestationJwk, attestationKeyFromSeed } from './attestation-keys.service';
import { AttestationSigner, signStatement } from './attestation-signer';
import { AttestationContent, AttestationDocument, AttestationStatement, buildAttestationStatement, canonicalJson } from './attestation.statement';
import { verifyAttestation } from './verify-attestation';

const seed = () => randomBytes(32).toString('base64url');
const KEY_A = attestationKeyFromSeed(seed());
const KEY_B = attestationKeyFromSeed(seed());
const jwksOf = (...keys: AttestationKeyPair[]) => ({ keys: keys.map((k) => attestationJwk(k.keyId, k.publicKey)) });
const JWKS = jwksOf(KEY_A, KEY_B);

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const HASH = 'c'.repeat(64);

function content(): AttestationContent {
  const lineage = {
    root: { modelId: id(4), name: 'Llama-Student', slug: 'llama-student', organizationId: id(100), weightsDigest: `sha256:${'9f'.repeat(32)}`, commercialUse: true },
    ancestors: [],
    edges: [
      { childModelId: id(4), parentModelId: id(2), agreementId: id(21), relation: LineageRelation.DISTILLED, method: DistillationMethod.LOGITS, dataShareBps: 5000, termsHash: HASH, terms: {} },
      { childModelId: id(4), parentModelId: id(3), agreementId: id(22), relation: LineageRelation.DISTILLED, method: DistillationMethod.SYNTHETIC_DATA, dataShareBps: 5000, termsHash: 'd'.repeat(64), terms: {} },
      { childModelId: id(2), parentModelId: id(1), agreementId: id(23), relation: LineageRelation.FINETUNED, method: null, dataShareBps: null, termsHash: HASH, terms: {} },
    ],
    distillationGeneration: 1,
    depth: 2,
  } as unknown as Lineage;
  return {
    lineage,
    royaltyStack: {
      entries: [
        { modelId: id(2), organizationId: id(101), policy: 'LAP', shareBps: 1000, depth: 1, agreementId: id(21) },
        { modelId: id(1), organizationId: id(102), policy: 'LAP', shareBps: 500, depth: 2, agreementId: id(23) },
        { modelId: id(3), organizationId: id(103), policy: 'LRP', shareBps: 250, depth: 1, agreementId: id(22) },
      ],
      totalBps: 1750,
    },
    certification: { status: 'CERTIFIED', certifiedAt: new Date('2026-02-01T00:00:00Z'), expiresAt: new Date('2027-02-01T00:00:00Z') },
  };
}

function signedDoc(key = KEY_A, c = content()): AttestationDocument {
  return signStatement(buildAttestationStatement({ ...c, issuedAt: new Date('2026-05-06T07:08:09.123Z'), keyId: key.keyId }), key);
}

type Path = (string | number)[];

/** Every leaf (string, number, boolean, null) of a JSON value, by path. */
function leafPaths(value: unknown, path: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, [...path, i]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...path, k]));
  return [path];
}

/** Every object and array inside a JSON value (the root included), by path. */
function containerPaths(value: unknown, path: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const children = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [path, ...children.flatMap(([k, v]) => containerPaths(v, [...path, k]))];
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function at(root: any, path: Path): any {
  return path.reduce((node, k) => node[k], root);
}

/** Ways to change one leaf value (each gives a different JSON value). */
function mutationsOf(v: unknown): unknown[] {
  if (typeof v === 'string') return [`${v}x`, v.length > 0 ? (v[0] === 'a' ? 'b' : 'a') + v.slice(1) : 'a', v.toUpperCase() === v ? v.toLowerCase() + 'Q' : v.toUpperCase(), null];
  if (typeof v === 'number') return [v + 1, v - 1, -v || 1, String(v)];
  if (typeof v === 'boolean') return [!v];
  if (v === null) return ['x', 0, false, {}];
  throw new Error(`not a leaf: ${String(v)}`);
}

/** All single changes to a statement: each leaf changed, each key removed, a key added everywhere, list items dropped or duplicated. */
function tamperedStatements(statement: AttestationStatement): { what: string; value: unknown }[] {
  const out: { what: string; value: unknown }[] = [];
  for (const path of leafPaths(statement)) {
    const parent = path.slice(0, -1);
    const key = path[path.length - 1];
    for (const m of mutationsOf(at(statement, path))) {
      const t = clone(statement);
      at(t, parent)[key] = m;
      if (JSON.stringify(m) === JSON.stringify(at(statement, path))) continue;
      out.push({ what: `${path.join('.')} := ${JSON.stringify(m)}`, value: t });
    }
  }
  for (const path of containerPaths(statement)) {
    const node = at(statement, path);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const dropped = clone(statement);
        (at(dropped, path) as unknown[]).splice(i, 1);
        out.push({ what: `${path.join('.')}[${i}] removed`, value: dropped });
        const duplicated = clone(statement);
        (at(duplicated, path) as unknown[]).splice(i, 0, clone(node[i]));
        out.push({ what: `${path.join('.')}[${i}] duplicated`, value: duplicated });
      }
      if (node.length > 1) {
        const reversed = clone(statement);
        (at(reversed, path) as unknown[]).reverse();
        out.push({ what: `${path.join('.')} reordered`, value: reversed });
      }
    } else {
      for (const k of Object.keys(node)) {
        const removed = clone(statement);
        delete at(removed, path)[k];
        out.push({ what: `${[...path, k].join('.')} removed`, value: removed });
      }
      const added = clone(statement);
      at(added, path).extra = 'injected';
      out.push({ what: `${path.join('.') || '<root>'}.extra added`, value: added });
    }
  }
  return out;
}

describe('attestation keys', () => {
  it('derives the RFC 8032 key from the seed (test vector 1), so other Ed25519 tools agree', () => {
    const seedHex = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
    const key = attestationKeyFromSeed(Buffer.from(seedHex, 'hex').toString('base64url'));
    expect(Buffer.from(key.publicKey, 'base64url').toString('hex')).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    expect(sign(null, Buffer.alloc(0), key.privateKey).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    // base64 (what `openssl rand -base64 32` prints) is accepted too, with the same result
    expect(attestationKeyFromSeed(Buffer.from(seedHex, 'hex').toString('base64')).keyId).toBe(key.keyId);
    expect(key.keyId).toMatch(/^bm-[0-9a-f]{16}$/);
  });

  it('refuses a seed that is not 32 bytes', () => {
    expect(() => attestationKeyFromSeed(randomBytes(31).toString('base64url'))).toThrow(/must decode to 32 bytes/);
  });

  it('publishes JWKs as OKP / Ed25519 / EdDSA signing keys', () => {
    expect(attestationJwk(KEY_A.keyId, KEY_A.publicKey)).toEqual({ kty: 'OKP', crv: 'Ed25519', x: KEY_A.publicKey, kid: KEY_A.keyId, use: 'sig', alg: 'EdDSA' });
  });
});

describe('ATTESTATION_SIGNING_KEY', () => {
  const dataDir = () => mkdtempSync(join(tmpdir(), 'beiming-attest-config-'));
  const base = { JWT_SECRET: 'j'.repeat(40), SECRETS_KEY: randomBytes(32).toString('base64url') };

  it('is generated once and kept in <dataDir>/local-secrets.json outside production, so the key id survives restarts', () => {
    const dir = dataDir();
    const a = loadConfig({ ...base, DATA_DIR: dir });
    expect(Buffer.from(a.attestationSigningKey, 'base64url')).toHaveLength(32);
    expect(loadConfig({ ...base, DATA_DIR: dir }).attestationSigningKey).toBe(a.attestationSigningKey);
    expect(JSON.parse(readFileSync(join(dir, 'local-secrets.json'), 'utf8')).attestationSigningKey).toBe(a.attestationSigningKey);
    expect(attestationKeyFromSeed(a.attestationSigningKey).keyId).toBe(attestationKeyFromSeed(loadConfig({ ...base, DATA_DIR: dir }).attestationSigningKey).keyId);
    expect(loadConfig({ ...base, DATA_DIR: dataDir() }).attestationSigningKey).not.toBe(a.attestationSigningKey);
  });

  it('is required in production, validated, and never logged', () => {
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', DATA_DIR: dataDir() })).toThrow(/ATTESTATION_SIGNING_KEY is required when NODE_ENV=production/);
    expect(() => loadConfig({ ...base, DATA_DIR: dataDir(), ATTESTATION_SIGNING_KEY: 'too-short' })).toThrow(/ATTESTATION_SIGNING_KEY must be a 32-byte Ed25519 seed/);
    const s = seed();
    const config = loadConfig({ ...base, NODE_ENV: 'production', DATA_DIR: dataDir(), ATTESTATION_SIGNING_KEY: s });
    expect(config.attestationSigningKey).toBe(s);
    expect(config.describe().attestationSigningKey).toBe('<set>');
    expect(JSON.stringify(config.describe())).not.toContain(s);
  });
});

describe('AttestationSigner', () => {
  const keysService = (key: AttestationKeyPair, stored: () => Promise<void> = async () => undefined) =>
    ({ currentKey: key, ensureCurrentKeyStored: jest.fn(stored) }) as unknown as AttestationKeysService & { ensureCurrentKeyStored: jest.Mock };

  it('signs the canonical statement with the current key; the document verifies offline', async () => {
    const keys = keysService(KEY_A);
    const signer = new AttestationSigner(keys);
    const issuedAt = new Date('2026-05-06T07:08:09.123Z');
    const doc = await signer.sign(content(), issuedAt);
    expect(keys.ensureCurrentKeyStored).toHaveBeenCalledTimes(1);
    expect(signer.keyId).toBe(KEY_A.keyId);
    expect(doc.keyId).toBe(KEY_A.keyId);
    expect(doc.statement.keyId).toBe(KEY_A.keyId);
    expect(doc.statement.issuedAt).toBe('2026-05-06T07:08:09.123Z');
    expect(doc.payload).toBe(canonicalJson(buildAttestationStatement({ ...content(), issuedAt, keyId: KEY_A.keyId })));
    expect(doc.signature).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(verifyAttestation(doc, JWKS)).toEqual({ valid: true, statement: doc.statement });
    // as the CLI reads them: JSON text
    expect(verifyAttestation(JSON.stringify(doc, null, 2), JSON.stringify(JWKS)).valid).toBe(true);
    // the statement copy is optional
    expect(verifyAttestation({ payload: doc.payload, signature: doc.signature, keyId: doc.keyId }, JWKS).valid).toBe(true);
  });

  it('does not sign before the public key is recorded', async () => {
    const signer = new AttestationSigner(keysService(KEY_A, () => Promise.reject(new Error('database down'))));
    await expect(signer.sign(content(), new Date())).rejects.toThrow('database down');
  });

  it('stamps issuedAt with the time it is given (the caller reads the platform Clock)', async () => {
    const at = new Date('2027-02-03T04:05:06.789Z');
    const doc = await new AttestationSigner(keysService(KEY_B)).sign(content(), at);
    expect(doc.statement.issuedAt).toBe(at.toISOString());
    expect(verifyAttestation(doc, JWKS).statement?.keyId).toBe(KEY_B.keyId);
  });

  it('refuses to sign a statement naming another key', () => {
    const statement = buildAttestationStatement({ ...content(), issuedAt: new Date(), keyId: KEY_B.keyId });
    expect(() => signStatement(statement, KEY_A)).toThrow(/names key/);
  });
});

describe('verifyAttestation: tampering fails', () => {
  const doc = signedDoc();
  const cases = tamperedStatements(doc.statement);

  it('covers every leaf of a realistic statement', () => {
    const leaves = leafPaths(doc.statement).map((p) => p.join('.'));
    expect(leaves).toEqual(
      expect.arrayContaining([
        'type', 'model.id', 'model.name', 'model.slug', 'model.organizationId', 'weightsDigest',
        'lineage.0.agreementId', 'lineage.0.termsHash', 'lineage.0.relation', 'lineage.0.method', 'lineage.2.method',
        'lineage.2.parentModelId', 'lineage.2.childModelId', 'royaltyStack.2.policy', 'royaltyStack.1.shareBps',
        'certification.status', 'certification.certifiedAt', 'certification.expiresAt', 'issuedAt', 'keyId',
      ]),
    );
    expect(leaves).toHaveLength(8 + 3 * 6 + 3 * 3 + 3);
    expect(cases.length).toBeGreaterThan(leaves.length * 3);
  });

  it('a changed statement beside the original payload and signature', () => {
    const accepted = cases.filter((c) => verifyAttestation({ ...doc, statement: c.value }, JWKS).valid).map((c) => c.what);
    expect(accepted).toEqual([]);
    expect(verifyAttestation({ ...doc, statement: cases[0].value }, JWKS).reason).toBe('the statement differs from the signed payload');
  });

  it('a changed payload (re-serialized canonically) with the original signature', () => {
    const results = cases.map((c) => ({ what: c.what, r: verifyAttestation({ ...doc, payload: canonicalJson(c.value), statement: c.value }, JWKS) }));
    expect(results.filter((x) => x.r.valid).map((x) => x.what)).toEqual([]);
    for (const { r } of results) expect(r.reason).toMatch(/^the signature does not match the payload/);
  });

  it('a changed payload without the statement copy', () => {
    const accepted = cases.filter((c) => verifyAttestation({ payload: canonicalJson(c.value), signature: doc.signature, keyId: doc.keyId }, JWKS).valid);
    expect(accepted.map((c) => c.what)).toEqual([]);
  });

  it('a payload that is not byte-for-byte the signed one (whitespace, key order, escapes)', () => {
    const variants = [
      JSON.stringify(Object.fromEntries(Object.entries(doc.statement).reverse())),
      JSON.stringify(doc.statement, null, 1),
      `${doc.payload} `,
      ` ${doc.payload}`,
      doc.payload.replace('"model"', '"\\u006dodel"'),
    ];
    for (const payload of variants) {
      expect(payload).not.toBe(doc.payload);
      expect(verifyAttestation({ ...doc, payload }, JWKS).valid).toBe(false);
    }
  });

  it('a changed signature: every character, truncation, slack bits, another key', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < doc.signature.length; i++) {
      const c = doc.signature[i];
      const replacement = alphabet[(alphabet.indexOf(c) + 1 + (i % 63)) % 64];
      const sig = doc.signature.slice(0, i) + replacement + doc.signature.slice(i + 1);
      expect([i, verifyAttestation({ ...doc, signature: sig }, JWKS).valid]).toEqual([i, false]);
    }
    // the last of 86 characters carries 2 bits of the 64 bytes and 4 bits of slack: a lenient decoder accepts this one
    const last = doc.signature[85];
    const slack = alphabet[(alphabet.indexOf(last) & ~0x0f) | ((alphabet.indexOf(last) + 1) & 0x0f)];
    expect(Buffer.from(doc.signature.slice(0, 85) + slack, 'base64url')).toEqual(Buffer.from(doc.signature, 'base64url'));
    expect(verifyAttestation({ ...doc, signature: doc.signature.slice(0, 85) + slack }, JWKS)).toEqual({
      valid: false,
      reason: 'the signature is not 64 bytes of base64url',
    });
    expect(verifyAttestation({ ...doc, signature: doc.signature.slice(0, 84) }, JWKS).valid).toBe(false);
    expect(verifyAttestation({ ...doc, signature: `${doc.signature}==` }, JWKS).valid).toBe(false);
    expect(verifyAttestation({ ...doc, signature: '' }, JWKS).valid).toBe(false);
    expect(verifyAttestation({ ...doc, signature: Buffer.from(doc.signature, 'base64url').toString('base64') }, JWKS).valid).toBe(false);
    const byB = signedDoc(KEY_B);
    expect(verifyAttestation({ ...doc, signature: byB.signature }, JWKS).reason).toMatch(/^the signature does not match/);
  });

  it('a changed key id: another published key, an unknown key, none', () => {
    expect(verifyAttestation({ ...doc, keyId: KEY_B.keyId }, JWKS).valid).toBe(false);
    expect(verifyAttestation({ ...doc, keyId: 'bm-0000000000000000' }, JWKS)).toEqual({ valid: false, reason: 'the key set has no key bm-0000000000000000' });
    expect(verifyAttestation({ ...doc, keyId: undefined }, JWKS).reason).toBe('the attestation has no keyId string');
  });

  it("a statement signed under one key id but naming another (signer's mistake or key misuse)", () => {
    const statement = buildAttestationStatement({ ...content(), issuedAt: new Date(), keyId: KEY_A.keyId });
    const payload = canonicalJson(statement);
    const signature = sign(null, Buffer.from(payload), KEY_B.privateKey).toString('base64url');
    expect(verifyAttestation({ payload, signature, keyId: KEY_B.keyId }, JWKS).reason).toBe(
      `the statement's keyId ${KEY_A.keyId} differs from the attestation's keyId ${KEY_B.keyId}`,
    );
  });

  it('a validly signed payload that is not canonical, or not a v1 statement', () => {
    const pretty = JSON.stringify(doc.statement, null, 2);
    const sigPretty = sign(null, Buffer.from(pretty), KEY_A.privateKey).toString('base64url');
    expect(verifyAttestation({ payload: pretty, signature: sigPretty, keyId: KEY_A.keyId }, JWKS).reason).toBe('the payload is not RFC 8785 canonical JSON');
    const other = canonicalJson({ ...doc.statement, type: 'https://example.com/other' });
    const sigOther = sign(null, Buffer.from(other), KEY_A.privateKey).toString('base64url');
    expect(verifyAttestation({ payload: other, signature: sigOther, keyId: KEY_A.keyId }, JWKS).reason).toMatch(/is not a https:\/\/beiming.dev\/attestation\/v1 statement/);
  });
});

describe('verifyAttestation: the key set', () => {
  const doc = signedDoc();
  const jwkA = attestationJwk(KEY_A.keyId, KEY_A.publicKey);

  it('needs the signing key, once, as an OKP Ed25519 EdDSA signing key whose kid matches its bytes', () => {
    expect(verifyAttestation(doc, jwksOf(KEY_B)).reason).toBe(`the key set has no key ${KEY_A.keyId}`);
    expect(verifyAttestation(doc, { keys: [jwkA, jwkA] }).reason).toMatch(/more than once/);
    expect(verifyAttestation(doc, { keys: [{ ...jwkA, kty: 'EC', crv: 'P-256' }] }).reason).toMatch(/not an Ed25519 \(OKP\) key/);
    expect(verifyAttestation(doc, { keys: [{ ...jwkA, crv: 'X25519' }] }).reason).toMatch(/not an Ed25519 \(OKP\) key/);
    expect(verifyAttestation(doc, { keys: [{ ...jwkA, alg: 'ES256' }] }).reason).toMatch(/not for EdDSA/);
    expect(verifyAttestation(doc, { keys: [{ ...jwkA, use: 'enc' }] }).reason).toMatch(/not a signing key/);
    expect(verifyAttestation(doc, { keys: [{ ...jwkA, x: KEY_B.publicKey }] }).reason).toMatch(/does not match its key id/);
    expect(verifyAttestation(doc, { keys: [{ ...jwkA, x: 'short' }] }).reason).toMatch(/no valid x/);
    // minimal JWK (no use / alg) is fine
    expect(verifyAttestation(doc, { keys: [{ kty: 'OKP', crv: 'Ed25519', x: KEY_A.publicKey, kid: KEY_A.keyId }] }).valid).toBe(true);
  });

  it('answers malformed inputs with a reason, never a throw', () => {
    expect(verifyAttestation('{not json', JWKS)).toEqual({ valid: false, reason: 'the attestation is not JSON' });
    expect(verifyAttestation(doc, 'nope')).toEqual({ valid: false, reason: 'the key set is not JSON' });
    expect(verifyAttestation(doc, { keys: {} }).reason).toMatch(/must be a JWKS/);
    expect(verifyAttestation(doc, [jwkA]).reason).toMatch(/must be a JWKS/);
    expect(verifyAttestation(null, JWKS).reason).toMatch(/must be a JSON object/);
    expect(verifyAttestation([doc], JWKS).reason).toMatch(/must be a JSON object/);
    expect(verifyAttestation({ ...doc, payload: 42 }, JWKS).reason).toBe('the attestation has no payload string');
    expect(verifyAttestation({ ...doc, statement: null }, JWKS).reason).toBe('the statement differs from the signed payload');
  });
});
