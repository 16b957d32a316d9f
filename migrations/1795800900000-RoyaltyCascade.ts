import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How each collected payment was allocated, part by part: the platform fee,
 * each vendor's share of each model's lines, and every royalty the cascade
 * moved down the lineage (payer → ancestor, with the licence it comes from).
 * invoice_allocations keeps the net per ledger account (what refunds and
 * disputes reverse proportionally); these rows explain it and keep the stack
 * used, so a later change to the lineage does not rewrite history.
 */
export class RoyaltyCascade1795800900000 implements MigrationInterface {
  name = 'RoyaltyCascade1795800900000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "invoice_allocation_parts" (
      "invoice_id" uuid NOT NULL REFERENCES "invoices" ("id") ON DELETE RESTRICT,
      "position" integer NOT NULL,
      "kind" text NOT NULL,
      "currency" character(3) NOT NULL,
      -- Who receives the part (NULL: the platform's fee).
      "organization_id" uuid REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      -- VENDOR_SHARE: the model whose lines these are; ROYALTY: the ancestor model paid.
      "model_id" uuid REFERENCES "models" ("id") ON DELETE RESTRICT,
      -- VENDOR_SHARE / ROYALTY: what the share is of (REVENUE: the model's own earnings; ROYALTY: royalty income).
      "basis" text,
      "gross_minor" bigint,
      "fee_bps" integer,
      "fee_minor" bigint,
      -- ROYALTY: who pays it (the descendant model and its vendor) and the licence it comes from.
      "payer_organization_id" uuid REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "payer_model_id" uuid REFERENCES "models" ("id") ON DELETE RESTRICT,
      "agreement_id" uuid REFERENCES "license_agreements" ("id") ON DELETE RESTRICT,
      "policy" text,
      "share_bps" integer,
      "depth" integer,
      "amount_minor" bigint NOT NULL,
      CONSTRAINT "PK_invoice_allocation_parts" PRIMARY KEY ("invoice_id", "position"),
      CONSTRAINT "CHK_invoice_allocation_parts_kind" CHECK ("kind" IN ('PLATFORM_FEE', 'VENDOR_SHARE', 'ROYALTY')),
      CONSTRAINT "CHK_invoice_allocation_parts_amount" CHECK ("amount_minor" >= 0),
      CONSTRAINT "CHK_invoice_allocation_parts_shape" CHECK (CASE "kind"
        WHEN 'PLATFORM_FEE' THEN "organization_id" IS NULL AND "model_id" IS NULL AND "payer_model_id" IS NULL
        WHEN 'VENDOR_SHARE' THEN "organization_id" IS NOT NULL AND "model_id" IS NOT NULL AND "basis" IN ('REVENUE', 'ROYALTY')
          AND "gross_minor" >= 0 AND "fee_bps" BETWEEN 0 AND 10000 AND "fee_minor" >= 0 AND "gross_minor" = "fee_minor" + "amount_minor"
          AND "payer_model_id" IS NULL AND "agreement_id" IS NULL
        ELSE "organization_id" IS NOT NULL AND "model_id" IS NOT NULL AND "basis" IN ('REVENUE', 'ROYALTY')
          AND "payer_organization_id" IS NOT NULL AND "payer_model_id" IS NOT NULL AND "payer_model_id" <> "model_id"
          AND "agreement_id" IS NOT NULL AND "policy" IN ('LAP', 'LRP') AND "share_bps" BETWEEN 1 AND 10000 AND "depth" >= 1 END))`);
    await q.query(`CREATE INDEX "IDX_invoice_allocation_parts_org" ON "invoice_allocation_parts" ("organization_id") WHERE "organization_id" IS NOT NULL`);
    await q.query(`CREATE INDEX "IDX_invoice_allocation_parts_payer" ON "invoice_allocation_parts" ("payer_organization_id") WHERE "payer_organization_id" IS NOT NULL`);
    // What was allocated is history: never rewritten (reversals are new ledger transactions).
    await q.query(`CREATE FUNCTION "invoice_allocation_parts_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'allocation parts are immutable' USING ERRCODE = 'check_violation';
      END $$`);
    await q.query(`CREATE TRIGGER "TRG_invoice_allocation_parts_immutable" BEFORE UPDATE OR DELETE ON "invoice_allocation_parts"
      FOR EACH ROW EXECUTE FUNCTION "invoice_allocation_parts_immutable"()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "invoice_allocation_parts"`);
    await q.query(`DROP FUNCTION "invoice_allocation_parts_immutable"()`);
  }
}
