import { Injectable } from '@nestjs/common';
import { JobsService } from '../../platform/jobs/jobs.service';
import { ReconciliationService } from './reconciliation.service';

export const RECONCILIATION_JOB = 'payouts.reconcile-previous-day';

/** Daily at 02:30 UTC: reconciles the previous UTC day (on the platform clock) with the processor and stores the run. */
@Injectable()
export class ReconciliationJob {
  constructor(jobs: JobsService, reconciliation: ReconciliationService) {
    jobs.register({
      name: RECONCILIATION_JOB,
      cron: '30 2 * * *',
      run: async () => {
        const r = await reconciliation.reconcilePreviousDay();
        return { date: r.date, matched: r.matchedCount, differences: r.differenceCount, timing: r.timingCount };
      },
    });
  }
}
