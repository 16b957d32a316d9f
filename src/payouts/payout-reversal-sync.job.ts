import { Injectable } from '@nestjs/common';
import { JobsService } from '../platform/jobs/jobs.service';
import { PayoutReversalsService } from './payout-reversals.service';

export const PAYOUT_REVERSAL_SYNC_JOB = 'payouts.sync-reversed-transfers';

/** Admin reversal requests still pending this long are sent again (same key) by the sweep. */
export const STALE_REVERSAL_REQUEST_MS = 10 * 60_000;

/**
 * Every minute: reads again the transfers whose read after a transfer.reversed
 * failed (processor down, …), and sends again the admin reversal requests whose
 * answer was lost long enough ago (their reservation is released either way).
 */
@Injectable()
export class PayoutReversalSyncJob {
  constructor(jobs: JobsService, reversals: PayoutReversalsService) {
    jobs.register({
      name: PAYOUT_REVERSAL_SYNC_JOB,
      cron: '* * * * *',
      run: async () => ({ ...(await reversals.syncPending(200)), ...(await reversals.resumeStale(100, STALE_REVERSAL_REQUEST_MS)) }),
    });
  }
}
