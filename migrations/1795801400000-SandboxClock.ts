import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sandbox test clock: one row holding how far the platform's business time
 * is ahead of real time (milliseconds, never negative, only ever raised), who
 * raised it last and when (wall-clock). Every process reads it, so all of
 * them show the same time; with a real payment processor it is ignored.
 */
export class SandboxClock1795801400000 implements MigrationInterface {
  name = 'SandboxClock1795801400000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "sandbox_clock" (
      "id" smallint PRIMARY KEY CHECK ("id" = 1),
      "offset_ms" bigint NOT NULL DEFAULT 0 CHECK ("offset_ms" >= 0),
      "advanced_at" timestamptz,
      "advanced_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL
    )`);
    await q.query(`INSERT INTO "sandbox_clock" ("id") VALUES (1)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "sandbox_clock"`);
  }
}
