import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Admin refund requests: the client's idempotency key (the same key asks for
 * the same refund again and gets the same answer), and at most one admin
 * refund in flight per invoice — a refund records what the invoice had
 * refunded when it was asked for, which only holds while refunds of one
 * invoice run one after the other. The invoice row lock serializes the
 * requests; these indexes make a second one impossible even without it.
 */
export class RefundRequests1795800750000 implements MigrationInterface {
  name = 'RefundRequests1795800750000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "invoice_refunds" ADD "client_idempotency_key" text`);
    await q.query(`CREATE UNIQUE INDEX "UQ_invoice_refunds_client_key" ON "invoice_refunds" ("client_idempotency_key") WHERE "client_idempotency_key" IS NOT NULL`);
    await q.query(`CREATE UNIQUE INDEX "UQ_invoice_refunds_one_pending" ON "invoice_refunds" ("invoice_id") WHERE "status" = 'PENDING' AND "source" = 'ADMIN'`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "UQ_invoice_refunds_one_pending"`);
    await q.query(`DROP INDEX "UQ_invoice_refunds_client_key"`);
    await q.query(`ALTER TABLE "invoice_refunds" DROP COLUMN "client_idempotency_key"`);
  }
}
