/**
 * The attestation statement: what the platform signs about one model (its
 * weights digest, its licensed lineage with agreement ids and terms hashes,
 * its royalty stack and its certification), and the canonical bytes that are
 * signed — RFC 8785 JSON (JCS) of the statement, so a verifier can rebuild and
 * check them in any language.
 *
 * Pure: no Nest, no database, no key material (the CLI verifier loads this file).
 */
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { Lineage, RoyaltyStack } from '../lineage/lineage.types';

export const ATTESTATION_TYPE = 'https://beiming.dev/attestation/v1';

export type AttestationCertificationStatus = 'CERTIFIED' | 'EXPIRED' | 'REVOKED' | 'NONE';

/** The model's certification as the attestation reports it (NONE or null: not certified, ever). */
export interface CertificationSummaryInput {
  status: AttestationCertificationStatus;
  certifiedAt: Date | null;
  expiresAt: Date | null;
}

/** Everything an attestation says about a model, except when and with which key it was signed. */
export interface AttestationContent {
  lineage: Lineage;
  royaltyStack: RoyaltyStack;
  certification: CertificationSummaryInput | null;
}

export interface AttestationStatementInput extends AttestationContent {
  issuedAt: Date;
  keyId: string;
}

export interface AttestationLineageEdge {
  parentModelId: string;
  childModelId: string;
  agreementId: string;
  termsHash: string;
  relation: string;
  method: string | null;
}

export interface AttestationRoyaltyEntry {
  modelId: string;
  policy: 'LAP' | 'LRP';
  shareBps: number;
}

export interface AttestationStatement {
  type: typeof ATTESTATION_TYPE;
  model: { id: string; name: string; slug: string; organizationId: string };
  weightsDigest: string | null;
  lineage: AttestationLineageEdge[];
  royaltyStack: AttestationRoyaltyEntry[];
  certification: { status: Exclude<AttestationCertificationStatus, 'NONE'>; certifiedAt: string; expiresAt: string } | null;
  /** ISO 8601, UTC, milliseconds. */
  issuedAt: string;
  keyId: string;
}

/**
 * What users are handed: the exact signed bytes (`payload`, the canonical JSON
 * of the statement), the Ed25519 signature over them (base64url), the key id
 * to look up in the JWKS, and the statement parsed, for reading. Verification
 * trusts only payload + signature + key; `statement` must equal the payload.
 */
export interface AttestationDocument {
  payload: string;
  signature: string;
  keyId: string;
  statement: AttestationStatement;
}

/** Key id of an Ed25519 public key: `bm-` + the first 16 hex characters of SHA-256 over its raw 32 bytes. */
export function attestationKeyId(rawPublicKey: Buffer): string {
  return `bm-${createHash('sha256').update(rawPublicKey).digest('hex').slice(0, 16)}`;
}

function iso(value: Date, field: string): string {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new TypeError(`${field} must be a valid Date`);
  return value.toISOString();
}

function bps(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > 10_000) throw new TypeError(`${field} must be an integer number of basis points (0–10,000)`);
  return value;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Builds the statement from plain inputs. Lists are sorted (edges by child then
 * parent, the royalty stack by model id) so the same facts give the same bytes
 * whatever order the database returned them in.
 */
export function buildAttestationStatement(input: AttestationStatementInput): AttestationStatement {
  const { lineage, royaltyStack, certification } = input;
  const root = lineage.root;
  const lineageEdges: AttestationLineageEdge[] = lineage.edges
    .map((e) => ({
      parentModelId: e.parentModelId,
      childModelId: e.childModelId,
      agreementId: e.agreementId,
      termsHash: e.termsHash,
      relation: e.relation,
      method: e.method ?? null,
    }))
    .sort((a, b) => byString(a.childModelId, b.childModelId) || byString(a.parentModelId, b.parentModelId));
  const stack: AttestationRoyaltyEntry[] = royaltyStack.entries
    .map((r) => ({ modelId: r.modelId, policy: r.policy, shareBps: bps(r.shareBps, `royaltyStack[${r.modelId}].shareBps`) }))
    .sort((a, b) => byString(a.modelId, b.modelId) || byString(a.policy, b.policy));
  let cert: AttestationStatement['certification'] = null;
  if (certification && certification.status !== 'NONE') {
    if (!certification.certifiedAt || !certification.expiresAt) {
      throw new TypeError(`a ${certification.status} certification needs certifiedAt and expiresAt`);
    }
    cert = {
      status: certification.status,
      certifiedAt: iso(certification.certifiedAt, 'certification.certifiedAt'),
      expiresAt: iso(certification.expiresAt, 'certification.expiresAt'),
    };
  }
  if (!input.keyId) throw new TypeError('keyId is required');
  return {
    type: ATTESTATION_TYPE,
    model: { id: root.modelId, name: root.name, slug: root.slug, organizationId: root.organizationId },
    weightsDigest: root.weightsDigest ?? null,
    lineage: lineageEdges,
    royaltyStack: stack,
    certification: cert,
    issuedAt: iso(input.issuedAt, 'issuedAt'),
    keyId: input.keyId,
  };
}

/** RFC 8785 canonical JSON: the bytes that are signed (UTF-8). */
export function canonicalJson(value: unknown): string {
  const json = canonicalize(value);
  if (json === undefined) throw new TypeError('value has no JSON form');
  return json;
}
