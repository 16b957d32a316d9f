import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Usage events' ids compare byte by byte (COLLATE "C"), whatever the
 * database's default collation: the Merkle tree of a billed period orders its
 * leaves by event id in byte order, and with this collation that is the
 * primary key's order, so a period's tree is hashed by walking the
 * (agreement_id, event_id) index instead of sorting an agreement's events.
 *
 * Changing a text column's collation does not rewrite the table; it rebuilds
 * the two indexes holding event_id (under an ACCESS EXCLUSIVE lock: on a large
 * table, run it in a maintenance window).
 */
export class UsageEventOrder1795800940000 implements MigrationInterface {
  name = 'UsageEventOrder1795800940000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "usage_events" ALTER COLUMN "event_id" TYPE text COLLATE "C"`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "usage_events" ALTER COLUMN "event_id" TYPE text COLLATE "default"`);
  }
}
