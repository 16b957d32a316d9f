/**
 * The public catalog: LISTED models only, newest listing first, keyset-paged
 * on (listed_at DESC, id DESC) — the partial index IDX_models_listed serves
 * that order. This is the hottest read of the API, so its SQL is written out
 * in catalog.repository.ts (no query builder, no entity hydration): one query
 * for the page with its vendors, one for the total count.
 */
import { Injectable } from '@nestjs/common';
import { Database } from '../platform/database/transaction';
import { CursorParts, defineCursor } from '../platform/paging/cursor';
import { Page, pageOf } from '../platform/paging/page';
import { CatalogFilter, CatalogRepository, PageRow } from './catalog.repository';
import { ModelEntity } from './model.entity';
import { SingleFlight } from './single-flight';

export type { CatalogFilter } from './catalog.repository';

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
export type CatalogCursor = ReturnType<typeof MODEL_CURSOR.decode>;

/** A stable key for a filter (property order and absent vs null do not matter). */
function filterKey(f: CatalogFilter): string {
  return JSON.stringify([f.search ?? null, f.modality ?? null, f.vendorId ?? null, f.minParameters ?? null, f.maxParameters ?? null, f.hasActiveOffer ?? null]);
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

  constructor(
    private readonly db: Database,
    private readonly catalog: CatalogRepository,
  ) {}

  /** One page; `after` is an opaque cursor (BAD_USER_INPUT when malformed). */
  async page(filter: CatalogFilter, first: number, after: string | null): Promise<Page<CatalogRow>> {
    const cursor: CatalogCursor | null = after ? MODEL_CURSOR.decode(after) : null;
    return this.pages.run(`${filterKey(filter)}|${first}|${after ?? ''}`, () => this.loadPage(filter, first, cursor));
  }

  /** How many LISTED models match (all pages). */
  async count(filter: CatalogFilter): Promise<number> {
    return this.counts.run(filterKey(filter), async () => {
      return this.catalog.count(this.db.reader, filter);
    });
  }

  private async loadPage(filter: CatalogFilter, first: number, cursor: CatalogCursor | null): Promise<Page<CatalogRow>> {
    const rows = await this.catalog.page(this.db.reader, filter, first, cursor);
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
