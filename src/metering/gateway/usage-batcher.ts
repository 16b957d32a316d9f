/**
 * Group commit for gateway usage: while one recording is in flight, the
 * events of requests finishing meanwhile queue up and are stored together by
 * the next call (one statement, one lock round, one WAL flush for all of
 * them). An idle gateway records at once; a busy one amortises the commit.
 * Callers still wait for their own event to be durable before answering.
 */
import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { Database } from '../../platform/database/transaction';
import { RecordResult, UsageRecorder, UsageToRecord } from '../usage/usage-recorder.service';

/** Most events per statement (arrays of this size keep the statement fast). */
const MAX_BATCH = 256;

interface Pending {
  event: UsageToRecord;
  reservationId: string | null;
  resolve: (r: RecordResult) => void;
  reject: (e: unknown) => void;
}

@Injectable()
export class GatewayUsageBatcher {
  private readonly log = new Logger('GatewayUsage');
  private queue: Pending[] = [];
  private flushing = false;

  constructor(
    private readonly db: Database,
    private readonly recorder: UsageRecorder,
    private readonly config: AppConfig,
  ) {}

  record(event: UsageToRecord, reservationId: string | null): Promise<RecordResult> {
    return new Promise<RecordResult>((resolve, reject) => {
      this.queue.push({ event, reservationId, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          const results = await this.write(batch);
          batch.forEach((p, i) => p.resolve(results[i]));
        } catch (err) {
          if (batch.length === 1) {
            batch[0].reject(err);
            continue;
          }
          // One bad event must not fail its neighbours: record them one by one.
          this.log.warn({ err, events: batch.length }, 'batched usage recording failed; recording one by one');
          for (const p of batch) {
            try {
              p.resolve((await this.write([p]))[0]);
            } catch (e) {
              p.reject(e);
            }
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private write(batch: readonly Pending[]): Promise<RecordResult[]> {
    return this.recorder.record(
      this.db.reader,
      batch.map((p) => p.event),
      batch.flatMap((p) => (p.reservationId ? [p.reservationId] : [])),
      { asyncCommit: this.config.gatewayUsageCommit === 'async' },
    );
  }
}
