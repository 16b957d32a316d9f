/**
 * Merkle roots over the usage events billed in a period (RFC 6962 hashing:
 * leaf = SHA-256(0x00 ‖ canonical JSON of the event), node = SHA-256(0x01 ‖
 * left ‖ right), split at the largest power of two below n; empty tree =
 * SHA-256 of nothing). Leaves are ordered by event id in byte order.
 *
 * A small in-memory version with the module's public interface: it loads the
 * period's events of one agreement and builds the tree recursively.
 *
 * Billed in period P: events that occurred in P and were received by the close
 * of P, plus late events of an earlier closed period received after that
 * period's close (and after the close of the period before P, which billed
 * the earlier ones) and by the close of P.
 */
import { Injectable } from '@nestjs/common';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { parsePeriod, previousPeriod } from '../../billing/billing-period';
import { ConflictError } from '../../platform/errors/app-error';

export interface UsagePeriodRoot { agreementId: string; period: string; eventCount: number; inputTokens: bigint; outputTokens: bigint; merkleRoot: string }
export interface UsageInclusion { agreementId: string; period: string; eventId: string; leafIndex: number; treeSize: number; leaf: Record<string, string>; leafHash: string; auditPath: string[]; merkleRoot: string }

interface BilledEvent {
  leaf: Record<string, string>;
  eventId: string;
  inputTokens: bigint;
  outputTokens: bigint;
}

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const leafHashOf = (leaf: Record<string, string>): Buffer => sha256(Buffer.from([0]), Buffer.from(canonicalize(leaf)!, 'utf8'));
const split = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function root(hashes: Buffer[]): Buffer {
  if (hashes.length === 0) return sha256();
  if (hashes.length === 1) return hashes[0];
  const k = split(hashes.length);
  return sha256(Buffer.from([1]), root(hashes.slice(0, k)), root(hashes.slice(k)));
}
function path(hashes: Buffer[], index: number): Buffer[] {
  if (hashes.length <= 1) return [];
  const k = split(hashes.length);
  return index < k ? [...path(hashes.slice(0, k), index), root(hashes.slice(k))] : [...path(hashes.slice(k), index - k), root(hashes.slice(0, k))];
}

@Injectable()
export class UsageMerkleService {
  async periodRoot(em: EntityManager, agreementId: string, period: string): Promise<UsagePeriodRoot> {
    const events = await this.billed(em, agreementId, period);
    return {
      agreementId,
      period,
      eventCount: events.length,
      inputTokens: events.reduce((s, e) => s + e.inputTokens, 0n),
      outputTokens: events.reduce((s, e) => s + e.outputTokens, 0n),
      merkleRoot: root(events.map((e) => leafHashOf(e.leaf))).toString('hex'),
    };
  }

  async inclusionProof(em: EntityManager, agreementId: string, period: string, eventId: string): Promise<UsageInclusion | null> {
    const events = await this.billed(em, agreementId, period);
    const index = events.findIndex((e) => e.eventId === eventId);
    if (index < 0) return null;
    const hashes = events.map((e) => leafHashOf(e.leaf));
    return {
      agreementId,
      period,
      eventId,
      leafIndex: index,
      treeSize: events.length,
      leaf: events[index].leaf,
      leafHash: hashes[index].toString('hex'),
      auditPath: path(hashes, index).map((h) => h.toString('hex')),
      merkleRoot: root(hashes).toString('hex'),
    };
  }

  private async billed(em: EntityManager, agreementId: string, period: string): Promise<BilledEvent[]> {
    const p = parsePeriod(period);
    const periods: { period: string; period_start: Date; status: string; closed_at: Date | null }[] = await em
      .createQueryBuilder()
      .select(['bp.period AS period', 'bp.period_start AS period_start', 'bp.status AS status', 'bp.closed_at AS closed_at'])
      .from('billing_periods', 'bp')
      .where('bp.period_start <= :start', { start: p.start.toISOString() })
      .getRawMany();
    const closeOf = new Map(periods.map((r) => [r.period, r.closed_at ? new Date(r.closed_at) : null]));
    const closedAt = closeOf.get(p.period);
    if (!closedAt) throw new ConflictError(`Billing period ${p.period} is not closed`, { period: p.period });
    const prevClose = closeOf.get(previousPeriod(p).period) ?? null;
    const rows: { event_id: string; source: string; occurred_at: Date; received_at: Date; input_tokens: string; output_tokens: string }[] = await em
      .createQueryBuilder()
      .select(['e.event_id AS event_id', 'e.source AS source', 'e.occurred_at AS occurred_at', 'e.received_at AS received_at',
        'e.input_tokens::text AS input_tokens', 'e.output_tokens::text AS output_tokens'])
      .from('usage_events', 'e')
      .where('e.agreement_id = :agreementId AND e.occurred_at < :end AND e.received_at <= :closedAt', { agreementId, end: p.end.toISOString(), closedAt: closedAt.toISOString() })
      .getRawMany();
    const out: BilledEvent[] = [];
    for (const r of rows) {
      const occurred = new Date(r.occurred_at);
      const received = new Date(r.received_at);
      let billedHere: boolean;
      if (occurred >= p.start) {
        billedHere = true;
      } else {
        const q = closeOf.get(`${occurred.getUTCFullYear()}-${String(occurred.getUTCMonth() + 1).padStart(2, '0')}`) ?? null;
        billedHere = q !== null && received > q && (prevClose === null || received > prevClose);
      }
      if (!billedHere) continue;
      out.push({
        eventId: r.event_id,
        inputTokens: BigInt(r.input_tokens),
        outputTokens: BigInt(r.output_tokens),
        leaf: {
          agreementId,
          eventId: r.event_id,
          occurredAt: occurred.toISOString(),
          inputTokens: r.input_tokens,
          outputTokens: r.output_tokens,
          source: r.source,
        },
      });
    }
    return out.sort((a, b) => Buffer.compare(Buffer.from(a.eventId, 'utf8'), Buffer.from(b.eventId, 'utf8')));
  }
}
