/**
 * The close's part of downstream revenue: for a chunk of distillers, the
 * ROYALTY lines of the period's invoices — per entry, the current revision's
 * royalty minus what was billed before (see royalty-lines.ts). Runs in the
 * close's transaction under its lock, and reads what was billed in that same
 * transaction, so a repeated or concurrent close never bills an entry twice
 * (the unique PERIOD invoice per distiller, currency and month is the
 * backstop, as for usage lines).
 */
import { Injectable } from '@nestjs/common';
import { Tx } from '../../platform/database/transaction';
import type { PeriodRange } from '../billing-period';
import type { InvoiceDraft } from '../invoices/invoice-writer.service';
import { RevenueRepository } from './revenue.repository';
import { royaltyDeltas, royaltyLinesFor } from './royalty-lines';

@Injectable()
export class RoyaltyBillingService {
  constructor(private readonly revenue: RevenueRepository) {}

  /** Distillers whose revenue reports the close of `p` may bill (added to the close's candidates). */
  reportingDistillers(em: Tx, p: PeriodRange): Promise<string[]> {
    return this.revenue.reportingDistillers(em, p.period);
  }

  /**
   * Adds the royalty lines to the drafts (keyed `distiller|currency`),
   * creating a draft with `newDraft` for a distiller and currency that has
   * no other line this period.
   */
  async addLines(
    tx: Tx,
    distillers: readonly string[],
    p: PeriodRange,
    drafts: Map<string, InvoiceDraft>,
    newDraft: (distillerOrganizationId: string, currency: string) => InvoiceDraft,
  ): Promise<void> {
    if (distillers.length === 0) return;
    const { currents, targets, billed } = await this.revenue.royaltyState(tx, distillers, p.period);
    if (currents.length === 0) return;
    const deltas = royaltyDeltas(currents, targets, billed);
    const byInvoice = new Map<string, typeof deltas>();
    for (const d of deltas) {
      const key = `${d.distillerOrganizationId}|${d.currency}`;
      byInvoice.set(key, [...(byInvoice.get(key) ?? []), d]);
    }
    for (const [key, list] of byInvoice) {
      const draft = drafts.get(key) ?? newDraft(list[0].distillerOrganizationId, list[0].currency);
      const lines = royaltyLinesFor(draft.lines, list);
      if (lines.length === 0) continue;
      draft.lines.push(...lines);
      drafts.set(key, draft);
    }
  }
}
