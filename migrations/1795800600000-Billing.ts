import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Billing: monthly UTC billing periods, invoices (UPFRONT on
 * acceptance of an offer with an upfront fee, PERIOD at the close of a
 * period, one per distiller organization and currency), their lines, and
 * per-vendor platform-fee overrides.
 *
 * The database guards what money depends on, whatever the code does:
 * - one PERIOD invoice per (distiller, currency, period) and one UPFRONT
 *   invoice per agreement (partial unique indexes): concurrent closes or
 *   accepts cannot invoice twice;
 * - a usage or adjustment line's amount is its quantity rated half-up at its
 *   unit price (CHECK), and an invoice leaves DRAFT only with a total equal to
 *   the sum of its lines;
 * - lines change only while their invoice is DRAFT; invoice states move
 *   DRAFT → OPEN → PAID | VOID | UNCOLLECTIBLE (UNCOLLECTIBLE → PAID | VOID),
 *   a zero-total DRAFT may become PAID at once; VOID is final and a PAID
 *   invoice only records refunds; what an issued invoice says never changes;
 * - a CLOSED period never reopens.
 */
export class Billing1795800600000 implements MigrationInterface {
  name = 'Billing1795800600000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "billing_periods" (
      "period" text NOT NULL,
      "period_start" TIMESTAMP WITH TIME ZONE NOT NULL,
      "period_end" TIMESTAMP WITH TIME ZONE NOT NULL,
      "status" text NOT NULL DEFAULT 'OPEN',
      "close_started_at" TIMESTAMP WITH TIME ZONE,
      "closed_at" TIMESTAMP WITH TIME ZONE,
      "closed_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "invoice_count" integer NOT NULL DEFAULT 0,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_billing_periods" PRIMARY KEY ("period"),
      CONSTRAINT "UQ_billing_periods_start" UNIQUE ("period_start"),
      CONSTRAINT "CHK_billing_periods_period" CHECK ("period" ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      CONSTRAINT "CHK_billing_periods_bounds" CHECK (
        "period_start" = (("period" || '-01')::date::timestamp AT TIME ZONE 'UTC')
        AND "period_end" = ((("period" || '-01')::date + interval '1 month')::timestamp AT TIME ZONE 'UTC')),
      CONSTRAINT "CHK_billing_periods_status" CHECK ("status" IN ('OPEN', 'CLOSED')),
      CONSTRAINT "CHK_billing_periods_closed" CHECK (("status" = 'CLOSED') = ("closed_at" IS NOT NULL)))`);
    await q.query(`CREATE FUNCTION "billing_periods_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.status = 'CLOSED' THEN
          RAISE EXCEPTION 'billing period % is closed', OLD.period USING ERRCODE = 'check_violation';
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
      END $$`);
    await q.query(`CREATE TRIGGER "TRG_billing_periods_guard" BEFORE UPDATE OR DELETE ON "billing_periods"
      FOR EACH ROW EXECUTE FUNCTION "billing_periods_guard"()`);

    // Invoice numbers: BM-<issue month>-<sequence>. A sequence never blocks concurrent
    // writers (a counter row would serialise every accept behind a running close); the
    // price is that a rolled-back transaction leaves a gap in the numbers.
    await q.query(`CREATE SEQUENCE "invoice_number_seq" AS bigint START 1`);
    await q.query(`CREATE TABLE "invoices" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "number" text NOT NULL,
      "distiller_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "currency" character(3) NOT NULL,
      "kind" text NOT NULL,
      "period" text REFERENCES "billing_periods" ("period") ON DELETE RESTRICT,
      "agreement_id" uuid REFERENCES "license_agreements" ("id") ON DELETE RESTRICT,
      "status" text NOT NULL DEFAULT 'DRAFT',
      "total_minor" bigint NOT NULL DEFAULT 0,
      "amount_paid_minor" bigint NOT NULL DEFAULT 0,
      "amount_refunded_minor" bigint NOT NULL DEFAULT 0,
      "issued_at" TIMESTAMP WITH TIME ZONE,
      "due_at" TIMESTAMP WITH TIME ZONE,
      "paid_at" TIMESTAMP WITH TIME ZONE,
      "voided_at" TIMESTAMP WITH TIME ZONE,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_invoices" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_invoices_number" UNIQUE ("number"),
      CONSTRAINT "CHK_invoices_number" CHECK ("number" ~ '^BM-[0-9]{6}-[0-9]{6,}$'),
      CONSTRAINT "CHK_invoices_currency" CHECK ("currency" ~ '^[A-Z]{3}$'),
      CONSTRAINT "CHK_invoices_kind" CHECK ("kind" IN ('UPFRONT', 'PERIOD')),
      CONSTRAINT "CHK_invoices_kind_refs" CHECK (
        ("kind" = 'PERIOD' AND "period" IS NOT NULL AND "agreement_id" IS NULL)
        OR ("kind" = 'UPFRONT' AND "period" IS NULL AND "agreement_id" IS NOT NULL)),
      CONSTRAINT "CHK_invoices_status" CHECK ("status" IN ('DRAFT', 'OPEN', 'PAID', 'VOID', 'UNCOLLECTIBLE')),
      CONSTRAINT "CHK_invoices_amounts" CHECK ("total_minor" >= 0
        AND "amount_paid_minor" BETWEEN 0 AND "total_minor"
        AND "amount_refunded_minor" BETWEEN 0 AND "amount_paid_minor"),
      CONSTRAINT "CHK_invoices_issued" CHECK ("status" = 'DRAFT' OR ("issued_at" IS NOT NULL AND "due_at" IS NOT NULL)),
      CONSTRAINT "CHK_invoices_paid" CHECK ("status" <> 'PAID' OR "paid_at" IS NOT NULL),
      CONSTRAINT "CHK_invoices_voided" CHECK ("status" <> 'VOID' OR "voided_at" IS NOT NULL))`);
    // Concurrent closes of one period, or a retried close, cannot invoice a distiller twice.
    await q.query(`CREATE UNIQUE INDEX "UQ_invoices_period" ON "invoices" ("distiller_organization_id", "currency", "period") WHERE "kind" = 'PERIOD'`);
    await q.query(`CREATE UNIQUE INDEX "UQ_invoices_upfront" ON "invoices" ("agreement_id") WHERE "kind" = 'UPFRONT'`);
    // invoices(organizationId): keyset newest first.
    await q.query(`CREATE INDEX "IDX_invoices_distiller" ON "invoices" ("distiller_organization_id", "created_at" DESC, "id" DESC)`);
    // A period's summary.
    await q.query(`CREATE INDEX "IDX_invoices_period" ON "invoices" ("period") WHERE "kind" = 'PERIOD'`);

    await q.query(`CREATE TABLE "invoice_lines" (
      "invoice_id" uuid NOT NULL REFERENCES "invoices" ("id") ON DELETE RESTRICT,
      "position" integer NOT NULL,
      "kind" text NOT NULL,
      "agreement_id" uuid NOT NULL REFERENCES "license_agreements" ("id") ON DELETE RESTRICT,
      "vendor_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "usage_period" text,
      "quantity" bigint,
      "unit_price_minor" bigint,
      "amount_minor" bigint NOT NULL,
      "overage_tokens" bigint NOT NULL DEFAULT 0,
      "description" text NOT NULL,
      CONSTRAINT "PK_invoice_lines" PRIMARY KEY ("invoice_id", "position"),
      CONSTRAINT "CHK_invoice_lines_position" CHECK ("position" >= 1),
      CONSTRAINT "CHK_invoice_lines_kind" CHECK ("kind" IN ('UPFRONT_FEE', 'USAGE_INPUT', 'USAGE_OUTPUT',
        'MINIMUM_COMMITMENT_TRUE_UP', 'ADJUSTMENT_INPUT', 'ADJUSTMENT_OUTPUT')),
      CONSTRAINT "CHK_invoice_lines_usage_period" CHECK (
        ("kind" = 'UPFRONT_FEE') = ("usage_period" IS NULL)
        AND ("usage_period" IS NULL OR "usage_period" ~ '^[0-9]{4}-(0[1-9]|1[0-2])$')),
      -- Token lines are rated half-up per line: amount = round_half_up(quantity × unit price / 1e6).
      CONSTRAINT "CHK_invoice_lines_rated" CHECK (
        CASE WHEN "kind" IN ('USAGE_INPUT', 'USAGE_OUTPUT', 'ADJUSTMENT_INPUT', 'ADJUSTMENT_OUTPUT') THEN
          "quantity" > 0 AND "unit_price_minor" >= 0
          AND "amount_minor" = div("quantity"::numeric * "unit_price_minor" + 500000, 1000000)
          AND "overage_tokens" BETWEEN 0 AND "quantity"
        ELSE "quantity" IS NULL AND "unit_price_minor" IS NULL AND "overage_tokens" = 0 END),
      -- Only a minimum-commitment true-up may be negative: the part of an earlier true-up that late
      -- usage of the same period has since used up (see the billing module).
      CONSTRAINT "CHK_invoice_lines_amount" CHECK ("amount_minor" >= 0 OR "kind" = 'MINIMUM_COMMITMENT_TRUE_UP'),
      CONSTRAINT "CHK_invoice_lines_description" CHECK (length("description") BETWEEN 1 AND 500))`);
    // What has been billed for an agreement's usage period (adjustments for late events).
    await q.query(`CREATE INDEX "IDX_invoice_lines_agreement_period" ON "invoice_lines" ("agreement_id", "usage_period")`);

    /*
     * Invoice state machine and immutability once issued. Leaving DRAFT needs at
     * least one line and a total equal to the lines' sum (checked here, after
     * the lines were written in the same transaction).
     */
    await q.query(`CREATE FUNCTION "invoices_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        v_sum numeric;
        v_lines bigint;
      BEGIN
        IF TG_OP = 'DELETE' THEN
          IF OLD.status <> 'DRAFT' THEN
            RAISE EXCEPTION 'invoice % is % and cannot be deleted', OLD.number, OLD.status USING ERRCODE = 'check_violation';
          END IF;
          RETURN OLD;
        END IF;
        IF OLD.status = 'VOID' THEN
          RAISE EXCEPTION 'invoice % is VOID (final)', OLD.number USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.id <> OLD.id OR NEW.created_at <> OLD.created_at THEN
          RAISE EXCEPTION 'an invoice keeps its identity' USING ERRCODE = 'check_violation';
        END IF;
        IF OLD.status <> 'DRAFT' AND (NEW.number <> OLD.number OR NEW.distiller_organization_id <> OLD.distiller_organization_id
            OR NEW.currency <> OLD.currency OR NEW.kind <> OLD.kind OR NEW.period IS DISTINCT FROM OLD.period
            OR NEW.agreement_id IS DISTINCT FROM OLD.agreement_id OR NEW.total_minor <> OLD.total_minor
            OR NEW.issued_at IS DISTINCT FROM OLD.issued_at) THEN
          RAISE EXCEPTION 'invoice % was issued: its parties, amounts and dates cannot change', OLD.number USING ERRCODE = 'check_violation';
        END IF;
        IF OLD.status = 'PAID' AND (NEW.status <> 'PAID' OR NEW.amount_paid_minor <> OLD.amount_paid_minor
            OR NEW.paid_at IS DISTINCT FROM OLD.paid_at OR NEW.due_at IS DISTINCT FROM OLD.due_at
            OR NEW.voided_at IS DISTINCT FROM OLD.voided_at) THEN
          RAISE EXCEPTION 'invoice % is PAID: only refunds may be recorded', OLD.number USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.status <> OLD.status AND NOT (
             (OLD.status = 'DRAFT' AND NEW.status IN ('OPEN', 'VOID'))
          OR (OLD.status = 'DRAFT' AND NEW.status = 'PAID' AND NEW.total_minor = 0)
          OR (OLD.status = 'OPEN' AND NEW.status IN ('PAID', 'VOID', 'UNCOLLECTIBLE'))
          OR (OLD.status = 'UNCOLLECTIBLE' AND NEW.status IN ('PAID', 'VOID'))) THEN
          RAISE EXCEPTION 'invoice % cannot go from % to %', OLD.number, OLD.status, NEW.status USING ERRCODE = 'check_violation';
        END IF;
        IF OLD.status = 'DRAFT' AND NEW.status <> 'DRAFT' THEN
          SELECT coalesce(sum(amount_minor), 0), count(*) INTO v_sum, v_lines FROM invoice_lines WHERE invoice_id = NEW.id;
          IF v_lines = 0 OR v_sum <> NEW.total_minor THEN
            RAISE EXCEPTION 'invoice % total % does not equal the sum % of its % lines', NEW.number, NEW.total_minor, v_sum, v_lines
              USING ERRCODE = 'check_violation';
          END IF;
        END IF;
        NEW.updated_at := now();
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER "TRG_invoices_guard" BEFORE UPDATE OR DELETE ON "invoices"
      FOR EACH ROW EXECUTE FUNCTION "invoices_guard"()`);

    // Lines belong to a DRAFT invoice; once issued they are what the distiller was billed.
    // Inserts are checked per statement (a close writes thousands of lines in one).
    await q.query(`CREATE FUNCTION "invoice_lines_guard_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM new_lines n JOIN invoices i ON i.id = n.invoice_id WHERE i.status <> 'DRAFT') THEN
          RAISE EXCEPTION 'lines can only be added to a DRAFT invoice' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "TRG_invoice_lines_guard_insert" AFTER INSERT ON "invoice_lines"
      REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION "invoice_lines_guard_insert"()`);
    await q.query(`CREATE FUNCTION "invoice_lines_guard_change"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF (SELECT status FROM invoices WHERE id = OLD.invoice_id) <> 'DRAFT'
           OR (TG_OP = 'UPDATE' AND (SELECT status FROM invoices WHERE id = NEW.invoice_id) <> 'DRAFT') THEN
          RAISE EXCEPTION 'the lines of an issued invoice cannot change' USING ERRCODE = 'check_violation';
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
      END $$`);
    await q.query(`CREATE TRIGGER "TRG_invoice_lines_guard_change" BEFORE UPDATE OR DELETE ON "invoice_lines"
      FOR EACH ROW EXECUTE FUNCTION "invoice_lines_guard_change"()`);

    await q.query(`CREATE TABLE "vendor_fee_overrides" (
      "vendor_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE CASCADE,
      "fee_bps" integer NOT NULL,
      "set_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "set_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_vendor_fee_overrides" PRIMARY KEY ("vendor_organization_id"),
      CONSTRAINT "CHK_vendor_fee_overrides_bps" CHECK ("fee_bps" BETWEEN 0 AND 10000))`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "vendor_fee_overrides"`);
    await q.query(`DROP TRIGGER "TRG_invoice_lines_guard_change" ON "invoice_lines"`);
    await q.query(`DROP FUNCTION "invoice_lines_guard_change"()`);
    await q.query(`DROP TRIGGER "TRG_invoice_lines_guard_insert" ON "invoice_lines"`);
    await q.query(`DROP FUNCTION "invoice_lines_guard_insert"()`);
    await q.query(`DROP TABLE "invoice_lines"`);
    await q.query(`DROP TRIGGER "TRG_invoices_guard" ON "invoices"`);
    await q.query(`DROP FUNCTION "invoices_guard"()`);
    await q.query(`DROP TABLE "invoices"`);
    await q.query(`DROP SEQUENCE "invoice_number_seq"`);
    await q.query(`DROP TRIGGER "TRG_billing_periods_guard" ON "billing_periods"`);
    await q.query(`DROP FUNCTION "billing_periods_guard"()`);
    await q.query(`DROP TABLE "billing_periods"`);
  }
}
