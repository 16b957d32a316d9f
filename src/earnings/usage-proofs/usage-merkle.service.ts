/**
 * Merkle roots of the usage a closed billing period billed, per agreement,
 * and inclusion proofs of single events (RFC 6962 hashing, see merkle.ts).
 *
 * Which events a period billed. The close rates usage from the rollups
 * (usage_period_totals), not from events, so the set is reconstructed from
 * the events' timestamps and billing_periods.closed_at (both database time):
 * events that occurred in P and were received by the time P closed (the P
 * usage lines), plus late events of earlier closed months received after the
 * previous month closed and by the time P closed (the P adjustment lines).
 * Each event is therefore in exactly one period's tree, the first close after
 * it arrived, and an event that arrives after P closed is in the next
 * period's tree, as the next invoice bills it.
 *
 * Race window (stated, not closed): a close reads an agreement's rollup in a
 * chunk transaction a moment before closed_at is stamped, and an ingestion
 * transaction stamps received_at when it starts but becomes visible when it
 * commits. An event whose ingestion overlaps the close (received_at before
 * closed_at, committed after the chunk read the rollup) is billed by the next
 * close as an adjustment but counted here in P's tree. Until a close records
 * per-event what it billed, a period's root is only reproducible once every
 * ingestion that started before the close has committed (in practice
 * milliseconds after it); reading at READ COMMITTED inside that window could
 * give a different root than a later read.
 *
 * Each call reads in one REPEATABLE READ snapshot (or the caller's
 * transaction), page by page, so memory stays flat in the number of events.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { parsePeriod } from '../../billing/billing-period';
import { ConflictError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { MerkleAccumulator, usageLeaf, usageLeafHash } from './merkle';
import { BilledEventRow, ClosedPeriodBounds, UsageProofsRepository } from './usage-proofs.repository';

export interface UsagePeriodRoot {
  agreementId: string;
  period: string;
  eventCount: number;
  inputTokens: bigint;
  outputTokens: bigint;
  /** lowercase hex */
  merkleRoot: string;
}

export interface UsageInclusion {
  agreementId: string;
  period: string;
  eventId: string;
  leafIndex: number;
  treeSize: number;
  leaf: Record<string, string>;
  leafHash: string;
  /** hex, from the leaf's sibling up to the root's children */
  auditPath: string[];
  merkleRoot: string;
}

/** Rows per page of the stream: bounds memory per call, keeps round trips few. */
export const USAGE_PROOF_PAGE_ROWS = 10_000;

@Injectable()
export class UsageMerkleService {
  /** Rows per page (a field so a test can make pages small). */
  pageRows = USAGE_PROOF_PAGE_ROWS;

  constructor(private readonly repo: UsageProofsRepository) {}

  /** The root and totals of the events billed for the agreement at the close of `period` (CONFLICT when it is not closed). */
  async periodRoot(em: EntityManager, agreementId: string, period: string): Promise<UsagePeriodRoot> {
    assertUuid('agreementId', agreementId);
    const p = parsePeriod(period).period;
    return this.snapshot(em, async (tx) => {
      const bounds = await this.requireClosed(tx, p);
      const acc = new MerkleAccumulator();
      const input = new TokenSum();
      const output = new TokenSum();
      await this.stream(tx, agreementId, bounds, (e) => {
        acc.push(usageLeafHash(leafInput(agreementId, e)));
        input.add(e.input_tokens);
        output.add(e.output_tokens);
      });
      return {
        agreementId,
        period: p,
        eventCount: acc.size,
        inputTokens: input.total(),
        outputTokens: output.total(),
        merkleRoot: acc.root().toString('hex'),
      };
    });
  }

  /**
   * The event's leaf, its position and audit path in the period's tree, and
   * the root; null when the event was not billed at that close (another
   * period's, or never ingested). CONFLICT when the period is not closed.
   */
  async inclusionProof(em: EntityManager, agreementId: string, period: string, eventId: string): Promise<UsageInclusion | null> {
    assertUuid('agreementId', agreementId);
    const p = parsePeriod(period).period;
    return this.snapshot(em, async (tx) => {
      const bounds = await this.requireClosed(tx, p);
      const pos = await this.repo.eventPosition(tx, agreementId, bounds, eventId);
      if (!pos.billed) return null;
      const index = pos.before;
      const n = pos.treeSize;
      // The sibling subtrees of the leaf's path, as leaf ranges, root side first (RFC 6962 PATH).
      const ranges = siblingRanges(index, n);
      const byStart = [...ranges].sort((a, b) => a.lo - b.lo);
      const roots = new Map<number, Buffer>();
      const full = new MerkleAccumulator();
      let r = 0;
      let current: MerkleAccumulator | null = null;
      let leaf: Buffer | null = null;
      let leafFields: Record<string, string> | null = null;
      let i = 0;
      await this.stream(tx, agreementId, bounds, (e) => {
        const h = usageLeafHash(leafInput(agreementId, e));
        full.push(h);
        if (i === index) {
          if (e.event_id !== eventId) throw new Error(`usage proof: leaf ${index} is ${e.event_id}, expected ${eventId}`);
          leaf = h;
          leafFields = usageLeaf(leafInput(agreementId, e));
        } else {
          while (byStart[r].hi <= i) r++;
          if (byStart[r].lo === i) current = new MerkleAccumulator();
          current!.push(h);
          if (i === byStart[r].hi - 1) roots.set(byStart[r].lo, current!.root());
        }
        i++;
      });
      if (full.size !== n || leaf === null) throw new Error(`usage proof: read ${full.size} events, counted ${n}`);
      return {
        agreementId,
        period: p,
        eventId,
        leafIndex: index,
        treeSize: n,
        leaf: leafFields!,
        leafHash: (leaf as Buffer).toString('hex'),
        auditPath: ranges.map((x) => roots.get(x.lo)!.toString('hex')).reverse(),
        merkleRoot: full.root().toString('hex'),
      };
    });
  }

  private async requireClosed(em: EntityManager, period: string): Promise<ClosedPeriodBounds> {
    const bounds = await this.repo.closedPeriodBounds(em, period);
    if (!bounds) throw new ConflictError(`Billing period ${period} is not closed`, { reason: 'PERIOD_NOT_CLOSED', period });
    return bounds;
  }

  /** Every billed event, in byte order of event_id, page by page. */
  private async stream(em: EntityManager, agreementId: string, bounds: ClosedPeriodBounds, each: (e: BilledEventRow) => void): Promise<void> {
    let after = '';
    for (;;) {
      const page = await this.repo.billedEventsPage(em, agreementId, bounds, after, this.pageRows);
      for (const e of page) each(e);
      if (page.length < this.pageRows) return;
      after = page[page.length - 1].event_id;
    }
  }

  /** One consistent snapshot for all pages: the caller's transaction, or a REPEATABLE READ one. */
  private snapshot<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
    if (em.queryRunner?.isTransactionActive) return work(em);
    return em.transaction('REPEATABLE READ', work);
  }
}

function leafInput(agreementId: string, e: BilledEventRow) {
  return { agreementId, eventId: e.event_id, occurredAt: e.occurred_at, inputTokens: e.input_tokens, outputTokens: e.output_tokens, source: e.source };
}

/**
 * Exact sum of decimal token counts without a BigInt per event: small values
 * add up as doubles while the partial sum stays below 2^52 (exact integers),
 * then move into a bigint; a value of more than 15 digits goes straight there.
 */
export class TokenSum {
  private big = 0n;
  private small = 0;

  add(decimal: string): void {
    if (decimal.length > 15) {
      this.big += BigInt(decimal);
      return;
    }
    this.small += Number(decimal);
    if (this.small >= 2 ** 52) {
      this.big += BigInt(this.small);
      this.small = 0;
    }
  }

  total(): bigint {
    return this.big + BigInt(this.small);
  }
}

/** The leaf ranges [lo, hi) whose roots form the audit path of leaf `m` in a tree of `n`, root side first. */
export function siblingRanges(m: number, n: number): { lo: number; hi: number }[] {
  const out: { lo: number; hi: number }[] = [];
  let lo = 0;
  let hi = n;
  while (hi - lo > 1) {
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    if (m - lo < k) {
      out.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      out.push({ lo, hi: lo + k });
      lo += k;
    }
  }
  return out;
}
