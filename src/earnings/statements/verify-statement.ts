/**
 * Offline verification of a signed statement (earnings or usage) against the
 * published key set (GET /.well-known/beiming-keys.json), and of a usage
 * event's inclusion in a usage statement's Merkle root. Pure: node:crypto and
 * `canonicalize` only — no database, no Nest, no server code.
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
import canonicalize from 'canonicalize';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { EARNINGS_STATEMENT_TYPE, USAGE_STATEMENT_TYPE, type AnyStatement, type UsageStatement } from './statement.types';

export interface StatementVerification {
  valid: boolean;
  reason?: string;
  statement?: AnyStatement;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const invalid = (reason: string) => ({ valid: false as const, reason });

function parseMaybe(value: unknown, what: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) return { ok: true, value };
  try {
    return { ok: true, value: JSON.parse(value.toString()) };
  } catch {
    return { ok: false, reason: `${what} is not JSON` };
  }
}

function exactBase64url(value: string, bytes: number): Buffer | null {
  if (!/^[A-Za-z0-9_-]+$/.test(value)) return null;
  const buf = Buffer.from(value, 'base64url');
  return buf.length === bytes && buf.toString('base64url') === value ? buf : null;
}

const keyIdOf = (raw: Buffer): string => `bm-${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;

function canonical(value: unknown): string | null {
  try {
    return canonicalize(value) ?? null;
  } catch {
    return null;
  }
}

/** Verifies the document `{payload, signature, keyId, statement?}` (object or JSON text) against a JWKS (object or text). */
export function verifyStatement(documentJson: unknown, jwks: unknown): StatementVerification {
  const d = parseMaybe(documentJson, 'the statement');
  if (!d.ok) return invalid(d.reason);
  const doc = d.value;
  if (!isObject(doc)) return invalid('the statement must be a JSON object {payload, signature, keyId}');
  const { payload, signature, keyId } = doc;
  if (typeof payload !== 'string') return invalid('the statement has no payload string');
  if (typeof signature !== 'string') return invalid('the statement has no signature string');
  if (typeof keyId !== 'string' || keyId === '') return invalid('the statement has no keyId string');

  const k = parseMaybe(jwks, 'the key set');
  if (!k.ok) return invalid(k.reason);
  const keySet = k.value;
  if (!isObject(keySet) || !Array.isArray(keySet.keys)) return invalid('the key set must be a JWKS: {"keys": [...]}');
  const matches = keySet.keys.filter((x): x is Record<string, unknown> => isObject(x) && x.kid === keyId);
  if (matches.length !== 1) return invalid(matches.length === 0 ? `the key set has no key ${keyId}` : `the key set lists key ${keyId} more than once`);
  const jwk = matches[0];
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') return invalid(`key ${keyId} is not an Ed25519 (OKP) key`);
  const raw = typeof jwk.x === 'string' ? exactBase64url(jwk.x, 32) : null;
  if (!raw) return invalid(`key ${keyId} has no valid x (32 bytes, base64url)`);
  if (keyIdOf(raw) !== keyId) return invalid(`key ${keyId} does not match its key id`);

  const sig = exactBase64url(signature, 64);
  if (!sig) return invalid('the signature is not 64 bytes of base64url');
  let ok = false;
  try {
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    ok = verify(null, Buffer.from(payload, 'utf8'), publicKey, sig);
  } catch {
    ok = false;
  }
  if (!ok) return invalid(`the signature does not match the payload under key ${keyId}`);

  let statement: unknown;
  try {
    statement = JSON.parse(payload);
  } catch {
    return invalid('the payload is not JSON');
  }
  if (canonical(statement) !== payload) return invalid('the payload is not RFC 8785 canonical JSON');
  if (!isObject(statement)) return invalid('the payload is not a JSON object');
  if (statement.type !== EARNINGS_STATEMENT_TYPE && statement.type !== USAGE_STATEMENT_TYPE) return invalid(`unknown statement type ${JSON.stringify(statement.type)}`);
  if (statement.keyId !== keyId) return invalid(`the statement's keyId ${String(statement.keyId)} differs from the document's keyId ${keyId}`);
  if (typeof statement.organizationId !== 'string' || typeof statement.period !== 'string') return invalid('the statement names no organizationId / period');
  if (doc.statement !== undefined && canonical(doc.statement) !== payload) return invalid('the statement differs from the signed payload');
  return { valid: true, statement: statement as unknown as AnyStatement };
}

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

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

export function usageLeafHash(leaf: Record<string, string>): Buffer {
  return sha256(Buffer.from([0]), Buffer.from(canonicalize(leaf)!, 'utf8'));
}

/** RFC 9162 §2.1.3.2: the root the audit path leads to from (leafHash, index) in a tree of treeSize, or null when the path has the wrong length. */
export function rootFromAuditPath(leafHash: Buffer, index: number, treeSize: number, path: Buffer[]): Buffer | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return null;
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = sha256(Buffer.from([1]), p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = sha256(Buffer.from([1]), r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
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
  const hash = usageLeafHash(leaf);
  if (proof.leafHash !== undefined && proof.leafHash !== hash.toString('hex')) return invalid('the event does not hash to the proof\'s leafHash');
  const root = rootFromAuditPath(hash, leafIndex, treeSize, auditPath.map((h: string) => Buffer.from(h, 'hex')));
  if (!root) return invalid('the audit path does not fit the leaf index and tree size');
  if (root.toString('hex') !== entry.usage.merkleRoot) return invalid(`the event is not in the statement's tree for agreement ${leaf.agreementId} (root mismatch)`);
  return { valid: true, statement };
}
