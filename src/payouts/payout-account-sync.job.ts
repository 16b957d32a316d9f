import { Injectable } from '@nestjs/common';
import { JobsService } from '../platform/jobs/jobs.service';
import { PayoutOnboardingService } from './payout-onboarding.service';

export const PAYOUT_ACCOUNT_SYNC_JOB = 'payouts.sync-connected-accounts';

/** Every minute: reads again the connected accounts whose read after an account.updated failed (processor down, …). */
@Injectable()
export class PayoutAccountSyncJob {
  constructor(jobs: JobsService, onboarding: PayoutOnboardingService) {
    jobs.register({ name: PAYOUT_ACCOUNT_SYNC_JOB, cron: '* * * * *', run: async () => ({ ...(await onboarding.syncPending(200)) }) });
  }
}
