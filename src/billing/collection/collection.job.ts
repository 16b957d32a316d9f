import { Injectable } from '@nestjs/common';
import { JobsService } from '../../platform/jobs/jobs.service';
import { CollectionService } from './collection.service';

export const COLLECTION_JOB = 'billing.collect-invoices';

/**
 * Every minute: charges OPEN invoices whose first or next attempt is due
 * (retries follow COLLECTION_RETRY_HOURS), resumes attempts whose outcome was
 * unknown, and books processing fees not read yet. Safe to overlap with a
 * distiller's payInvoice: attempts are leased and keyed.
 */
@Injectable()
export class CollectionJob {
  constructor(jobs: JobsService, collection: CollectionService) {
    jobs.register({
      name: COLLECTION_JOB,
      cron: '* * * * *',
      followsBusinessTime: { order: 3 },
      run: async () => ({ ...(await collection.collectDue()), feesBooked: await collection.bookMissingProcessingFees() }),
    });
  }
}
