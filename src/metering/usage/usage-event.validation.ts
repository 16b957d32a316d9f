/**
 * Checks one reported usage event (pure, no database): the shape, the id, the
 * token counts and the time window. Each refusal has a stable reason code and a
 * message that names the field.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { pathWithNul } from '../../platform/http/json-limits';
import { isUuid, normalizeUuid } from '../../platform/validation/uuid';

export const MAX_EVENTS_PER_BATCH = 1000;
export const MAX_BATCH_BYTES = 1024 * 1024;
/** Reported events may be at most this far in the future (clock skew) … */
export const MAX_FUTURE_MS = 5 * 60_000;
/** … and at most this old. */
export const MAX_AGE_MS = 35 * 86_400_000;
/** A token count above this is a bug or an attack, not usage (a trillion tokens per event). */
export const MAX_TOKENS_PER_EVENT = 1_000_000_000_000;
export const MAX_METADATA_BYTES = 4096;
export const MAX_EVENT_ID_LENGTH = 128;

export enum UsageRejection {
  INVALID_EVENT = 'INVALID_EVENT',
  UNKNOWN_FIELD = 'UNKNOWN_FIELD',
  INVALID_ID = 'INVALID_ID',
  INVALID_AGREEMENT_ID = 'INVALID_AGREEMENT_ID',
  AGREEMENT_NOT_FOUND = 'AGREEMENT_NOT_FOUND',
  INVALID_OCCURRED_AT = 'INVALID_OCCURRED_AT',
  OCCURRED_IN_FUTURE = 'OCCURRED_IN_FUTURE',
  OCCURRED_TOO_LONG_AGO = 'OCCURRED_TOO_LONG_AGO',
  BEFORE_AGREEMENT_START = 'BEFORE_AGREEMENT_START',
  INVALID_TOKENS = 'INVALID_TOKENS',
  INVALID_METADATA = 'INVALID_METADATA',
  ID_REUSED = 'ID_REUSED',
}

export interface ValidUsageEvent {
  id: string;
  agreementId: string;
  occurredAt: Date;
  inputTokens: bigint;
  outputTokens: bigint;
  metadata: Record<string, unknown> | null;
}

export type EventCheck =
  | { ok: true; event: ValidUsageEvent }
  | { ok: false; id: string | null; reason: UsageRejection; message: string };

const FIELDS = new Set(['id', 'agreementId', 'occurredAt', 'inputTokens', 'outputTokens', 'metadata']);
// RFC 3339 date-time with an explicit offset: a time without a zone is ambiguous for billing.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
// Printable ASCII without spaces: ids travel in logs, URLs and CSV exports.
const EVENT_ID = /^[\x21-\x7e]+$/;

const reject = (id: string | null, reason: UsageRejection, message: string): EventCheck => ({ ok: false, id, reason, message });

function tokens(v: unknown, field: string): bigint | string {
  if (typeof v !== 'number') return `${field} must be a JSON integer (got ${v === null ? 'null' : typeof v})`;
  if (!Number.isInteger(v)) return `${field} must be a whole number of tokens (got ${v})`;
  if (v < 0) return `${field} must be ≥ 0 (got ${v})`;
  if (v > MAX_TOKENS_PER_EVENT) return `${field} must be at most ${MAX_TOKENS_PER_EVENT} per event (got ${v})`;
  return BigInt(v);
}

export function checkUsageEvent(raw: unknown, now: number): EventCheck {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return reject(null, UsageRejection.INVALID_EVENT, 'each event must be a JSON object');
  }
  const e = raw as Record<string, unknown>;
  const id = typeof e.id === 'string' ? e.id : null;
  for (const k of Object.keys(e)) {
    if (!FIELDS.has(k)) return reject(id, UsageRejection.UNKNOWN_FIELD, `unknown field "${k}" (allowed: ${[...FIELDS].join(', ')})`);
  }
  if (id === null || id.length === 0 || id.length > MAX_EVENT_ID_LENGTH || !EVENT_ID.test(id)) {
    return reject(id, UsageRejection.INVALID_ID, `id must be 1-${MAX_EVENT_ID_LENGTH} printable ASCII characters without spaces`);
  }
  if (!isUuid(e.agreementId)) {
    return reject(id, UsageRejection.INVALID_AGREEMENT_ID, 'agreementId must be a UUID');
  }
  if (typeof e.occurredAt !== 'string' || !RFC3339.test(e.occurredAt) || Number.isNaN(Date.parse(e.occurredAt))) {
    return reject(id, UsageRejection.INVALID_OCCURRED_AT, 'occurredAt must be an RFC 3339 date-time with a time zone, e.g. 2026-11-27T10:15:00Z');
  }
  const occurredAt = new Date(e.occurredAt);
  if (occurredAt.getTime() > now + MAX_FUTURE_MS) {
    return reject(id, UsageRejection.OCCURRED_IN_FUTURE, 'occurredAt is more than 5 minutes in the future (check the reporting clock)');
  }
  if (occurredAt.getTime() < now - MAX_AGE_MS) {
    return reject(id, UsageRejection.OCCURRED_TOO_LONG_AGO, 'occurredAt is more than 35 days ago; such usage can no longer be reported');
  }
  const input = tokens(e.inputTokens, 'inputTokens');
  if (typeof input === 'string') return reject(id, UsageRejection.INVALID_TOKENS, input);
  const output = tokens(e.outputTokens, 'outputTokens');
  if (typeof output === 'string') return reject(id, UsageRejection.INVALID_TOKENS, output);
  let metadata: Record<string, unknown> | null = null;
  if (e.metadata !== undefined && e.metadata !== null) {
    if (typeof e.metadata !== 'object' || Array.isArray(e.metadata)) {
      return reject(id, UsageRejection.INVALID_METADATA, 'metadata must be a JSON object');
    }
    if (Buffer.byteLength(JSON.stringify(e.metadata)) > MAX_METADATA_BYTES) {
      return reject(id, UsageRejection.INVALID_METADATA, `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`);
    }
    // PostgreSQL's jsonb cannot hold U+0000: refused here rather than failing the whole batch's insert.
    const nul = pathWithNul(e.metadata);
    if (nul !== null) {
      return reject(id, UsageRejection.INVALID_METADATA, `metadata must not contain NUL characters (found at metadata.${nul.replace(/\u0000/g, '\\u0000')})`);
    }
    metadata = e.metadata as Record<string, unknown>;
  }
  return {
    ok: true,
    event: { id, agreementId: normalizeUuid(e.agreementId), occurredAt, inputTokens: input, outputTokens: output, metadata },
  };
}

/**
 * What "the same event" means for idempotency: the instant (not its spelling),
 * the counts and the metadata (canonical JSON, RFC 8785).
 */
export function usagePayloadHash(e: Pick<ValidUsageEvent, 'occurredAt' | 'inputTokens' | 'outputTokens' | 'metadata'>): Buffer {
  return createHash('sha256')
    .update(`${e.occurredAt.toISOString()}|${e.inputTokens}|${e.outputTokens}|${e.metadata === null ? '' : canonicalize(e.metadata)}`)
    .digest();
}
