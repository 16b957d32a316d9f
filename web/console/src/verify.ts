/**
 * Checks a signed statement in the browser, as the offline verifier does:
 * the key by kid in the published key set (Ed25519, its kid derived from its
 * bytes), the Ed25519 signature over the exact payload bytes (WebCrypto), the
 * payload being RFC 8785 canonical JSON, and the convenience copy matching it.
 */
import canonicalize from 'canonicalize';

export interface Verification {
  valid: boolean;
  reason: string;
}

function b64url(s: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]+$/.test(s)) return null;
  const pad = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  try {
    return Uint8Array.from(atob(pad), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');

export async function verifySignedDocument(doc: unknown, jwks: unknown): Promise<Verification> {
  const bad = (reason: string) => ({ valid: false, reason });
  if (!crypto.subtle) return bad('this page is not a secure context (HTTPS or localhost): the browser offers no WebCrypto to check the signature');
  if (typeof doc !== 'object' || doc === null) return bad('the document is not a JSON object');
  const { payload, signature, keyId, statement } = doc as Record<string, unknown>;
  if (typeof payload !== 'string' || typeof signature !== 'string' || typeof keyId !== 'string') return bad('the document needs payload, signature and keyId strings');
  const keys = (jwks as { keys?: Record<string, unknown>[] })?.keys;
  if (!Array.isArray(keys)) return bad('the key set is not a JWKS');
  const found = keys.filter((k) => k.kid === keyId);
  if (found.length !== 1) return bad(`the key set has ${found.length === 0 ? 'no' : 'more than one'} key ${keyId}`);
  const jwk = found[0];
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') return bad(`key ${keyId} is not an Ed25519 key`);
  const raw = b64url(jwk.x);
  if (!raw || raw.length !== 32) return bad(`key ${keyId} has no valid x`);
  const kid = `bm-${hex(await crypto.subtle.digest('SHA-256', raw)).slice(0, 16)}`;
  if (kid !== keyId) return bad(`key ${keyId} does not match its key id (expected ${kid})`);
  const sig = b64url(signature);
  if (!sig || sig.length !== 64) return bad('the signature is not 64 bytes of base64url');
  let ok = false;
  try {
    const key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
    ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, sig, new TextEncoder().encode(payload));
  } catch (e) {
    return bad(`the browser could not check an Ed25519 signature (${(e as Error).message})`);
  }
  if (!ok) return bad(`the signature does not match the payload under key ${keyId}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return bad('the payload is not JSON');
  }
  if (canonicalize(parsed) !== payload) return bad('the payload is not RFC 8785 canonical JSON');
  if (statement !== undefined && canonicalize(statement) !== payload) return bad('the statement differs from the signed payload');
  return { valid: true, reason: `signed by ${keyId}; the payload is canonical and matches the statement` };
}
