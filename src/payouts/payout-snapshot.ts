/**
 * The snapshot hash of a payout batch: what the approving admin saw. SHA-256
 * (hex) over the RFC 8785 canonical JSON of the batch (id, currency, minimum,
 * as-of time, holdback) and every payout (id, organization, connected account,
 * amount, status — HELD included — and the ledger entries behind the amount
 * with what each adds), payouts by organization then id, lines by entry id.
 * Amounts are decimal strings (never JSON numbers: minor units may exceed
 * 2^53). Holding or releasing a payout changes the hash, so an approval made
 * against an older view of the batch is refused.
 */
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';

export interface SnapshotBatch {
  id: string;
  currency: string;
  minimumMinor: bigint;
  asOf: Date;
  holdbackDays: number;
}

export interface SnapshotPayoutFacts {
  id: string;
  organizationId: string;
  accountId: string;
  amountMinor: bigint;
  status: string;
  lines: readonly { entryId: string; amountMinor: bigint }[];
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The canonical text the hash is computed over (exposed for tests and for anyone re-deriving the hash). */
export function snapshotDocument(batch: SnapshotBatch, payouts: readonly SnapshotPayoutFacts[]): string {
  const ordered = [...payouts].sort((a, b) => byText(a.organizationId, b.organizationId) || byText(a.id, b.id));
  const doc = {
    version: 1,
    batch: {
      id: batch.id,
      currency: batch.currency,
      minimumMinor: batch.minimumMinor.toString(),
      asOf: batch.asOf.toISOString(),
      holdbackDays: batch.holdbackDays,
    },
    payouts: ordered.map((p) => ({
      id: p.id,
      organizationId: p.organizationId,
      accountId: p.accountId,
      amountMinor: p.amountMinor.toString(),
      status: p.status,
      // Entry ids are bigints: ordered numerically, as the database orders them.
      lines: [...p.lines]
        .sort((a, b) => (BigInt(a.entryId) < BigInt(b.entryId) ? -1 : BigInt(a.entryId) > BigInt(b.entryId) ? 1 : 0))
        .map((l) => ({ entryId: l.entryId, amountMinor: l.amountMinor.toString() })),
    })),
  };
  const text = canonicalize(doc);
  if (text === undefined) throw new Error('snapshot document could not be serialized');
  return text;
}

export function snapshotHash(batch: SnapshotBatch, payouts: readonly SnapshotPayoutFacts[]): string {
  return createHash('sha256').update(snapshotDocument(batch, payouts), 'utf8').digest('hex');
}
