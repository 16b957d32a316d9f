import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Refunds of pool subscriptions after their period was distributed are netted
 * from the plan's next distribution (the clawback).
 *
 * - pool_subscription_periods.distributed_minor: what of the period's invoice
 *   the distribution took (paid less refunded at that moment);
 *   clawed_back_minor: how much of later refunds a distribution has netted.
 *   Outstanding clawback = distributed − (total − refunded now) − clawed back.
 * - pool_distributions.clawback_minor: netted by this distribution (comes off
 *   its gross before the fee); clawback_carried_minor: outstanding clawback
 *   it could not net (more than its gross), left for the following one.
 * - pool_distribution_clawbacks: which subscription period each netted amount
 *   came from (the statement's admin view).
 * - pool_ledger_attributions: which teacher model (and, for a royalty, which
 *   agreement and other vendor) each vendor entry of a pool posting
 *   (POOL_DISTRIBUTED, POOL_EARNINGS_RELEASED) is for, by the posting's
 *   reference and line number — what vendors' earnings statements show per
 *   model.
 */
export class PoolClawback1795801600000 implements MigrationInterface {
  name = 'PoolClawback1795801600000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "pool_subscription_periods" ADD "distributed_minor" bigint, ADD "clawed_back_minor" bigint NOT NULL DEFAULT 0`);
    await q.query(`UPDATE "pool_subscription_periods" sp SET "distributed_minor" = i."total_minor" - i."amount_refunded_minor"
      FROM "invoices" i WHERE i."id" = sp."invoice_id" AND sp."distributed_period" IS NOT NULL`);
    await q.query(`ALTER TABLE "pool_subscription_periods"
      ADD CONSTRAINT "CHK_pool_subscription_periods_distributed_minor" CHECK (("distributed_period" IS NULL) = ("distributed_minor" IS NULL)
        AND "distributed_minor" >= 0 AND "clawed_back_minor" BETWEEN 0 AND coalesce("distributed_minor", 0))`);

    await q.query(`ALTER TABLE "pool_distributions" ADD "clawback_minor" bigint NOT NULL DEFAULT 0, ADD "clawback_carried_minor" bigint NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "pool_distributions" DROP CONSTRAINT "CHK_pool_distributions_sum"`);
    await q.query(`ALTER TABLE "pool_distributions"
      ADD CONSTRAINT "CHK_pool_distributions_sum" CHECK ("gross_minor" = "fee_minor" + "distributed_minor" + "carried_minor" + "clawback_minor"),
      ADD CONSTRAINT "CHK_pool_distributions_clawback" CHECK ("clawback_minor" >= 0 AND "clawback_carried_minor" >= 0)`);

    await q.query(`CREATE TABLE "pool_distribution_clawbacks" (
      "plan_id" uuid NOT NULL,
      "period" text NOT NULL,
      "subscription_id" uuid NOT NULL,
      "from_period" text NOT NULL,
      "invoice_id" uuid NOT NULL REFERENCES "invoices" ("id") ON DELETE RESTRICT,
      "amount_minor" bigint NOT NULL,
      CONSTRAINT "PK_pool_distribution_clawbacks" PRIMARY KEY ("plan_id", "period", "subscription_id", "from_period"),
      CONSTRAINT "FK_pool_distribution_clawbacks_distribution" FOREIGN KEY ("plan_id", "period") REFERENCES "pool_distributions" ("plan_id", "period"),
      CONSTRAINT "FK_pool_distribution_clawbacks_period" FOREIGN KEY ("subscription_id", "from_period")
        REFERENCES "pool_subscription_periods" ("subscription_id", "period"),
      CONSTRAINT "CHK_pool_distribution_clawbacks_amount" CHECK ("amount_minor" > 0))`);

    await q.query(`CREATE TABLE "pool_ledger_attributions" (
      "ledger_reference" text NOT NULL,
      "line_no" integer NOT NULL,
      "role" text NOT NULL,
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "agreement_id" uuid,
      "counterparty_organization_id" uuid,
      CONSTRAINT "PK_pool_ledger_attributions" PRIMARY KEY ("ledger_reference", "line_no"),
      CONSTRAINT "FK_pool_ledger_attributions_transaction" FOREIGN KEY ("ledger_reference") REFERENCES "ledger_transactions" ("reference") ON DELETE RESTRICT,
      CONSTRAINT "CHK_pool_ledger_attributions_role" CHECK ("role" IN ('SHARE', 'HELD', 'ROYALTY_PAID', 'ROYALTY_RECEIVED')))`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "pool_ledger_attributions"`);
    await q.query(`DROP TABLE "pool_distribution_clawbacks"`);
    await q.query(`ALTER TABLE "pool_distributions" DROP CONSTRAINT "CHK_pool_distributions_clawback", DROP CONSTRAINT "CHK_pool_distributions_sum"`);
    await q.query(`ALTER TABLE "pool_distributions" ADD CONSTRAINT "CHK_pool_distributions_sum" CHECK ("gross_minor" = "fee_minor" + "distributed_minor" + "carried_minor")`);
    await q.query(`ALTER TABLE "pool_distributions" DROP COLUMN "clawback_carried_minor", DROP COLUMN "clawback_minor"`);
    await q.query(`ALTER TABLE "pool_subscription_periods" DROP CONSTRAINT "CHK_pool_subscription_periods_distributed_minor"`);
    await q.query(`ALTER TABLE "pool_subscription_periods" DROP COLUMN "clawed_back_minor", DROP COLUMN "distributed_minor"`);
  }
}
