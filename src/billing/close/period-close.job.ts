import { Injectable } from '@nestjs/common';
import { JobsService } from '../../platform/jobs/jobs.service';
import { PeriodCloseService } from './period-close.service';

export const PERIOD_CLOSE_JOB = 'billing.close-periods';

/**
 * 00:30 UTC on the 1st of every month: closes the month that just ended (and
 * any earlier month a failed run left open). Safe to overlap with an admin's
 * close of the same month: closes are idempotent and serialised.
 */
@Injectable()
export class PeriodCloseJob {
  constructor(jobs: JobsService, closes: PeriodCloseService) {
    jobs.register({
      name: PERIOD_CLOSE_JOB,
      cron: '30 0 1 * *',
      followsBusinessTime: { order: 2 },
      run: async () => ({ closed: await closes.closeDue() }),
    });
  }
}
