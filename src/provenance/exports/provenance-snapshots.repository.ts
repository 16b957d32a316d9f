/**
 * The SQL of provenance snapshots: the content fingerprint the exports are
 * cached by. Every method takes the caller's EntityManager (the transaction's,
 * or the reader), so none can run outside the transaction by accident.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface FingerprintRow {
  model_id: string;
  fingerprint: string;
}

/** md5 of the content the exports read, per root model (models that do not exist have no row). */
const FINGERPRINTS = `
  WITH RECURSIVE tree(root, id) AS (
    SELECT r, r FROM unnest($1::uuid[]) AS r
    UNION
    SELECT t.root, e.parent_model_id FROM model_lineage_edges e JOIN tree t ON e.child_model_id = t.id
  ),
  nodes AS (
    SELECT t.root,
           string_agg(concat_ws('|', m.id, m.name, m.slug, m.weights_digest, m.commercial_use, m.organization_id, o.name, md5(m.card::text)), ',' ORDER BY m.id) AS s
      FROM tree t JOIN models m ON m.id = t.id JOIN organizations o ON o.id = m.organization_id
     GROUP BY t.root
  ),
  edges AS (
    SELECT t.root,
           string_agg(concat_ws('|', e.child_model_id, e.parent_model_id, e.agreement_id, e.terms_hash, e.relation, e.method, e.data_share_bps),
                      ',' ORDER BY e.child_model_id, e.parent_model_id) AS s
      FROM tree t JOIN model_lineage_edges e ON e.child_model_id = t.id
     GROUP BY t.root
  ),
  certs AS (
    SELECT DISTINCT ON (c.model_id) c.model_id AS root, concat_ws('|', c.id, c.expires_at, c.revoked_at, c.expires_at <= $2::timestamptz) AS s
      FROM model_certifications c WHERE c.model_id = ANY($1::uuid[])
     ORDER BY c.model_id, c.certified_at DESC, c.id DESC
  )
  SELECT n.root AS model_id, md5(concat_ws('#', n.s, e.s, c.s)) AS fingerprint
    FROM nodes n LEFT JOIN edges e ON e.root = n.root LEFT JOIN certs c ON c.root = n.root`;

@Injectable()
export class ProvenanceSnapshotsRepository {
  /** One query for every model asked about in a request; models that do not exist have no row. */
  /** `now`: business time (the platform Clock) — a certification's expiry changes the fingerprint. */
  async fingerprintsOf(em: EntityManager, modelIds: readonly string[], now: Date): Promise<FingerprintRow[]> {
    return (await em.query(FINGERPRINTS, [modelIds, now.toISOString()])) as FingerprintRow[];
  }
}
