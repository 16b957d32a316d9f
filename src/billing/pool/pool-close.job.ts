import { Injectable } from '@nestjs/common';
import { PoolCloseService } from '../../earnings/pool/pool-close.service';
import { Clock } from '../../platform/clock/clock';
import { JobsService } from '../../platform/jobs/jobs.service';
import { periodOf, previousPeriod } from '../billing-period';
import { PoolSubscriptionService } from './pool-subscription.service';

export const POOL_CLOSE_JOB = 'billing.pool-close';

/**
 * 01:00 UTC on the 1st of every month: distributes the month that just ended
 * for every pool plan and renews the subscriptions into the new month.
 * Both are idempotent and serialised, so an admin's close may overlap.
 */
@Injectable()
export class PoolCloseJob {
  constructor(jobs: JobsService, closes: PoolCloseService, subscriptions: PoolSubscriptionService, clock: Clock) {
    jobs.register({
      name: POOL_CLOSE_JOB,
      cron: '0 1 1 * *',
      run: async () => {
        const current = periodOf(clock.now());
        const outcome = await closes.close(null, previousPeriod(current).period);
        const renewal = await subscriptions.renew(current.period);
        return { distributed: outcome.kind === 'closed' ? outcome.distributions.length : 0, renewed: renewal.invoiced, ended: renewal.ended };
      },
    });
  }
}
