import { Injectable } from '@nestjs/common';
import { JobsService } from '../platform/jobs/jobs.service';
import { PayoutExecutionService } from './payout-execution.service';

export const PAYOUT_EXECUTION_JOB = 'payouts.execute';

/**
 * Every minute: executes what is due — approved payouts, payouts given back
 * for later (balance, 429, processor unavailable), and sends whose process
 * died (lease expired). Replicas may run it at the same time: claims and
 * leases keep each payout to one of them.
 */
@Injectable()
export class PayoutExecutionJob {
  constructor(jobs: JobsService, executor: PayoutExecutionService) {
    jobs.register({
      name: PAYOUT_EXECUTION_JOB,
      cron: '* * * * *',
      run: async () => {
        const r = await executor.run();
        return { picked: r.picked, sent: r.sent, failed: r.failed, deferred: r.deferred, requests: r.requests, rateLimited: r.rateLimited };
      },
    });
  }
}
