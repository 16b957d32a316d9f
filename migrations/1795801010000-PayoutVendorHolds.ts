import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Vendor-level payout holds: an admin keeps a vendor organization out of new
 * payout batches (a compliance review, a suspected fraud) until the hold is
 * released. One row per held vendor; releasing deletes it (the audit log keeps
 * who held and released, when and why).
 */
export class PayoutVendorHolds1795801010000 implements MigrationInterface {
  name = 'PayoutVendorHolds1795801010000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "payout_vendor_holds" (
      "organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "reason" text NOT NULL,
      "held_by" uuid NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT,
      "held_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_payout_vendor_holds" PRIMARY KEY ("organization_id"),
      CONSTRAINT "CHK_payout_vendor_holds_reason" CHECK (length("reason") BETWEEN 1 AND 500))`);
    // The batch listing, newest first, and its payouts by vendor.
    await q.query(`CREATE INDEX "IDX_payout_batches_created" ON "payout_batches" ("created_at" DESC, "id" DESC)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "IDX_payout_batches_created"`);
    await q.query(`DROP TABLE "payout_vendor_holds"`);
  }
}
