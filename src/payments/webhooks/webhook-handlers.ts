/**
 * The registry of webhook event handlers. Modules register at init
 * (`handlers.on('payment_intent.succeeded', …)`); the inbox runs every handler
 * of an event's type, in registration order, inside the one transaction in
 * which it also marks the event processed — so a handler's writes and "done"
 * commit together or not at all. Events come from Stripe and from the
 * sandbox alike, in Stripe's shape (amounts in Stripe's units: convert with
 * fromStripeAmount).
 *
 * Handlers must be idempotent and order-tolerant: the same event may be
 * processed again after a failure elsewhere in its transaction, and events
 * about one object arrive in any order. Re-read the current state (or compare
 * precedence) rather than trusting the order; never call the processor from a
 * handler (it runs inside a database transaction).
 */
import { Injectable } from '@nestjs/common';
import type { Tx } from '../../platform/database/transaction';

export interface StripeEventLike {
  id: string;
  type: string;
  /** Unix seconds. */
  created: number;
  livemode: boolean;
  /** Events of a connected account (Connect): its id. */
  account?: string;
  data: { object: any; previous_attributes?: Record<string, unknown> };
}

export type WebhookHandler = (tx: Tx, event: StripeEventLike) => Promise<void>;

@Injectable()
export class WebhookHandlers {
  private readonly byType = new Map<string, WebhookHandler[]>();

  on(type: string, handler: WebhookHandler): void {
    if (!/^[a-z_]+(\.[a-z_]+)+$/.test(type)) throw new Error(`not an event type: ${type}`);
    const list = this.byType.get(type) ?? [];
    list.push(handler);
    this.byType.set(type, list);
  }

  handlersFor(type: string): readonly WebhookHandler[] {
    return this.byType.get(type) ?? [];
  }

  get types(): string[] {
    return [...this.byType.keys()].sort();
  }
}
