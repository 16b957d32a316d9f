import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * After a payout: admin reversal requests and the runs of the daily
 * reconciliation with the processor.
 *
 * - `payout_reversal_requests`: an admin's request to reverse part of a sent
 *   transfer, written (PENDING) before the processor is called, with the
 *   processor idempotency key fixed at creation. While PENDING its amount is
 *   reserved: the sum of booked and pending reversals never exceeds the
 *   payout. A client may name its request (`request_key`): the same name
 *   returns the same request. `answered_at`: when the admin was told the
 *   outcome — until then (the processor's answer was lost, or its event
 *   booked the reversal first) asking again with the same amount and reason
 *   finishes this request instead of making another.
 * - `payouts.reversal_sync_requested_at`: a `transfer.reversed` event asked
 *   for the transfer to be read again (cleared once its reversals are booked).
 * - `reconciliation_runs`: each comparison of one UTC day's ledger cash
 *   movements with the processor's balance transactions, with its result.
 */
export class PayoutReversalsReconciliation1795801200000 implements MigrationInterface {
  name = 'PayoutReversalsReconciliation1795801200000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "payout_reversal_requests" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "payout_id" uuid NOT NULL REFERENCES "payouts" ("id") ON DELETE RESTRICT,
      "request_key" text,
      "amount_minor" bigint NOT NULL,
      "currency" text NOT NULL,
      "reason" text NOT NULL,
      "requested_by" uuid NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
      "status" text NOT NULL DEFAULT 'PENDING',
      "idempotency_key" text NOT NULL,
      "reversal_id" text,
      "failure_code" text,
      "failure_message" text,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "completed_at" TIMESTAMP WITH TIME ZONE,
      "answered_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_payout_reversal_requests" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_payout_reversal_requests_key" UNIQUE ("payout_id", "request_key"),
      CONSTRAINT "UQ_payout_reversal_requests_idempotency" UNIQUE ("idempotency_key"),
      CONSTRAINT "CHK_payout_reversal_requests_amount" CHECK ("amount_minor" > 0),
      CONSTRAINT "CHK_payout_reversal_requests_status" CHECK ("status" IN ('PENDING', 'SUCCEEDED', 'FAILED')),
      CONSTRAINT "CHK_payout_reversal_requests_done" CHECK (("status" = 'SUCCEEDED') = ("reversal_id" IS NOT NULL) AND ("status" = 'PENDING') = ("completed_at" IS NULL)))`);
    await q.query(`CREATE INDEX "IDX_payout_reversal_requests_pending" ON "payout_reversal_requests" ("payout_id") WHERE "status" = 'PENDING'`);

    await q.query(`ALTER TABLE "payouts" ADD COLUMN "reversal_sync_requested_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`CREATE INDEX "IDX_payouts_reversal_sync" ON "payouts" ("reversal_sync_requested_at") WHERE "reversal_sync_requested_at" IS NOT NULL`);

    await q.query(`CREATE TABLE "reconciliation_runs" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "day" date NOT NULL,
      "mode" text NOT NULL,
      "trigger" text NOT NULL,
      "requested_by" uuid REFERENCES "users" ("id") ON DELETE RESTRICT,
      "ran_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "matched_count" integer NOT NULL,
      "difference_count" integer NOT NULL,
      "timing_count" integer NOT NULL,
      "result" jsonb NOT NULL,
      CONSTRAINT "PK_reconciliation_runs" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_reconciliation_runs_trigger" CHECK ("trigger" IN ('ADMIN', 'JOB')),
      CONSTRAINT "CHK_reconciliation_runs_counts" CHECK ("matched_count" >= 0 AND "difference_count" >= 0 AND "timing_count" >= 0))`);
    await q.query(`CREATE INDEX "IDX_reconciliation_runs_day" ON "reconciliation_runs" ("day", "ran_at" DESC)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "reconciliation_runs"`);
    await q.query(`DROP INDEX "IDX_payouts_reversal_sync"`);
    await q.query(`ALTER TABLE "payouts" DROP COLUMN "reversal_sync_requested_at"`);
    await q.query(`DROP TABLE "payout_reversal_requests"`);
  }
}
