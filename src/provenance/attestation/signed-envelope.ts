/**
 * The envelope every signed document of the platform shares (attestations,
 * statements): `{payload, signature, keyId, statement?}` where `payload` is
 * RFC 8785 canonical JSON, `signature` Ed25519 over its UTF-8 bytes under the
 * key `keyId` of the published JWKS. Pure (node:crypto only), for the offline
 * verifiers; each checks its own statement's shape on top.
 *
 * Checks, in order: the document's shape; the key (found by kid, OKP/Ed25519,
 * EdDSA signing key if said, its kid derived from its bytes); the signature
 * over the exact payload bytes; that the payload is canonical JSON.
 */
import { createPublicKey, KeyObject, verify } from 'node:crypto';
import { attestationKeyId, canonicalJson } from './attestation.statement';

const ED25519_PUBLIC_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as given, or parsed when it is JSON text (a string or a Buffer). */
export function parseMaybe(value: unknown, what: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) return { ok: true, value };
  try {
    return { ok: true, value: JSON.parse(value.toString()) };
  } catch {
    return { ok: false, reason: `${what} is not JSON` };
  }
}

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

/** RFC 8785 canonical JSON of a value, or null when it has none. */
export function canonicalOrNull(value: unknown): string | null {
  try {
    return canonicalJson(value);
  } catch {
    return null;
  }
}

export type EnvelopeCheck =
  | { ok: true; doc: Record<string, unknown>; payload: string; keyId: string; statement: unknown }
  | { ok: false; reason: string };

/**
 * Verifies the envelope of `documentJson` (object or JSON text) against `jwks`
 * (`{keys: [...]}`, object or text). `what` names the document in reasons
 * ("the attestation has no payload string").
 */
export function verifySignedEnvelope(documentJson: unknown, jwks: unknown, what: string): EnvelopeCheck {
  const fail = (reason: string): EnvelopeCheck => ({ ok: false, reason });
  const parsedDoc = parseMaybe(documentJson, `the ${what}`);
  if (!parsedDoc.ok) return fail(parsedDoc.reason);
  const doc = parsedDoc.value;
  if (!isObject(doc)) return fail(`the ${what} must be a JSON object {payload, signature, keyId}`);
  const { payload, signature, keyId } = doc;
  if (typeof payload !== 'string') return fail(`the ${what} has no payload string`);
  if (typeof signature !== 'string') return fail(`the ${what} has no signature string`);
  if (typeof keyId !== 'string' || keyId === '') return fail(`the ${what} has no keyId string`);

  const parsedKeys = parseMaybe(jwks, 'the key set');
  if (!parsedKeys.ok) return fail(parsedKeys.reason);
  const keySet = parsedKeys.value;
  if (!isObject(keySet) || !Array.isArray(keySet.keys)) return fail('the key set must be a JWKS: {"keys": [...]}');
  const matches = keySet.keys.filter((k): k is Record<string, unknown> => isObject(k) && k.kid === keyId);
  if (matches.length === 0) return fail(`the key set has no key ${keyId}`);
  if (matches.length > 1) return fail(`the key set lists key ${keyId} more than once`);
  const jwk = matches[0];
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') return fail(`key ${keyId} is not an Ed25519 (OKP) key`);
  if (jwk.alg !== undefined && jwk.alg !== 'EdDSA') return fail(`key ${keyId} is not for EdDSA (alg ${String(jwk.alg)})`);
  if (jwk.use !== undefined && jwk.use !== 'sig') return fail(`key ${keyId} is not a signing key (use ${String(jwk.use)})`);
  const raw = typeof jwk.x === 'string' ? decodeBase64urlExact(jwk.x, ED25519_PUBLIC_KEY_BYTES) : null;
  if (!raw) return fail(`key ${keyId} has no valid x (32 bytes, base64url)`);
  if (attestationKeyId(raw) !== keyId) return fail(`key ${keyId} does not match its key id (expected ${attestationKeyId(raw)})`);

  const sig = decodeBase64urlExact(signature, ED25519_SIGNATURE_BYTES);
  if (!sig) return fail('the signature is not 64 bytes of base64url');
  let signed: boolean;
  try {
    signed = verify(null, Buffer.from(payload, 'utf8'), ed25519PublicKey(raw), sig);
  } catch {
    signed = false;
  }
  if (!signed) return fail(`the signature does not match the payload under key ${keyId}`);

  let statement: unknown;
  try {
    statement = JSON.parse(payload);
  } catch {
    return fail('the payload is not JSON');
  }
  if (canonicalOrNull(statement) !== payload) return fail('the payload is not RFC 8785 canonical JSON');
  return { ok: true, doc, payload, keyId, statement };
}

/** The convenience `statement` copy of a document, if present, must be the signed payload. */
export function convenienceCopyMatches(doc: Record<string, unknown>, payload: string): boolean {
  return doc.statement === undefined || canonicalOrNull(doc.statement) === payload;
}
