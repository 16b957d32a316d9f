/**
 * Turns a vendor's ledger entries of one period (payable and held accounts)
 * into statement lines by source. Pure.
 *
 * An INVOICE_PAID transaction is broken down with what the payment's
 * allocation recorded: its parts (invoice_allocation_parts — the vendor's
 * share of each model's lines, gross by invoice-line kind, less the platform
 * fee, credited; royalties received, credited to the ancestor's vendor;
 * royalties paid on, debited from the payer's), or, for a payment allocated
 * before parts were recorded, its per-account allocation (the vendor's lines
 * as gross, the difference to its payable as the fee). The breakdown of each
 * transaction must add up to what the ledger moved on the vendor's payable in
 * it, or the statement is refused (StatementMismatchError). Every other
 * transaction gives one line per entry, by its ledger kind.
 */
import { EarningsAccount, EarningsLine, EarningsSource } from './statement.types';

export type PoolEntryRole = 'SHARE' | 'HELD' | 'ROYALTY_PAID' | 'ROYALTY_RECEIVED';

export interface LedgerEntryRow {
  transactionId: string;
  kind: string;
  occurredAt: Date;
  invoiceId: string | null;
  account: EarningsAccount;
  /** Ledger sign: debit positive, credit negative. */
  amountMinor: bigint;
  /** A pool posting's entry: the teacher model it is for (and a royalty's agreement and other vendor), as recorded when posted. */
  pool?: { role: PoolEntryRole; modelId: string; agreementId: string | null; counterpartyOrganizationId: string | null };
}

const POOL_ENTRY: Record<PoolEntryRole, string> = {
  SHARE: 'pool earnings of model',
  HELD: 'pool earnings held for review, model',
  ROYALTY_PAID: 'pool earnings: royalty paid on, model',
  ROYALTY_RECEIVED: 'pool earnings: royalty received, model',
};

export interface AllocationPartRow {
  invoiceId: string;
  position: number;
  kind: 'PLATFORM_FEE' | 'VENDOR_SHARE' | 'ROYALTY';
  organizationId: string | null;
  modelId: string | null;
  basis: string | null;
  grossMinor: bigint | null;
  feeMinor: bigint | null;
  payerOrganizationId: string | null;
  payerModelId: string | null;
  agreementId: string | null;
  policy: string | null;
  shareBps: number | null;
  depth: number | null;
  amountMinor: bigint;
}

export interface VendorInvoiceLineSum {
  invoiceId: string;
  modelId: string;
  agreementId: string;
  kind: string;
  amountMinor: bigint;
}

export interface EarningsBreakdownInput {
  organizationId: string;
  entries: LedgerEntryRow[];
  invoiceNumbers: Map<string, string>;
  parts: AllocationPartRow[];
  /** The vendor's payable in each payment allocated without parts (invoice_allocations). */
  legacyPayables: Map<string, bigint>;
  vendorLines: VendorInvoiceLineSum[];
}

/** The statement would not equal the ledger: never signed. */
export class StatementMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatementMismatchError';
  }
}

const SOURCE_OF_LINE_KIND: Record<string, EarningsSource> = {
  UPFRONT_FEE: EarningsSource.LICENCE_FEES,
  USAGE_INPUT: EarningsSource.USAGE,
  USAGE_OUTPUT: EarningsSource.USAGE,
  ADJUSTMENT_INPUT: EarningsSource.USAGE,
  ADJUSTMENT_OUTPUT: EarningsSource.USAGE,
  MINIMUM_COMMITMENT_TRUE_UP: EarningsSource.MINIMUM_COMMITMENT,
  ROYALTY: EarningsSource.DOWNSTREAM_ROYALTY_LINES,
};

const SOURCE_OF_KIND: Record<string, EarningsSource> = {
  REFUND: EarningsSource.REFUNDS,
  DISPUTE_HOLD: EarningsSource.DISPUTE_HELD,
  DISPUTE_WON: EarningsSource.DISPUTE_RELEASED,
  DISPUTE_LOST: EarningsSource.DISPUTE_LOST,
  PROCESSING_FEE: EarningsSource.PROCESSING,
  POOL_DISTRIBUTED: EarningsSource.POOL,
  POOL_EARNINGS_RELEASED: EarningsSource.POOL,
};

const SOURCE_ORDER: EarningsSource[] = [
  EarningsSource.LICENCE_FEES,
  EarningsSource.USAGE,
  EarningsSource.MINIMUM_COMMITMENT,
  EarningsSource.DOWNSTREAM_ROYALTY_LINES,
  EarningsSource.OTHER,
];

type Draft = Omit<EarningsLine, 'seq' | 'occurredAt' | 'ledgerTransactionId' | 'ledgerKind' | 'amountMinor'> & { amount: bigint };

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The vendor's gross for (invoice, model — or every model when null), one draft per agreement and source. */
function grossLines(
  input: EarningsBreakdownInput,
  invoiceId: string,
  modelId: string | null,
  basis: 'REVENUE' | 'ROYALTY' | null,
): { drafts: Draft[]; total: bigint } {
  const sums = new Map<string, { agreementId: string; modelId: string; source: EarningsSource; amount: bigint }>();
  for (const l of input.vendorLines) {
    if (l.invoiceId !== invoiceId || (modelId !== null && l.modelId !== modelId)) continue;
    // A share's basis says which of the model's lines it is of: its own revenue, or the royalty lines billed for it.
    if (basis !== null && (l.kind === 'ROYALTY') !== (basis === 'ROYALTY')) continue;
    const source = SOURCE_OF_LINE_KIND[l.kind] ?? EarningsSource.OTHER;
    const key = `${l.modelId} ${l.agreementId} ${source}`;
    const s = sums.get(key) ?? { agreementId: l.agreementId, modelId: l.modelId, source, amount: 0n };
    s.amount += l.amountMinor;
    sums.set(key, s);
  }
  const ordered = [...sums.values()].sort(
    (a, b) => byString(a.modelId, b.modelId) || byString(a.agreementId, b.agreementId) || SOURCE_ORDER.indexOf(a.source) - SOURCE_ORDER.indexOf(b.source),
  );
  const number = input.invoiceNumbers.get(invoiceId) ?? null;
  const drafts = ordered
    .filter((s) => s.amount !== 0n)
    .map((s): Draft => ({
      source: s.source,
      account: 'PAYABLE',
      amount: s.amount,
      invoiceId,
      invoiceNumber: number,
      modelId: s.modelId,
      agreementId: s.agreementId,
      counterpartyOrganizationId: null,
      description: `Invoice ${number ?? invoiceId}: ${s.source === EarningsSource.OTHER ? 'other lines' : s.source.toLowerCase().replace(/_/g, ' ')} (gross)`,
    }));
  return { drafts, total: ordered.reduce((t, s) => t + s.amount, 0n) };
}

/** What an INVOICE_PAID transaction credited the vendor's payable with, line by line. */
function paymentBreakdown(input: EarningsBreakdownInput, invoiceId: string): Draft[] | null {
  const org = input.organizationId;
  const number = input.invoiceNumbers.get(invoiceId) ?? null;
  const label = number ?? invoiceId;
  const parts = input.parts.filter((p) => p.invoiceId === invoiceId).sort((a, b) => a.position - b.position);
  if (parts.length > 0) {
    const out: Draft[] = [];
    for (const p of parts) {
      if (p.kind === 'VENDOR_SHARE' && p.organizationId === org) {
        const gross = p.grossMinor ?? p.amountMinor + (p.feeMinor ?? 0n);
        const g = grossLines(input, invoiceId, p.modelId, p.basis === 'ROYALTY' ? 'ROYALTY' : 'REVENUE');
        out.push(...g.drafts);
        if (g.total !== gross) {
          out.push({
            source: EarningsSource.OTHER, account: 'PAYABLE', amount: gross - g.total, invoiceId, invoiceNumber: number,
            modelId: p.modelId, agreementId: null, counterpartyOrganizationId: null,
            description: `Invoice ${label}: gross of model ${p.modelId} not matched by its lines`,
          });
        }
        const fee = p.feeMinor ?? 0n;
        if (fee !== 0n) {
          out.push({
            source: EarningsSource.PLATFORM_FEE, account: 'PAYABLE', amount: -fee, invoiceId, invoiceNumber: number,
            modelId: p.modelId, agreementId: null, counterpartyOrganizationId: null,
            description: `Invoice ${label}: platform fee${p.basis === 'ROYALTY' ? ' on downstream royalty lines' : ''}`,
          });
        }
      } else if (p.kind === 'ROYALTY' && (p.organizationId === org || p.payerOrganizationId === org) && p.amountMinor !== 0n) {
        const received = p.organizationId === org;
        // A vendor may pay a royalty to itself (its own ancestor model): both lines, netting to zero, as the ledger has them.
        const sides = [...(received ? [true] : []), ...(p.payerOrganizationId === org ? [false] : [])];
        for (const r of sides) {
          out.push({
            source: r ? EarningsSource.ROYALTIES_RECEIVED : EarningsSource.ROYALTIES_PAID,
            account: 'PAYABLE',
            amount: r ? p.amountMinor : -p.amountMinor,
            invoiceId,
            invoiceNumber: number,
            modelId: r ? p.modelId : p.payerModelId,
            agreementId: p.agreementId,
            counterpartyOrganizationId: r ? p.payerOrganizationId : p.organizationId,
            description: r
              ? `Invoice ${label}: royalty from model ${p.payerModelId} (${p.policy} ${p.shareBps} bps, depth ${p.depth})`
              : `Invoice ${label}: royalty to model ${p.modelId} (${p.policy} ${p.shareBps} bps, depth ${p.depth})`,
          });
        }
      }
    }
    return out;
  }
  const payable = input.legacyPayables.get(invoiceId);
  if (payable === undefined) return null;
  const g = grossLines(input, invoiceId, null, null);
  const fee = g.total - payable;
  return [
    ...g.drafts,
    ...(fee !== 0n
      ? [{
          source: EarningsSource.PLATFORM_FEE, account: 'PAYABLE' as const, amount: -fee, invoiceId, invoiceNumber: number,
          modelId: null, agreementId: null, counterpartyOrganizationId: null, description: `Invoice ${label}: platform fee`,
        }]
      : []),
  ];
}

/**
 * The lines, in ledger order. Throws StatementMismatchError when a payment's
 * breakdown does not add up to what the ledger credited the vendor with.
 */
export function earningsLines(input: EarningsBreakdownInput): EarningsLine[] {
  // Group the entries by transaction, keeping ledger order.
  const txs: { id: string; kind: string; occurredAt: Date; invoiceId: string | null; entries: LedgerEntryRow[] }[] = [];
  for (const e of input.entries) {
    const last = txs[txs.length - 1];
    if (last && last.id === e.transactionId) last.entries.push(e);
    else txs.push({ id: e.transactionId, kind: e.kind, occurredAt: e.occurredAt, invoiceId: e.invoiceId, entries: [e] });
  }
  const lines: EarningsLine[] = [];
  const push = (tx: (typeof txs)[number], d: Draft) => {
    const { amount, ...rest } = d;
    lines.push({
      seq: lines.length + 1,
      ...rest,
      amountMinor: amount.toString(),
      occurredAt: tx.occurredAt.toISOString(),
      ledgerTransactionId: tx.id,
      ledgerKind: tx.kind,
    });
  };
  for (const tx of txs) {
    const number = tx.invoiceId ? (input.invoiceNumbers.get(tx.invoiceId) ?? null) : null;
    let payableEntries = tx.entries;
    if (tx.kind === 'INVOICE_PAID' && tx.invoiceId) {
      const breakdown = paymentBreakdown(input, tx.invoiceId);
      if (breakdown) {
        const credited = -tx.entries.filter((e) => e.account === 'PAYABLE').reduce((s, e) => s + e.amountMinor, 0n);
        const explained = breakdown.reduce((s, d) => s + d.amount, 0n);
        if (credited !== explained) {
          throw new StatementMismatchError(
            `payment of invoice ${number ?? tx.invoiceId} (ledger transaction ${tx.id}): the allocation explains ${explained}, the ledger moved ${credited} on the payable`,
          );
        }
        for (const d of breakdown) push(tx, d);
        payableEntries = tx.entries.filter((e) => e.account !== 'PAYABLE');
      }
    }
    for (const e of payableEntries) {
      const source = SOURCE_OF_KIND[tx.kind] ?? EarningsSource.OTHER;
      const p = e.pool;
      push(tx, {
        source,
        account: e.account,
        amount: -e.amountMinor,
        invoiceId: tx.invoiceId,
        invoiceNumber: number,
        modelId: p?.modelId ?? null,
        agreementId: p?.agreementId ?? null,
        counterpartyOrganizationId: p?.counterpartyOrganizationId ?? null,
        description: p
          ? `${tx.kind.toLowerCase().replace(/_/g, ' ')}: ${POOL_ENTRY[p.role]} ${p.modelId} (${e.account.toLowerCase()})`
          : `${tx.kind.toLowerCase().replace(/_/g, ' ')}${number ? ` on invoice ${number}` : ''} (${e.account.toLowerCase()})`,
      });
    }
  }
  return lines;
}
