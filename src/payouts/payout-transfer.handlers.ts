/**
 * `transfer.created` (the platform's own event, on the platform webhook
 * endpoint; the sandbox emits it too): records the transfer of a SENDING
 * payout named by its metadata — the same recording the executor does after
 * its request, so whichever comes first wins and the other is a no-op. A
 * crash between the transfer and its recording is thus repaired by the event
 * too. The transfer must match the payout (idempotency key, amount, currency,
 * destination); anything else is logged and ignored.
 */
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { StripeEventLike, WebhookHandlers } from '../payments/webhooks/webhook-handlers';
import { transferResult, TransferShape } from '../payments/transfer-shapes';
import type { Tx } from '../platform/database/transaction';
import { isUuid } from '../platform/validation/uuid';
import { PayoutExecutionRepository } from './payout-execution.repository';
import { PayoutExecutionTransitions } from './payout-execution.transitions';

@Injectable()
export class PayoutTransferHandlers implements OnModuleInit {
  private readonly log = new Logger('PayoutTransferEvents');

  constructor(
    private readonly handlers: WebhookHandlers,
    private readonly repo: PayoutExecutionRepository,
    private readonly transitions: PayoutExecutionTransitions,
  ) {}

  onModuleInit(): void {
    this.handlers.on('transfer.created', (tx, event) => this.transferCreated(tx, event));
  }

  async transferCreated(tx: Tx, event: StripeEventLike): Promise<void> {
    const object = event.data.object as TransferShape & { object?: string };
    const payoutId = object?.metadata?.payout_id;
    if (object?.object !== 'transfer' || typeof object.id !== 'string' || typeof payoutId !== 'string' || !isUuid(payoutId)) {
      this.log.log({ eventId: event.id }, 'transfer.created without a payout: ignored');
      return;
    }
    const payout = await this.repo.byId(tx, payoutId);
    let t;
    try {
      t = transferResult(object);
    } catch {
      this.log.warn({ eventId: event.id }, 'transfer.created with an unreadable amount: ignored');
      return;
    }
    if (
      !payout ||
      t.metadata.idempotency_key !== payout.idempotencyKey ||
      t.amountMinor !== payout.amountMinor ||
      t.currency !== payout.currency ||
      t.destinationAccountId !== payout.accountId
    ) {
      this.log.error({ alarm: 'payout_transfer_mismatch', eventId: event.id, transferId: t.id, payoutId }, 'ALARM: transfer.created names a payout it does not match: ignored');
      return;
    }
    const outcome = await this.transitions.record(tx, payoutId, t.id, t.createdAt, 'event');
    this.log.log({ eventId: event.id, payoutId, transferId: t.id, outcome }, 'transfer.created');
  }
}
