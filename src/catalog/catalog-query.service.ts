/**
 * The public catalog: LISTED models only, newest listing first, keyset-paged
 * on (listed_at DESC, id DESC) — the partial index IDX_models_listed serves
 * that order. This is the hottest read of the API, so its SQL is written out
 * here (no query builder, no entity hydration): one query for the page with
 * its vendors, one for the total count.
 */
import { Injectable } from '@nestjs/common';
import { Database } from '../platform/database/transaction';
import { CursorParts, defineCursor } from '../platform/paging/cursor';
import { Page, pageOf } from '../platform/paging/page';
import { ModelCard, ModelEntity, ModelStatus } from './model.entity';
import { SingleFlight } from './single-flight';

export interface CatalogFilter {
  search?: string | null;
  modality?: string | null;
  vendorId?: string | null;
  minParameters?: string | null;
  maxParameters?: string | null;
  hasActiveOffer?: boolean | null;
}

export interface CatalogVendor {
  id: string;
  name: string;
  country: string | null;
}

export interface CatalogRow {
  cursor: string;
  model: ModelEntity;
  vendor: CatalogVendor;
}

/**
 * Newest listing first: (listed_at, id) as microseconds since the epoch (PostgreSQL's
 * full precision; a JS Date would round to ms and repeat or skip rows listed within it).
 */
const MODEL_CURSOR = defineCursor('model', [CursorParts.epochMicros, CursorParts.uuid]);
type CatalogCursor = ReturnType<typeof MODEL_CURSOR.decode>;

interface PageRow {
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

/** A stable key for a filter (property order and absent vs null do not matter). */
function filterKey(f: CatalogFilter): string {
  return JSON.stringify([f.search ?? null, f.modality ?? null, f.vendorId ?? null, f.minParameters ?? null, f.maxParameters ?? null, f.hasActiveOffer ?? null]);
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

/**
 * Identical concurrent catalog reads are coalesced (see single-flight.ts): under
 * load, one SQL query serves every request for the same page that arrives while
 * it runs. Results are shared between requests, so callers must not mutate them.
 */
@Injectable()
export class CatalogQueryService {
  private readonly pages = new SingleFlight<Page<CatalogRow>>();
  private readonly counts = new SingleFlight<number>();

  constructor(private readonly db: Database) {}

  /** One page; `after` is an opaque cursor (BAD_USER_INPUT when malformed). */
  async page(filter: CatalogFilter, first: number, after: string | null): Promise<Page<CatalogRow>> {
    const cursor: CatalogCursor | null = after ? MODEL_CURSOR.decode(after) : null;
    return this.pages.run(`${filterKey(filter)}|${first}|${after ?? ''}`, () => this.loadPage(filter, first, cursor));
  }

  /** How many LISTED models match (all pages). */
  async count(filter: CatalogFilter): Promise<number> {
    return this.counts.run(filterKey(filter), async () => {
      const w = where(filter);
      const [row] = (await this.db.reader.query(`SELECT count(*)::int AS n FROM models m WHERE ${w.sql}`, w.params)) as { n: number }[];
      return row.n;
    });
  }

  private async loadPage(filter: CatalogFilter, first: number, cursor: CatalogCursor | null): Promise<Page<CatalogRow>> {
    const w = where(filter);
    const params = [...w.params];
    const p = (v: unknown) => `$${params.push(v)}`;
    let keyset = '';
    if (cursor) {
      keyset = ` AND (m.listed_at, m.id) < (timestamptz 'epoch' + ${p(cursor[0])}::bigint * interval '1 microsecond', ${p(cursor[1])}::uuid)`;
    }
    // The vendor comes with the page (a read-only join on identity's organizations): no per-node lookups.
    const rows = (await this.db.reader.query(
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
    return pageOf(rows, first, (r) => ({
      cursor: MODEL_CURSOR.encode([r.listed_us, r.id]),
      model: toEntity(r),
      vendor: { id: r.organization_id, name: r.vendor_name, country: r.vendor_country },
    }));
  }
}

function toEntity(r: PageRow): ModelEntity {
  return Object.assign(new ModelEntity(), {
    id: r.id,
    organizationId: r.organization_id,
    slug: r.slug,
    name: r.name,
    card: r.card,
    parameterCount: r.parameter_count === null ? null : BigInt(r.parameter_count),
    modalities: r.modalities,
    status: r.status,
    listedAt: r.listed_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    weightsDigest: r.weights_digest,
    commercialUse: r.commercial_use,
  });
}
