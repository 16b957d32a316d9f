/**
 * Closing a billing period: one PERIOD invoice per distiller organization
 * and currency with every agreement's lines (see period-rating.ts), written
 * DRAFT and issued OPEN in the same transaction, with the ledger's
 * INVOICE_ISSUED posting.
 *
 * - Only a month that has ended can be closed, and months close in order:
 *   every month since the first agreement started must be CLOSED before the
 *   next one (late events of a closed month are billed as adjustments at the
 *   next close, so no usage is ever skipped or billed twice).
 * - Work goes in chunks of distillers, one transaction each; the period
 *   becomes CLOSED only in a last transaction, after every chunk. A crashed
 *   close is resumed by calling it again: distillers already invoiced are
 *   skipped.
 * - Every close transaction (any period) takes one advisory lock, so two
 *   closes never rate the same distiller at once (a late adjustment would be
 *   billed twice); the unique index on (distiller, currency, period) is the
 *   backstop. Two concurrent calls therefore produce one set of invoices.
 * - Idempotent: closing a CLOSED period returns its summary and writes nothing.
 */
import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Principal } from '../../platform/auth/principal';
import { Database, Tx } from '../../platform/database/transaction';
import { Clock } from '../../platform/clock/clock';
import { BillingPeriodStatus, InvoiceKind } from '../billing.entity';
import { nextPeriod, parsePeriod, PeriodRange, periodOf } from '../billing-period';
import { InvoiceDraft, InvoiceWriter } from '../invoices/invoice-writer.service';
import { RoyaltyBillingService } from '../revenue/royalty-billing.service';
import { CurrencyTotal, PeriodCloseRepository, PeriodStatusRow } from './period-close.repository';
import { rateAgreement } from './period-rating';

/** Distillers per transaction: bounds a transaction's size and lock time whatever the platform's size. */
export const CLOSE_CHUNK_DISTILLERS = 250;
/** Payment terms of a period invoice. */
export const PERIOD_INVOICE_DUE_DAYS = 14;

export interface CloseSummary {
  period: string;
  status: BillingPeriodStatus;
  closedAt: Date | null;
  /** Invoices this call wrote (0 when it found the period closed). */
  invoicesCreated: number;
  /** All PERIOD invoices of the period. */
  invoiceCount: number;
  totals: CurrencyTotal[];
  alreadyClosed: boolean;
}

export type CloseOutcome =
  | { kind: 'closed'; summary: CloseSummary }
  | { kind: 'not-ended'; period: string; currentPeriod: string }
  | { kind: 'earlier-open'; period: string; openPeriod: string };

@Injectable()
export class PeriodCloseService {
  private readonly log = new Logger('Billing');
  /** Distillers per transaction (a field so a test can make chunks small). */
  chunkSize = CLOSE_CHUNK_DISTILLERS;

  constructor(
    private readonly db: Database,
    private readonly repo: PeriodCloseRepository,
    private readonly writer: InvoiceWriter,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly royalties: RoyaltyBillingService,
  ) {}

  /** `actor` null = the scheduled job. */
  async close(actor: Principal | null, periodText: string): Promise<CloseOutcome> {
    const p = parsePeriod(periodText);
    const current = periodOf(this.clock.now());
    if (p.start.getTime() >= current.start.getTime()) return { kind: 'not-ended', period: p.period, currentPeriod: current.period };

    const known = await this.periodStatus(this.db.reader, p.period);
    if (known?.status === BillingPeriodStatus.CLOSED) return { kind: 'closed', summary: await this.summary(p.period, 0) };
    const open = await this.firstOpenBefore(p);
    if (open) return { kind: 'earlier-open', period: p.period, openPeriod: open };

    await this.db.transaction((tx) => this.repo.startClose(tx, p, this.clock.now()));

    // Distillers with usage or commitments, and those with revenue reports whose royalties may be due.
    const distillers = [...new Set([...(await this.repo.candidateDistillers(this.db.reader, p)), ...(await this.royalties.reportingDistillers(this.db.reader, p))])].sort();
    let created = 0;
    for (let i = 0; i < distillers.length; i += this.chunkSize) {
      const chunk = distillers.slice(i, i + this.chunkSize);
      const n = await this.db.transaction(async (tx) => {
        await this.lock(tx);
        if ((await this.periodStatus(tx, p.period))?.status === BillingPeriodStatus.CLOSED) return null;
        return this.closeChunk(tx, p, chunk);
      });
      if (n === null) break; // a concurrent call finished the period
      created += n;
    }

    const closedNow = await this.db.transaction(async (tx) => {
      await this.lock(tx);
      const row = await this.periodStatus(tx, p.period);
      if (row?.status === BillingPeriodStatus.CLOSED) return false;
      const totals = await this.repo.totalsOf(tx, p.period);
      const count = totals.reduce((s, t) => s + t.invoiceCount, 0);
      await this.repo.markClosed(tx, p.period, actor?.kind === 'user' ? actor.userId : null, count, this.clock.now());
      await this.audit.record(tx, actor, {
        action: 'billing.period.closed',
        targetType: 'BillingPeriod',
        targetId: p.period,
        data: {
          invoiceCount: count,
          invoicesCreatedByThisCall: created,
          totals: totals.map((t) => ({ currency: t.currency, invoices: t.invoiceCount, totalMinor: t.totalMinor.toString() })),
          by: actor ? 'admin' : 'job',
        },
      });
      return true;
    });
    const summary = await this.summary(p.period, created);
    if (closedNow) this.log.log({ period: p.period, invoices: summary.invoiceCount, created }, 'billing period closed');
    return { kind: 'closed', summary: { ...summary, alreadyClosed: !closedNow && created === 0 } };
  }

  /**
   * For the scheduled job: closes, oldest first, every month that has ended and
   * is not closed yet, from the month the first agreement started (normally
   * just the previous month). Returns the periods closed.
   */
  async closeDue(): Promise<string[]> {
    const first = await this.repo.firstAgreementStart(this.db.reader);
    if (!first) return [];
    const current = periodOf(this.clock.now());
    const closed: string[] = [];
    for (let p = periodOf(first); p.start < current.start; p = nextPeriod(p)) {
      if ((await this.periodStatus(this.db.reader, p.period))?.status === BillingPeriodStatus.CLOSED) continue;
      const outcome = await this.close(null, p.period);
      if (outcome.kind !== 'closed') throw new Error(`closing ${p.period}: ${outcome.kind}`);
      closed.push(p.period);
    }
    return closed;
  }

  private async closeChunk(tx: Tx, p: PeriodRange, chunk: string[]): Promise<number> {
    const done = await this.repo.invoicedDistillers(tx, p.period, chunk);
    const todo = chunk.filter((d) => !done.has(d));
    if (todo.length === 0) return 0;
    const agreements = await this.repo.agreementsToRate(tx, todo, p);
    // One invoice per distiller and currency, lines in agreement order (accepted first).
    const drafts = new Map<string, InvoiceDraft>();
    const newDraft = (distillerOrganizationId: string, currency: string): InvoiceDraft => ({
      distillerOrganizationId,
      currency,
      kind: InvoiceKind.PERIOD,
      period: p.period,
      agreementId: null,
      dueInDays: PERIOD_INVOICE_DUE_DAYS,
      lines: [],
    });
    for (const a of agreements) {
      const lines = rateAgreement(a, p);
      if (lines.length === 0) continue;
      const key = `${a.distillerOrganizationId}|${a.currency}`;
      let draft = drafts.get(key);
      if (!draft) {
        draft = newDraft(a.distillerOrganizationId, a.currency);
        drafts.set(key, draft);
      }
      draft.lines.push(...lines);
    }
    // Royalties on reported downstream revenue, after the usage lines (a credit may only take what they leave).
    await this.royalties.addLines(tx, todo, p, drafts, newDraft);
    const issued = await this.writer.issue(tx, [...drafts.values()]);
    return issued.length;
  }

  /** The earliest month before `p` (since the first agreement's start) that is not CLOSED, or null. */
  private async firstOpenBefore(p: PeriodRange): Promise<string | null> {
    const first = await this.repo.firstAgreementStart(this.db.reader);
    if (!first) return null;
    const from = periodOf(first);
    if (from.start >= p.start) return null;
    const closed = await this.repo.closedPeriodsBetween(this.db.reader, from.period, p.period);
    for (let q = from; q.start < p.start; q = nextPeriod(q)) if (!closed.has(q.period)) return q.period;
    return null;
  }

  private lock(tx: Tx): Promise<void> {
    return this.repo.lockCloses(tx);
  }

  private periodStatus(em: Tx, period: string): Promise<PeriodStatusRow | null> {
    return this.repo.periodStatus(em, period);
  }

  private async summary(period: string, created: number): Promise<CloseSummary> {
    const em = this.db.reader;
    const row = await this.periodStatus(em, period);
    const totals = await this.repo.totalsOf(em, period);
    return {
      period,
      status: row?.status ?? BillingPeriodStatus.OPEN,
      closedAt: row?.closedAt ?? null,
      invoicesCreated: created,
      invoiceCount: totals.reduce((s, t) => s + t.invoiceCount, 0),
      totals,
      alreadyClosed: created === 0 && row?.status === BillingPeriodStatus.CLOSED,
    };
  }
}
