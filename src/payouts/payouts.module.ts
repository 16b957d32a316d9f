import { Module } from '@nestjs/common';
import { EarningsModule } from '../earnings/earnings.module';
import { PaymentsModule } from '../payments/payments.module';
import { ConnectEventHandlers } from './connect-event.handlers';
import { PayoutAccountSyncJob } from './payout-account-sync.job';
import { PayoutAccountsRepository } from './payout-accounts.repository';
import { PayoutBatchEvents } from './payout-batch-events';
import { PayoutBatchesRepository } from './payout-batches.repository';
import { PayoutBatchesResolver, VendorPayoutsResolver } from './payout-batches.resolver';
import { PayoutBatchesService } from './payout-batches.service';
import { PayoutOnboardingRoutes } from './payout-onboarding.routes';
import { PayoutOnboardingService } from './payout-onboarding.service';
import { PayoutReviewService } from './payout-review.service';
import { PayoutsResolver } from './payouts.resolver';

/**
 * Payouts to vendors. So far: onboarding — each vendor organization's
 * connected account at the processor (created once), onboarding and
 * dashboard links, and the account's state kept in step with the processor
 * through Connect events. Payout batches: an admin's snapshot of what can be
 * paid per currency, reviewed and approved by a second admin
 * (PayoutBatchesService, PayoutReviewService); PayoutBatchEvents tells the
 * sender when a batch was approved.
 */
@Module({
  imports: [PaymentsModule, EarningsModule],
  providers: [PayoutAccountsRepository, PayoutOnboardingService, ConnectEventHandlers, PayoutAccountSyncJob, PayoutOnboardingRoutes, PayoutsResolver,
    PayoutBatchesRepository, PayoutBatchesService, PayoutReviewService, PayoutBatchEvents, PayoutBatchesResolver, VendorPayoutsResolver],
  exports: [PayoutOnboardingService, PayoutBatchesService, PayoutReviewService, PayoutBatchEvents],
})
export class PayoutsModule {}
