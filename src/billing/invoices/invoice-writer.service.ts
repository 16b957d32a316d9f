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
import { InvoiceKind, InvoiceLineKind, InvoiceStatus } from '../billing.entity';

export const INVOICE_ISSUED = 'INVOICE_ISSUED';
const MAX_DESCRIPTION = 500;

export interface LineDraft {
  kind: InvoiceLineKind;
  agreementId: string;
  vendorOrganizationId: string;
  modelId: string;
  usagePeriod: string | null;
  quantity: bigint | null;
  unitPrice: bigint | null;
  amount: bigint;
  overage: bigint;
  description: string;
}

export interface InvoiceDraft {
  distillerOrganizationId: string;
  currency: string;
  kind: InvoiceKind;
  period: string | null;
  agreementId: string | null;
  /** due_at = issued_at + this many days. */
  dueInDays: number;
  lines: LineDraft[];
}

export interface IssuedInvoice {
  id: string;
  number: string;
  distillerOrganizationId: string;
  currency: string;
  kind: InvoiceKind;
  period: string | null;
  agreementId: string | null;
  status: InvoiceStatus;
  totalMinor: bigint;
  issuedAt: Date;
  dueAt: Date;
}

const keyOf = (d: { distillerOrganizationId: string; currency: string; kind: string; period: string | null; agreementId: string | null }) =>
  `${d.distillerOrganizationId}|${d.currency}|${d.kind}|${d.period ?? ''}|${d.agreementId ?? ''}`;

@Injectable()
export class InvoiceWriter {
  constructor(private readonly ledger: LedgerService) {}

  /**
   * Issues the drafts (each with at least one line) in the caller's
   * transaction. A draft that an existing invoice already covers (the unique
   * indexes: one PERIOD invoice per distiller, currency and period, one
   * UPFRONT invoice per agreement) is skipped: only new invoices are returned.
   */
  async issue(tx: Tx, drafts: readonly InvoiceDraft[]): Promise<IssuedInvoice[]> {
    const todo = drafts.filter((d) => d.lines.length > 0);
    if (todo.length === 0) return [];
    const totals = todo.map((d) => d.lines.reduce((s, l) => s + l.amount, 0n));
    const inserted: Array<{ id: string; distiller_organization_id: string; currency: string; kind: string; period: string | null; agreement_id: string | null }> =
      await tx.query(
        `INSERT INTO invoices (number, distiller_organization_id, currency, kind, period, agreement_id, total_minor)
         SELECT 'BM-' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM') || '-' || lpad(d.n::text, greatest(6, length(d.n::text)), '0'),
                d.distiller, d.currency, d.kind, d.period, d.agreement, d.total
           FROM (SELECT u.*, nextval('invoice_number_seq') AS n
                   FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::bigint[])
                        WITH ORDINALITY AS u(distiller, currency, kind, period, agreement, total, ord)
                  ORDER BY u.ord) d
         ON CONFLICT DO NOTHING
         RETURNING id, distiller_organization_id, currency, kind, period, agreement_id`,
        [
          todo.map((d) => d.distillerOrganizationId),
          todo.map((d) => d.currency),
          todo.map((d) => d.kind),
          todo.map((d) => d.period),
          todo.map((d) => d.agreementId),
          totals.map((t) => t.toString()),
        ],
      );
    if (inserted.length === 0) return [];
    const idByKey = new Map(
      inserted.map((r) => [
        keyOf({ distillerOrganizationId: r.distiller_organization_id, currency: r.currency, kind: r.kind, period: r.period, agreementId: r.agreement_id }),
        r.id,
      ]),
    );

    const cols = {
      invoice: [] as string[], position: [] as number[], kind: [] as string[], agreement: [] as string[], vendor: [] as string[],
      model: [] as string[], period: [] as (string | null)[], quantity: [] as (string | null)[], price: [] as (string | null)[],
      amount: [] as string[], overage: [] as string[], description: [] as string[],
    };
    const dueDays: number[] = [];
    const ids: string[] = [];
    for (const d of todo) {
      const id = idByKey.get(keyOf(d));
      if (!id) continue;
      ids.push(id);
      dueDays.push(d.dueInDays);
      d.lines.forEach((l, i) => {
        cols.invoice.push(id);
        cols.position.push(i + 1);
        cols.kind.push(l.kind);
        cols.agreement.push(l.agreementId);
        cols.vendor.push(l.vendorOrganizationId);
        cols.model.push(l.modelId);
        cols.period.push(l.usagePeriod);
        cols.quantity.push(l.quantity === null ? null : l.quantity.toString());
        cols.price.push(l.unitPrice === null ? null : l.unitPrice.toString());
        cols.amount.push(l.amount.toString());
        cols.overage.push(l.overage.toString());
        cols.description.push(l.description.length > MAX_DESCRIPTION ? `${l.description.slice(0, MAX_DESCRIPTION - 1)}…` : l.description);
      });
    }
    await tx.query(
      `INSERT INTO invoice_lines (invoice_id, position, kind, agreement_id, vendor_organization_id, model_id, usage_period,
                                  quantity, unit_price_minor, amount_minor, overage_tokens, description)
       SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[],
                            $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[])`,
      [cols.invoice, cols.position, cols.kind, cols.agreement, cols.vendor, cols.model, cols.period, cols.quantity, cols.price, cols.amount, cols.overage, cols.description],
    );

    // Issue: the trigger checks each total against its lines on the way out of DRAFT.
    // (TypeORM answers an UPDATE … RETURNING with [rows, affected])
    const [issued] = (await tx.query(
      `UPDATE invoices i
          SET status = CASE WHEN i.total_minor = 0 THEN 'PAID' ELSE 'OPEN' END,
              issued_at = now(),
              due_at = now() + make_interval(days => d.due_days),
              paid_at = CASE WHEN i.total_minor = 0 THEN now() END
         FROM unnest($1::uuid[], $2::int[]) AS d(id, due_days)
        WHERE i.id = d.id AND i.status = 'DRAFT'
        RETURNING i.id, i.number, i.distiller_organization_id, i.currency, i.kind, i.period, i.agreement_id, i.status,
                  i.total_minor::text, i.issued_at, i.due_at`,
      [ids, dueDays],
    )) as [
      Array<{
        id: string; number: string; distiller_organization_id: string; currency: string; kind: InvoiceKind; period: string | null;
        agreement_id: string | null; status: InvoiceStatus; total_minor: string; issued_at: Date; due_at: Date;
      }>,
      number,
    ];
    const out = issued.map(
      (r): IssuedInvoice => ({
        id: r.id,
        number: r.number,
        distillerOrganizationId: r.distiller_organization_id,
        currency: r.currency,
        kind: r.kind,
        period: r.period,
        agreementId: r.agreement_id,
        status: r.status,
        totalMinor: BigInt(r.total_minor),
        issuedAt: new Date(r.issued_at),
        dueAt: new Date(r.due_at),
      }),
    );
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
      description: `Invoice ${inv.number} issued (${inv.kind === InvoiceKind.PERIOD ? `period ${inv.period}` : 'upfront fee'})`,
      occurredAt: inv.issuedAt,
      lines: [
        { account: Accounts.distillerReceivable(inv.distillerOrganizationId), currency: inv.currency, amountMinor: inv.totalMinor, memo: inv.number },
        { account: Accounts.platformBilled, currency: inv.currency, amountMinor: -inv.totalMinor, memo: inv.number },
      ],
      metadata: { invoiceId: inv.id, invoiceNumber: inv.number, invoiceKind: inv.kind, ...(inv.period ? { period: inv.period } : {}) },
    };
  }
}
