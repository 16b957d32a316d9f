/**
 * setup_intent.succeeded (Stripe's and the sandbox's): the saved payment
 * method becomes the customer's default. Order-tolerant: the setup created
 * last wins (by the SetupIntent's creation time, so an older setup's late
 * event does not replace a newer one); two setups created within the same
 * second (Stripe's resolution) are told apart by processing order, the last
 * processed wins.
 */
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Tx } from '../platform/database/transaction';
import { PaymentsRepository } from './payments.repository';
import { StripeEventLike, WebhookHandlers } from './webhooks/webhook-handlers';

const idOf = (v: unknown): string | null =>
  typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string' ? (v as { id: string }).id : null;

@Injectable()
export class PaymentMethodHandler implements OnModuleInit {
  private readonly log = new Logger('PaymentMethods');

  constructor(
    private readonly handlers: WebhookHandlers,
    private readonly customers: PaymentsRepository,
  ) {}

  onModuleInit(): void {
    this.handlers.on('setup_intent.succeeded', (tx, event) => this.setupSucceeded(tx, event));
  }

  async setupSucceeded(tx: Tx, event: StripeEventLike): Promise<void> {
    const intent = event.data.object as { id?: unknown; customer?: unknown; payment_method?: unknown; created?: unknown };
    const setupIntentId = idOf(intent);
    const customerId = idOf(intent.customer);
    const paymentMethodId = idOf(intent.payment_method);
    const created = typeof intent.created === 'number' ? intent.created : event.created;
    if (!setupIntentId || !customerId || !paymentMethodId) {
      this.log.warn({ eventId: event.id }, 'setup_intent.succeeded without a customer or payment method: nothing to save');
      return;
    }
    const updated = await this.customers.saveDefaultPaymentMethod(tx, { customerId, paymentMethodId, setupIntentId, createdSeconds: created });
    if (updated === 0) this.log.log({ eventId: event.id, customerId, setupIntentId }, 'setup ignored: unknown customer or a newer setup already saved');
  }
}
