import { Module } from '@nestjs/common';
import { EarningsModule } from '../earnings/earnings.module';
import { LedgerModule } from '../ledger/ledger.module';
import { PaymentsModule } from '../payments/payments.module';
import { ConnectEventHandlers } from './connect-event.handlers';
import { PayoutAccountSyncJob } from './payout-account-sync.job';
import { PayoutAccountsRepository } from './payout-accounts.repository';
import { PayoutBatchEvents } from './payout-batch-events';
import { PayoutBatchesRepository } from './payout-batches.repository';
import { PayoutBatchesResolver, VendorPayoutsResolver } from './payout-batches.resolver';
import { PayoutBatchesService } from './payout-batches.service';
import { PayoutExecutionJob } from './payout-execution.job';
import { PayoutExecutionRepository } from './payout-execution.repository';
import { PayoutExecutionService } from './payout-execution.service';
import { PayoutExecutionTransitions } from './payout-execution.transitions';
import { PayoutTransferHandlers } from './payout-transfer.handlers';
import { PayoutOnboardingRoutes } from './payout-onboarding.routes';
import { PayoutOnboardingService } from './payout-onboarding.service';
import { PayoutReviewService } from './payout-review.service';
import { PayoutReversalHandlers } from './payout-reversal.handlers';
import { PayoutReversalSyncJob } from './payout-reversal-sync.job';
import { PayoutReversalsRepository } from './payout-reversals.repository';
import { PayoutReversalsResolver } from './payout-reversals.resolver';
import { PayoutReversalsService } from './payout-reversals.service';
import { PayoutsResolver } from './payouts.resolver';
import { ReconciliationJob } from './reconciliation/reconciliation.job';
import { ReconciliationRepository } from './reconciliation/reconciliation.repository';
import { ReconciliationResolver } from './reconciliation/reconciliation.resolver';
import { ReconciliationService } from './reconciliation/reconciliation.service';

/**
 * Payouts to vendors. So far: onboarding — each vendor organization's
 * connected account at the processor (created once), onboarding and
 * dashboard links, and the account's state kept in step with the processor
 * through Connect events. Payout batches: an admin's snapshot of what can be
 * paid per currency, reviewed and approved by a second admin
 * (PayoutBatchesService, PayoutReviewService); PayoutBatchEvents tells the
 * sender when a batch was approved. After a payout: transfer reversals
 * (PayoutReversalsService, `transfer.reversed`) and the daily reconciliation
 * with the processor's balance transactions (ReconciliationService).
 */
@Module({
  imports: [PaymentsModule, EarningsModule, LedgerModule],
  providers: [PayoutAccountsRepository, PayoutOnboardingService, ConnectEventHandlers, PayoutAccountSyncJob, PayoutOnboardingRoutes, PayoutsResolver,
    PayoutBatchesRepository, PayoutBatchesService, PayoutReviewService, PayoutBatchEvents, PayoutBatchesResolver, VendorPayoutsResolver,
    // execution: approved payouts → transfers, exactly once
    PayoutExecutionRepository, PayoutExecutionTransitions, PayoutExecutionService, PayoutExecutionJob, PayoutTransferHandlers,
    // After a payout: reversals, and reconciliation with the processor.
    PayoutReversalsRepository, PayoutReversalsService, PayoutReversalHandlers, PayoutReversalSyncJob, PayoutReversalsResolver,
    ReconciliationRepository, ReconciliationService, ReconciliationJob, ReconciliationResolver],
  exports: [PayoutOnboardingService, PayoutBatchesService, PayoutReviewService, PayoutBatchEvents, PayoutExecutionService, PayoutReversalsService, ReconciliationService],
})
export class PayoutsModule {}
