import { MigrationInterface, QueryRunner } from 'typeorm';

/** Models (teachers now, students later), licence offers (immutable, versioned) and agreements. */
export class CatalogLicensing1795800100000 implements MigrationInterface {
  name = 'CatalogLicensing1795800100000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "models" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "slug" text NOT NULL,
      "name" text NOT NULL,
      "card" jsonb NOT NULL,
      "parameter_count" bigint,
      "modalities" text array NOT NULL,
      "status" text NOT NULL,
      "listed_at" TIMESTAMP WITH TIME ZONE,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_models" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_models_organization_slug" UNIQUE ("organization_id", "slug"),
      CONSTRAINT "CHK_models_status" CHECK ("status" IN ('DRAFT', 'LISTED', 'UNLISTED')),
      CONSTRAINT "CHK_models_slug" CHECK ("slug" ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
      CONSTRAINT "CHK_models_parameter_count" CHECK ("parameter_count" IS NULL OR "parameter_count" > 0))`);
    // The public catalog pages through listed models, newest listing first.
    await q.query(`CREATE INDEX "IDX_models_listed" ON "models" ("listed_at" DESC, "id" DESC) WHERE "status" = 'LISTED'`);
    await q.query(`CREATE INDEX "IDX_models_modalities" ON "models" USING gin ("modalities")`);

    await q.query(`CREATE TABLE "license_offers" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "name" text NOT NULL,
      "version" integer NOT NULL,
      "terms" jsonb NOT NULL,
      "pricing" jsonb NOT NULL,
      "terms_hash" character(64) NOT NULL,
      "currency" character(3) NOT NULL,
      "upfront_fee_minor" bigint NOT NULL,
      "input_per_million_minor" bigint NOT NULL,
      "output_per_million_minor" bigint NOT NULL,
      "minimum_commitment_minor" bigint NOT NULL,
      "pool_eligible" boolean NOT NULL,
      "status" text NOT NULL,
      "published_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "retired_at" TIMESTAMP WITH TIME ZONE,
      "public_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_license_offers" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_license_offers_model_name_version" UNIQUE ("model_id", "name", "version"),
      CONSTRAINT "CHK_license_offers_status" CHECK ("status" IN ('ACTIVE', 'RETIRED')),
      CONSTRAINT "CHK_license_offers_version" CHECK ("version" >= 1),
      CONSTRAINT "CHK_license_offers_amounts" CHECK ("upfront_fee_minor" >= 0 AND "input_per_million_minor" >= 0
        AND "output_per_million_minor" >= 0 AND "minimum_commitment_minor" >= 0),
      CONSTRAINT "CHK_license_offers_retired" CHECK (("status" = 'RETIRED') = ("retired_at" IS NOT NULL)))`);
    // At most one ACTIVE version per (model, name).
    await q.query(`CREATE UNIQUE INDEX "UQ_license_offers_active" ON "license_offers" ("model_id", "name") WHERE "status" = 'ACTIVE'`);
    await q.query(`CREATE INDEX "IDX_license_offers_model" ON "license_offers" ("model_id", "status")`);
    // Published terms never change: only status / retired_at may be updated, never deleted.
    await q.query(`CREATE FUNCTION "license_offers_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'license offers are never deleted (retire them)' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF (NEW.terms, NEW.pricing, NEW.terms_hash, NEW.model_id, NEW.organization_id, NEW.name, NEW.version,
            NEW.currency, NEW.upfront_fee_minor, NEW.input_per_million_minor, NEW.output_per_million_minor,
            NEW.minimum_commitment_minor, NEW.pool_eligible, NEW.created_at)
           IS DISTINCT FROM
           (OLD.terms, OLD.pricing, OLD.terms_hash, OLD.model_id, OLD.organization_id, OLD.name, OLD.version,
            OLD.currency, OLD.upfront_fee_minor, OLD.input_per_million_minor, OLD.output_per_million_minor,
            OLD.minimum_commitment_minor, OLD.pool_eligible, OLD.created_at) THEN
          RAISE EXCEPTION 'published license offers are immutable (publish a new version)' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER "license_offers_immutable" BEFORE UPDATE OR DELETE ON "license_offers"
      FOR EACH ROW EXECUTE FUNCTION "license_offers_immutable"()`);
    // public_at: when the offer first became public (ACTIVE while its model is LISTED).
    // Kept by the database so that no code path (publishing, listing) can forget it:
    // an offer that was never public stays invisible to outsiders even once retired.
    await q.query(`CREATE FUNCTION "license_offers_public_on_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'ACTIVE' AND EXISTS (SELECT 1 FROM models WHERE id = NEW.model_id AND status = 'LISTED') THEN
          NEW.public_at := now();
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER "license_offers_public_on_insert" BEFORE INSERT ON "license_offers"
      FOR EACH ROW EXECUTE FUNCTION "license_offers_public_on_insert"()`);
    await q.query(`CREATE FUNCTION "models_publish_offers_on_listing"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE license_offers SET public_at = now()
         WHERE model_id = NEW.id AND status = 'ACTIVE' AND public_at IS NULL;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "models_publish_offers_on_listing" AFTER UPDATE OF "status" ON "models"
      FOR EACH ROW WHEN (NEW.status = 'LISTED' AND OLD.status IS DISTINCT FROM 'LISTED')
      EXECUTE FUNCTION "models_publish_offers_on_listing"()`);

    await q.query(`CREATE TABLE "license_agreements" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "offer_id" uuid NOT NULL REFERENCES "license_offers" ("id") ON DELETE RESTRICT,
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "vendor_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "distiller_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "accepted_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "accepted_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "terms_snapshot" jsonb NOT NULL,
      "pricing_snapshot" jsonb NOT NULL,
      "terms_hash" character(64) NOT NULL,
      "status" text NOT NULL,
      "status_reason" text,
      "status_changed_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "starts_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "ends_at" TIMESTAMP WITH TIME ZONE,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_license_agreements" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_license_agreements_status" CHECK ("status" IN ('PENDING_PAYMENT', 'ACTIVE', 'SUSPENDED', 'TERMINATED', 'EXPIRED')),
      CONSTRAINT "CHK_license_agreements_term" CHECK ("ends_at" IS NULL OR "ends_at" > "starts_at"))`);
    await q.query(`CREATE UNIQUE INDEX "UQ_license_agreements_live" ON "license_agreements" ("offer_id", "distiller_organization_id")
      WHERE "status" IN ('PENDING_PAYMENT', 'ACTIVE', 'SUSPENDED')`);
    await q.query(`CREATE INDEX "IDX_license_agreements_distiller" ON "license_agreements" ("distiller_organization_id", "created_at" DESC)`);
    await q.query(`CREATE INDEX "IDX_license_agreements_vendor" ON "license_agreements" ("vendor_organization_id", "created_at" DESC)`);

    await q.query(`ALTER TABLE "api_keys" ADD CONSTRAINT "FK_api_keys_agreement"
      FOREIGN KEY ("agreement_id") REFERENCES "license_agreements" ("id") ON DELETE RESTRICT`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "api_keys" DROP CONSTRAINT "FK_api_keys_agreement"`);
    await q.query(`DROP TABLE "license_agreements"`);
    await q.query(`DROP TRIGGER "models_publish_offers_on_listing" ON "models"`);
    await q.query(`DROP FUNCTION "models_publish_offers_on_listing"()`);
    await q.query(`DROP TABLE "license_offers"`);
    await q.query(`DROP FUNCTION "license_offers_public_on_insert"()`);
    await q.query(`DROP FUNCTION "license_offers_immutable"()`);
    await q.query(`DROP TABLE "models"`);
  }
}
