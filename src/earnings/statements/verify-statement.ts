/**
 * Offline verification of a signed statement (earnings or usage) against the
 * published key set (GET /.well-known/beiming-keys.json), and of a usage
 * event's inclusion in a usage statement's Merkle root. Pure: the signed
 * envelope check shared with attestations and the RFC 6962 code of the usage
 * proofs (node:crypto and `canonicalize`) — no database, no Nest.
 *
 * Signature: the key is found by kid (Ed25519 OKP, its kid derived from its
 * bytes), the Ed25519 signature is checked over the exact payload bytes, the
 * payload must be RFC 8785 canonical JSON of a known statement type naming
 * the same keyId, and the convenience `statement` (if present) must equal it.
 *
 * Inclusion (RFC 6962 / RFC 9162 §2.1.3.2): the leaf hash is recomputed from
 * the event's fields, the audit path is folded up to a root, which must equal
 * the statement's root for that agreement, with the statement's tree size.
 */
import { convenienceCopyMatches, isObject, parseMaybe, verifySignedEnvelope } from '../../provenance/attestation/signed-envelope';
import { rootFromAuditPath, usageLeafHash, UsageLeafInput } from '../usage-proofs/merkle';
import { EARNINGS_STATEMENT_TYPE, USAGE_STATEMENT_TYPE, type AnyStatement, type UsageStatement } from './statement.types';

export interface StatementVerification {
  valid: boolean;
  reason?: string;
  statement?: AnyStatement;
}

const invalid = (reason: string) => ({ valid: false as const, reason });

/** Verifies the document `{payload, signature, keyId, statement?}` (object or JSON text) against a JWKS (object or text). */
export function verifyStatement(documentJson: unknown, jwks: unknown): StatementVerification {
  const env = verifySignedEnvelope(documentJson, jwks, 'statement');
  if (!env.ok) return invalid(env.reason);
  const statement = env.statement;
  if (!isObject(statement)) return invalid('the payload is not a JSON object');
  if (statement.type !== EARNINGS_STATEMENT_TYPE && statement.type !== USAGE_STATEMENT_TYPE) return invalid(`unknown statement type ${JSON.stringify(statement.type)}`);
  if (statement.keyId !== env.keyId) return invalid(`the statement's keyId ${String(statement.keyId)} differs from the document's keyId ${env.keyId}`);
  if (typeof statement.organizationId !== 'string' || typeof statement.period !== 'string') return invalid('the statement names no organizationId / period');
  if (!convenienceCopyMatches(env.doc, env.payload)) return invalid('the statement differs from the signed payload');
  return { valid: true, statement: statement as unknown as AnyStatement };
}

const LEAF_FIELDS = ['agreementId', 'eventId', 'occurredAt', 'inputTokens', 'outputTokens', 'source'] as const;

/** The leaf object of an event (its six fields, as strings), from an event file or a proof's `leaf`. */
export function usageLeafOf(event: unknown): Record<string, string> | string {
  if (!isObject(event)) return 'the event must be a JSON object';
  const src = isObject(event.leaf) ? event.leaf : event;
  const leaf: Record<string, string> = {};
  for (const f of LEAF_FIELDS) {
    const v = src[f];
    if (typeof v !== 'string') return `the event's ${f} must be a string`;
    leaf[f] = v;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(leaf.occurredAt)) return 'the event\'s occurredAt must be ISO-8601 UTC with milliseconds';
  if (!/^(0|[1-9]\d*)$/.test(leaf.inputTokens) || !/^(0|[1-9]\d*)$/.test(leaf.outputTokens)) return 'the event\'s token counts must be decimal strings';
  return leaf;
}

/**
 * Checks that `event` (the leaf fields) is in the usage statement's tree for
 * its agreement, with `proof` = {leafIndex, treeSize, auditPath: hex[]} (and
 * optionally leafHash / merkleRoot / period, which must then agree).
 */
export function verifyUsageInclusion(statement: AnyStatement, eventJson: unknown, proofJson: unknown): StatementVerification {
  if (statement.type !== USAGE_STATEMENT_TYPE) return invalid('inclusion proofs are checked against a usage statement');
  const e = parseMaybe(eventJson, 'the event');
  if (!e.ok) return invalid(e.reason);
  const p = parseMaybe(proofJson, 'the proof');
  if (!p.ok) return invalid(p.reason);
  const leaf = usageLeafOf(e.value);
  if (typeof leaf === 'string') return invalid(leaf);
  const proof = p.value;
  if (!isObject(proof)) return invalid('the proof must be a JSON object {leafIndex, treeSize, auditPath}');
  const { leafIndex, treeSize, auditPath } = proof;
  if (typeof leafIndex !== 'number' || typeof treeSize !== 'number') return invalid('the proof needs numeric leafIndex and treeSize');
  if (!Array.isArray(auditPath) || !auditPath.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) return invalid('the proof\'s auditPath must be a list of SHA-256 hex strings');
  const entry = (statement as UsageStatement).agreements.find((a) => a.agreementId === leaf.agreementId);
  if (!entry) return invalid(`the statement has no agreement ${leaf.agreementId}`);
  if (proof.period !== undefined && proof.period !== statement.period) return invalid(`the proof is for period ${String(proof.period)}, the statement for ${statement.period}`);
  if (treeSize !== entry.usage.eventCount) return invalid(`the proof's tree has ${treeSize} leaves, the statement counts ${entry.usage.eventCount} events`);
  const hash = usageLeafHash(leaf as unknown as UsageLeafInput);
  if (proof.leafHash !== undefined && proof.leafHash !== hash.toString('hex')) return invalid('the event does not hash to the proof\'s leafHash');
  const root = rootFromAuditPath(hash, leafIndex, treeSize, auditPath.map((h: string) => Buffer.from(h, 'hex')));
  if (!root) return invalid('the audit path does not fit the leaf index and tree size');
  if (root.toString('hex') !== entry.usage.merkleRoot) return invalid(`the event is not in the statement's tree for agreement ${leaf.agreementId} (root mismatch)`);
  return { valid: true, statement };
}
