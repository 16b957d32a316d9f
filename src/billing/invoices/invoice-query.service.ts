/**
 * Invoice reads for members of the distiller organization (read access) and
 * platform admins; anyone else gets NOT_FOUND, exactly as for an unknown id.
 * Lists are keyset-paged newest first (IDX_invoices_distiller), lines by position.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AccessService } from '../../identity/access.service';
import { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { BadInputError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { MAX_PAGE_SIZE } from '../../platform/graphql/limits';
import { CursorParts, defineCursor } from '../../platform/paging/cursor';
import { Page, pageOf } from '../../platform/paging/page';
import { InvoiceEntity, InvoiceKind, InvoiceLineEntity, InvoiceLineKind, InvoiceStatus } from '../billing.entity';
import { parsePeriod } from '../billing-period';

export interface InvoiceRow extends InvoiceEntity {
  lineCount: number;
}

export interface InvoicePage extends Page<InvoiceRow> {
  totalCount: number;
}

export interface InvoiceFilter {
  status?: InvoiceStatus | null;
  kind?: InvoiceKind | null;
  period?: string | null;
}

/** Newest first: the id of the last invoice (its created_at is looked up). */
export const INVOICE_CURSOR = defineCursor('invoice', [CursorParts.uuid]);
/** By position within one invoice. */
export const INVOICE_LINE_CURSOR = defineCursor('invoice-line', [CursorParts.position]);

const checkFirst = (first: number) => {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadInputError([{ field: 'first', message: `first must be between 1 and ${MAX_PAGE_SIZE}` }]);
  }
};

const COLUMNS = `i.*, (SELECT count(*)::int FROM invoice_lines l WHERE l.invoice_id = i.id) AS line_count`;

@Injectable()
export class InvoiceQueryService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
  ) {}

  async list(principal: Principal, q: { organizationId: string; filter: InvoiceFilter; first: number; after: string | null }): Promise<InvoicePage> {
    checkFirst(q.first);
    assertUuid('organizationId', q.organizationId);
    const afterId = q.after == null ? null : INVOICE_CURSOR.decode(q.after)[0];
    const period = q.filter.period == null ? null : parsePeriod(q.filter.period, 'filter.period').period;
    const em = this.db.reader;
    if (!principal.isAdmin) await this.access.requireOrganization(em, principal, q.organizationId, 'read');

    const params: unknown[] = [q.organizationId];
    const conds = ['i.distiller_organization_id = $1'];
    if (q.filter.status) conds.push(`i.status = $${params.push(q.filter.status)}`);
    if (q.filter.kind) conds.push(`i.kind = $${params.push(q.filter.kind)}`);
    if (period) conds.push(`i.period = $${params.push(period)}`);
    const [{ n }]: { n: number }[] = await em.query(`SELECT count(*)::int AS n FROM invoices i WHERE ${conds.join(' AND ')}`, params);
    if (afterId) {
      conds.push(`(i.created_at, i.id) < (SELECT c.created_at, c.id FROM invoices c WHERE c.id = $${params.push(afterId)})`);
    }
    const rows: Record<string, unknown>[] = await em.query(
      `SELECT ${COLUMNS} FROM invoices i WHERE ${conds.join(' AND ')}
        ORDER BY i.created_at DESC, i.id DESC LIMIT $${params.push(q.first + 1)}`,
      params,
    );
    return { ...pageOf(rows, q.first, toRow), totalCount: n };
  }

  async get(principal: Principal, id: string): Promise<InvoiceRow> {
    assertUuid('id', id);
    const em = this.db.reader;
    const [row]: Record<string, unknown>[] = await em.query(`SELECT ${COLUMNS} FROM invoices i WHERE i.id = $1`, [id.toLowerCase()]);
    if (!row || !(await this.canRead(em, principal, row.distiller_organization_id as string))) throw new NotFoundError('Invoice', id);
    return toRow(row);
  }

  /** Lines of an invoice the caller could already read, by position. */
  async lines(invoiceId: string, first: number, after: string | null): Promise<Page<InvoiceLineEntity>> {
    return (await this.linesOfMany([invoiceId], first, after))[0];
  }

  /**
   * The same page of lines (first, after) for many invoices in one query — a
   * page of invoices with their lines costs one query for all the lines.
   */
  async linesOfMany(invoiceIds: readonly string[], first: number, after: string | null): Promise<Page<InvoiceLineEntity>[]> {
    checkFirst(first);
    const afterPosition = after == null ? 0 : Number(INVOICE_LINE_CURSOR.decode(after)[0]);
    const raw: Array<{
      invoice_id: string; position: number; kind: InvoiceLineKind; agreement_id: string; vendor_organization_id: string; model_id: string;
      usage_period: string | null; quantity: string | null; unit_price_minor: string | null; amount_minor: string; overage_tokens: string; description: string;
    }> = await this.db.reader.query(
      `SELECT invoice_id, position, kind, agreement_id, vendor_organization_id, model_id, usage_period,
              quantity::text, unit_price_minor::text, amount_minor::text, overage_tokens::text, description
         FROM (SELECT l.*, row_number() OVER (PARTITION BY l.invoice_id ORDER BY l.position) AS rn
                 FROM invoice_lines l WHERE l.invoice_id = ANY($1::uuid[]) AND l.position > $2) page
        WHERE rn <= $3
        ORDER BY invoice_id, position`,
      [[...invoiceIds], afterPosition, first + 1],
    );
    const big = (v: string | null) => (v === null ? null : BigInt(v));
    const rows = raw.map((r) =>
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
      }),
    );
    const byInvoice = new Map<string, InvoiceLineEntity[]>();
    for (const r of rows) byInvoice.set(r.invoiceId, [...(byInvoice.get(r.invoiceId) ?? []), r]);
    return invoiceIds.map((id) => pageOf(byInvoice.get(id) ?? [], first));
  }

  private async canRead(em: EntityManager, principal: Principal, organizationId: string): Promise<boolean> {
    return principal.isAdmin || this.access.hasAccess(em, principal, [organizationId], 'read');
  }
}

function toRow(r: Record<string, unknown>): InvoiceRow {
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  return {
    id: r.id as string,
    number: r.number as string,
    distillerOrganizationId: r.distiller_organization_id as string,
    currency: r.currency as string,
    kind: r.kind as InvoiceKind,
    period: (r.period as string | null) ?? null,
    agreementId: (r.agreement_id as string | null) ?? null,
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
