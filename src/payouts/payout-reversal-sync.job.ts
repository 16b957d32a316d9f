import { Injectable } from '@nestjs/common';
import { JobsService } from '../platform/jobs/jobs.service';
import { PayoutReversalsService } from './payout-reversals.service';

export const PAYOUT_REVERSAL_SYNC_JOB = 'payouts.sync-reversed-transfers';

/** Every minute: reads again the transfers whose read after a transfer.reversed failed (processor down, …). */
@Injectable()
export class PayoutReversalSyncJob {
  constructor(jobs: JobsService, reversals: PayoutReversalsService) {
    jobs.register({ name: PAYOUT_REVERSAL_SYNC_JOB, cron: '* * * * *', run: async () => ({ ...(await reversals.syncPending(200)) }) });
  }
}
