import { Injectable } from '@nestjs/common';
import { PoolCloseService } from '../../earnings/pool/pool-close.service';
import { Clock } from '../../platform/clock/clock';
import { JobsService } from '../../platform/jobs/jobs.service';
import { nextPeriod, parsePeriod, periodOf, previousPeriod } from '../billing-period';
import { PoolSubscriptionService } from './pool-subscription.service';

export const POOL_CLOSE_JOB = 'billing.pool-close';

/**
 * 01:00 UTC on the 1st of every month: distributes every ended month not
 * distributed yet, oldest first, each followed by the renewal into the month
 * after it (normally just last month, then this month's renewals). Both steps
 * are idempotent and serialised, so an admin's close may overlap.
 *
 * Follows business time: after the sandbox clock jumps several months it
 * catches up month by month (close A, renew B, close B, renew C, …), as the
 * schedule would have. Order 2.5: after the billing period close (order 2, as
 * on the real schedule, 00:30 before 01:00 — nothing here needs its result,
 * both read the same rollups) and before collection (order 3), so the
 * renewal invoices it issues (due at once) are collected by the same advance.
 * A renewal paid only then joins the next distribution (a late payment).
 */
@Injectable()
export class PoolCloseJob {
  constructor(jobs: JobsService, closes: PoolCloseService, subscriptions: PoolSubscriptionService, clock: Clock) {
    jobs.register({
      name: POOL_CLOSE_JOB,
      cron: '0 1 1 * *',
      followsBusinessTime: { order: 2.5 },
      run: async () => {
        const current = periodOf(clock.now());
        const last = previousPeriod(current);
        const pending = await closes.firstUndistributedPeriod();
        let distributed = 0;
        let renewed = 0;
        let ended = 0;
        const months: string[] = [];
        for (let p = pending !== null && pending < last.period ? parsePeriod(pending) : last; p.start < current.start; p = nextPeriod(p)) {
          const outcome = await closes.close(null, p.period);
          distributed += outcome.kind === 'closed' ? outcome.distributions.filter((d) => d.createdNow).length : 0;
          const renewal = await subscriptions.renew(nextPeriod(p).period);
          renewed += renewal.invoiced;
          ended += renewal.ended;
          months.push(p.period);
        }
        return { months, distributed, renewed, ended };
      },
    });
  }
}
