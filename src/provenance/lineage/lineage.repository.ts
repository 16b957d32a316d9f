/**
 * The SQL of lineage: recursive walks over model_lineage_edges and the raw
 * reads of the ancestors and their agreements that a lineage is assembled
 * from. Every method takes the caller's EntityManager (the transaction's, or
 * the reader), so none can run outside the transaction by accident. Lineage
 * loading is a hot path: one query per method, nothing hydrated.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { CanonicalTerms } from '../../licensing/terms/terms.types';
import type { LineageEdgeEntity } from '../provenance.entity';

export interface EdgeRow {
  child_model_id: string;
  parent_model_id: string;
  agreement_id: string;
  relation: LineageEdgeEntity['relation'];
  method: LineageEdgeEntity['method'];
  data_share_bps: number | null;
  terms_hash: string;
  royalty_policy?: LineageEdgeEntity['royaltyPolicy'];
  royalty_share_bps?: number;
}

export interface NodeRow {
  id: string;
  organization_id: string;
  slug: string;
  name: string;
  weights_digest: string | null;
  commercial_use: boolean;
}

export interface AgreementTermsRow {
  id: string;
  terms_hash: string;
  /** Only on the first row of each distinct hash (see AGREEMENT_TERMS). */
  terms_snapshot: CanonicalTerms | null;
}

/**
 * The ancestors' lineage columns, raw (read-only access to the catalog's
 * table). CatalogService.findModels would hydrate full entities, card jsonb
 * included: for 1,024 ancestors that was ~10× the time of this query
 * (bench/lineage.bench.ts).
 */
const LINEAGE_NODES = `SELECT id, organization_id, slug, name, weights_digest, commercial_use FROM models WHERE id = ANY($1::uuid[])`;

/**
 * Every agreement's terms hash, with its terms snapshot on one row per
 * distinct hash only (read-only access to licensing's table; the snapshot is
 * the canonical terms the hash covers, so equal hashes mean equal terms). A
 * large lineage has far fewer distinct licences than agreements (2,028
 * agreements, 468 hashes in the benchmark), so each licence is sent and
 * parsed once, and its edges share one terms object.
 */
const AGREEMENT_TERMS = `
  SELECT id, terms_hash,
         CASE WHEN row_number() OVER (PARTITION BY terms_hash ORDER BY id) = 1 THEN terms_snapshot END AS terms_snapshot
    FROM license_agreements WHERE id = ANY($1::uuid[])`;

/** Edges (child → parent) of the ancestry of `rootIds`, the roots' own edges included. */
const ANCESTRY_EDGES = `
  WITH RECURSIVE ancestors(id) AS (
    SELECT e.parent_model_id FROM model_lineage_edges e WHERE e.child_model_id = ANY($1::uuid[])
    UNION
    SELECT e.parent_model_id FROM model_lineage_edges e JOIN ancestors a ON e.child_model_id = a.id
  )
  SELECT e.child_model_id, e.parent_model_id, e.agreement_id, e.relation, e.method, e.data_share_bps, e.terms_hash
    FROM model_lineage_edges e
   WHERE e.child_model_id = ANY($1::uuid[]) OR e.child_model_id IN (SELECT id FROM ancestors)`;

@Injectable()
export class LineageRepository {
  /** Every ancestor id of the given models (not the models themselves). */
  async ancestorIds(em: EntityManager, modelIds: readonly string[]): Promise<string[]> {
    const rows: Array<{ id: string }> = await em.query(
      `WITH RECURSIVE ancestors(id) AS (
         SELECT e.parent_model_id FROM model_lineage_edges e WHERE e.child_model_id = ANY($1::uuid[])
         UNION
         SELECT e.parent_model_id FROM model_lineage_edges e JOIN ancestors a ON e.child_model_id = a.id
       ) SELECT id FROM ancestors`,
      [modelIds],
    );
    return rows.map((r) => r.id);
  }

  async ancestryEdges(em: EntityManager, modelIds: readonly string[]): Promise<EdgeRow[]> {
    return em.query(ANCESTRY_EDGES, [modelIds]);
  }

  async lineageNodes(em: EntityManager, modelIds: readonly string[]): Promise<NodeRow[]> {
    return em.query(LINEAGE_NODES, [modelIds]);
  }

  async agreementTerms(em: EntityManager, agreementIds: readonly string[]): Promise<AgreementTermsRow[]> {
    return em.query(AGREEMENT_TERMS, [agreementIds]);
  }

  /** The edges among a model's descendants (any depth) and from it, with each edge's royalty columns. */
  async descendantEdges(em: EntityManager, modelId: string): Promise<EdgeRow[]> {
    return em.query(
      `WITH RECURSIVE descendants(id) AS (
         SELECT e.child_model_id FROM model_lineage_edges e WHERE e.parent_model_id = $1
         UNION
         SELECT e.child_model_id FROM model_lineage_edges e JOIN descendants d ON e.parent_model_id = d.id
       )
       SELECT e.child_model_id, e.parent_model_id, e.agreement_id, e.relation, e.method, e.data_share_bps, e.terms_hash,
              e.royalty_policy, e.royalty_share_bps
         FROM model_lineage_edges e
        WHERE e.child_model_id IN (SELECT id FROM descendants)
          AND (e.parent_model_id = $1 OR e.parent_model_id IN (SELECT id FROM descendants))`,
      [modelId],
    );
  }
}
