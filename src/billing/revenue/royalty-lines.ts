/**
 * Royalties on reported downstream revenue (pure: no database).
 *
 * - `royaltiesOf`: every stack entry's share of the gross at once, by the one
 *   allocation rule — allocate(gross, [bps₁ … bpsₙ, 10000 − Σbps]) — so each
 *   amount is within one unit of its exact share and the parts and the
 *   remainder sum to the gross.
 * - `royaltyDeltas`: what the close still has to bill for each entry of a
 *   student model's month: the royalty of the current revision minus what
 *   ROYALTY lines have billed for that entry so far (positive: bill it;
 *   negative: a correction's credit). An entry that was billed but is no
 *   longer owed (the stack changed) is owed zero.
 * - `royaltyLinesFor`: the lines one invoice takes. Every positive difference
 *   is billed; a credit is given only as far as the vendor's other lines on
 *   the same invoice can absorb it (a vendor's lines never sum below zero, so
 *   neither does the invoice); what is left stays owed and a later close
 *   credits it.
 */
import { allocate, BPS_WHOLE } from '../../platform/money/allocation';
import { Money } from '../../platform/money/money';
import { InvoiceLineKind } from '../billing.entity';
import type { LineDraft } from '../invoices/invoice.repository';

export interface StackEntryForRoyalty {
  modelId: string;
  organizationId: string;
  agreementId: string;
  policy: 'LAP' | 'LRP';
  shareBps: number;
  depth: number;
}

export interface RoyaltyAmount extends StackEntryForRoyalty {
  amountMinor: bigint;
}

/** The stack owes more than the whole revenue (a stack the registration cap should have refused). */
export class RoyaltyStackOverflowError extends Error {
  constructor(readonly totalBps: number) {
    super(`the royalty stack takes ${totalBps} bps, more than the whole revenue`);
  }
}

export function royaltiesOf(grossMinor: bigint, entries: readonly StackEntryForRoyalty[]): RoyaltyAmount[] {
  if (grossMinor < 0n) throw new RangeError('gross revenue must not be negative');
  if (entries.length === 0) return [];
  const bps = entries.map((e) => BigInt(e.shareBps));
  const total = bps.reduce((s, b) => s + b, 0n);
  if (total > BPS_WHOLE) throw new RoyaltyStackOverflowError(Number(total));
  const parts = allocate(grossMinor, [...bps, BPS_WHOLE - total]);
  return entries.map((e, i) => ({ ...e, amountMinor: parts[i] }));
}

/** The current revision of a student model's month (for entries billed before but no longer owed). */
export interface CurrentRevision {
  reportId: string;
  distillerOrganizationId: string;
  studentModelId: string;
  studentName: string;
  period: string;
  currency: string;
}

/** One stack entry a month's royalty goes to: the ancestor, its vendor and the licence it comes from. */
interface RoyaltyEntry {
  ancestorModelId: string;
  vendorOrganizationId: string;
  agreementId: string;
  policy: string;
  shareBps: number;
}

/** A royalty owed by the current revision of a student model's month. */
export interface RoyaltyTarget extends CurrentRevision, RoyaltyEntry {
  amountMinor: bigint;
}

/** What ROYALTY lines have billed so far for one entry of a student model's month (entry fields from the latest line, for a credit when the entry is no longer in the stack). */
export interface RoyaltyBilled extends Pick<CurrentRevision, 'studentModelId' | 'period' | 'currency'>, RoyaltyEntry {
  amountMinor: bigint;
}

export interface RoyaltyDelta extends CurrentRevision, RoyaltyEntry {
  owedMinor: bigint;
  billedMinor: bigint;
  /** owed − billed (never 0). */
  deltaMinor: bigint;
}

const monthKey = (x: { studentModelId: string; period: string; currency: string }) => `${x.studentModelId}|${x.period}|${x.currency}`;
const entryKey = (x: { studentModelId: string; period: string; currency: string; ancestorModelId: string; policy: string }) =>
  `${monthKey(x)}|${x.ancestorModelId}|${x.policy}`;
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function royaltyDeltas(currents: readonly CurrentRevision[], targets: readonly RoyaltyTarget[], billed: readonly RoyaltyBilled[]): RoyaltyDelta[] {
  const current = new Map(currents.map((c) => [monthKey(c), c]));
  const billedBy = new Map(billed.map((b) => [entryKey(b), b]));
  const out: RoyaltyDelta[] = [];
  const seen = new Set<string>();
  for (const t of targets) {
    const k = entryKey(t);
    seen.add(k);
    const was = billedBy.get(k)?.amountMinor ?? 0n;
    if (t.amountMinor !== was) out.push({ ...t, owedMinor: t.amountMinor, billedMinor: was, deltaMinor: t.amountMinor - was });
  }
  for (const b of billed) {
    const k = entryKey(b);
    if (seen.has(k) || b.amountMinor === 0n) continue;
    const c = current.get(monthKey(b));
    if (!c) continue; // billed for a month whose revisions all come after this period (cannot happen: billed lines come from earlier closes)
    out.push({ ...c, ...b, reportId: c.reportId, owedMinor: 0n, billedMinor: b.amountMinor, deltaMinor: -b.amountMinor });
  }
  // Months in order; within one, the stack's order (largest share first).
  return out.sort(
    (x, y) =>
      cmp(x.period, y.period) ||
      cmp(x.studentModelId, y.studentModelId) ||
      y.shareBps - x.shareBps ||
      cmp(x.ancestorModelId, y.ancestorModelId) ||
      cmp(x.policy, y.policy),
  );
}

/** "5.00%" from 500 bps, in integers. */
export function percentOf(bps: number): string {
  return `${Math.trunc(bps / 100)}.${String(bps % 100).padStart(2, '0')}%`;
}

function lineOf(d: RoyaltyDelta, amount: bigint): LineDraft {
  const money = (m: bigint) => Money.of(m, d.currency).format();
  const what = `Royalty ${d.policy} ${percentOf(d.shareBps)} on ${d.studentName} revenue ${d.period}`;
  let description = what;
  if (d.billedMinor !== 0n || amount !== d.deltaMinor) {
    description = `${what} (correction: ${money(d.owedMinor)} owed, ${money(d.billedMinor)} billed before`;
    description += amount !== d.deltaMinor ? `; ${money(amount)} of a ${money(d.deltaMinor)} credit taken now, the rest later)` : ')';
  }
  return {
    kind: InvoiceLineKind.ROYALTY,
    agreementId: d.agreementId,
    vendorOrganizationId: d.vendorOrganizationId,
    modelId: d.ancestorModelId,
    usagePeriod: d.period,
    quantity: null,
    unitPrice: null,
    amount,
    overage: 0n,
    description,
    royalty: { reportId: d.reportId, studentModelId: d.studentModelId, policy: d.policy, shareBps: d.shareBps },
  };
}

/**
 * The ROYALTY lines one invoice takes, given the lines it already has (one
 * distiller, one currency): positives first, then credits capped by what
 * each vendor's lines on the invoice sum to.
 */
export function royaltyLinesFor(existing: readonly Pick<LineDraft, 'vendorOrganizationId' | 'amount'>[], deltas: readonly RoyaltyDelta[]): LineDraft[] {
  const lines: LineDraft[] = [];
  const room = new Map<string, bigint>();
  const add = (vendor: string, amount: bigint) => room.set(vendor, (room.get(vendor) ?? 0n) + amount);
  for (const l of existing) if (l.vendorOrganizationId !== null) add(l.vendorOrganizationId, l.amount);
  for (const d of deltas) {
    if (d.deltaMinor <= 0n) continue;
    lines.push(lineOf(d, d.deltaMinor));
    add(d.vendorOrganizationId, d.deltaMinor);
  }
  for (const d of deltas) {
    if (d.deltaMinor >= 0n) continue;
    const available = room.get(d.vendorOrganizationId) ?? 0n;
    if (available <= 0n) continue;
    const credit = -d.deltaMinor < available ? -d.deltaMinor : available;
    lines.push(lineOf(d, -credit));
    add(d.vendorOrganizationId, -credit);
  }
  return lines;
}
