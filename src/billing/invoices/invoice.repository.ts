/**
 * The SQL of invoices and their lines. One row type for an invoice
 * (InvoiceRow: the entity's columns, money as bigint, and its line count),
 * read by one column list whether it is listed, read, or locked for a money
 * change. Every method takes the EntityManager of the caller's transaction
 * (or the reader), so none can run outside it by accident.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { InvoiceEntity, InvoiceKind, InvoiceLineEntity, InvoiceLineKind, InvoiceStatus } from '../billing.entity';

export interface InvoiceRow extends InvoiceEntity {
  lineCount: number;
}

export interface InvoiceListQuery {
  organizationId: string;
  status: InvoiceStatus | null;
  kind: InvoiceKind | null;
  period: string | null;
  /** Keyset: rows after this invoice (newest first). */
  afterId: string | null;
  limit: number;
}

/** What the insert of a batch of drafts returns for each invoice it created. */
export interface InsertedInvoice {
  id: string;
  distillerOrganizationId: string;
  currency: string;
  kind: string;
  period: string | null;
  agreementId: string | null;
  poolSubscriptionId: string | null;
}

export interface NewInvoice {
  distillerOrganizationId: string;
  currency: string;
  kind: InvoiceKind;
  period: string | null;
  agreementId: string | null;
  /** POOL invoices only. */
  poolSubscriptionId?: string | null;
  totalMinor: bigint;
}

/** A line as the writer drafts it, before it has an invoice and a position. */
export interface LineDraft {
  kind: InvoiceLineKind;
  /** Null on pool lines only. */
  agreementId: string | null;
  vendorOrganizationId: string | null;
  modelId: string | null;
  usagePeriod: string | null;
  quantity: bigint | null;
  unitPrice: bigint | null;
  amount: bigint;
  overage: bigint;
  description: string;
  /** ROYALTY lines only. */
  royalty?: { reportId: string; studentModelId: string; policy: string; shareBps: number } | null;
}

export interface NewLine extends LineDraft {
  invoiceId: string;
  position: number;
}

export interface IssuedRow {
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

const COLUMNS = `i.*, (SELECT count(*)::int FROM invoice_lines l WHERE l.invoice_id = i.id) AS line_count`;

@Injectable()
export class InvoiceRepository {
  /** One invoice; `lock` takes its row lock (every money change on an invoice holds it). */
  async byId(em: EntityManager, id: string, opts: { lock?: boolean } = {}): Promise<InvoiceRow | null> {
    const [row]: Record<string, unknown>[] = await em.query(`SELECT ${COLUMNS} FROM invoices i WHERE i.id = $1${opts.lock ? ' FOR UPDATE OF i' : ''}`, [id]);
    return row ? toInvoiceRow(row) : null;
  }

  async exists(em: EntityManager, id: string): Promise<boolean> {
    const [r]: { id: string }[] = await em.query(`SELECT id FROM invoices WHERE id = $1`, [id]);
    return r !== undefined;
  }

  /** A distiller's invoices, newest first, keyset-paged (IDX_invoices_distiller), with the count of all that match the filter. */
  async list(em: EntityManager, q: InvoiceListQuery): Promise<{ rows: InvoiceRow[]; totalCount: number }> {
    const params: unknown[] = [q.organizationId];
    const conds = ['i.distiller_organization_id = $1'];
    if (q.status) conds.push(`i.status = $${params.push(q.status)}`);
    if (q.kind) conds.push(`i.kind = $${params.push(q.kind)}`);
    if (q.period) conds.push(`i.period = $${params.push(q.period)}`);
    const [{ n }]: { n: number }[] = await em.query(`SELECT count(*)::int AS n FROM invoices i WHERE ${conds.join(' AND ')}`, params);
    if (q.afterId) {
      conds.push(`(i.created_at, i.id) < (SELECT c.created_at, c.id FROM invoices c WHERE c.id = $${params.push(q.afterId)})`);
    }
    const rows: Record<string, unknown>[] = await em.query(
      `SELECT ${COLUMNS} FROM invoices i WHERE ${conds.join(' AND ')}
        ORDER BY i.created_at DESC, i.id DESC LIMIT $${params.push(q.limit)}`,
      params,
    );
    return { rows: rows.map(toInvoiceRow), totalCount: n };
  }

  /** Up to `limit` lines after `afterPosition` of each invoice, in one query, by invoice and position. */
  async linesOfMany(em: EntityManager, invoiceIds: readonly string[], afterPosition: number, limit: number): Promise<InvoiceLineEntity[]> {
    const raw: Array<{
      invoice_id: string; position: number; kind: InvoiceLineKind; agreement_id: string; vendor_organization_id: string; model_id: string;
      usage_period: string | null; quantity: string | null; unit_price_minor: string | null; amount_minor: string; overage_tokens: string; description: string;
      revenue_report_id: string | null; student_model_id: string | null; royalty_policy: string | null; royalty_share_bps: number | null;
    }> = await em.query(
      `SELECT invoice_id, position, kind, agreement_id, vendor_organization_id, model_id, usage_period,
              quantity::text, unit_price_minor::text, amount_minor::text, overage_tokens::text, description,
              revenue_report_id, student_model_id, royalty_policy, royalty_share_bps
         FROM (SELECT l.*, row_number() OVER (PARTITION BY l.invoice_id ORDER BY l.position) AS rn
                 FROM invoice_lines l WHERE l.invoice_id = ANY($1::uuid[]) AND l.position > $2) page
        WHERE rn <= $3
        ORDER BY invoice_id, position`,
      [[...invoiceIds], afterPosition, limit],
    );
    const big = (v: string | null) => (v === null ? null : BigInt(v));
    return raw.map((r) =>
      Object.assign(new InvoiceLineEntity(), {
        invoiceId: r.invoice_id,
        position: r.position,
        kind: r.kind,
        agreementId: r.agreement_id,
        vendorOrganizationId: r.vendor_organization_id,
        modelId: r.model_id,
        usagePeriod: r.usage_period,
        quantity: big(r.quantity),
        unitPriceMinor: big(r.unit_price_minor),
        amountMinor: BigInt(r.amount_minor),
        overageTokens: BigInt(r.overage_tokens),
        description: r.description,
        revenueReportId: r.revenue_report_id,
        studentModelId: r.student_model_id,
        royaltyPolicy: r.royalty_policy,
        royaltyShareBps: r.royalty_share_bps,
      }),
    );
  }

  /** The sum of the invoice's lines per vendor, vendors in line order (what a payment allocates). */
  /**
   * The invoice's lines summed per vendor, model and basis (ROYALTY lines are
   * royalty income of their model; every other kind is the model's own
   * revenue), in line order.
   */
  async lineGroups(em: EntityManager, invoiceId: string): Promise<{ vendorOrganizationId: string; modelId: string; royalty: boolean; amountMinor: bigint }[]> {
    const rows: { vendor: string; model: string; royalty: boolean; amount: string }[] = await em.query(
      `SELECT vendor_organization_id AS vendor, model_id AS model, kind = 'ROYALTY' AS royalty, sum(amount_minor)::text AS amount
         FROM invoice_lines WHERE invoice_id = $1 GROUP BY vendor_organization_id, model_id, kind = 'ROYALTY' ORDER BY min(position)`,
      [invoiceId],
    );
    return rows.map((r) => ({ vendorOrganizationId: r.vendor, modelId: r.model, royalty: r.royalty, amountMinor: BigInt(r.amount) }));
  }

  /**
   * DRAFT invoices, numbered in the given order. A draft an existing invoice
   * already covers (one PERIOD invoice per distiller, currency and period; one
   * UPFRONT invoice per agreement) is skipped: only created ones are returned.
   */
  async insertDrafts(em: EntityManager, drafts: readonly NewInvoice[], now: Date): Promise<InsertedInvoice[]> {
    const rows: Array<{ id: string; distiller_organization_id: string; currency: string; kind: string; period: string | null; agreement_id: string | null; pool_subscription_id: string | null }> =
      await em.query(
        `INSERT INTO invoices (number, distiller_organization_id, currency, kind, period, agreement_id, total_minor, pool_subscription_id)
         SELECT 'BM-' || to_char($7::timestamptz AT TIME ZONE 'UTC', 'YYYYMM') || '-' || lpad(d.n::text, greatest(6, length(d.n::text)), '0'),
                d.distiller, d.currency, d.kind, d.period, d.agreement, d.total, d.pool
           FROM (SELECT u.*, nextval('invoice_number_seq') AS n
                   FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::bigint[], $8::uuid[])
                        WITH ORDINALITY AS u(distiller, currency, kind, period, agreement, total, pool, ord)
                  ORDER BY u.ord) d
         ON CONFLICT DO NOTHING
         RETURNING id, distiller_organization_id, currency, kind, period, agreement_id, pool_subscription_id`,
        [
          drafts.map((d) => d.distillerOrganizationId),
          drafts.map((d) => d.currency),
          drafts.map((d) => d.kind),
          drafts.map((d) => d.period),
          drafts.map((d) => d.agreementId),
          drafts.map((d) => d.totalMinor.toString()),
          now.toISOString(),
          drafts.map((d) => d.poolSubscriptionId ?? null),
        ],
      );
    return rows.map((r) => ({
      id: r.id,
      distillerOrganizationId: r.distiller_organization_id,
      currency: r.currency,
      kind: r.kind,
      period: r.period,
      agreementId: r.agreement_id,
      poolSubscriptionId: r.pool_subscription_id,
    }));
  }

  async insertLines(em: EntityManager, lines: readonly NewLine[]): Promise<void> {
    const str = (v: bigint | null) => (v === null ? null : v.toString());
    await em.query(
      `INSERT INTO invoice_lines (invoice_id, position, kind, agreement_id, vendor_organization_id, model_id, usage_period,
                                  quantity, unit_price_minor, amount_minor, overage_tokens, description,
                                  revenue_report_id, student_model_id, royalty_policy, royalty_share_bps)
       SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[],
                            $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[],
                            $13::uuid[], $14::uuid[], $15::text[], $16::int[])`,
      [
        lines.map((l) => l.invoiceId),
        lines.map((l) => l.position),
        lines.map((l) => l.kind),
        lines.map((l) => l.agreementId),
        lines.map((l) => l.vendorOrganizationId),
        lines.map((l) => l.modelId),
        lines.map((l) => l.usagePeriod),
        lines.map((l) => str(l.quantity)),
        lines.map((l) => str(l.unitPrice)),
        lines.map((l) => l.amount.toString()),
        lines.map((l) => l.overage.toString()),
        lines.map((l) => l.description),
        lines.map((l) => l.royalty?.reportId ?? null),
        lines.map((l) => l.royalty?.studentModelId ?? null),
        lines.map((l) => l.royalty?.policy ?? null),
        lines.map((l) => l.royalty?.shareBps ?? null),
      ],
    );
  }

  /**
   * DRAFT → OPEN (or PAID at once when the total is zero), due this many days
   * after issue. The database checks each total against its lines on the way
   * out of DRAFT. `now`: business time (the platform Clock), which dates the
   * issue and so the due date dunning follows.
   */
  async issueDrafts(em: EntityManager, invoices: readonly { id: string; dueInDays: number }[], now: Date): Promise<IssuedRow[]> {
    // (TypeORM answers an UPDATE … RETURNING with [rows, affected])
    const [issued] = (await em.query(
      `UPDATE invoices i
          SET status = CASE WHEN i.total_minor = 0 THEN 'PAID' ELSE 'OPEN' END,
              issued_at = $3::timestamptz,
              due_at = $3::timestamptz + make_interval(days => d.due_days),
              paid_at = CASE WHEN i.total_minor = 0 THEN $3::timestamptz END
         FROM unnest($1::uuid[], $2::int[]) AS d(id, due_days)
        WHERE i.id = d.id AND i.status = 'DRAFT'
        RETURNING i.id, i.number, i.distiller_organization_id, i.currency, i.kind, i.period, i.agreement_id, i.status,
                  i.total_minor::text, i.issued_at, i.due_at`,
      [invoices.map((i) => i.id), invoices.map((i) => i.dueInDays), now.toISOString()],
    )) as [
      Array<{
        id: string; number: string; distiller_organization_id: string; currency: string; kind: InvoiceKind; period: string | null;
        agreement_id: string | null; status: InvoiceStatus; total_minor: string; issued_at: Date; due_at: Date;
      }>,
      number,
    ];
    return issued.map((r) => ({
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
    }));
  }

  /** The status of the agreement's upfront invoice (null: none). */
  async upfrontStatus(em: EntityManager, agreementId: string): Promise<InvoiceStatus | null> {
    const [r]: { status: InvoiceStatus }[] = await em.query(`SELECT status FROM invoices WHERE kind = 'UPFRONT' AND agreement_id = $1`, [agreementId]);
    return r?.status ?? null;
  }

  /** The names an upfront invoice's line quotes: the offer (and its version) and its model. */
  async offerNames(em: EntityManager, offerId: string): Promise<{ offerName: string; version: number; modelName: string } | null> {
    const [r]: { offer_name: string; version: number; model_name: string }[] = await em.query(
      `SELECT o.name AS offer_name, o.version, m.name AS model_name
         FROM license_offers o JOIN models m ON m.id = o.model_id WHERE o.id = $1`,
      [offerId],
    );
    return r ? { offerName: r.offer_name, version: r.version, modelName: r.model_name } : null;
  }

  async markPaid(em: EntityManager, id: string, at: Date): Promise<void> {
    await em.query(`UPDATE invoices SET status = 'PAID', amount_paid_minor = total_minor, paid_at = $2 WHERE id = $1`, [id, at]);
  }

  async markUncollectible(em: EntityManager, id: string): Promise<void> {
    await em.query(`UPDATE invoices SET status = 'UNCOLLECTIBLE' WHERE id = $1`, [id]);
  }

  async markVoid(em: EntityManager, id: string, at: Date): Promise<void> {
    await em.query(`UPDATE invoices SET status = 'VOID', voided_at = $2 WHERE id = $1`, [id, at]);
  }

  async setRefundedTotal(em: EntityManager, id: string, refundedMinor: bigint): Promise<void> {
    await em.query(`UPDATE invoices SET amount_refunded_minor = $2 WHERE id = $1`, [id, refundedMinor.toString()]);
  }

  async countUncollectible(em: EntityManager, distillerOrganizationId: string): Promise<number> {
    const [r]: { n: number }[] = await em.query(`SELECT count(*)::int AS n FROM invoices WHERE distiller_organization_id = $1 AND status = 'UNCOLLECTIBLE'`, [
      distillerOrganizationId,
    ]);
    return r.n;
  }
}

function toInvoiceRow(r: Record<string, unknown>): InvoiceRow {
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  return {
    id: r.id as string,
    number: r.number as string,
    distillerOrganizationId: r.distiller_organization_id as string,
    currency: r.currency as string,
    kind: r.kind as InvoiceKind,
    period: (r.period as string | null) ?? null,
    agreementId: (r.agreement_id as string | null) ?? null,
    poolSubscriptionId: (r.pool_subscription_id as string | null) ?? null,
    status: r.status as InvoiceStatus,
    totalMinor: BigInt(r.total_minor as string),
    amountPaidMinor: BigInt(r.amount_paid_minor as string),
    amountRefundedMinor: BigInt(r.amount_refunded_minor as string),
    issuedAt: date(r.issued_at),
    dueAt: date(r.due_at),
    paidAt: date(r.paid_at),
    voidedAt: date(r.voided_at),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
    lineCount: r.line_count as number,
  };
}
