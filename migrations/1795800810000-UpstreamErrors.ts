import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Upstream errors the gateway met, per agreement, for the vendor to read: the
 * distiller only gets a status, a code and the request id, since an upstream's
 * error body can quote the request (and the vendor's credential). `detail` is
 * stored with every configured secret redacted. Kept 30 days (the gateway
 * deletes an agreement's older rows when it adds one).
 */
export class UpstreamErrors1795800810000 implements MigrationInterface {
  name = 'UpstreamErrors1795800810000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "upstream_errors" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "agreement_id" uuid NOT NULL REFERENCES "license_agreements" ("id") ON DELETE CASCADE,
      "request_id" text NOT NULL,
      "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "streamed" boolean NOT NULL,
      "upstream_status" integer,
      "code" text NOT NULL,
      "detail" text NOT NULL,
      CONSTRAINT "PK_upstream_errors" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_upstream_errors_detail" CHECK (length("detail") <= 4096))`);
    await q.query(`CREATE INDEX "IDX_upstream_errors_agreement_occurred" ON "upstream_errors" ("agreement_id", "occurred_at" DESC, "id" DESC)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "upstream_errors"`);
  }
}
