/**
 * The SQL of the public catalog, written out because it is the hottest read
 * of the API: one query for a page with its vendors, one for the total count.
 * Every method takes the caller's EntityManager (the reader, for the catalog).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { CatalogCursor } from './catalog-query.service';
import { ModelCard, ModelStatus } from './model.entity';

export interface CatalogFilter {
  search?: string | null;
  modality?: string | null;
  vendorId?: string | null;
  minParameters?: string | null;
  maxParameters?: string | null;
  hasActiveOffer?: boolean | null;
}

/** A catalog page row: the model's columns, its listing time in microseconds and its vendor. */
export interface PageRow {
  id: string;
  organization_id: string;
  slug: string;
  name: string;
  card: ModelCard;
  parameter_count: string | null;
  modalities: string[];
  status: ModelStatus;
  listed_at: Date;
  created_at: Date;
  updated_at: Date;
  weights_digest: string | null;
  commercial_use: boolean;
  listed_us: string;
  vendor_name: string;
  vendor_country: string | null;
}

/** `%`, `_` and the escape character itself match literally in a LIKE pattern. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** WHERE clause and parameters for a filter (parameters numbered from $1). */
function where(f: CatalogFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (v: unknown) => `$${params.push(v)}`;
  const conds = [`m.status = 'LISTED'`];
  if (f.search) {
    const pattern = p(`%${escapeLike(f.search)}%`);
    conds.push(`(m.name ILIKE ${pattern} ESCAPE '\\' OR (m.card ->> 'summary') ILIKE ${pattern} ESCAPE '\\')`);
  }
  if (f.modality) conds.push(`m.modalities @> ARRAY[${p(f.modality)}::text]`);
  if (f.vendorId) conds.push(`m.organization_id = ${p(f.vendorId)}::uuid`);
  if (f.minParameters != null) conds.push(`m.parameter_count >= ${p(f.minParameters)}::bigint`);
  if (f.maxParameters != null) conds.push(`m.parameter_count <= ${p(f.maxParameters)}::bigint`);
  if (f.hasActiveOffer != null) {
    // Read-only SQL on purpose: the catalog filters on offers without depending on the licensing module.
    const exists = `EXISTS (SELECT 1 FROM license_offers o WHERE o.model_id = m.id AND o.status = 'ACTIVE')`;
    conds.push(f.hasActiveOffer ? exists : `NOT ${exists}`);
  }
  return { sql: conds.join(' AND '), params };
}

@Injectable()
export class CatalogRepository {
  /** How many LISTED models match the filter. */
  async count(em: EntityManager, filter: CatalogFilter): Promise<number> {
    const w = where(filter);
    const [row] = (await em.query(`SELECT count(*)::int AS n FROM models m WHERE ${w.sql}`, w.params)) as { n: number }[];
    return row.n;
  }

  /** Up to `first + 1` rows after the cursor, newest listing first (the extra row says whether there is a next page). */
  async page(em: EntityManager, filter: CatalogFilter, first: number, cursor: CatalogCursor | null): Promise<PageRow[]> {
    const w = where(filter);
    const params = [...w.params];
    const p = (v: unknown) => `$${params.push(v)}`;
    let keyset = '';
    if (cursor) {
      keyset = ` AND (m.listed_at, m.id) < (timestamptz 'epoch' + ${p(cursor[0])}::bigint * interval '1 microsecond', ${p(cursor[1])}::uuid)`;
    }
    // The vendor comes with the page (a read-only join on identity's organizations): no per-node lookups.
    return (await em.query(
      `SELECT m.id, m.organization_id, m.slug, m.name, m.card, m.parameter_count::text AS parameter_count, m.modalities,
              m.status, m.listed_at, m.created_at, m.updated_at, m.weights_digest, m.commercial_use,
              (extract(epoch FROM m.listed_at) * 1000000)::bigint::text AS listed_us,
              o.name AS vendor_name, o.country AS vendor_country
         FROM models m JOIN organizations o ON o.id = m.organization_id
        WHERE ${w.sql}${keyset}
        ORDER BY m.listed_at DESC, m.id DESC
        LIMIT ${p(first + 1)}`,
      params,
    )) as PageRow[];
  }
}
