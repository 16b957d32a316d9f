/**
 * The SQL of the webhook inbox (payment_webhook_events). Every method takes
 * the EntityManager of the caller's transaction (or the reader).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { WebhookEventSource } from './webhook-event.entity';
import type { StripeEventLike } from './webhook-handlers';

export interface ClaimedEventRow {
  id: string;
  type: string;
  attempts: number;
  payload: StripeEventLike;
}

export interface PendingCounts {
  /** Pending events whose next attempt is due now. */
  due: number;
  /** Pending events waiting for their backoff. */
  notDue: number;
}

@Injectable()
export class WebhookInboxRepository {
  /** False when an event of this id was already stored (redelivery or concurrent delivery). */
  async insert(em: EntityManager, event: StripeEventLike, source: WebhookEventSource): Promise<boolean> {
    const rows = (await em.query(
      `INSERT INTO payment_webhook_events (id, source, type, livemode, payload)
       VALUES ($1, $2, $3, $4, $5::jsonb)
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [event.id, source, event.type, event.livemode, JSON.stringify(event)],
    )) as unknown[];
    return rows.length === 1;
  }

  /** The next due event, row-locked; SKIP LOCKED so concurrent processors never take the same one. */
  async claimNext(em: EntityManager): Promise<ClaimedEventRow | null> {
    const [row] = (await em.query(
      `SELECT id, type, attempts, payload
         FROM payment_webhook_events
        WHERE processed_at IS NULL AND next_attempt_at <= now()
        ORDER BY next_attempt_at, received_at, id
        LIMIT 1
        FOR UPDATE SKIP LOCKED`,
    )) as ClaimedEventRow[];
    return row ?? null;
  }

  async markProcessed(em: EntityManager, id: string, outcome: 'handled' | 'ignored'): Promise<void> {
    await em.query(
      `UPDATE payment_webhook_events
          SET processed_at = now(), outcome = $2, attempts = attempts + 1, last_error = NULL
        WHERE id = $1`,
      [id, outcome],
    );
  }

  /** A failed attempt: counted, its error kept, the next one due after `delaySeconds` (unless it was processed meanwhile). */
  async recordFailure(em: EntityManager, id: string, message: string, delaySeconds: number): Promise<void> {
    await em.query(
      `UPDATE payment_webhook_events
          SET attempts = attempts + 1, last_error = $2, next_attempt_at = now() + make_interval(secs => $3)
        WHERE id = $1 AND processed_at IS NULL`,
      [id, message, delaySeconds],
    );
  }

  async pendingCounts(em: EntityManager): Promise<PendingCounts> {
    const rows = (await em.query(
      `SELECT (next_attempt_at <= now()) AS due, count(*)::int AS n FROM payment_webhook_events WHERE processed_at IS NULL GROUP BY 1`,
    )) as Array<{ due: boolean; n: number }>;
    const by = new Map(rows.map((r) => [r.due, r.n]));
    return { due: by.get(true) ?? 0, notDue: by.get(false) ?? 0 };
  }
}
