import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Vendors' connected accounts at the payment processor (Stripe Connect, or
 * the sandbox's stand-in): one per organization, created once, and the state
 * the processor last reported for it (copied from a fresh read of the account,
 * never from an event's payload). `sync_requested` counts the account events
 * received; `synced_generation` is the count a stored state was read after,
 * so a state read before a later event never overwrites one read after it.
 * Connect events get their own inbox source, and the sandbox stores accounts
 * and their one-time links.
 */
export class PayoutOnboarding1795800950000 implements MigrationInterface {
  name = 'PayoutOnboarding1795800950000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "payout_accounts" (
      "organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "mode" text NOT NULL,
      "account_id" text NOT NULL,
      "charges_enabled" boolean NOT NULL DEFAULT false,
      "payouts_enabled" boolean NOT NULL DEFAULT false,
      "details_submitted" boolean NOT NULL DEFAULT false,
      "transfers_capability" text,
      "currently_due" text[] NOT NULL DEFAULT '{}',
      "past_due" text[] NOT NULL DEFAULT '{}',
      "disabled_reason" text,
      "sync_requested" bigint NOT NULL DEFAULT 0,
      "synced_generation" bigint NOT NULL DEFAULT 0,
      "synced_at" TIMESTAMP WITH TIME ZONE,
      "last_payout_id" text,
      "last_payout_status" text,
      "last_payout_failure_code" text,
      "last_payout_created" TIMESTAMP WITH TIME ZONE,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_payout_accounts" PRIMARY KEY ("organization_id"),
      CONSTRAINT "UQ_payout_accounts_account" UNIQUE ("account_id"),
      CONSTRAINT "CHK_payout_accounts_mode" CHECK ("mode" IN ('stripe', 'sandbox')),
      CONSTRAINT "CHK_payout_accounts_account_id" CHECK ("account_id" ~ '^acct_[A-Za-z0-9_]{1,250}$'),
      CONSTRAINT "CHK_payout_accounts_transfers" CHECK ("transfers_capability" IS NULL OR "transfers_capability" IN ('active', 'inactive', 'pending')),
      CONSTRAINT "CHK_payout_accounts_generations" CHECK ("synced_generation" >= 0 AND "synced_generation" <= "sync_requested"),
      CONSTRAINT "CHK_payout_accounts_payout_status" CHECK ("last_payout_status" IS NULL OR "last_payout_status" IN ('paid', 'failed')),
      CONSTRAINT "CHK_payout_accounts_payout" CHECK (("last_payout_id" IS NULL) = ("last_payout_status" IS NULL)
        AND ("last_payout_id" IS NULL) = ("last_payout_created" IS NULL)))`);
    // The sweep finds accounts with an event newer than their stored state.
    await q.query(`CREATE INDEX "IDX_payout_accounts_unsynced" ON "payout_accounts" ("updated_at") WHERE "synced_generation" < "sync_requested"`);

    await q.query(`ALTER TABLE "payment_webhook_events" DROP CONSTRAINT "CHK_payment_webhook_events_source"`);
    await q.query(`ALTER TABLE "payment_webhook_events" ADD CONSTRAINT "CHK_payment_webhook_events_source" CHECK ("source" IN ('stripe', 'stripe_connect', 'sandbox'))`);
    await q.query(`ALTER TABLE "sandbox_payment_objects" DROP CONSTRAINT "CHK_sandbox_payment_objects_kind"`);
    await q.query(`ALTER TABLE "sandbox_payment_objects" ADD CONSTRAINT "CHK_sandbox_payment_objects_kind" CHECK ("kind" IN
      ('customer', 'setup_intent', 'payment_intent', 'charge', 'balance_transaction', 'refund', 'dispute', 'account', 'account_link', 'login_link'))`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM "sandbox_payment_objects" WHERE "kind" IN ('account', 'account_link', 'login_link')`);
    await q.query(`ALTER TABLE "sandbox_payment_objects" DROP CONSTRAINT "CHK_sandbox_payment_objects_kind"`);
    await q.query(`ALTER TABLE "sandbox_payment_objects" ADD CONSTRAINT "CHK_sandbox_payment_objects_kind" CHECK ("kind" IN
      ('customer', 'setup_intent', 'payment_intent', 'charge', 'balance_transaction', 'refund', 'dispute'))`);
    await q.query(`DELETE FROM "payment_webhook_events" WHERE "source" = 'stripe_connect'`);
    await q.query(`ALTER TABLE "payment_webhook_events" DROP CONSTRAINT "CHK_payment_webhook_events_source"`);
    await q.query(`ALTER TABLE "payment_webhook_events" ADD CONSTRAINT "CHK_payment_webhook_events_source" CHECK ("source" IN ('stripe', 'sandbox'))`);
    await q.query(`DROP TABLE "payout_accounts"`);
  }
}
