import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signed statements: a vendor's earnings statement per (organization,
 * period, currency) and a distiller's usage statement per (organization,
 * period). A statement is generated the first time it is asked for (only for
 * a CLOSED billing period) and kept, so every later download returns the same
 * signed bytes. One row per (organization, kind, period, currency): concurrent
 * first requests store one (the unique index), and a stored statement is
 * never rewritten or deleted.
 */
export class Statements1795800930000 implements MigrationInterface {
  name = 'Statements1795800930000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "signed_statements" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "kind" text NOT NULL,
      "period" text NOT NULL REFERENCES "billing_periods" ("period") ON DELETE RESTRICT,
      -- EARNINGS: the statement's currency; USAGE: NULL (charges keep their own currencies).
      "currency" character(3),
      "key_id" text NOT NULL,
      -- The exact signed bytes (RFC 8785 canonical JSON) and the Ed25519 signature over them, base64url.
      "payload" text NOT NULL,
      "signature" text NOT NULL,
      "payload_sha256" character(64) NOT NULL,
      "issued_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_signed_statements" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_signed_statements_kind" CHECK ("kind" IN ('EARNINGS', 'USAGE')),
      CONSTRAINT "CHK_signed_statements_currency" CHECK (CASE "kind"
        WHEN 'EARNINGS' THEN "currency" IS NOT NULL AND "currency" ~ '^[A-Z]{3}$'
        ELSE "currency" IS NULL END),
      CONSTRAINT "CHK_signed_statements_signature" CHECK ("signature" ~ '^[A-Za-z0-9_-]{86}$'),
      CONSTRAINT "CHK_signed_statements_sha" CHECK ("payload_sha256" ~ '^[0-9a-f]{64}$'))`);
    await q.query(`CREATE UNIQUE INDEX "UQ_signed_statements_one" ON "signed_statements"
      ("organization_id", "kind", "period", coalesce("currency", '-'))`);
    await q.query(`CREATE FUNCTION "signed_statements_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'signed statements are immutable' USING ERRCODE = 'check_violation';
      END $$`);
    await q.query(`CREATE TRIGGER "TRG_signed_statements_immutable" BEFORE UPDATE OR DELETE ON "signed_statements"
      FOR EACH ROW EXECUTE FUNCTION "signed_statements_immutable"()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "signed_statements"`);
    await q.query(`DROP FUNCTION "signed_statements_immutable"()`);
  }
}
