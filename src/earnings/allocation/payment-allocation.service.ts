/**
 * Allocates a collected payment inside the caller's transaction: loads the
 * lineage of every model on it, splits it (payment-allocation.ts: platform
 * fee, vendor shares, the royalty cascade), records every part, and hands back
 * the ledger lines and the net per account for the caller's posting. Billing
 * calls it when an invoice is paid; the money then belongs to earnings.
 */
import { Injectable } from '@nestjs/common';
import { Accounts } from '../../ledger/accounts';
import type { PostingLine } from '../../ledger/posting';
import type { Tx } from '../../platform/database/transaction';
import { RoyaltyLineages } from '../../provenance/lineage/royalty-lineages';
import { AllocationPartRow, AllocationPartsRepository, NewAllocationPart } from './allocation-parts.repository';
import type { CascadeBasis } from './cascade';
import { allocatePayment } from './payment-allocation';

export interface PaymentToAllocate {
  invoiceId: string;
  invoiceNumber: string;
  currency: string;
  /** Per vendor (in line order): its fee and its lines grouped by model and basis (in line order). */
  vendors: Array<{ vendorOrganizationId: string; feeBps: number; groups: Array<{ modelId: string; basis: CascadeBasis; grossMinor: bigint }> }>;
}

export interface AccountAllocation {
  account: string;
  vendorOrganizationId: string | null;
  amount: bigint;
  feeBps: number | null;
}

export interface AllocatedPayment {
  /** Credits (negative) and debits of the fee and vendor accounts: what platform:billed is moved to. Sums to −total. */
  lines: PostingLine[];
  /** The net per account (the fee first, then vendors in first-appearance order): what refunds and disputes reverse proportionally. */
  accounts: AccountAllocation[];
}

@Injectable()
export class PaymentAllocationService {
  constructor(
    private readonly lineages: RoyaltyLineages,
    private readonly parts: AllocationPartsRepository,
  ) {}

  async allocate(tx: Tx, p: PaymentToAllocate): Promise<AllocatedPayment> {
    const lineages = await this.lineages.lineagesOf(tx, p.vendors.flatMap((v) => v.groups.map((g) => g.modelId)));
    const a = allocatePayment(
      p.vendors.map((v) => ({ ...v, groups: v.groups.map((g) => ({ ...g, lineage: lineages.get(g.modelId) ?? null })) })),
    );
    const rows: NewAllocationPart[] = [
      { ...EMPTY, kind: 'PLATFORM_FEE', amountMinor: a.feeMinor },
      ...a.shares.map((s): NewAllocationPart => ({
        ...EMPTY,
        kind: 'VENDOR_SHARE',
        organizationId: s.vendorOrganizationId,
        modelId: s.modelId,
        basis: s.basis,
        grossMinor: s.grossMinor,
        feeBps: s.feeBps,
        feeMinor: s.feeMinor,
        amountMinor: s.amount,
      })),
      ...a.royalties.map((f): NewAllocationPart => ({
        ...EMPTY,
        kind: 'ROYALTY',
        organizationId: f.organizationId,
        modelId: f.modelId,
        basis: f.basis,
        payerOrganizationId: f.payerOrganizationId,
        payerModelId: f.payerModelId,
        agreementId: f.agreementId,
        policy: f.policy,
        shareBps: f.shareBps,
        depth: f.depth,
        amountMinor: f.amount,
      })),
    ];
    await this.parts.insert(tx, p.invoiceId, p.currency, rows);

    const c = p.currency;
    const memo = p.invoiceNumber;
    const lines: PostingLine[] = [];
    if (a.feeMinor !== 0n) lines.push({ account: Accounts.platformFees, currency: c, amountMinor: -a.feeMinor, memo });
    for (const s of a.shares) {
      if (s.amount !== 0n) lines.push({ account: Accounts.vendorPayable(s.vendorOrganizationId), currency: c, amountMinor: -s.amount, memo: `${memo} share of model ${s.modelId}` });
    }
    for (const f of a.royalties) {
      const why = `${memo} royalty ${f.policy} ${f.shareBps} bps, agreement ${f.agreementId}, model ${f.payerModelId} to ${f.modelId}`;
      lines.push({ account: Accounts.vendorPayable(f.payerOrganizationId), currency: c, amountMinor: f.amount, memo: why });
      lines.push({ account: Accounts.vendorPayable(f.organizationId), currency: c, amountMinor: -f.amount, memo: why });
    }
    const feeBpsOf = new Map(p.vendors.map((v) => [v.vendorOrganizationId, v.feeBps]));
    const accounts: AccountAllocation[] = [
      { account: Accounts.platformFees, vendorOrganizationId: null, amount: a.feeMinor, feeBps: null },
      ...[...a.vendorNet].map(([org, amount]) => ({ account: Accounts.vendorPayable(org), vendorOrganizationId: org, amount, feeBps: feeBpsOf.get(org) ?? null })),
    ];
    return { lines, accounts };
  }

  /** The recorded parts of the given invoices. */
  partsOf(tx: Tx, invoiceIds: readonly string[]): Promise<AllocationPartRow[]> {
    return this.parts.partsOf(tx, invoiceIds);
  }
}

const EMPTY: Omit<NewAllocationPart, 'kind' | 'amountMinor'> = {
  organizationId: null,
  modelId: null,
  basis: null,
  grossMinor: null,
  feeBps: null,
  feeMinor: null,
  payerOrganizationId: null,
  payerModelId: null,
  agreementId: null,
  policy: null,
  shareBps: null,
  depth: null,
};
