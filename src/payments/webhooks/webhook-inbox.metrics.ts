import { Injectable, OnModuleInit } from '@nestjs/common';
import { Database } from '../../platform/database/transaction';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { WebhookInboxRepository } from './webhook-inbox.repository';

/** Publishes the webhook inbox's depth: events stored and not yet processed (read at scrape time). */
@Injectable()
export class WebhookInboxMetrics implements OnModuleInit {
  constructor(
    private readonly db: Database,
    private readonly metrics: MetricsService,
    private readonly events: WebhookInboxRepository,
  ) {}

  onModuleInit(): void {
    this.metrics.gauge('beiming_webhook_inbox_pending', 'Payment webhook events stored but not processed yet, by whether a retry is due now', ['due'], async () => {
      const pending = await this.events.pendingCounts(this.db.reader);
      return [
        { labels: { due: 'true' }, value: pending.due },
        { labels: { due: 'false' }, value: pending.notDue },
      ];
    });
  }
}
