/**
 * Offline verification of an attestation document against a JWKS (the one
 * published at /.well-known/beiming-keys.json, or a saved copy). Pure: no
 * network, no database, no Nest — used by `npm run verify-attestation` and the
 * tests, and small enough to port to another language.
 *
 * Checks, in order: the document's shape; the key (found by kid, OKP/Ed25519,
 * its kid derived from its bytes); the Ed25519 signature over the exact payload
 * bytes; that the payload is RFC 8785 canonical JSON of a v1 statement whose
 * keyId is the document's; that the convenience `statement`, if present, is
 * the payload.
 */
import { createPublicKey, KeyObject, verify } from 'node:crypto';
import { ATTESTATION_TYPE, attestationKeyId, AttestationStatement, canonicalJson } from './attestation.statement';

export interface AttestationJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  /** Raw 32-byte public key, base64url. */
  x: string;
  kid: string;
  use: 'sig';
  alg: 'EdDSA';
}

export interface AttestationJwks {
  keys: AttestationJwk[];
}

export interface VerificationResult {
  valid: boolean;
  /** Why it is not valid (absent when valid). */
  reason?: string;
  /** The verified statement (only when valid). */
  statement?: AttestationStatement;
}

const ED25519_PUBLIC_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

/** base64url without padding, decoded only if it is the one encoding of exactly `bytes` bytes (no slack in the last character). */
export function decodeBase64urlExact(value: string, bytes: number): Buffer | null {
  if (!/^[A-Za-z0-9_-]+$/.test(value)) return null;
  const buf = Buffer.from(value, 'base64url');
  if (buf.length !== bytes || buf.toString('base64url') !== value) return null;
  return buf;
}

/** An Ed25519 public key object from its raw 32 bytes. */
export function ed25519PublicKey(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseMaybe(value: unknown, what: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) return { ok: true, value };
  try {
    return { ok: true, value: JSON.parse(value.toString()) };
  } catch {
    return { ok: false, reason: `${what} is not JSON` };
  }
}

const invalid = (reason: string): VerificationResult => ({ valid: false, reason });

/**
 * Verifies `attestationJson` (the document `{payload, signature, keyId, statement?}`,
 * as an object or its JSON text) against `jwks` (`{keys: [...]}`, object or text).
 */
export function verifyAttestation(attestationJson: unknown, jwks: unknown): VerificationResult {
  const parsedDoc = parseMaybe(attestationJson, 'the attestation');
  if (!parsedDoc.ok) return invalid(parsedDoc.reason);
  const doc = parsedDoc.value;
  if (!isObject(doc)) return invalid('the attestation must be a JSON object {payload, signature, keyId}');
  const { payload, signature, keyId } = doc;
  if (typeof payload !== 'string') return invalid('the attestation has no payload string');
  if (typeof signature !== 'string') return invalid('the attestation has no signature string');
  if (typeof keyId !== 'string' || keyId === '') return invalid('the attestation has no keyId string');

  const parsedKeys = parseMaybe(jwks, 'the key set');
  if (!parsedKeys.ok) return invalid(parsedKeys.reason);
  const keySet = parsedKeys.value;
  if (!isObject(keySet) || !Array.isArray(keySet.keys)) return invalid('the key set must be a JWKS: {"keys": [...]}');
  const matches = keySet.keys.filter((k): k is Record<string, unknown> => isObject(k) && k.kid === keyId);
  if (matches.length === 0) return invalid(`the key set has no key ${keyId}`);
  if (matches.length > 1) return invalid(`the key set lists key ${keyId} more than once`);
  const jwk = matches[0];
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') return invalid(`key ${keyId} is not an Ed25519 (OKP) key`);
  if (jwk.alg !== undefined && jwk.alg !== 'EdDSA') return invalid(`key ${keyId} is not for EdDSA (alg ${String(jwk.alg)})`);
  if (jwk.use !== undefined && jwk.use !== 'sig') return invalid(`key ${keyId} is not a signing key (use ${String(jwk.use)})`);
  const raw = typeof jwk.x === 'string' ? decodeBase64urlExact(jwk.x, ED25519_PUBLIC_KEY_BYTES) : null;
  if (!raw) return invalid(`key ${keyId} has no valid x (32 bytes, base64url)`);
  if (attestationKeyId(raw) !== keyId) return invalid(`key ${keyId} does not match its key id (expected ${attestationKeyId(raw)})`);

  const sig = decodeBase64urlExact(signature, ED25519_SIGNATURE_BYTES);
  if (!sig) return invalid('the signature is not 64 bytes of base64url');
  let signed: boolean;
  try {
    signed = verify(null, Buffer.from(payload, 'utf8'), ed25519PublicKey(raw), sig);
  } catch {
    signed = false;
  }
  if (!signed) return invalid(`the signature does not match the payload under key ${keyId}`);

  let statement: unknown;
  try {
    statement = JSON.parse(payload);
  } catch {
    return invalid('the payload is not JSON');
  }
  if (canonicalJson(statement) !== payload) return invalid('the payload is not RFC 8785 canonical JSON');
  const shape = statementShapeError(statement);
  if (shape) return invalid(`the payload is not a ${ATTESTATION_TYPE} statement: ${shape}`);
  const st = statement as AttestationStatement;
  if (st.keyId !== keyId) return invalid(`the statement's keyId ${st.keyId} differs from the attestation's keyId ${keyId}`);

  if (doc.statement !== undefined) {
    let same = false;
    try {
      same = canonicalJson(doc.statement) === payload;
    } catch {
      same = false;
    }
    if (!same) return invalid('the statement differs from the signed payload');
  }
  return { valid: true, statement: st };
}

function statementShapeError(s: unknown): string | null {
  if (!isObject(s)) return 'not an object';
  if (s.type !== ATTESTATION_TYPE) return `type is ${JSON.stringify(s.type)}`;
  const m = s.model;
  if (!isObject(m) || typeof m.id !== 'string' || typeof m.slug !== 'string' || typeof m.name !== 'string' || typeof m.organizationId !== 'string') {
    return 'model must be {id, name, slug, organizationId}';
  }
  if (s.weightsDigest !== null && typeof s.weightsDigest !== 'string') return 'weightsDigest must be a string or null';
  if (!Array.isArray(s.lineage)) return 'lineage must be a list';
  if (!Array.isArray(s.royaltyStack)) return 'royaltyStack must be a list';
  if (s.certification !== null && !isObject(s.certification)) return 'certification must be an object or null';
  if (typeof s.issuedAt !== 'string' || Number.isNaN(Date.parse(s.issuedAt))) return 'issuedAt must be an ISO date';
  if (typeof s.keyId !== 'string') return 'keyId must be a string';
  return null;
}

/** One line for people: what the attestation says it is about. */
export function summarizeStatement(s: AttestationStatement): string {
  return [
    `model ${s.model.slug} (${s.model.id})`,
    `weights ${s.weightsDigest ?? 'none'}`,
    `issued ${s.issuedAt}`,
    `key ${s.keyId}`,
  ].join(' · ');
}
