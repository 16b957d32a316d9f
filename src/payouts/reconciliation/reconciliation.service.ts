/**
 * Reconciliation with the payment processor, one UTC day at a time: the
 * ledger's cash movements of the day (journal transactions touching
 * platform:cash, by occurred_at) against the processor's balance transactions
 * created that day (see reconciliation-matching.ts for the items and the
 * matching rule). What does not match is classified:
 *  - TIMING: the same key agrees once the neighbouring days are included
 *    (a movement booked just before or after midnight on one side), or — for
 *    disputes, which the processor settles when they open and the ledger when
 *    they close — the dispute is still open, or agrees over its whole life;
 *  - DIFFERENCE: anything else (a movement one side has and the other not,
 *    or different amounts).
 * Every run is stored (reconciliation_runs) with its full result; a run with
 * differences writes an audit entry and counts in the metrics.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { PAYMENTS_PORT, PaymentsPort } from '../../payments/payments.port';
import type { Principal } from '../../platform/auth/principal';
import { Clock } from '../../platform/clock/clock';
import { Database } from '../../platform/database/transaction';
import { BadInputError, ForbiddenError } from '../../platform/errors/app-error';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { CategoryTotal, keyOf, match, matchingCategory, ReconItem } from './reconciliation-matching';
import { LedgerCashRow, ReconciliationRepository, StoredRunRow } from './reconciliation.repository';

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export type ItemStatus = 'DIFFERENCE' | 'TIMING';

export interface UnmatchedItem extends ReconItem {
  status: ItemStatus;
  note: string;
}

export interface ReconciliationResult {
  id: string;
  date: string;
  mode: string;
  trigger: 'ADMIN' | 'JOB';
  ranAt: Date;
  categories: CategoryTotal[];
  unmatched: UnmatchedItem[];
  matchedCount: number;
  differenceCount: number;
  timingCount: number;
}

@Injectable()
export class ReconciliationService {
  private readonly log = new Logger('Reconciliation');

  constructor(
    private readonly db: Database,
    private readonly repo: ReconciliationRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    @Inject(PAYMENTS_PORT) private readonly port: PaymentsPort,
  ) {}

  /** Admin: reconciles the UTC day `date` (YYYY-MM-DD) now and stores the run. */
  async reconcile(principal: Principal, date: string): Promise<ReconciliationResult> {
    requireAdmin(principal);
    return this.run(this.parseDay(date), 'ADMIN', principal);
  }

  /** Admin: the latest stored run for the day; runs one first when there is none. */
  async latest(principal: Principal, date: string): Promise<ReconciliationResult> {
    requireAdmin(principal);
    const day = this.parseDay(date);
    const stored = await this.repo.latestRun(this.db.reader, date);
    return stored ? fromStored(stored) : this.run(day, 'ADMIN', principal);
  }

  /** Admin: the stored runs of a day, newest first. */
  async history(principal: Principal, date: string, limit = 20): Promise<ReconciliationResult[]> {
    requireAdmin(principal);
    this.parseDay(date);
    return (await this.repo.runs(this.db.reader, date, Math.min(Math.max(limit, 1), 100))).map(fromStored);
  }

  /** The daily job: the previous UTC day on the platform clock. */
  async reconcilePreviousDay(): Promise<ReconciliationResult> {
    const today = Math.floor(this.clock.now().getTime() / DAY_MS) * DAY_MS;
    return this.run(new Date(today - DAY_MS), 'JOB', null);
  }

  /** Reconciles [day, day + 1 day) and stores the run. */
  async run(day: Date, trigger: 'ADMIN' | 'JOB', actor: Principal | null): Promise<ReconciliationResult> {
    const from = day;
    const to = new Date(day.getTime() + DAY_MS);
    const windows = new Window(this.repo, this.db, this.port);
    // The day and its neighbours, read once (timing differences look there).
    const around = await windows.items(new Date(from.getTime() - DAY_MS), new Date(to.getTime() + DAY_MS));
    const inDay = (i: ReconItem) => i.at >= from && i.at < to;
    const ledger = around.ledger.filter(inDay);
    const processor = around.processor.filter(inDay);
    const result = match(ledger, processor);

    const disputeIds = [...new Set(result.differences.filter((d) => d.category === 'dispute' || d.category === 'processing_fee').map((d) => d.sourceId).filter((s): s is string => !!s && s.startsWith('du_')))];
    const disputes = new Map((await this.repo.disputes(this.db.reader, disputeIds)).map((d) => [d.disputeId, d]));

    const unmatched: UnmatchedItem[] = [];
    for (const d of result.differences) {
      let status: ItemStatus = 'DIFFERENCE';
      let note = d.items.some((i) => i.side === 'LEDGER') && d.items.some((i) => i.side === 'PROCESSOR')
        ? `amounts differ: ledger ${d.ledgerMinor}, processor ${d.processorMinor}`
        : d.items[0].side === 'LEDGER'
          ? 'in the ledger, not at the processor'
          : 'at the processor, not in the ledger';
      if (d.sourceId !== null) {
        const key = keyOf(d);
        const agrees = (w: { ledger: ReconItem[]; processor: ReconItem[] }) => sumKey(w.ledger, key) === sumKey(w.processor, key);
        const dispute = d.sourceId.startsWith('du_') ? disputes.get(d.sourceId) : undefined;
        if (agrees(around)) {
          status = 'TIMING';
          note = 'matched across midnight: the counterpart is on the neighbouring day';
        } else if (dispute && d.category === 'dispute' && dispute.status === 'OPEN') {
          status = 'TIMING';
          note = 'dispute still open: the processor has withdrawn the amount, the ledger books it when the dispute closes';
        } else if (dispute && dispute.closedAt) {
          const start = startOfDay(new Date(Math.min(dispute.openedAt.getTime(), from.getTime())));
          const end = new Date(startOfDay(new Date(Math.max(dispute.closedAt.getTime(), from.getTime()))).getTime() + 2 * DAY_MS);
          if (agrees(await windows.items(start, end))) {
            status = 'TIMING';
            note = `dispute ${dispute.status.toLowerCase()}: both sides agree over the dispute's life (${iso(start)} to ${iso(new Date(end.getTime() - DAY_MS))})`;
          }
        }
      }
      for (const i of d.items) unmatched.push({ ...i, status, note });
    }

    const matchedCount = result.categories.reduce((s, c) => s + c.matchedCount, 0);
    const differenceCount = unmatched.filter((u) => u.status === 'DIFFERENCE').length;
    const timingCount = unmatched.length - differenceCount;
    const date = iso(day);
    const ranAt = this.clock.now();
    const stored = await this.db.transaction(async (tx) => {
      const row = await this.repo.insertRun(tx, {
        day: date,
        mode: this.port.mode,
        trigger,
        requestedBy: actor?.kind === 'user' ? actor.userId : null,
        ranAt,
        matchedCount,
        differenceCount,
        timingCount,
        result: { categories: result.categories.map(storedCategory), unmatched: unmatched.map(storedItem) },
      });
      if (differenceCount > 0) {
        await this.audit.record(tx, actor, {
          action: 'payouts.reconciliation.differences',
          targetType: 'ReconciliationRun',
          targetId: row.id,
          data: {
            date,
            mode: this.port.mode,
            differences: unmatched
              .filter((u) => u.status === 'DIFFERENCE')
              .slice(0, 50)
              .map((u) => ({ side: u.side, category: u.category, sourceId: u.sourceId, currency: u.currency, amountMinor: u.amountMinor.toString(), reference: u.reference })),
            differenceCount,
          },
        });
      }
      return row;
    });
    this.metrics.reconciliationRun(differenceCount, timingCount);
    if (differenceCount > 0) this.log.warn({ date, differenceCount, runId: stored.id }, 'reconciliation found differences with the processor');
    return fromStored(stored);
  }

  private parseDay(date: string): Date {
    const day = DATE.test(date) ? new Date(`${date}T00:00:00.000Z`) : null;
    if (!day || Number.isNaN(day.getTime()) || iso(day) !== date) throw new BadInputError([{ field: 'date', message: 'date must be a UTC day, YYYY-MM-DD' }]);
    if (day.getTime() > this.clock.now().getTime()) throw new BadInputError([{ field: 'date', message: 'date must not be in the future' }]);
    return day;
  }
}

/** Ledger and processor items over a range, read once per range. */
class Window {
  private readonly cache = new Map<string, Promise<{ ledger: ReconItem[]; processor: ReconItem[] }>>();

  constructor(
    private readonly repo: ReconciliationRepository,
    private readonly db: Database,
    private readonly port: PaymentsPort,
  ) {}

  items(from: Date, to: Date): Promise<{ ledger: ReconItem[]; processor: ReconItem[] }> {
    const k = `${from.toISOString()}|${to.toISOString()}`;
    let p = this.cache.get(k);
    if (!p) this.cache.set(k, (p = this.read(from, to)));
    return p;
  }

  private async read(from: Date, to: Date): Promise<{ ledger: ReconItem[]; processor: ReconItem[] }> {
    const [rows, txns] = await Promise.all([this.repo.ledgerCash(this.db.reader, from, to), this.port.listBalanceTransactions({ from, to })]);
    const processor: ReconItem[] = [];
    for (const b of txns) {
      processor.push({ side: 'PROCESSOR', category: matchingCategory(b.reportingCategory), sourceId: b.sourceId, currency: b.currency, amountMinor: b.amountMinor, reference: b.id, at: b.createdAt });
      if (b.feeMinor !== 0n) {
        processor.push({ side: 'PROCESSOR', category: 'processing_fee', sourceId: b.sourceId, currency: b.currency, amountMinor: -b.feeMinor, reference: `${b.id}:fee`, at: b.createdAt });
      }
    }
    return { ledger: rows.filter((r) => r.cashMinor !== 0n).map(ledgerItem), processor };
  }
}

/** What a ledger transaction's cash movement is at the processor, from its kind and metadata. */
export function ledgerItem(r: LedgerCashRow): ReconItem {
  const m = r.metadata;
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : null);
  let category = 'other';
  let sourceId: string | null = null;
  switch (r.kind) {
    case 'INVOICE_PAID':
      category = 'charge';
      sourceId = str(m.chargeId) ?? r.invoiceChargeId;
      break;
    case 'PROCESSING_FEE':
      category = 'processing_fee';
      sourceId = r.invoiceChargeId;
      break;
    case 'REFUND':
      category = 'refund';
      sourceId = str(m.refundId);
      break;
    case 'DISPUTE_LOST':
      category = 'dispute';
      sourceId = str(m.disputeId);
      break;
    case 'DISPUTE_FEE':
      category = 'processing_fee';
      sourceId = str(m.disputeId);
      break;
    case 'PAYOUT':
    case 'PAYOUT_FAILED':
      category = 'transfer';
      sourceId = r.payoutTransferId ?? (str(m.payout_id) ? `payout:${m.payout_id}` : null);
      break;
    case 'TRANSFER_REVERSAL':
      category = 'transfer_reversal';
      sourceId = str(m.reversal_id);
      break;
  }
  return { side: 'LEDGER', category, sourceId, currency: r.currency, amountMinor: r.cashMinor, reference: r.reference, at: r.occurredAt };
}

function sumKey(items: readonly ReconItem[], key: string): bigint {
  return items.filter((i) => keyOf(i) === key).reduce((s, i) => s + i.amountMinor, 0n);
}

const startOfDay = (d: Date) => new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS);
const iso = (d: Date) => d.toISOString().slice(0, 10);

function requireAdmin(principal: Principal): void {
  if (principal.kind !== 'user' || !principal.isAdmin) throw new ForbiddenError('Platform admins only');
}

const storedCategory = (c: CategoryTotal) => ({ category: c.category, currency: c.currency, matchedCount: c.matchedCount, matchedMinor: c.matchedMinor.toString() });
const storedItem = (u: UnmatchedItem) => ({
  side: u.side,
  category: u.category,
  sourceId: u.sourceId,
  currency: u.currency,
  amountMinor: u.amountMinor.toString(),
  reference: u.reference,
  at: u.at.toISOString(),
  status: u.status,
  note: u.note,
});

function fromStored(r: StoredRunRow): ReconciliationResult {
  const result = r.result as { categories: ReturnType<typeof storedCategory>[]; unmatched: ReturnType<typeof storedItem>[] };
  return {
    id: r.id,
    date: r.day,
    mode: r.mode,
    trigger: r.trigger as 'ADMIN' | 'JOB',
    ranAt: r.ranAt,
    categories: result.categories.map((c) => ({ ...c, matchedMinor: BigInt(c.matchedMinor) })),
    unmatched: result.unmatched.map((u) => ({ ...u, side: u.side as UnmatchedItem['side'], amountMinor: BigInt(u.amountMinor), at: new Date(u.at) })),
    matchedCount: r.matchedCount,
    differenceCount: r.differenceCount,
    timingCount: r.timingCount,
  };
}
