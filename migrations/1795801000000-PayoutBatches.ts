import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payout batches, their payouts and the ledger entries behind each payout.
 *
 * - `payout_batches`: one admin's snapshot of what is available to pay in one
 *   currency. The approver must be another admin (CHECK), and approves the
 *   snapshot hash shown to them.
 * - `payouts`: one vendor's amount in a batch and its execution (the outbox):
 *   the idempotency key is fixed at creation, the transfer id recorded once.
 *   A vendor has at most one open payout per currency (partial unique index),
 *   so two batches can never pay the same earnings.
 * - `payout_lines`: the ledger entries whose sum is the payout's amount,
 *   written with the batch and never changed.
 * - `payout_batch_skips`: vendors left out of a batch and why.
 * - `payout_reversals`: each transfer reversal booked (partial, in the
 *   transfer's currency), keyed by the processor's reversal id.
 */
export class PayoutBatches1795801000000 implements MigrationInterface {
  name = 'PayoutBatches1795801000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "payout_batches" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "currency" text NOT NULL,
      "status" text NOT NULL DEFAULT 'IN_REVIEW',
      "minimum_minor" bigint NOT NULL,
      "as_of" TIMESTAMP WITH TIME ZONE NOT NULL,
      "holdback_days" integer NOT NULL,
      "total_minor" bigint NOT NULL,
      "payout_count" integer NOT NULL,
      "snapshot_hash" text NOT NULL,
      "created_by" uuid NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "approved_by" uuid REFERENCES "users" ("id") ON DELETE RESTRICT,
      "approved_at" TIMESTAMP WITH TIME ZONE,
      "rejected_by" uuid REFERENCES "users" ("id") ON DELETE RESTRICT,
      "rejected_at" TIMESTAMP WITH TIME ZONE,
      "reject_reason" text,
      "completed_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_payout_batches" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_payout_batches_currency" CHECK ("currency" ~ '^[A-Z]{3}$'),
      CONSTRAINT "CHK_payout_batches_status" CHECK ("status" IN ('IN_REVIEW', 'APPROVED', 'REJECTED', 'EXECUTING', 'COMPLETED', 'PARTIALLY_FAILED')),
      CONSTRAINT "CHK_payout_batches_amounts" CHECK ("minimum_minor" > 0 AND "total_minor" >= 0 AND "payout_count" >= 0 AND "holdback_days" >= 0),
      CONSTRAINT "CHK_payout_batches_hash" CHECK ("snapshot_hash" ~ '^[0-9a-f]{64}$'),
      CONSTRAINT "CHK_payout_batches_four_eyes" CHECK ("approved_by" IS NULL OR "approved_by" <> "created_by"),
      CONSTRAINT "CHK_payout_batches_approval" CHECK (("approved_by" IS NULL) = ("approved_at" IS NULL)),
      CONSTRAINT "CHK_payout_batches_rejection" CHECK (("rejected_by" IS NULL) = ("rejected_at" IS NULL) AND ("rejected_by" IS NULL OR "approved_by" IS NULL)))`);
    await q.query(`CREATE INDEX "IDX_payout_batches_status" ON "payout_batches" ("status", "created_at")`);

    await q.query(`CREATE TABLE "payouts" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "batch_id" uuid NOT NULL REFERENCES "payout_batches" ("id") ON DELETE RESTRICT,
      "organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "currency" text NOT NULL,
      "amount_minor" bigint NOT NULL,
      "account_id" text NOT NULL,
      "status" text NOT NULL DEFAULT 'PENDING',
      "hold_reason" text,
      "held_by" uuid REFERENCES "users" ("id") ON DELETE RESTRICT,
      "held_at" TIMESTAMP WITH TIME ZONE,
      "idempotency_key" text NOT NULL,
      "transfer_id" text,
      "transfer_created_at" TIMESTAMP WITH TIME ZONE,
      "attempts" integer NOT NULL DEFAULT 0,
      "next_attempt_at" TIMESTAMP WITH TIME ZONE,
      "lease_owner" text,
      "lease_until" TIMESTAMP WITH TIME ZONE,
      "sending_since" TIMESTAMP WITH TIME ZONE,
      "last_error" text,
      "failure_code" text,
      "failure_message" text,
      "reversed_minor" bigint NOT NULL DEFAULT 0,
      "sent_at" TIMESTAMP WITH TIME ZONE,
      "failed_at" TIMESTAMP WITH TIME ZONE,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_payouts" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_payouts_batch_organization" UNIQUE ("batch_id", "organization_id"),
      CONSTRAINT "UQ_payouts_idempotency_key" UNIQUE ("idempotency_key"),
      CONSTRAINT "UQ_payouts_transfer" UNIQUE ("transfer_id"),
      CONSTRAINT "CHK_payouts_currency" CHECK ("currency" ~ '^[A-Z]{3}$'),
      CONSTRAINT "CHK_payouts_amount" CHECK ("amount_minor" > 0),
      CONSTRAINT "CHK_payouts_status" CHECK ("status" IN ('PENDING', 'HELD', 'APPROVED', 'SENDING', 'SENT', 'FAILED', 'CANCELLED')),
      CONSTRAINT "CHK_payouts_hold" CHECK (("status" = 'HELD') <= ("hold_reason" IS NOT NULL AND "held_by" IS NOT NULL AND "held_at" IS NOT NULL)),
      CONSTRAINT "CHK_payouts_sent" CHECK (("status" = 'SENT') = ("transfer_id" IS NOT NULL) AND ("status" <> 'SENT' OR "sent_at" IS NOT NULL)),
      CONSTRAINT "CHK_payouts_failed" CHECK ("status" <> 'FAILED' OR ("failure_code" IS NOT NULL AND "failed_at" IS NOT NULL)),
      CONSTRAINT "CHK_payouts_reversed" CHECK ("reversed_minor" >= 0 AND "reversed_minor" <= "amount_minor"),
      CONSTRAINT "CHK_payouts_account_id" CHECK ("account_id" ~ '^acct_[A-Za-z0-9_]{1,250}$'))`);
    // A vendor's earnings in a currency are in at most one payout that may still be sent.
    await q.query(`CREATE UNIQUE INDEX "UQ_payouts_open_per_vendor" ON "payouts" ("organization_id", "currency") WHERE "status" IN ('PENDING', 'HELD', 'APPROVED', 'SENDING')`);
    await q.query(`CREATE INDEX "IDX_payouts_organization" ON "payouts" ("organization_id", "created_at")`);
    // What the executor picks up: approved payouts, and sends whose lease ran out.
    await q.query(`CREATE INDEX "IDX_payouts_executable" ON "payouts" ("next_attempt_at") WHERE "status" IN ('APPROVED', 'SENDING')`);

    await q.query(`CREATE TABLE "payout_lines" (
      "payout_id" uuid NOT NULL REFERENCES "payouts" ("id") ON DELETE RESTRICT,
      "ledger_entry_id" bigint NOT NULL REFERENCES "ledger_entries" ("id") ON DELETE RESTRICT,
      "amount_minor" bigint NOT NULL,
      CONSTRAINT "PK_payout_lines" PRIMARY KEY ("payout_id", "ledger_entry_id"))`);
    await q.query(`CREATE INDEX "IDX_payout_lines_entry" ON "payout_lines" ("ledger_entry_id")`);

    await q.query(`CREATE TABLE "payout_batch_skips" (
      "batch_id" uuid NOT NULL REFERENCES "payout_batches" ("id") ON DELETE RESTRICT,
      "organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "reason" text NOT NULL,
      "available_minor" bigint NOT NULL,
      "detail" text,
      CONSTRAINT "PK_payout_batch_skips" PRIMARY KEY ("batch_id", "organization_id"),
      CONSTRAINT "CHK_payout_batch_skips_reason" CHECK ("reason" ~ '^[A-Z][A-Z_]{0,63}$'))`);

    await q.query(`CREATE TABLE "payout_reversals" (
      "id" text NOT NULL,
      "payout_id" uuid NOT NULL REFERENCES "payouts" ("id") ON DELETE RESTRICT,
      "amount_minor" bigint NOT NULL,
      "currency" text NOT NULL,
      "reason" text,
      "requested_by" uuid REFERENCES "users" ("id") ON DELETE RESTRICT,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_payout_reversals" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_payout_reversals_amount" CHECK ("amount_minor" > 0),
      CONSTRAINT "CHK_payout_reversals_id" CHECK ("id" ~ '^trr_[A-Za-z0-9_]{1,250}$'))`);
    await q.query(`CREATE INDEX "IDX_payout_reversals_payout" ON "payout_reversals" ("payout_id")`);

    // Batch snapshots and their lines never change once written.
    await q.query(`CREATE FUNCTION "payout_lines_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'payout lines are immutable' USING ERRCODE = 'restrict_violation'; END $$`);
    await q.query(`CREATE TRIGGER "TRG_payout_lines_immutable" BEFORE UPDATE OR DELETE ON "payout_lines"
      FOR EACH ROW EXECUTE FUNCTION "payout_lines_immutable"()`);
    await q.query(`CREATE FUNCTION "payouts_amount_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.amount_minor <> OLD.amount_minor OR NEW.organization_id <> OLD.organization_id OR NEW.batch_id <> OLD.batch_id
           OR NEW.currency <> OLD.currency OR NEW.idempotency_key <> OLD.idempotency_key OR NEW.account_id <> OLD.account_id
           OR (OLD.transfer_id IS NOT NULL AND NEW.transfer_id IS DISTINCT FROM OLD.transfer_id) THEN
          RAISE EXCEPTION 'a payout''s amount, vendor, account, key and transfer never change' USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER "TRG_payouts_amount_immutable" BEFORE UPDATE ON "payouts"
      FOR EACH ROW EXECUTE FUNCTION "payouts_amount_immutable"()`);

    await q.query(`ALTER TABLE "sandbox_payment_objects" DROP CONSTRAINT "CHK_sandbox_payment_objects_kind"`);
    await q.query(`ALTER TABLE "sandbox_payment_objects" ADD CONSTRAINT "CHK_sandbox_payment_objects_kind" CHECK ("kind" IN
      ('customer', 'setup_intent', 'payment_intent', 'charge', 'balance_transaction', 'refund', 'dispute', 'account', 'account_link', 'login_link',
       'transfer', 'transfer_reversal'))`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM "sandbox_payment_objects" WHERE "kind" IN ('transfer', 'transfer_reversal')`);
    await q.query(`ALTER TABLE "sandbox_payment_objects" DROP CONSTRAINT "CHK_sandbox_payment_objects_kind"`);
    await q.query(`ALTER TABLE "sandbox_payment_objects" ADD CONSTRAINT "CHK_sandbox_payment_objects_kind" CHECK ("kind" IN
      ('customer', 'setup_intent', 'payment_intent', 'charge', 'balance_transaction', 'refund', 'dispute', 'account', 'account_link', 'login_link'))`);
    await q.query(`DROP TABLE "payout_reversals"`);
    await q.query(`DROP TABLE "payout_batch_skips"`);
    await q.query(`DROP TABLE "payout_lines"`);
    await q.query(`DROP FUNCTION "payout_lines_immutable"() CASCADE`);
    await q.query(`DROP TABLE "payouts"`);
    await q.query(`DROP FUNCTION "payouts_amount_immutable"() CASCADE`);
    await q.query(`DROP TABLE "payout_batches"`);
  }
}
