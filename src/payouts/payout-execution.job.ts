import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../platform/config/app-config';
import { JobsService } from '../platform/jobs/jobs.service';
import { PayoutBatchEvents } from './payout-batch-events';
import { PayoutExecutionService } from './payout-execution.service';

export const PAYOUT_EXECUTION_JOB = 'payouts.execute';

/**
 * Every minute: executes what is due — approved payouts, payouts given back
 * for later (balance, 429, processor unavailable), and sends whose process
 * died (lease expired). Replicas may run it at the same time: claims and
 * leases keep each payout to one of them. With jobs enabled, an approved
 * batch is started at once (after its approval committed) instead of at the
 * next tick; the request that approved it does not wait for the run.
 */
@Injectable()
export class PayoutExecutionJob {
  private readonly log = new Logger('PayoutExecution');

  constructor(jobs: JobsService, executor: PayoutExecutionService, events: PayoutBatchEvents, config: AppConfig) {
    if (config.jobsEnabled) {
      events.onBatchApproved((e) => {
        void executor.run().catch((err: unknown) => this.log.error({ err, batchId: e.batchId }, 'executing an approved batch failed; the next tick retries'));
      });
    }
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
