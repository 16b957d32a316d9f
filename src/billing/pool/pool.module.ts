import { Module } from '@nestjs/common';
import { PoolEarningsModule } from '../../earnings/pool/pool-earnings.module';
import { CatalogModule } from '../../catalog/catalog.module';
import { LicensingModule } from '../../licensing/licensing.module';
import { BillingModule } from '../billing.module';
import { PoolCloseJob } from './pool-close.job';
import { PoolPlanService } from './pool-plan.service';
import { PoolRepository } from './pool.repository';
import { PoolResolver, PoolSubscriptionFieldsResolver } from './pool.resolver';
import { PoolSubscriptionService } from './pool-subscription.service';

/**
 * The pool plan, billing's side: plans (versioned), subscriptions invoiced
 * through the existing invoices and collection, renewals, suspension for
 * non-payment, vendors leaving the pool; the period's distribution is
 * earnings' (PoolEarningsModule).
 */
@Module({
  imports: [BillingModule, LicensingModule, CatalogModule, PoolEarningsModule],
  providers: [PoolRepository, PoolPlanService, PoolSubscriptionService, PoolResolver, PoolSubscriptionFieldsResolver, PoolCloseJob],
  exports: [PoolSubscriptionService],
})
export class PoolModule {}
