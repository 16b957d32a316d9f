import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for the pool close and statements at scale:
 * - pool_subscription_periods (plan_id, period), every row: the close reads a
 *   plan's subscriptions of one period whether or not they are distributed
 *   (the partial index only holds undistributed rows, so the table's months
 *   of history were scanned);
 * - pool_subscriptions (distiller_organization_id), every status: a
 *   distiller's USER_CENTRIC statement reads only its own subscription's rows
 *   (the live-subscription unique index is partial).
 */
export class PoolCloseIndexes1795801500000 implements MigrationInterface {
  name = 'PoolCloseIndexes1795801500000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "IDX_pool_subscription_periods_plan_period" ON "pool_subscription_periods" ("plan_id", "period")`);
    await q.query(`CREATE INDEX "IDX_pool_subscriptions_distiller" ON "pool_subscriptions" ("distiller_organization_id")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "IDX_pool_subscriptions_distiller"`);
    await q.query(`DROP INDEX "IDX_pool_subscription_periods_plan_period"`);
  }
}
