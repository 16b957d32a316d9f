import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Downstream revenue: a distiller reports what a student model earned outside
 * the platform in a month; each report is a revision (the latest per model,
 * month and currency is current) with the royalties its stack owes, which the
 * close of the period open at acceptance puts on the distiller's PERIOD
 * invoice as ROYALTY lines (the difference to what earlier revisions already
 * billed: a correction bills or credits only the change). Thresholds of the
 * model's licences that a report exceeds raise licence notices.
 */
export class RevenueReports1795800910000 implements MigrationInterface {
  name = 'RevenueReports1795800910000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "model_revenue_reports" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "distiller_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "period" text NOT NULL,
      "currency" character(3) NOT NULL,
      "revision" integer NOT NULL,
      "gross_minor" bigint NOT NULL,
      "active_users" bigint,
      "evidence_url" text,
      -- The period open when the report was accepted: its close invoices the royalties.
      "billing_period" text NOT NULL,
      "reported_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "reported_by_api_key_id" uuid,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_model_revenue_reports" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_model_revenue_reports_revision" UNIQUE ("model_id", "period", "currency", "revision"),
      CONSTRAINT "CHK_model_revenue_reports_period" CHECK ("period" ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      CONSTRAINT "CHK_model_revenue_reports_billing_period" CHECK ("billing_period" ~ '^[0-9]{4}-(0[1-9]|1[0-2])$' AND "billing_period" >= "period"),
      CONSTRAINT "CHK_model_revenue_reports_currency" CHECK ("currency" ~ '^[A-Z]{3}$'),
      CONSTRAINT "CHK_model_revenue_reports_revision" CHECK ("revision" >= 1),
      CONSTRAINT "CHK_model_revenue_reports_gross" CHECK ("gross_minor" >= 0),
      CONSTRAINT "CHK_model_revenue_reports_users" CHECK ("active_users" IS NULL OR "active_users" >= 0),
      CONSTRAINT "CHK_model_revenue_reports_evidence" CHECK ("evidence_url" IS NULL OR ("evidence_url" ~ '^https://' AND length("evidence_url") <= 2048)))`);
    // The close: current revisions of a chunk of distillers.
    await q.query(`CREATE INDEX "IDX_model_revenue_reports_distiller" ON "model_revenue_reports" ("distiller_organization_id", "billing_period")`);
    await q.query(`CREATE INDEX "IDX_model_revenue_reports_period" ON "model_revenue_reports" ("period", "model_id")`);

    await q.query(`CREATE TABLE "model_revenue_royalties" (
      "report_id" uuid NOT NULL REFERENCES "model_revenue_reports" ("id") ON DELETE RESTRICT,
      "position" integer NOT NULL,
      "ancestor_model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "vendor_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "agreement_id" uuid NOT NULL REFERENCES "license_agreements" ("id") ON DELETE RESTRICT,
      "policy" text NOT NULL,
      "share_bps" integer NOT NULL,
      "depth" integer NOT NULL,
      "amount_minor" bigint NOT NULL,
      CONSTRAINT "PK_model_revenue_royalties" PRIMARY KEY ("report_id", "position"),
      CONSTRAINT "UQ_model_revenue_royalties_entry" UNIQUE ("report_id", "ancestor_model_id", "policy"),
      CONSTRAINT "CHK_model_revenue_royalties_policy" CHECK ("policy" IN ('LAP', 'LRP')),
      CONSTRAINT "CHK_model_revenue_royalties_share" CHECK ("share_bps" BETWEEN 1 AND 10000 AND "depth" >= 1),
      CONSTRAINT "CHK_model_revenue_royalties_amount" CHECK ("amount_minor" >= 0))`);

    // Reports and their royalties are history: a correction is a new revision.
    await q.query(`CREATE FUNCTION "model_revenue_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'revenue reports are immutable (report a correction instead)' USING ERRCODE = 'check_violation';
      END $$`);
    await q.query(`CREATE TRIGGER "TRG_model_revenue_reports_immutable" BEFORE UPDATE OR DELETE ON "model_revenue_reports"
      FOR EACH ROW EXECUTE FUNCTION "model_revenue_immutable"()`);
    await q.query(`CREATE TRIGGER "TRG_model_revenue_royalties_immutable" BEFORE UPDATE OR DELETE ON "model_revenue_royalties"
      FOR EACH ROW EXECUTE FUNCTION "model_revenue_immutable"()`);

    // ROYALTY invoice lines: which report revision and student model they come from, under which policy and share.
    await q.query(`ALTER TABLE "invoice_lines"
      ADD COLUMN "revenue_report_id" uuid REFERENCES "model_revenue_reports" ("id") ON DELETE RESTRICT,
      ADD COLUMN "student_model_id" uuid REFERENCES "models" ("id") ON DELETE RESTRICT,
      ADD COLUMN "royalty_policy" text,
      ADD COLUMN "royalty_share_bps" integer`);
    await q.query(`ALTER TABLE "invoice_lines" DROP CONSTRAINT "CHK_invoice_lines_kind"`);
    await q.query(`ALTER TABLE "invoice_lines" ADD CONSTRAINT "CHK_invoice_lines_kind" CHECK ("kind" IN ('UPFRONT_FEE', 'USAGE_INPUT', 'USAGE_OUTPUT',
        'MINIMUM_COMMITMENT_TRUE_UP', 'ADJUSTMENT_INPUT', 'ADJUSTMENT_OUTPUT', 'ROYALTY'))`);
    // A royalty correction may be a credit (negative), like a true-up given back.
    await q.query(`ALTER TABLE "invoice_lines" DROP CONSTRAINT "CHK_invoice_lines_amount"`);
    await q.query(`ALTER TABLE "invoice_lines" ADD CONSTRAINT "CHK_invoice_lines_amount" CHECK ("amount_minor" >= 0 OR "kind" IN ('MINIMUM_COMMITMENT_TRUE_UP', 'ROYALTY'))`);
    await q.query(`ALTER TABLE "invoice_lines" ADD CONSTRAINT "CHK_invoice_lines_royalty" CHECK (CASE WHEN "kind" = 'ROYALTY' THEN
        "revenue_report_id" IS NOT NULL AND "student_model_id" IS NOT NULL AND "student_model_id" <> "model_id"
        AND "royalty_policy" IN ('LAP', 'LRP') AND "royalty_share_bps" BETWEEN 1 AND 10000 AND "amount_minor" <> 0
      ELSE "revenue_report_id" IS NULL AND "student_model_id" IS NULL AND "royalty_policy" IS NULL AND "royalty_share_bps" IS NULL END)`);
    // What has been billed for a student model's month (the close's difference).
    await q.query(`CREATE INDEX "IDX_invoice_lines_student_period" ON "invoice_lines" ("student_model_id", "usage_period") WHERE "kind" = 'ROYALTY'`);

    await q.query(`CREATE TABLE "license_notices" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "report_id" uuid NOT NULL REFERENCES "model_revenue_reports" ("id") ON DELETE RESTRICT,
      "agreement_id" uuid NOT NULL REFERENCES "license_agreements" ("id") ON DELETE RESTRICT,
      "vendor_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "distiller_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "period" text NOT NULL,
      "metric" text NOT NULL,
      "effect" text NOT NULL,
      "threshold" numeric(20, 0) NOT NULL,
      "observed" numeric(20, 0) NOT NULL,
      "currency" character(3),
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_license_notices" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_license_notices_once" UNIQUE ("report_id", "agreement_id", "metric"),
      CONSTRAINT "CHK_license_notices_metric" CHECK ("metric" IN ('MONTHLY_ACTIVE_USERS', 'MONTHLY_REVENUE')),
      CONSTRAINT "CHK_license_notices_effect" CHECK ("effect" IN ('SEPARATE_LICENSE_REQUIRED', 'LICENSE_TERMINATES', 'NOTICE_REQUIRED')),
      CONSTRAINT "CHK_license_notices_exceeded" CHECK ("observed" > "threshold" AND "threshold" >= 0),
      CONSTRAINT "CHK_license_notices_currency" CHECK (("metric" = 'MONTHLY_REVENUE') = ("currency" IS NOT NULL)))`);
    await q.query(`CREATE INDEX "IDX_license_notices_vendor" ON "license_notices" ("vendor_organization_id", "created_at" DESC, "id" DESC)`);
    await q.query(`CREATE INDEX "IDX_license_notices_all" ON "license_notices" ("created_at" DESC, "id" DESC)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "license_notices"`);
    await q.query(`DROP INDEX "IDX_invoice_lines_student_period"`);
    await q.query(`ALTER TABLE "invoice_lines" DROP CONSTRAINT "CHK_invoice_lines_royalty"`);
    await q.query(`ALTER TABLE "invoice_lines" DROP CONSTRAINT "CHK_invoice_lines_amount"`);
    await q.query(`ALTER TABLE "invoice_lines" ADD CONSTRAINT "CHK_invoice_lines_amount" CHECK ("amount_minor" >= 0 OR "kind" = 'MINIMUM_COMMITMENT_TRUE_UP')`);
    await q.query(`ALTER TABLE "invoice_lines" DROP CONSTRAINT "CHK_invoice_lines_kind"`);
    await q.query(`ALTER TABLE "invoice_lines" ADD CONSTRAINT "CHK_invoice_lines_kind" CHECK ("kind" IN ('UPFRONT_FEE', 'USAGE_INPUT', 'USAGE_OUTPUT',
        'MINIMUM_COMMITMENT_TRUE_UP', 'ADJUSTMENT_INPUT', 'ADJUSTMENT_OUTPUT'))`);
    await q.query(`ALTER TABLE "invoice_lines" DROP COLUMN "revenue_report_id", DROP COLUMN "student_model_id",
      DROP COLUMN "royalty_policy", DROP COLUMN "royalty_share_bps"`);
    await q.query(`DROP TRIGGER "TRG_model_revenue_royalties_immutable" ON "model_revenue_royalties"`);
    await q.query(`DROP TRIGGER "TRG_model_revenue_reports_immutable" ON "model_revenue_reports"`);
    await q.query(`DROP FUNCTION "model_revenue_immutable"()`);
    await q.query(`DROP TABLE "model_revenue_royalties"`);
    await q.query(`DROP TABLE "model_revenue_reports"`);
  }
}
