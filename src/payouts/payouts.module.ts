import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module';
import { ConnectEventHandlers } from './connect-event.handlers';
import { PayoutAccountSyncJob } from './payout-account-sync.job';
import { PayoutAccountsRepository } from './payout-accounts.repository';
import { PayoutOnboardingRoutes } from './payout-onboarding.routes';
import { PayoutOnboardingService } from './payout-onboarding.service';
import { PayoutsResolver } from './payouts.resolver';

/**
 * Payouts to vendors. So far: onboarding — each vendor organization's
 * connected account at the processor (created once), onboarding and
 * dashboard links, and the account's state kept in step with the processor
 * through Connect events. Transfers and payout batches are not built yet;
 * they will read `canReceiveTransfers` from here.
 */
@Module({
  imports: [PaymentsModule],
  providers: [PayoutAccountsRepository, PayoutOnboardingService, ConnectEventHandlers, PayoutAccountSyncJob, PayoutOnboardingRoutes, PayoutsResolver],
  exports: [PayoutOnboardingService],
})
export class PayoutsModule {}
