import { Column, Entity, PrimaryColumn } from 'typeorm';

/** `stripe_connect`: delivered to the Connect endpoint (events of connected accounts). */
export type WebhookEventSource = 'stripe' | 'stripe_connect' | 'sandbox';
export type WebhookEventOutcome = 'handled' | 'ignored';

/**
 * The webhook inbox: one row per processor event id, whatever the number of
 * deliveries. Stored first (signature checked), processed later in its own
 * transaction; a failed attempt leaves the row pending with a backoff.
 */
@Entity({ name: 'payment_webhook_events' })
export class PaymentWebhookEventEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  source: WebhookEventSource;

  @Column({ type: 'text' })
  type: string;

  @Column({ type: 'boolean' })
  livemode: boolean;

  /** The event as received (Stripe's shape; amounts in Stripe's units). */
  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @Column({ type: 'timestamptz', name: 'received_at', default: () => 'now()' })
  receivedAt: Date;

  @Column({ type: 'timestamptz', name: 'processed_at', nullable: true })
  processedAt: Date | null;

  /** `ignored`: no handler for the type. */
  @Column({ type: 'text', nullable: true })
  outcome: WebhookEventOutcome | null;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ type: 'text', name: 'last_error', nullable: true })
  lastError: string | null;

  @Column({ type: 'timestamptz', name: 'next_attempt_at', default: () => 'now()' })
  nextAttemptAt: Date;
}
