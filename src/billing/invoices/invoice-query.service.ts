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
import { InvoiceKind, InvoiceLineEntity, InvoiceStatus } from '../billing.entity';
import { parsePeriod } from '../billing-period';
import { InvoiceRepository, InvoiceRow } from './invoice.repository';

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

@Injectable()
export class InvoiceQueryService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly invoices: InvoiceRepository,
  ) {}

  async list(principal: Principal, q: { organizationId: string; filter: InvoiceFilter; first: number; after: string | null }): Promise<InvoicePage> {
    checkFirst(q.first);
    assertUuid('organizationId', q.organizationId);
    const afterId = q.after == null ? null : INVOICE_CURSOR.decode(q.after)[0];
    const period = q.filter.period == null ? null : parsePeriod(q.filter.period, 'filter.period').period;
    const em = this.db.reader;
    if (!principal.isAdmin) await this.access.requireOrganization(em, principal, q.organizationId, 'read');

    const { rows, totalCount } = await this.invoices.list(em, {
      organizationId: q.organizationId,
      status: q.filter.status ?? null,
      kind: q.filter.kind ?? null,
      period,
      afterId,
      limit: q.first + 1,
    });
    return { ...pageOf(rows, q.first), totalCount };
  }

  async get(principal: Principal, id: string): Promise<InvoiceRow> {
    assertUuid('id', id);
    const em = this.db.reader;
    const row = await this.invoices.byId(em, id.toLowerCase());
    if (!row || !(await this.canRead(em, principal, row.distillerOrganizationId))) throw new NotFoundError('Invoice', id);
    return row;
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
    const rows = await this.invoices.linesOfMany(this.db.reader, invoiceIds, afterPosition, first + 1);
    const byInvoice = new Map<string, InvoiceLineEntity[]>();
    for (const r of rows) byInvoice.set(r.invoiceId, [...(byInvoice.get(r.invoiceId) ?? []), r]);
    return invoiceIds.map((id) => pageOf(byInvoice.get(id) ?? [], first));
  }

  private async canRead(em: EntityManager, principal: Principal, organizationId: string): Promise<boolean> {
    return principal.isAdmin || this.access.hasAccess(em, principal, [organizationId], 'read');
  }
}
