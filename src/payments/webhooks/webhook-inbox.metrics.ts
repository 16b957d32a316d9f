import { Injectable, OnModuleInit } from '@nestjs/common';
import { Database } from '../../platform/database/transaction';
import { MetricsService } from '../../platform/metrics/metrics.service';

/** Publishes the webhook inbox's depth: events stored and not yet processed (read at scrape time). */
@Injectable()
export class WebhookInboxMetrics implements OnModuleInit {
  constructor(
    private readonly db: Database,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.metrics.gauge('beiming_webhook_inbox_pending', 'Payment webhook events stored but not processed yet, by whether a retry is due now', ['due'], async () => {
      const rows = (await this.db.reader.query(
        `SELECT (next_attempt_at <= now()) AS due, count(*)::int AS n FROM payment_webhook_events WHERE processed_at IS NULL GROUP BY 1`,
      )) as Array<{ due: boolean; n: number }>;
      const by = new Map(rows.map((r) => [r.due, r.n]));
      return [
        { labels: { due: 'true' }, value: by.get(true) ?? 0 },
        { labels: { due: 'false' }, value: by.get(false) ?? 0 },
      ];
    });
  }
}
