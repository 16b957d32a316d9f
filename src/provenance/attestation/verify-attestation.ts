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
import { ATTESTATION_TYPE, AttestationStatement } from './attestation.statement';
import { convenienceCopyMatches, isObject, verifySignedEnvelope } from './signed-envelope';

export { decodeBase64urlExact, ed25519PublicKey } from './signed-envelope';

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

const invalid = (reason: string): VerificationResult => ({ valid: false, reason });

/**
 * Verifies `attestationJson` (the document `{payload, signature, keyId, statement?}`,
 * as an object or its JSON text) against `jwks` (`{keys: [...]}`, object or text).
 */
export function verifyAttestation(attestationJson: unknown, jwks: unknown): VerificationResult {
  const env = verifySignedEnvelope(attestationJson, jwks, 'attestation');
  if (!env.ok) return invalid(env.reason);
  const shape = statementShapeError(env.statement);
  if (shape) return invalid(`the payload is not a ${ATTESTATION_TYPE} statement: ${shape}`);
  const st = env.statement as AttestationStatement;
  if (st.keyId !== env.keyId) return invalid(`the statement's keyId ${st.keyId} differs from the attestation's keyId ${env.keyId}`);
  if (!convenienceCopyMatches(env.doc, env.payload)) return invalid('the statement differs from the signed payload');
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
