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
import { InvoiceKind, InvoiceLineEntity, InvoiceStatus } from '../billing.entity';
import { parsePeriod } from '../billing-period';
import { InvoiceRepository, InvoiceRow } from './invoice.repository';

export interface InvoicePage {
  rows: InvoiceRow[];
  hasNextPage: boolean;
  totalCount: number;
}

export interface InvoiceFilter {
  status?: InvoiceStatus | null;
  kind?: InvoiceKind | null;
  period?: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const encodeInvoiceCursor = (id: string): string => Buffer.from(`invoice:${id}`).toString('base64url');
export const encodeLineCursor = (position: number): string => Buffer.from(`invoice-line:${position}`).toString('base64url');

function decode(prefix: string, cursor: string, valid: RegExp): string {
  const invalid = () => new BadInputError([{ field: 'after', message: 'invalid cursor' }]);
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw invalid();
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!raw.startsWith(`${prefix}:`)) throw invalid();
  const value = raw.slice(prefix.length + 1);
  if (!valid.test(value)) throw invalid();
  return value;
}

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
    const afterId = q.after == null ? null : decode('invoice', q.after, UUID);
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
    return { rows: rows.slice(0, q.first), hasNextPage: rows.length > q.first, totalCount };
  }

  async get(principal: Principal, id: string): Promise<InvoiceRow> {
    assertUuid('id', id);
    const em = this.db.reader;
    const row = await this.invoices.byId(em, id.toLowerCase());
    if (!row || !(await this.canRead(em, principal, row.distillerOrganizationId))) throw new NotFoundError('Invoice', id);
    return row;
  }

  /** Lines of an invoice the caller could already read, by position. */
  async lines(invoiceId: string, first: number, after: string | null): Promise<{ rows: InvoiceLineEntity[]; hasNextPage: boolean }> {
    return (await this.linesOfMany([invoiceId], first, after))[0];
  }

  /**
   * The same page of lines (first, after) for many invoices in one query — a
   * page of invoices with their lines costs one query for all the lines.
   */
  async linesOfMany(invoiceIds: readonly string[], first: number, after: string | null): Promise<{ rows: InvoiceLineEntity[]; hasNextPage: boolean }[]> {
    checkFirst(first);
    const afterPosition = after == null ? 0 : Number(decode('invoice-line', after, /^[1-9][0-9]{0,8}$/));
    const rows = await this.invoices.linesOfMany(this.db.reader, invoiceIds, afterPosition, first + 1);
    const byInvoice = new Map<string, InvoiceLineEntity[]>();
    for (const r of rows) byInvoice.set(r.invoiceId, [...(byInvoice.get(r.invoiceId) ?? []), r]);
    return invoiceIds.map((id) => {
      const list = byInvoice.get(id) ?? [];
      return { rows: list.slice(0, first), hasNextPage: list.length > first };
    });
  }

  private async canRead(em: EntityManager, principal: Principal, organizationId: string): Promise<boolean> {
    if (principal.isAdmin) return true;
    try {
      await this.access.requireOrganization(em, principal, organizationId, 'read');
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }
}
