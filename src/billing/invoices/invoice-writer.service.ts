/**
 * Writes invoices: DRAFT rows with their lines, then issued in the same
 * transaction (OPEN — or PAID at once when the total is zero: nothing to
 * collect, nothing moves in the ledger), and for every OPEN invoice the
 * ledger's INVOICE_ISSUED transaction (the distiller's receivable against
 * platform:billed). Set-based: one statement per step whatever the number of
 * invoices, so a close writes a chunk of distillers in a handful of round
 * trips, ledger postings included (one batch).
 */
import { Injectable } from '@nestjs/common';
import { Accounts } from '../../ledger/accounts';
import { LedgerService, PostingInput } from '../../ledger/ledger.service';
import { Tx } from '../../platform/database/transaction';
import { InvoiceKind, InvoiceStatus } from '../billing.entity';
import { InvoiceRepository, IssuedRow, LineDraft, NewLine } from './invoice.repository';
import { Clock } from '../../platform/clock/clock';

export const INVOICE_ISSUED = 'INVOICE_ISSUED';
const MAX_DESCRIPTION = 500;

export type { LineDraft };

export interface InvoiceDraft {
  distillerOrganizationId: string;
  currency: string;
  kind: InvoiceKind;
  period: string | null;
  agreementId: string | null;
  /** POOL invoices: the subscription. */
  poolSubscriptionId?: string | null;
  /** due_at = issued_at + this many days. */
  dueInDays: number;
  lines: LineDraft[];
}

export type IssuedInvoice = IssuedRow;

const keyOf = (d: { distillerOrganizationId: string; currency: string; kind: string; period: string | null; agreementId: string | null; poolSubscriptionId?: string | null }) =>
  `${d.distillerOrganizationId}|${d.currency}|${d.kind}|${d.period ?? ''}|${d.agreementId ?? ''}|${d.poolSubscriptionId ?? ''}`;

@Injectable()
export class InvoiceWriter {
  constructor(
    private readonly ledger: LedgerService,
    private readonly invoices: InvoiceRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Issues the drafts (each with at least one line) in the caller's
   * transaction. A draft that an existing invoice already covers (the unique
   * indexes: one PERIOD invoice per distiller, currency and period, one
   * UPFRONT invoice per agreement) is skipped: only new invoices are returned.
   */
  async issue(tx: Tx, drafts: readonly InvoiceDraft[]): Promise<IssuedInvoice[]> {
    const todo = drafts.filter((d) => d.lines.length > 0);
    if (todo.length === 0) return [];
    // Business time (the platform Clock) dates the issue, the due date and the number's month.
    const now = this.clock.now();
    const inserted = await this.invoices.insertDrafts(
      tx,
      todo.map((d) => ({ ...d, totalMinor: d.lines.reduce((s, l) => s + l.amount, 0n) })),
      now,
    );
    if (inserted.length === 0) return [];
    const idByKey = new Map(inserted.map((r) => [keyOf(r), r.id]));

    const lines: NewLine[] = [];
    const issue: { id: string; dueInDays: number }[] = [];
    for (const d of todo) {
      const id = idByKey.get(keyOf(d));
      if (!id) continue;
      issue.push({ id, dueInDays: d.dueInDays });
      d.lines.forEach((l, i) =>
        lines.push({
          invoiceId: id,
          position: i + 1,
          kind: l.kind,
          agreementId: l.agreementId,
          vendorOrganizationId: l.vendorOrganizationId,
          modelId: l.modelId,
          usagePeriod: l.usagePeriod,
          quantity: l.quantity,
          unitPrice: l.unitPrice,
          amount: l.amount,
          overage: l.overage,
          description: l.description.length > MAX_DESCRIPTION ? `${l.description.slice(0, MAX_DESCRIPTION - 1)}…` : l.description,
          royalty: l.royalty ?? null,
        }),
      );
    }
    await this.invoices.insertLines(tx, lines);
    // Issue: the database checks each total against its lines on the way out of DRAFT.
    const out = await this.invoices.issueDrafts(tx, issue, now);
    await this.ledger.postMany(
      tx,
      out.filter((inv) => inv.status === InvoiceStatus.OPEN && inv.totalMinor > 0n).map((inv) => this.issuedPosting(inv)),
    );
    return out;
  }

  /** DR distiller receivable, CR platform:billed — the money owed, awaiting collection and allocation. */
  private issuedPosting(inv: IssuedInvoice): PostingInput {
    return {
      reference: `invoice:${inv.id}:issued`,
      kind: INVOICE_ISSUED,
      description: `Invoice ${inv.number} issued (${inv.kind === InvoiceKind.PERIOD ? `period ${inv.period}` : inv.kind === InvoiceKind.POOL ? `pool subscription, period ${inv.period}` : 'upfront fee'})`,
      occurredAt: inv.issuedAt,
      lines: [
        { account: Accounts.distillerReceivable(inv.distillerOrganizationId), currency: inv.currency, amountMinor: inv.totalMinor, memo: inv.number },
        { account: Accounts.platformBilled, currency: inv.currency, amountMinor: -inv.totalMinor, memo: inv.number },
      ],
      metadata: { invoiceId: inv.id, invoiceNumber: inv.number, invoiceKind: inv.kind, ...(inv.period ? { period: inv.period } : {}) },
    };
  }
}
