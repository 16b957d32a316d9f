/**
 * The public catalog: LISTED models only, newest listing first, keyset-paged
 * on (listed_at DESC, id DESC) — the partial index IDX_models_listed serves
 * that order — and the vendor organizations of a page, fetched in one query.
 */
import { Injectable } from '@nestjs/common';
import { In, SelectQueryBuilder } from 'typeorm';
import { OrganizationEntity } from '../identity/identity.entity';
import { Database } from '../platform/database/transaction';
import { CatalogCursor, decodeCursor, encodeCursor } from './catalog-cursor';
import { ModelEntity, ModelStatus } from './model.entity';
import { SingleFlight } from './single-flight';

export interface CatalogFilter {
  search?: string | null;
  modality?: string | null;
  vendorId?: string | null;
  minParameters?: string | null;
  maxParameters?: string | null;
  hasActiveOffer?: boolean | null;
}

export interface CatalogPage {
  edges: { cursor: string; model: ModelEntity }[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** `%`, `_` and the escape character itself match literally in a LIKE pattern. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

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
  private readonly pages = new SingleFlight<CatalogPage>();
  private readonly counts = new SingleFlight<number>();
  private readonly orgs = new SingleFlight<Map<string, OrganizationEntity>>();

  constructor(private readonly db: Database) {}

  /** One page; `after` is an opaque cursor (BAD_USER_INPUT when malformed). */
  async page(filter: CatalogFilter, first: number, after: string | null): Promise<CatalogPage> {
    const cursor: CatalogCursor | null = after ? decodeCursor(after) : null;
    return this.pages.run(`${filterKey(filter)}|${first}|${after ?? ''}`, () => this.loadPage(filter, first, cursor));
  }

  private async loadPage(filter: CatalogFilter, first: number, cursor: CatalogCursor | null): Promise<CatalogPage> {
    const qb = this.filtered(filter)
      .addSelect('(extract(epoch FROM m.listed_at) * 1000000)::bigint::text', 'listed_us')
      .orderBy('m.listed_at', 'DESC')
      .addOrderBy('m.id', 'DESC')
      .limit(first + 1);
    if (cursor) {
      qb.andWhere(`(m.listed_at, m.id) < (timestamptz 'epoch' + CAST(:curUs AS bigint) * interval '1 microsecond', CAST(:curId AS uuid))`, {
        curUs: cursor.listedAtMicros,
        curId: cursor.id,
      });
    }
    const { entities, raw } = await qb.getRawAndEntities<{ m_id: string; listed_us: string }>();
    const micros = new Map(raw.map((r) => [r.m_id, r.listed_us]));
    const rows = entities.slice(0, first);
    const edges = rows.map((model) => ({ cursor: encodeCursor({ listedAtMicros: micros.get(model.id)!, id: model.id }), model }));
    return { edges, hasNextPage: entities.length > first, endCursor: edges.length ? edges[edges.length - 1].cursor : null };
  }

  /** How many LISTED models match (all pages). */
  async count(filter: CatalogFilter): Promise<number> {
    return this.counts.run(filterKey(filter), () => this.filtered(filter).getCount());
  }

  /** Organizations by id, in the order asked (null where absent): the DataLoader's batch. */
  async organizationsByIds(ids: readonly string[]): Promise<(OrganizationEntity | null)[]> {
    const unique = [...new Set(ids)].sort();
    const byId = await this.orgs.run(unique.join(','), async () => {
      const orgs = await this.db.reader.find(OrganizationEntity, { where: { id: In(unique) } });
      return new Map(orgs.map((o) => [o.id, o]));
    });
    return ids.map((id) => byId.get(id) ?? null);
  }

  private filtered(f: CatalogFilter): SelectQueryBuilder<ModelEntity> {
    const qb = this.db.reader.createQueryBuilder(ModelEntity, 'm').where('m.status = :listed', { listed: ModelStatus.LISTED });
    if (f.search) {
      qb.andWhere(`(m.name ILIKE :pattern ESCAPE '\\' OR (m.card ->> 'summary') ILIKE :pattern ESCAPE '\\')`, {
        pattern: `%${escapeLike(f.search)}%`,
      });
    }
    if (f.modality) qb.andWhere('m.modalities @> ARRAY[CAST(:modality AS text)]', { modality: f.modality });
    if (f.vendorId) qb.andWhere('m.organization_id = :vendorId', { vendorId: f.vendorId });
    if (f.minParameters != null) qb.andWhere('m.parameter_count >= CAST(:minP AS bigint)', { minP: f.minParameters });
    if (f.maxParameters != null) qb.andWhere('m.parameter_count <= CAST(:maxP AS bigint)', { maxP: f.maxParameters });
    if (f.hasActiveOffer != null) {
      // Raw SQL on purpose: the catalog reads license_offers without depending on the licensing module.
      const exists = `EXISTS (SELECT 1 FROM license_offers o WHERE o.model_id = m.id AND o.status = 'ACTIVE')`;
      qb.andWhere(f.hasActiveOffer ? exists : `NOT ${exists}`);
    }
    return qb;
  }
}
