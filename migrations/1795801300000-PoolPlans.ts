import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The pool plan: one subscription across every pool-eligible teacher of a
 * currency, the pool shared by what was used.
 *
 * - pool_plans: versioned by (name, currency) like offers; one ACTIVE version
 *   per (name, currency); a new version supersedes the previous one
 *   (subscribers move to it at renewal); RETIRED plans renew nobody.
 * - pool_subscriptions: a distiller's subscription (one live per distiller and
 *   currency); its plan is the version it renews on.
 * - pool_subscription_periods: what each period of a subscription was
 *   invoiced (fee prorated by days, overage of the previous period) and when
 *   it was distributed (null: not yet — unpaid, or no eligible use anywhere).
 * - invoices of kind POOL carry the subscription; their lines POOL_FEE and
 *   POOL_OVERAGE name no agreement, model or vendor (the pool decides who earns).
 * - license_agreements.pool_subscription_id: a pool agreement (no per-token charge).
 * - pool_exits: a teacher model that left the pool, from a period on.
 * - pool_distributions / _lines / _subscribers: each plan's distribution of a
 *   period and how it came out (what statements read).
 */
export class PoolPlans1795801300000 implements MigrationInterface {
  name = 'PoolPlans1795801300000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "pool_plans" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "name" text NOT NULL,
      "version" integer NOT NULL,
      "currency" character(3) NOT NULL,
      "monthly_fee_minor" bigint NOT NULL,
      "token_allowance" bigint NOT NULL,
      "overage" text NOT NULL,
      "overage_per_million_minor" bigint,
      "distribution" text NOT NULL,
      "minimum_tokens_to_earn" bigint NOT NULL,
      "platform_fee_bps" integer NOT NULL,
      "status" text NOT NULL DEFAULT 'ACTIVE',
      "created_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "retired_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_pool_plans" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_pool_plans_version" UNIQUE ("name", "currency", "version"),
      CONSTRAINT "CHK_pool_plans_name" CHECK (length("name") BETWEEN 1 AND 100),
      CONSTRAINT "CHK_pool_plans_currency" CHECK ("currency" ~ '^[A-Z]{3}$'),
      CONSTRAINT "CHK_pool_plans_amounts" CHECK ("monthly_fee_minor" > 0 AND "token_allowance" > 0 AND "minimum_tokens_to_earn" >= 0
        AND "platform_fee_bps" BETWEEN 0 AND 10000 AND "version" >= 1),
      CONSTRAINT "CHK_pool_plans_overage" CHECK (("overage" = 'REFUSE' AND "overage_per_million_minor" IS NULL)
        OR ("overage" = 'BILL' AND "overage_per_million_minor" >= 0)),
      CONSTRAINT "CHK_pool_plans_distribution" CHECK ("distribution" IN ('PRO_RATA', 'USER_CENTRIC')),
      CONSTRAINT "CHK_pool_plans_status" CHECK ("status" IN ('ACTIVE', 'SUPERSEDED', 'RETIRED')),
      CONSTRAINT "CHK_pool_plans_retired" CHECK (("status" = 'RETIRED') = ("retired_at" IS NOT NULL)))`);
    await q.query(`CREATE UNIQUE INDEX "UQ_pool_plans_active" ON "pool_plans" ("name", "currency") WHERE "status" = 'ACTIVE'`);

    await q.query(`CREATE TABLE "pool_subscriptions" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "plan_id" uuid NOT NULL REFERENCES "pool_plans" ("id") ON DELETE RESTRICT,
      "distiller_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "currency" character(3) NOT NULL,
      "status" text NOT NULL,
      "suspension_cause" text,
      "cancel_at_period_end" boolean NOT NULL DEFAULT false,
      "started_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "ended_at" TIMESTAMP WITH TIME ZONE,
      "created_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_pool_subscriptions" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_pool_subscriptions_status" CHECK ("status" IN ('ACTIVE', 'SUSPENDED', 'ENDED')),
      CONSTRAINT "CHK_pool_subscriptions_suspension" CHECK (("status" = 'SUSPENDED') = ("suspension_cause" IS NOT NULL)),
      CONSTRAINT "CHK_pool_subscriptions_ended" CHECK (("status" = 'ENDED') = ("ended_at" IS NOT NULL)))`);
    await q.query(`CREATE UNIQUE INDEX "UQ_pool_subscriptions_live" ON "pool_subscriptions" ("distiller_organization_id", "currency")
      WHERE "status" IN ('ACTIVE', 'SUSPENDED')`);
    await q.query(`CREATE INDEX "IDX_pool_subscriptions_plan" ON "pool_subscriptions" ("plan_id")`);

    await q.query(`ALTER TABLE "invoices" ADD "pool_subscription_id" uuid REFERENCES "pool_subscriptions" ("id") ON DELETE RESTRICT`);
    await q.query(`ALTER TABLE "invoices" DROP CONSTRAINT "CHK_invoices_kind", DROP CONSTRAINT "CHK_invoices_kind_refs"`);
    await q.query(`ALTER TABLE "invoices" ADD CONSTRAINT "CHK_invoices_kind" CHECK ("kind" IN ('UPFRONT', 'PERIOD', 'POOL')),
      ADD CONSTRAINT "CHK_invoices_kind_refs" CHECK (
        ("kind" = 'PERIOD' AND "period" IS NOT NULL AND "agreement_id" IS NULL AND "pool_subscription_id" IS NULL)
        OR ("kind" = 'UPFRONT' AND "period" IS NULL AND "agreement_id" IS NOT NULL AND "pool_subscription_id" IS NULL)
        OR ("kind" = 'POOL' AND "period" IS NOT NULL AND "agreement_id" IS NULL AND "pool_subscription_id" IS NOT NULL))`);
    await q.query(`CREATE UNIQUE INDEX "UQ_invoices_pool" ON "invoices" ("pool_subscription_id", "period") WHERE "kind" = 'POOL'`);

    await q.query(`ALTER TABLE "invoice_lines" ALTER COLUMN "agreement_id" DROP NOT NULL,
      ALTER COLUMN "vendor_organization_id" DROP NOT NULL, ALTER COLUMN "model_id" DROP NOT NULL`);
    await q.query(`ALTER TABLE "invoice_lines" DROP CONSTRAINT "CHK_invoice_lines_kind", DROP CONSTRAINT "CHK_invoice_lines_rated"`);
    await q.query(`ALTER TABLE "invoice_lines" ADD CONSTRAINT "CHK_invoice_lines_kind" CHECK ("kind" IN ('UPFRONT_FEE', 'USAGE_INPUT', 'USAGE_OUTPUT',
        'MINIMUM_COMMITMENT_TRUE_UP', 'ADJUSTMENT_INPUT', 'ADJUSTMENT_OUTPUT', 'ROYALTY', 'POOL_FEE', 'POOL_OVERAGE')),
      ADD CONSTRAINT "CHK_invoice_lines_rated" CHECK (
        CASE WHEN "kind" IN ('USAGE_INPUT', 'USAGE_OUTPUT', 'ADJUSTMENT_INPUT', 'ADJUSTMENT_OUTPUT', 'POOL_OVERAGE') THEN
          "quantity" > 0 AND "unit_price_minor" >= 0
          AND "amount_minor" = div("quantity"::numeric * "unit_price_minor" + 500000, 1000000)
          AND "overage_tokens" BETWEEN 0 AND "quantity"
        ELSE "quantity" IS NULL AND "unit_price_minor" IS NULL AND "overage_tokens" = 0 END),
      ADD CONSTRAINT "CHK_invoice_lines_pool" CHECK (CASE WHEN "kind" IN ('POOL_FEE', 'POOL_OVERAGE')
        THEN "agreement_id" IS NULL AND "vendor_organization_id" IS NULL AND "model_id" IS NULL
        ELSE "agreement_id" IS NOT NULL AND "vendor_organization_id" IS NOT NULL AND "model_id" IS NOT NULL END)`);

    await q.query(`CREATE TABLE "pool_subscription_periods" (
      "subscription_id" uuid NOT NULL REFERENCES "pool_subscriptions" ("id") ON DELETE RESTRICT,
      "period" text NOT NULL,
      "plan_id" uuid NOT NULL REFERENCES "pool_plans" ("id") ON DELETE RESTRICT,
      "invoice_id" uuid NOT NULL REFERENCES "invoices" ("id") ON DELETE RESTRICT,
      "fee_minor" bigint NOT NULL,
      "days_covered" integer NOT NULL,
      "days_in_period" integer NOT NULL,
      "overage_tokens" bigint NOT NULL DEFAULT 0,
      "overage_minor" bigint NOT NULL DEFAULT 0,
      "distributed_plan_id" uuid REFERENCES "pool_plans" ("id") ON DELETE RESTRICT,
      "distributed_period" text,
      CONSTRAINT "PK_pool_subscription_periods" PRIMARY KEY ("subscription_id", "period"),
      CONSTRAINT "CHK_pool_subscription_periods_period" CHECK ("period" ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      CONSTRAINT "CHK_pool_subscription_periods_amounts" CHECK ("fee_minor" >= 0 AND "overage_minor" >= 0 AND "overage_tokens" >= 0
        AND "days_covered" BETWEEN 1 AND "days_in_period"),
      CONSTRAINT "CHK_pool_subscription_periods_distributed" CHECK (("distributed_plan_id" IS NULL) = ("distributed_period" IS NULL)))`);
    await q.query(`CREATE INDEX "IDX_pool_subscription_periods_undistributed" ON "pool_subscription_periods" ("plan_id", "period")
      WHERE "distributed_period" IS NULL`);

    await q.query(`ALTER TABLE "license_agreements" ADD "pool_subscription_id" uuid REFERENCES "pool_subscriptions" ("id") ON DELETE RESTRICT`);
    await q.query(`CREATE INDEX "IDX_license_agreements_pool" ON "license_agreements" ("pool_subscription_id") WHERE "pool_subscription_id" IS NOT NULL`);

    await q.query(`CREATE TABLE "pool_exits" (
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "from_period" text NOT NULL,
      "requested_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "requested_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_pool_exits" PRIMARY KEY ("model_id"),
      CONSTRAINT "CHK_pool_exits_period" CHECK ("from_period" ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'))`);

    await q.query(`CREATE TABLE "pool_distributions" (
      "plan_id" uuid NOT NULL REFERENCES "pool_plans" ("id") ON DELETE RESTRICT,
      "period" text NOT NULL,
      "currency" character(3) NOT NULL,
      "distribution" text NOT NULL,
      "gross_minor" bigint NOT NULL,
      "fee_minor" bigint NOT NULL,
      "distributed_minor" bigint NOT NULL,
      "carried_minor" bigint NOT NULL,
      "remainder_minor" bigint NOT NULL,
      "total_eligible_tokens" bigint NOT NULL,
      "minimum_tokens_to_earn" bigint NOT NULL,
      "platform_fee_bps" integer NOT NULL,
      "ledger_reference" text,
      "closed_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_pool_distributions" PRIMARY KEY ("plan_id", "period"),
      CONSTRAINT "CHK_pool_distributions_sum" CHECK ("gross_minor" = "fee_minor" + "distributed_minor" + "carried_minor"))`);
    await q.query(`CREATE TABLE "pool_distribution_lines" (
      "plan_id" uuid NOT NULL,
      "period" text NOT NULL,
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "vendor_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "tokens" bigint NOT NULL,
      "eligible" boolean NOT NULL,
      "amount_minor" bigint NOT NULL,
      "flags" text[] NOT NULL DEFAULT '{}',
      "held" boolean NOT NULL DEFAULT false,
      "released_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_pool_distribution_lines" PRIMARY KEY ("plan_id", "period", "model_id"),
      CONSTRAINT "FK_pool_distribution_lines_distribution" FOREIGN KEY ("plan_id", "period") REFERENCES "pool_distributions" ("plan_id", "period"),
      CONSTRAINT "CHK_pool_distribution_lines_amount" CHECK ("amount_minor" >= 0 AND ("eligible" OR "amount_minor" = 0)))`);
    await q.query(`CREATE INDEX "IDX_pool_distribution_lines_vendor" ON "pool_distribution_lines" ("vendor_organization_id", "period")`);
    await q.query(`CREATE TABLE "pool_distribution_subscribers" (
      "plan_id" uuid NOT NULL,
      "period" text NOT NULL,
      "distiller_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "paid_minor" bigint NOT NULL,
      "net_minor" bigint NOT NULL,
      "eligible_tokens" bigint NOT NULL,
      "to_remainder" boolean NOT NULL,
      CONSTRAINT "PK_pool_distribution_subscribers" PRIMARY KEY ("plan_id", "period", "distiller_organization_id"),
      CONSTRAINT "FK_pool_distribution_subscribers_distribution" FOREIGN KEY ("plan_id", "period") REFERENCES "pool_distributions" ("plan_id", "period"))`);

    /*
     * Gateway pre-authorisation of a pool agreement: on a REFUSE plan, under
     * the subscription's lock, the month's usage and in-flight reservations of
     * every pool agreement of the subscription plus this request's estimate
     * must fit the plan's allowance; then the agreement's own checks
     * (metering_preauthorize: its licence limits, its reservation). The lock
     * is held to the end of the statement's transaction, so two requests on
     * two agreements of one subscription cannot both take its last tokens.
     */
    await q.query(`CREATE FUNCTION "metering_pool_preauthorize"(
        p_agreement uuid, p_estimate bigint, p_quota bigint, p_per_minute bigint, p_ttl_ms integer, p_now timestamptz, p_subscription uuid)
      RETURNS TABLE (admitted boolean, refusal text, period_used bigint, reserved bigint, window_used bigint,
                     period_end timestamptz, reservation_id uuid, pool_allowance bigint)
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      DECLARE
        -- Business time (the platform Clock): which month's allowance applies.
        v_now timestamptz := coalesce(p_now, clock_timestamp());
        -- Real time: reservations are leases of in-flight requests.
        v_real timestamptz := clock_timestamp();
        v_period timestamptz := date_trunc('month', v_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
        v_allowance bigint;
        v_overage text;
        v_used bigint;
        v_reserved bigint;
      BEGIN
        SELECT p.token_allowance, p.overage INTO v_allowance, v_overage
          FROM pool_subscriptions s JOIN pool_plans p ON p.id = s.plan_id WHERE s.id = p_subscription;
        IF v_overage = 'REFUSE' THEN
          PERFORM pg_advisory_xact_lock(7340102, hashtext(p_subscription::text));
          SELECT coalesce(sum(t.input_tokens + t.output_tokens), 0)::bigint INTO v_used
            FROM license_agreements a JOIN usage_period_totals t ON t.agreement_id = a.id AND t.period_start = v_period
           WHERE a.pool_subscription_id = p_subscription;
          SELECT coalesce(sum(r.tokens), 0)::bigint INTO v_reserved
            FROM license_agreements a JOIN usage_reservations r ON r.agreement_id = a.id AND r.expires_at > v_real
           WHERE a.pool_subscription_id = p_subscription;
          IF v_used + v_reserved + p_estimate > v_allowance THEN
            RETURN QUERY SELECT false, 'QUOTA'::text, v_used, v_reserved, 0::bigint,
              (v_period AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC', NULL::uuid, v_allowance;
            RETURN;
          END IF;
        END IF;
        -- The agreement's own limits decide from here (a refusal names its licence quota, not the allowance).
        RETURN QUERY SELECT m.admitted, m.refusal, m.period_used, m.reserved, m.window_used, m.period_end, m.reservation_id, NULL::bigint
          FROM metering_preauthorize(p_agreement, p_estimate, p_quota, p_per_minute, p_ttl_ms, p_now) m;
      END $$`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION "metering_pool_preauthorize"(uuid, bigint, bigint, bigint, integer, timestamptz, uuid)`);
    await q.query(`DROP TABLE "pool_distribution_subscribers"`);
    await q.query(`DROP TABLE "pool_distribution_lines"`);
    await q.query(`DROP TABLE "pool_distributions"`);
    await q.query(`DROP TABLE "pool_exits"`);
    await q.query(`DROP INDEX "IDX_license_agreements_pool"`);
    await q.query(`ALTER TABLE "license_agreements" DROP COLUMN "pool_subscription_id"`);
    await q.query(`DROP TABLE "pool_subscription_periods"`);
    await q.query(`ALTER TABLE "invoice_lines" DROP CONSTRAINT "CHK_invoice_lines_pool", DROP CONSTRAINT "CHK_invoice_lines_rated", DROP CONSTRAINT "CHK_invoice_lines_kind"`);
    await q.query(`ALTER TABLE "invoice_lines" ADD CONSTRAINT "CHK_invoice_lines_kind" CHECK ("kind" IN ('UPFRONT_FEE', 'USAGE_INPUT', 'USAGE_OUTPUT',
        'MINIMUM_COMMITMENT_TRUE_UP', 'ADJUSTMENT_INPUT', 'ADJUSTMENT_OUTPUT', 'ROYALTY')),
      ADD CONSTRAINT "CHK_invoice_lines_rated" CHECK (
        CASE WHEN "kind" IN ('USAGE_INPUT', 'USAGE_OUTPUT', 'ADJUSTMENT_INPUT', 'ADJUSTMENT_OUTPUT') THEN
          "quantity" > 0 AND "unit_price_minor" >= 0
          AND "amount_minor" = div("quantity"::numeric * "unit_price_minor" + 500000, 1000000)
          AND "overage_tokens" BETWEEN 0 AND "quantity"
        ELSE "quantity" IS NULL AND "unit_price_minor" IS NULL AND "overage_tokens" = 0 END)`);
    await q.query(`ALTER TABLE "invoice_lines" ALTER COLUMN "agreement_id" SET NOT NULL,
      ALTER COLUMN "vendor_organization_id" SET NOT NULL, ALTER COLUMN "model_id" SET NOT NULL`);
    await q.query(`DROP INDEX "UQ_invoices_pool"`);
    await q.query(`ALTER TABLE "invoices" DROP CONSTRAINT "CHK_invoices_kind_refs", DROP CONSTRAINT "CHK_invoices_kind"`);
    await q.query(`ALTER TABLE "invoices" DROP COLUMN "pool_subscription_id"`);
    await q.query(`ALTER TABLE "invoices" ADD CONSTRAINT "CHK_invoices_kind" CHECK ("kind" IN ('UPFRONT', 'PERIOD')),
      ADD CONSTRAINT "CHK_invoices_kind_refs" CHECK (
        ("kind" = 'PERIOD' AND "period" IS NOT NULL AND "agreement_id" IS NULL)
        OR ("kind" = 'UPFRONT' AND "period" IS NULL AND "agreement_id" IS NOT NULL))`);
    await q.query(`DROP TABLE "pool_subscriptions"`);
    await q.query(`DROP TABLE "pool_plans"`);
  }
}
