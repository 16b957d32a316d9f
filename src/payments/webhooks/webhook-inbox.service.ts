/**
 * The webhook inbox. Events are stored once per event id
 * (INSERT … ON CONFLICT DO NOTHING: redeliveries and concurrent deliveries
 * are acknowledged and ignored), then processed one by one, each in its own
 * transaction: the row is claimed with FOR UPDATE SKIP LOCKED (so replicas and
 * the in-process kick never process the same event at once), the handlers
 * registered for its type run, and the row is marked processed in that same
 * transaction. A failure rolls all of it back; the attempt is then recorded by
 * a separate statement with an exponential backoff, and the event stays
 * pending — never lost — until a later sweep succeeds.
 *
 * Processing starts right after an event is stored (`kick`, not awaited by
 * the HTTP answer) and a recurring job sweeps whatever is due every minute.
 */
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Database } from '../../platform/database/transaction';
import type { WebhookEventSource } from './webhook-event.entity';
import { StripeEventLike, WebhookHandlers } from './webhook-handlers';
import { ClaimedEventRow, WebhookInboxRepository } from './webhook-inbox.repository';

/** First retry after 30 s, doubling, at most hourly: a broken handler is retried for as long as it takes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 3600);
}

export interface ProcessSummary {
  /** Events taken from the inbox in this run (handled + ignored + failed). */
  claimed: number;
  handled: number;
  ignored: number;
  failed: number;
}

const MAX_ERROR_CHARS = 2000;

@Injectable()
export class WebhookInboxService implements BeforeApplicationShutdown {
  private readonly log = new Logger('PaymentsInbox');
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly handlers: WebhookHandlers,
    private readonly events: WebhookInboxRepository,
  ) {}

  /** Stores an event (the caller has verified where it comes from); false when its id was already stored. */
  async store(em: EntityManager, event: StripeEventLike, source: WebhookEventSource): Promise<{ stored: boolean }> {
    return { stored: await this.events.insert(em, event, source) };
  }

  /**
   * Starts processing in the background (one run per process at a time; a
   * kick during a run makes it go round once more). The returned promise
   * settles when that run ends; it never rejects.
   */
  kick(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        let more = true;
        while (more && !this.closed) {
          this.again = false;
          const summary = await this.processPending(100);
          more = this.again || summary.claimed === 100;
        }
      } catch (err) {
        this.log.error({ err }, 'webhook inbox processing failed; the sweep job will retry');
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Processes up to `limit` due events, each in its own transaction. */
  async processPending(limit = 100): Promise<ProcessSummary> {
    const summary: ProcessSummary = { claimed: 0, handled: 0, ignored: 0, failed: 0 };
    for (let i = 0; i < limit; i++) {
      const outcome = await this.processNext();
      if (outcome === null) break;
      summary.claimed++;
      summary[outcome]++;
    }
    return summary;
  }

  /** Processes until nothing is due (events waiting for a backoff are not due); waits for an in-flight kick. For tests and tools. */
  async drain(): Promise<ProcessSummary> {
    const total: ProcessSummary = { claimed: 0, handled: 0, ignored: 0, failed: 0 };
    for (;;) {
      while (this.running) await this.running;
      const s = await this.processPending(100);
      total.claimed += s.claimed;
      total.handled += s.handled;
      total.ignored += s.ignored;
      total.failed += s.failed;
      if (s.claimed === 0 && !this.running) return total;
    }
  }

  private async processNext(): Promise<'handled' | 'ignored' | 'failed' | null> {
    let claimed: ClaimedEventRow | null = null;
    try {
      const outcome = await this.db.transaction(async (tx) => {
        const row = await this.events.claimNext(tx);
        if (!row) return null;
        claimed = row;
        const handlers = this.handlers.handlersFor(row.type);
        for (const handle of handlers) await handle(tx, row.payload);
        const result = handlers.length > 0 ? 'handled' : 'ignored';
        await this.events.markProcessed(tx, row.id, result);
        return result;
      });
      if (outcome !== null) {
        const row = claimed as ClaimedEventRow | null;
        this.log.log({ eventId: row?.id, type: row?.type, outcome, attempt: (row?.attempts ?? 0) + 1 }, 'webhook event processed');
      }
      return outcome;
    } catch (err) {
      const row = claimed as ClaimedEventRow | null;
      if (row === null) throw err; // could not even claim (database down): the caller's run ends
      await this.recordFailure(row, err);
      return 'failed';
    }
  }

  /** Outside the rolled-back transaction, so the attempt is remembered. */
  private async recordFailure(row: ClaimedEventRow, err: unknown): Promise<void> {
    const attempts = row.attempts + 1;
    const delay = retryDelaySeconds(attempts);
    const message = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, MAX_ERROR_CHARS);
    try {
      await this.events.recordFailure(this.db.reader, row.id, message, delay);
    } catch (recordErr) {
      this.log.error({ err: recordErr, eventId: row.id }, 'could not record a failed webhook attempt; it will be retried as due');
    }
    this.log.warn({ eventId: row.id, type: row.type, outcome: 'failed', attempt: attempts, retryInSeconds: delay, err }, 'webhook event failed; will retry');
  }

  /** Before the database closes: let a run in flight finish its event. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }
}
