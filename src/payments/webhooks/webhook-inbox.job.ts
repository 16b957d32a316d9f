import { Injectable } from '@nestjs/common';
import { JobsService } from '../../platform/jobs/jobs.service';
import { WebhookInboxService } from './webhook-inbox.service';

export const WEBHOOK_INBOX_JOB = 'payments.process-webhook-inbox';

/**
 * Every minute: processes inbox events that are due — retries after a
 * failure's backoff, and events stored by a replica that stopped before its
 * in-process kick ran.
 */
@Injectable()
export class WebhookInboxJob {
  constructor(jobs: JobsService, inbox: WebhookInboxService) {
    jobs.register({
      name: WEBHOOK_INBOX_JOB,
      cron: '* * * * *',
      run: async () => ({ ...(await inbox.processPending(500)) }),
    });
  }
}
