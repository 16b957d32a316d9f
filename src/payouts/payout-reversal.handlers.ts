/**
 * `transfer.reversed` (a platform event: transfers are the platform's own
 * objects, so it arrives on the platform's webhook endpoint, or from the
 * sandbox). The event only says "read me again": the payout is flagged in the
 * inbox's transaction and, once that has committed, the transfer is read from
 * the processor and every reversal not yet booked is booked — duplicated or
 * reordered events, and the admin's own booking of the same reversal, book
 * nothing twice. A failed read is retried by the sweep (PayoutReversalSyncJob).
 */
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { StripeEventLike, WebhookHandlers } from '../payments/webhooks/webhook-handlers';
import { afterCommit, Tx } from '../platform/database/transaction';
import { PayoutReversalsService } from './payout-reversals.service';

@Injectable()
export class PayoutReversalHandlers implements OnModuleInit {
  private readonly log = new Logger('PayoutReversalEvents');

  constructor(
    private readonly handlers: WebhookHandlers,
    private readonly reversals: PayoutReversalsService,
  ) {}

  onModuleInit(): void {
    this.handlers.on('transfer.reversed', (tx, event) => this.transferReversed(tx, event));
  }

  async transferReversed(tx: Tx, event: StripeEventLike): Promise<void> {
    const payoutId = await this.reversals.transferReversed(tx, event.data.object ?? {});
    if (!payoutId) {
      this.log.warn({ eventId: event.id, transferId: event.data.object?.id }, 'transfer.reversed for no payout of ours (or its transfer is not recorded yet): ignored');
      return;
    }
    afterCommit(tx, async () => {
      try {
        await this.reversals.syncReversals(payoutId);
      } catch (err) {
        this.log.warn({ eventId: event.id, payoutId, err }, 'reading the reversed transfer failed; the sweep will retry');
      }
    });
  }
}
