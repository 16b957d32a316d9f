/**
 * Who may read how a payment was allocated: the distiller organization's
 * members and platform admins see every part; a vendor concerned (one that
 * received a share or a royalty, or paid a royalty) sees the parts it is a
 * party to, and its own net — not the platform's fee on other vendors, nor
 * other vendors' shares. Anyone else gets NOT_FOUND, as for an unknown id.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AllocationPartRow } from '../../earnings/allocation/allocation-parts.repository';
import { AllocationBasis, AllocationPartKind, AllocationPartOutput, InvoiceAllocationOutput } from '../../earnings/allocation/dto/allocation.output';
import { PaymentAllocationService } from '../../earnings/allocation/payment-allocation.service';
import { AccessService } from '../../identity/access.service';
import { moneyOutput } from '../../ledger/dto/money.output';
import type { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { InvoiceRepository } from '../invoices/invoice.repository';

@Injectable()
export class InvoiceAllocationService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly invoices: InvoiceRepository,
    private readonly earnings: PaymentAllocationService,
  ) {}

  /** Full allocations of invoices the caller may already read (null: not collected yet). */
  async allocationsOf(invoiceIds: readonly string[]): Promise<(InvoiceAllocationOutput | null)[]> {
    const parts = await this.earnings.partsOf(this.db.reader, invoiceIds);
    const byInvoice = new Map<string, AllocationPartRow[]>();
    for (const p of parts) byInvoice.set(p.invoiceId, [...(byInvoice.get(p.invoiceId) ?? []), p]);
    return invoiceIds.map((id) => {
      const rows = byInvoice.get(id);
      return rows ? toAllocation(id, rows, null) : null;
    });
  }

  /** The allocation as the caller may see it (see the header). */
  async allocationFor(principal: Principal, invoiceId: string): Promise<InvoiceAllocationOutput | null> {
    assertUuid('invoiceId', invoiceId);
    const em = this.db.reader;
    const inv = await this.invoices.byId(em, invoiceId.toLowerCase());
    if (!inv) throw new NotFoundError('Invoice', invoiceId);
    const parts = await this.earnings.partsOf(em, [inv.id]);
    if (principal.isAdmin || (await this.access.hasAccess(em, principal, [inv.distillerOrganizationId], 'read'))) {
      return parts.length === 0 ? null : toAllocation(inv.id, parts, null);
    }
    const visible = await this.visibleOrganizations(em, principal, parts);
    if (visible.size === 0) throw new NotFoundError('Invoice', invoiceId);
    return toAllocation(inv.id, parts, visible);
  }

  private async visibleOrganizations(em: EntityManager, principal: Principal, parts: readonly AllocationPartRow[]): Promise<Set<string>> {
    const orgs = new Set<string>();
    for (const p of parts) {
      if (p.organizationId) orgs.add(p.organizationId);
      if (p.payerOrganizationId) orgs.add(p.payerOrganizationId);
    }
    const visible = new Set<string>();
    for (const o of orgs) if (await this.access.hasAccess(em, principal, [o], 'read')) visible.add(o);
    return visible;
  }
}

/** `only`: the organizations a vendor may see (null: everything). */
function toAllocation(invoiceId: string, rows: readonly AllocationPartRow[], only: Set<string> | null): InvoiceAllocationOutput {
  const currency = rows[0].currency;
  const m = (v: bigint) => moneyOutput(v, currency);
  const nets = new Map<string, bigint>();
  const add = (org: string, v: bigint) => nets.set(org, (nets.get(org) ?? 0n) + v);
  let fee = 0n;
  let shares = 0n;
  for (const p of rows) {
    if (p.kind === 'PLATFORM_FEE') fee += p.amountMinor;
    else if (p.kind === 'VENDOR_SHARE') (add(p.organizationId!, p.amountMinor), (shares += p.amountMinor));
    else (add(p.organizationId!, p.amountMinor), add(p.payerOrganizationId!, -p.amountMinor));
  }
  const seen = (p: AllocationPartRow) => only === null || (p.organizationId !== null && only.has(p.organizationId)) || (p.payerOrganizationId !== null && only.has(p.payerOrganizationId));
  return {
    invoiceId,
    total: only === null ? m(fee + shares) : null,
    platformFee: only === null ? m(fee) : null,
    nets: [...nets].filter(([org]) => only === null || only.has(org)).map(([organizationId, v]) => ({ organizationId, amount: m(v) })),
    parts: rows.filter(seen).map((p): AllocationPartOutput => ({
      position: p.position,
      kind: p.kind as AllocationPartKind,
      amount: m(p.amountMinor),
      organizationId: p.organizationId,
      modelId: p.modelId,
      basis: p.basis as AllocationBasis | null,
      gross: p.grossMinor === null ? null : m(p.grossMinor),
      feeBps: p.feeBps,
      fee: p.feeMinor === null ? null : m(p.feeMinor),
      payerOrganizationId: p.payerOrganizationId,
      payerModelId: p.payerModelId,
      agreementId: p.agreementId,
      policy: p.policy,
      shareBps: p.shareBps,
      depth: p.depth,
    })),
  };
}
