import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Collection: charging OPEN invoices through the payments port,
 * the allocation a payment made (so refunds and disputes reverse it
 * proportionally), refunds and disputes.
 *
 * Crash safety of a charge: an attempt row with its idempotency key is
 * committed BEFORE the processor is called; a run that finds an attempt still
 * PENDING (a crash, a timeout) calls again with the same key, so the processor
 * replays the same PaymentIntent and one charge exists. `claimed_until` is a
 * lease: two workers never call the processor for one attempt at once.
 */
export class Collection1795800700000 implements MigrationInterface {
  name = 'Collection1795800700000';

  public async up(q: QueryRunner): Promise<void> {
    // Why billing suspended an agreement: a payment brings back only what non-payment suspended.
    await q.query(`ALTER TABLE "license_agreements" ADD "suspension_cause" text,
      ADD CONSTRAINT "CHK_license_agreements_suspension_cause" CHECK ("suspension_cause" IS NULL OR ("suspension_cause" = 'NON_PAYMENT' AND "status" = 'SUSPENDED'))`);
    await q.query(`CREATE TABLE "invoice_collections" (
      "invoice_id" uuid NOT NULL REFERENCES "invoices" ("id") ON DELETE RESTRICT,
      "failures" integer NOT NULL DEFAULT 0,
      "first_failure_at" TIMESTAMP WITH TIME ZONE,
      "next_attempt_at" TIMESTAMP WITH TIME ZONE,
      "last_failure_code" text,
      "last_failure_message" text,
      "payment_intent_id" text,
      "charge_id" text,
      "processing_fee_minor" bigint,
      "processing_fee_currency" character(3),
      "settled_at" TIMESTAMP WITH TIME ZONE,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_invoice_collections" PRIMARY KEY ("invoice_id"),
      CONSTRAINT "CHK_invoice_collections_failures" CHECK ("failures" >= 0),
      CONSTRAINT "CHK_invoice_collections_fee" CHECK ("processing_fee_minor" IS NULL OR "processing_fee_minor" >= 0))`);
    // The collection sweep: invoices whose next attempt is due.
    await q.query(`CREATE INDEX "IDX_invoice_collections_due" ON "invoice_collections" ("next_attempt_at") WHERE "next_attempt_at" IS NOT NULL`);
    await q.query(`CREATE UNIQUE INDEX "UQ_invoice_collections_charge" ON "invoice_collections" ("charge_id") WHERE "charge_id" IS NOT NULL`);

    // The collection sweep's candidates: OPEN invoices (few, whatever the history).
    await q.query(`CREATE INDEX "IDX_invoices_open" ON "invoices" ("issued_at") WHERE "status" = 'OPEN'`);

    await q.query(`CREATE TABLE "invoice_payment_attempts" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "invoice_id" uuid NOT NULL REFERENCES "invoices" ("id") ON DELETE RESTRICT,
      "attempt_no" integer NOT NULL,
      "idempotency_key" text NOT NULL,
      "status" text NOT NULL DEFAULT 'PENDING',
      "amount_minor" bigint NOT NULL,
      "currency" character(3) NOT NULL,
      "payment_intent_id" text,
      "charge_id" text,
      "failure_code" text,
      "failure_message" text,
      "claimed_until" TIMESTAMP WITH TIME ZONE,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "completed_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_invoice_payment_attempts" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_invoice_payment_attempts_no" UNIQUE ("invoice_id", "attempt_no"),
      CONSTRAINT "UQ_invoice_payment_attempts_key" UNIQUE ("idempotency_key"),
      CONSTRAINT "CHK_invoice_payment_attempts_status" CHECK ("status" IN ('PENDING', 'SUCCEEDED', 'FAILED')),
      CONSTRAINT "CHK_invoice_payment_attempts_amount" CHECK ("amount_minor" > 0),
      CONSTRAINT "CHK_invoice_payment_attempts_done" CHECK (("status" = 'PENDING') = ("completed_at" IS NULL)))`);
    // At most one unfinished attempt per invoice: a retry resumes it rather than starting another charge.
    await q.query(`CREATE UNIQUE INDEX "UQ_invoice_payment_attempts_pending" ON "invoice_payment_attempts" ("invoice_id") WHERE "status" = 'PENDING'`);
    await q.query(`CREATE UNIQUE INDEX "UQ_invoice_payment_attempts_intent" ON "invoice_payment_attempts" ("payment_intent_id") WHERE "payment_intent_id" IS NOT NULL`);

    // How a payment was allocated (credit side): platform fee and each vendor's payable.
    await q.query(`CREATE TABLE "invoice_allocations" (
      "invoice_id" uuid NOT NULL REFERENCES "invoices" ("id") ON DELETE RESTRICT,
      "account" text NOT NULL,
      "vendor_organization_id" uuid REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "currency" character(3) NOT NULL,
      "amount_minor" bigint NOT NULL,
      "fee_bps" integer,
      "position" integer NOT NULL,
      CONSTRAINT "PK_invoice_allocations" PRIMARY KEY ("invoice_id", "account"),
      CONSTRAINT "CHK_invoice_allocations_amount" CHECK ("amount_minor" >= 0))`);

    await q.query(`CREATE TABLE "invoice_refunds" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "invoice_id" uuid NOT NULL REFERENCES "invoices" ("id") ON DELETE RESTRICT,
      "source" text NOT NULL,
      "idempotency_key" text,
      "processor_refund_id" text,
      "amount_minor" bigint NOT NULL,
      -- What the invoice had refunded when this refund was asked for: this one brings it to at least
      -- refunded_before + amount (the processor's webhook reports the exact cumulative total).
      "refunded_before_minor" bigint NOT NULL DEFAULT 0,
      "reason" text,
      "status" text NOT NULL,
      "requested_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "failure_message" text,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "completed_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_invoice_refunds" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_invoice_refunds_key" UNIQUE ("idempotency_key"),
      CONSTRAINT "CHK_invoice_refunds_source" CHECK ("source" IN ('ADMIN', 'PROCESSOR')),
      CONSTRAINT "CHK_invoice_refunds_status" CHECK ("status" IN ('PENDING', 'SUCCEEDED', 'FAILED')),
      CONSTRAINT "CHK_invoice_refunds_amount" CHECK ("amount_minor" > 0))`);
    await q.query(`CREATE UNIQUE INDEX "UQ_invoice_refunds_processor" ON "invoice_refunds" ("processor_refund_id") WHERE "processor_refund_id" IS NOT NULL`);
    await q.query(`CREATE INDEX "IDX_invoice_refunds_invoice" ON "invoice_refunds" ("invoice_id")`);

    await q.query(`CREATE TABLE "invoice_disputes" (
      "dispute_id" text NOT NULL,
      "invoice_id" uuid NOT NULL REFERENCES "invoices" ("id") ON DELETE RESTRICT,
      "charge_id" text NOT NULL,
      "amount_minor" bigint NOT NULL,
      "currency" character(3) NOT NULL,
      "status" text NOT NULL,
      "reason" text,
      "opened_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "closed_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_invoice_disputes" PRIMARY KEY ("dispute_id"),
      CONSTRAINT "CHK_invoice_disputes_status" CHECK ("status" IN ('OPEN', 'WON', 'LOST')),
      CONSTRAINT "CHK_invoice_disputes_closed" CHECK (("status" = 'OPEN') = ("closed_at" IS NULL)),
      CONSTRAINT "CHK_invoice_disputes_amount" CHECK ("amount_minor" > 0))`);
    await q.query(`CREATE INDEX "IDX_invoice_disputes_invoice" ON "invoice_disputes" ("invoice_id")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "invoice_disputes"`);
    await q.query(`DROP TABLE "invoice_refunds"`);
    await q.query(`DROP TABLE "invoice_allocations"`);
    await q.query(`DROP TABLE "invoice_payment_attempts"`);
    await q.query(`DROP TABLE "invoice_collections"`);
    await q.query(`DROP INDEX "IDX_invoices_open"`);
    await q.query(`ALTER TABLE "license_agreements" DROP CONSTRAINT "CHK_license_agreements_suspension_cause", DROP COLUMN "suspension_cause"`);
  }
}
