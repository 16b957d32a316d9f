/**
 * A collected payment, part by part (pure): per vendor, the platform fee is
 * split off the sum of the vendor's lines by the one allocation rule (the
 * vendor's fee in basis points); the vendor's net is split over its models'
 * line groups in proportion to their gross; each group's net then runs down
 * that model's lineage (cascade.ts). The parts of a payment sum exactly to
 * the payment.
 */
import { allocate, splitBps } from '../../platform/money/allocation';
import type { Lineage } from '../../provenance/lineage/lineage.types';
import { cascade, CascadeBasis, CascadeFlow } from './cascade';

export interface LineGroup {
  modelId: string;
  /** REVENUE: the model's own earnings (licence fees, usage, minimums); ROYALTY: royalty lines owed to the model. */
  basis: CascadeBasis;
  grossMinor: bigint;
  /** The model's lineage (null or no edges: a teacher with no ancestors). */
  lineage: Lineage | null;
}

export interface VendorLines {
  vendorOrganizationId: string;
  feeBps: number;
  /** In line order. */
  groups: LineGroup[];
}

export interface VendorSharePart {
  vendorOrganizationId: string;
  modelId: string;
  basis: CascadeBasis;
  grossMinor: bigint;
  feeBps: number;
  feeMinor: bigint;
  /** The vendor's share after the fee, before royalties. */
  amount: bigint;
}

export interface PaymentAllocation {
  feeMinor: bigint;
  shares: VendorSharePart[];
  /** Royalties moved (amount > 0 only), in the order the cascade listed them. */
  royalties: CascadeFlow[];
  /** Net per vendor organization (shares + royalties received − royalties paid), in first-appearance order. */
  vendorNet: Map<string, bigint>;
}

export function allocatePayment(vendors: readonly VendorLines[]): PaymentAllocation {
  let feeMinor = 0n;
  const shares: VendorSharePart[] = [];
  const royalties: CascadeFlow[] = [];
  const vendorNet = new Map<string, bigint>();
  const credit = (org: string, amount: bigint) => vendorNet.set(org, (vendorNet.get(org) ?? 0n) + amount);

  for (const v of vendors) {
    const gross = v.groups.reduce((s, g) => s + g.grossMinor, 0n);
    for (const g of v.groups) if (g.grossMinor < 0n) throw new RangeError(`vendor ${v.vendorOrganizationId}: model ${g.modelId} lines sum to ${g.grossMinor} < 0`);
    const [fee, net] = splitBps(gross, v.feeBps);
    feeMinor += fee;
    credit(v.vendorOrganizationId, 0n);
    const nets = gross === 0n ? v.groups.map(() => 0n) : allocate(net, v.groups.map((g) => g.grossMinor));
    v.groups.forEach((g, i) => {
      shares.push({
        vendorOrganizationId: v.vendorOrganizationId,
        modelId: g.modelId,
        basis: g.basis,
        grossMinor: g.grossMinor,
        feeBps: v.feeBps,
        feeMinor: g.grossMinor - nets[i],
        amount: nets[i],
      });
      credit(v.vendorOrganizationId, nets[i]);
      if (!g.lineage || nets[i] === 0n) return;
      // The vendor whose lines these are pays the model's royalties.
      const lineage = { ...g.lineage, root: { ...g.lineage.root, organizationId: v.vendorOrganizationId } };
      for (const f of cascade(nets[i], g.basis, lineage).flows) {
        if (f.amount === 0n) continue;
        royalties.push(f);
        credit(f.payerOrganizationId, -f.amount);
        credit(f.organizationId, f.amount);
      }
    });
  }
  return { feeMinor, shares, royalties, vendorNet };
}
