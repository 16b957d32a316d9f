import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditRecord {
  seq: bigint;
  occurredAt: Date;
  actorUserId: string | null;
  actorApiKeyId: string | null;
  organizationId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  data: Record<string, unknown>;
}

/** SHA-256 over the previous hash and the canonical JSON (RFC 8785) of the record. */
export function auditHash(prevHash: string, r: AuditRecord): string {
  const body = canonicalize({
    seq: r.seq.toString(),
    occurredAt: r.occurredAt.toISOString(),
    actorUserId: r.actorUserId,
    actorApiKeyId: r.actorApiKeyId,
    organizationId: r.organizationId,
    action: r.action,
    targetType: r.targetType,
    targetId: r.targetId,
    data: r.data,
  });
  return createHash('sha256').update(prevHash).update('\n').update(body ?? '').digest('hex');
}
