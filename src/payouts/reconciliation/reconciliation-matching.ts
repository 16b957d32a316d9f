/**
 * Matching the ledger's cash movements with the processor's balance
 * transactions (pure: no I/O).
 *
 * Both sides become items of (category, source, currency, amount):
 *  - processor: each balance transaction's gross amount under its
 *    `reporting_category` (dispute_reversal folded into dispute), and its fee
 *    (when not zero) as a `processing_fee` item of the same source;
 *  - ledger: each journal transaction's net effect on platform:cash, with the
 *    category and processor id its kind and metadata say (INVOICE_PAID → charge
 *    of the invoice's charge, PROCESSING_FEE → processing_fee of that charge,
 *    REFUND → refund re_…, DISPUTE_LOST → dispute du_…, DISPUTE_FEE →
 *    processing_fee du_…, PAYOUT / PAYOUT_FAILED → transfer tr_… (the payout's
 *    transfer), TRANSFER_REVERSAL → transfer_reversal trr_…); anything else
 *    touching cash is category `other` with no source, and never matches.
 * Items with the same key match when their sums agree on the day (so a
 * dispute won the same day, or a payout failed the same day, nets to zero).
 * A ledger refund that names no processor refund is matched by amount against
 * the day's unclaimed processor refunds.
 */
export type Side = 'LEDGER' | 'PROCESSOR';

export interface ReconItem {
  side: Side;
  category: string;
  sourceId: string | null;
  currency: string;
  amountMinor: bigint;
  /** The ledger reference or the balance transaction id. */
  reference: string;
  at: Date;
}

export interface CategoryTotal {
  category: string;
  currency: string;
  matchedCount: number;
  matchedMinor: bigint;
}

export interface KeyDifference {
  category: string;
  sourceId: string | null;
  currency: string;
  ledgerMinor: bigint;
  processorMinor: bigint;
  items: ReconItem[];
}

export interface MatchResult {
  categories: CategoryTotal[];
  differences: KeyDifference[];
}

export const keyOf = (i: { category: string; sourceId: string | null; currency: string }) => `${i.category}|${i.sourceId ?? ''}|${i.currency}`;

/** Folds categories that are one object's life at the processor into one matching category. */
export function matchingCategory(reportingCategory: string): string {
  return reportingCategory === 'dispute_reversal' ? 'dispute' : reportingCategory;
}

export function match(ledger: readonly ReconItem[], processor: readonly ReconItem[]): MatchResult {
  const groups = new Map<string, { ledger: ReconItem[]; processor: ReconItem[] }>();
  const group = (k: string) => {
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { ledger: [], processor: [] }));
    return g;
  };
  const unsourced: ReconItem[] = [];
  for (const i of ledger) {
    if (i.sourceId === null && i.category !== 'other') unsourced.push(i);
    else group(i.sourceId === null ? `other|${i.reference}|${i.currency}` : keyOf(i)).ledger.push(i);
  }
  for (const i of processor) group(i.sourceId === null ? `${i.category}|${i.reference}|${i.currency}` : keyOf(i)).processor.push(i);

  const totals = new Map<string, CategoryTotal>();
  const matched = (category: string, currency: string, count: number, amount: bigint) => {
    const k = `${category}|${currency}`;
    const t = totals.get(k) ?? { category, currency, matchedCount: 0, matchedMinor: 0n };
    t.matchedCount += count;
    t.matchedMinor += amount;
    totals.set(k, t);
  };
  const sum = (items: readonly ReconItem[]) => items.reduce((s, i) => s + i.amountMinor, 0n);

  const open: { key: string; g: { ledger: ReconItem[]; processor: ReconItem[] } }[] = [];
  for (const [key, g] of groups) {
    if (sum(g.ledger) === sum(g.processor)) {
      // Also what nets to zero on one side the same day: a dispute won (withdrawn and reinstated), or a
      // payout whose transfer was never made and failed (the ledger's own round trip): no cash moved.
      if (g.processor.length > 0) matched(g.processor[0].category, g.processor[0].currency, g.processor.length, sum(g.processor));
    } else {
      open.push({ key, g });
    }
  }

  // Ledger movements that name no processor object (a refund reported only as a charge's new total): by amount.
  for (const l of unsourced) {
    const candidate = open.find(
      (o) => o.g.ledger.length === 0 && o.g.processor.length === 1 && o.g.processor[0].category === l.category && o.g.processor[0].currency === l.currency && o.g.processor[0].amountMinor === l.amountMinor,
    );
    if (candidate) {
      open.splice(open.indexOf(candidate), 1);
      matched(l.category, l.currency, 1, l.amountMinor);
    } else {
      open.push({ key: `${l.category}||${l.currency}|${l.reference}`, g: { ledger: [l], processor: [] } });
    }
  }

  const differences: KeyDifference[] = open.map(({ g }) => {
    const any = g.ledger[0] ?? g.processor[0];
    return {
      category: any.category,
      sourceId: any.sourceId,
      currency: any.currency,
      ledgerMinor: sum(g.ledger),
      processorMinor: sum(g.processor),
      items: [...g.ledger, ...g.processor],
    };
  });
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    categories: [...totals.values()].sort((a, b) => order(a.category, b.category) || order(a.currency, b.currency)),
    differences: differences.sort((a, b) => order(a.category, b.category) || order(a.sourceId ?? '', b.sourceId ?? '')),
  };
}
