import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Provenance: student models (weights digest, declared use) and their licensed
 * lineage edges, certifications, signed attestations and the public keys that
 * verify them, and watermark schemes (secret sealed).
 */
export class Provenance1795800300000 implements MigrationInterface {
  name = 'Provenance1795800300000';

  public async up(q: QueryRunner): Promise<void> {
    // What an agreement accepted never changes (lineage edges cite its terms hash, and the
    // lineage loader keeps accepted terms in memory by agreement id): only its status moves.
    await q.query(`CREATE FUNCTION "license_agreements_terms_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.terms_snapshot IS DISTINCT FROM OLD.terms_snapshot OR NEW.pricing_snapshot IS DISTINCT FROM OLD.pricing_snapshot
           OR NEW.terms_hash <> OLD.terms_hash OR NEW.offer_id <> OLD.offer_id OR NEW.model_id <> OLD.model_id
           OR NEW.vendor_organization_id <> OLD.vendor_organization_id
           OR NEW.distiller_organization_id <> OLD.distiller_organization_id THEN
          RAISE EXCEPTION 'the accepted terms and parties of an agreement are immutable' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER "TRG_license_agreements_terms_immutable" BEFORE UPDATE ON "license_agreements"
      FOR EACH ROW EXECUTE FUNCTION "license_agreements_terms_immutable"()`);

    await q.query(`ALTER TABLE "models"
      ADD "weights_digest" text,
      ADD "commercial_use" boolean NOT NULL DEFAULT true,
      ADD CONSTRAINT "CHK_models_weights_digest" CHECK ("weights_digest" ~ '^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|blake3:[0-9a-f]{64})$')`);
    // A weights digest names one artefact: one model claims it.
    await q.query(`CREATE UNIQUE INDEX "UQ_models_weights_digest" ON "models" ("weights_digest") WHERE "weights_digest" IS NOT NULL`);

    await q.query(`CREATE TABLE "model_lineage_edges" (
      "child_model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "parent_model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "agreement_id" uuid NOT NULL REFERENCES "license_agreements" ("id") ON DELETE RESTRICT,
      "relation" text NOT NULL,
      "method" text,
      "data_share_bps" integer,
      "terms_hash" character(64) NOT NULL,
      "royalty_policy" text NOT NULL,
      "royalty_share_bps" integer NOT NULL,
      "registered_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_model_lineage_edges" PRIMARY KEY ("child_model_id", "parent_model_id"),
      CONSTRAINT "CHK_model_lineage_edges_self" CHECK ("child_model_id" <> "parent_model_id"),
      CONSTRAINT "CHK_model_lineage_edges_relation" CHECK ("relation" IN ('DISTILLED', 'FINETUNED', 'MERGED', 'QUANTIZED')),
      CONSTRAINT "CHK_model_lineage_edges_method" CHECK (("relation" = 'DISTILLED') = ("method" IS NOT NULL)
        AND ("method" IS NULL OR "method" IN ('LOGITS', 'SEQUENCES', 'SYNTHETIC_DATA'))),
      CONSTRAINT "CHK_model_lineage_edges_data_share" CHECK ("data_share_bps" IS NULL OR "data_share_bps" BETWEEN 0 AND 10000),
      CONSTRAINT "CHK_model_lineage_edges_royalty" CHECK ("royalty_policy" IN ('LAP', 'LRP') AND "royalty_share_bps" BETWEEN 0 AND 10000))`);
    // Descendants are walked from the parent side.
    await q.query(`CREATE INDEX "IDX_model_lineage_edges_parent" ON "model_lineage_edges" ("parent_model_id")`);
    await q.query(`CREATE INDEX "IDX_model_lineage_edges_agreement" ON "model_lineage_edges" ("agreement_id")`);
    // A declared lineage is a statement on the record: never rewritten or removed.
    await q.query(`CREATE FUNCTION "model_lineage_edges_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'lineage edges are immutable' USING ERRCODE = 'check_violation';
      END $$`);
    await q.query(`CREATE TRIGGER "TRG_model_lineage_edges_immutable" BEFORE UPDATE OR DELETE ON "model_lineage_edges"
      FOR EACH ROW EXECUTE FUNCTION "model_lineage_edges_immutable"()`);

    await q.query(`CREATE TABLE "model_certifications" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "evidence" jsonb NOT NULL,
      "safety_review" jsonb NOT NULL,
      "certified_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "certified_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "revoked_at" TIMESTAMP WITH TIME ZONE,
      "revoked_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "revocation_reason" text,
      CONSTRAINT "PK_model_certifications" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_model_certifications_expiry" CHECK ("expires_at" > "certified_at"),
      CONSTRAINT "CHK_model_certifications_revoked" CHECK (("revoked_at" IS NULL) = ("revocation_reason" IS NULL)))`);
    await q.query(`CREATE INDEX "IDX_model_certifications_model" ON "model_certifications" ("model_id", "certified_at" DESC)`);

    await q.query(`CREATE TABLE "attestation_keys" (
      "key_id" text NOT NULL,
      "algorithm" text NOT NULL,
      "public_key" text NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "retired_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_attestation_keys" PRIMARY KEY ("key_id"),
      CONSTRAINT "CHK_attestation_keys_algorithm" CHECK ("algorithm" = 'Ed25519'))`);

    await q.query(`CREATE TABLE "model_attestations" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "key_id" text NOT NULL REFERENCES "attestation_keys" ("key_id") ON DELETE RESTRICT,
      "statement" jsonb NOT NULL,
      "payload" text NOT NULL,
      "signature" text NOT NULL,
      "issued_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "issued_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      CONSTRAINT "PK_model_attestations" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_model_attestations_model" ON "model_attestations" ("model_id", "issued_at" DESC)`);

    await q.query(`CREATE TABLE "watermark_schemes" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "scheme" text NOT NULL,
      "parameters" jsonb NOT NULL,
      "secret_sealed" bytea NOT NULL,
      "secret_key_id" text NOT NULL,
      "secret_fingerprint" text NOT NULL,
      "registered_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_watermark_schemes" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_watermark_schemes_scheme" CHECK ("scheme" IN ('SYNTHID_TEXT', 'GREEN_LIST', 'OTHER')))`);
    await q.query(`CREATE INDEX "IDX_watermark_schemes_model" ON "watermark_schemes" ("model_id", "created_at" DESC)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "watermark_schemes"`);
    await q.query(`DROP TABLE "model_attestations"`);
    await q.query(`DROP TABLE "attestation_keys"`);
    await q.query(`DROP TABLE "model_certifications"`);
    await q.query(`DROP TRIGGER "TRG_model_lineage_edges_immutable" ON "model_lineage_edges"`);
    await q.query(`DROP TABLE "model_lineage_edges"`);
    await q.query(`DROP FUNCTION "model_lineage_edges_immutable"()`);
    await q.query(`DROP INDEX "UQ_models_weights_digest"`);
    await q.query(`ALTER TABLE "models" DROP CONSTRAINT "CHK_models_weights_digest", DROP COLUMN "commercial_use", DROP COLUMN "weights_digest"`);
    await q.query(`DROP TRIGGER "TRG_license_agreements_terms_immutable" ON "license_agreements"`);
    await q.query(`DROP FUNCTION "license_agreements_terms_immutable"()`);
  }
}
