/**
 * The SQL of invoice_allocation_parts: the part-by-part record of how each
 * collected payment was allocated (written once, never updated).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export type AllocationPartKind = 'PLATFORM_FEE' | 'VENDOR_SHARE' | 'ROYALTY';

export interface AllocationPartRow {
  invoiceId: string;
  position: number;
  kind: AllocationPartKind;
  currency: string;
  organizationId: string | null;
  modelId: string | null;
  basis: 'REVENUE' | 'ROYALTY' | null;
  grossMinor: bigint | null;
  feeBps: number | null;
  feeMinor: bigint | null;
  payerOrganizationId: string | null;
  payerModelId: string | null;
  agreementId: string | null;
  policy: 'LAP' | 'LRP' | null;
  shareBps: number | null;
  depth: number | null;
  amountMinor: bigint;
}

export type NewAllocationPart = Omit<AllocationPartRow, 'invoiceId' | 'position' | 'currency'>;

const big = (v: string | null): bigint | null => (v === null ? null : BigInt(v));

@Injectable()
export class AllocationPartsRepository {
  async insert(em: EntityManager, invoiceId: string, currency: string, parts: readonly NewAllocationPart[]): Promise<void> {
    if (parts.length === 0) return;
    const col = <T>(f: (p: NewAllocationPart) => T) => parts.map(f);
    await em.query(
      `INSERT INTO invoice_allocation_parts (invoice_id, position, kind, currency, organization_id, model_id, basis, gross_minor, fee_bps, fee_minor,
              payer_organization_id, payer_model_id, agreement_id, policy, share_bps, depth, amount_minor)
       SELECT $1, t.ord::int, t.kind, $2, t.org, t.model, t.basis, t.gross, t.fee_bps, t.fee, t.payer_org, t.payer_model, t.agreement, t.policy, t.share, t.depth, t.amount
         FROM unnest($3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::bigint[], $8::int[], $9::bigint[], $10::uuid[], $11::uuid[], $12::uuid[],
                     $13::text[], $14::int[], $15::int[], $16::bigint[])
              WITH ORDINALITY AS t(kind, org, model, basis, gross, fee_bps, fee, payer_org, payer_model, agreement, policy, share, depth, amount, ord)`,
      [
        invoiceId,
        currency,
        col((p) => p.kind),
        col((p) => p.organizationId),
        col((p) => p.modelId),
        col((p) => p.basis),
        col((p) => p.grossMinor?.toString() ?? null),
        col((p) => p.feeBps),
        col((p) => p.feeMinor?.toString() ?? null),
        col((p) => p.payerOrganizationId),
        col((p) => p.payerModelId),
        col((p) => p.agreementId),
        col((p) => p.policy),
        col((p) => p.shareBps),
        col((p) => p.depth),
        col((p) => p.amountMinor.toString()),
      ],
    );
  }

  /** The parts of the given invoices, by invoice then position. */
  async partsOf(em: EntityManager, invoiceIds: readonly string[]): Promise<AllocationPartRow[]> {
    const rows: Array<Record<string, string | number | null>> = await em.query(
      `SELECT invoice_id, position, kind, currency, organization_id, model_id, basis, gross_minor::text, fee_bps, fee_minor::text,
              payer_organization_id, payer_model_id, agreement_id, policy, share_bps, depth, amount_minor::text
         FROM invoice_allocation_parts WHERE invoice_id = ANY($1::uuid[]) ORDER BY invoice_id, position`,
      [[...invoiceIds]],
    );
    return rows.map((r) => ({
      invoiceId: r.invoice_id as string,
      position: r.position as number,
      kind: r.kind as AllocationPartKind,
      currency: (r.currency as string).trim(),
      organizationId: r.organization_id as string | null,
      modelId: r.model_id as string | null,
      basis: r.basis as AllocationPartRow['basis'],
      grossMinor: big(r.gross_minor as string | null),
      feeBps: r.fee_bps as number | null,
      feeMinor: big(r.fee_minor as string | null),
      payerOrganizationId: r.payer_organization_id as string | null,
      payerModelId: r.payer_model_id as string | null,
      agreementId: r.agreement_id as string | null,
      policy: r.policy as AllocationPartRow['policy'],
      shareBps: r.share_bps as number | null,
      depth: r.depth as number | null,
      amountMinor: BigInt(r.amount_minor as string),
    }));
  }
}
