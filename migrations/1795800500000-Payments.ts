import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payments: the processor customer of each organization, the
 * webhook inbox (keyed by the processor's event id, so a redelivery is a
 * no-op), and the state of the in-process sandbox processor (so it survives
 * restarts and replays idempotency keys like Stripe does).
 */
export class Payments1795800500000 implements MigrationInterface {
  name = 'Payments1795800500000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "payment_customers" (
      "organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "mode" text NOT NULL,
      "customer_id" text NOT NULL,
      "default_payment_method_id" text,
      "default_setup_intent_id" text,
      "default_payment_method_at" TIMESTAMP WITH TIME ZONE,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_payment_customers" PRIMARY KEY ("organization_id"),
      CONSTRAINT "UQ_payment_customers_customer" UNIQUE ("customer_id"),
      CONSTRAINT "CHK_payment_customers_mode" CHECK ("mode" IN ('stripe', 'sandbox')),
      CONSTRAINT "CHK_payment_customers_default" CHECK (
        ("default_payment_method_id" IS NULL) = ("default_payment_method_at" IS NULL)
        AND ("default_payment_method_id" IS NULL) = ("default_setup_intent_id" IS NULL)))`);

    await q.query(`CREATE TABLE "payment_webhook_events" (
      "id" text NOT NULL,
      "source" text NOT NULL,
      "type" text NOT NULL,
      "livemode" boolean NOT NULL,
      "payload" jsonb NOT NULL,
      "received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "processed_at" TIMESTAMP WITH TIME ZONE,
      "outcome" text,
      "attempts" integer NOT NULL DEFAULT 0,
      "last_error" text,
      "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_payment_webhook_events" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_payment_webhook_events_source" CHECK ("source" IN ('stripe', 'sandbox')),
      CONSTRAINT "CHK_payment_webhook_events_outcome" CHECK ("outcome" IN ('handled', 'ignored')),
      CONSTRAINT "CHK_payment_webhook_events_processed" CHECK (("processed_at" IS NULL) = ("outcome" IS NULL)),
      CONSTRAINT "CHK_payment_webhook_events_attempts" CHECK ("attempts" >= 0))`);
    // The processor claims due events oldest first; processed ones never enter this index.
    await q.query(`CREATE INDEX "IDX_payment_webhook_events_pending" ON "payment_webhook_events" ("next_attempt_at", "received_at")
      WHERE "processed_at" IS NULL`);

    await q.query(`CREATE TABLE "sandbox_payment_objects" (
      "id" text NOT NULL,
      "kind" text NOT NULL,
      "idempotency_key" text,
      "request_hash" text,
      "response" jsonb,
      "data" jsonb NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_sandbox_payment_objects" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_sandbox_payment_objects_idempotency" UNIQUE ("kind", "idempotency_key"),
      CONSTRAINT "CHK_sandbox_payment_objects_kind" CHECK ("kind" IN
        ('customer', 'setup_intent', 'payment_intent', 'charge', 'balance_transaction', 'refund', 'dispute')),
      CONSTRAINT "CHK_sandbox_payment_objects_idempotency" CHECK (
        ("idempotency_key" IS NULL) = ("request_hash" IS NULL) AND ("idempotency_key" IS NULL) = ("response" IS NULL)))`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "sandbox_payment_objects"`);
    await q.query(`DROP TABLE "payment_webhook_events"`);
    await q.query(`DROP TABLE "payment_customers"`);
  }
}
