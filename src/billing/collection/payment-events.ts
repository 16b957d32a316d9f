/**
 * Billing's webhook handlers (Stripe's events, and the sandbox's in the same
 * shape), run by the payments inbox inside its processing transaction.
 * Order-tolerant: a refund or a dispute that arrives before the payment's own
 * success settles the invoice first (a charge that was refunded or disputed
 * was paid); a failure after a success changes nothing; a dispute closed
 * before it was opened opens and closes it; an event we cannot tie to an
 * invoice is retried by the inbox while a charge attempt still waits for its
 * answer (it may describe that payment), and otherwise logged and ignored
 * (a payment that is not one of ours).
 */
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Tx } from '../../platform/database/transaction';
import { feeFromStripeUnits, fromStripeAmount } from '../../platform/money/stripe-units';
import { failureCodeOf } from '../../payments/stripe-shapes';
import { StripeEventLike, WebhookHandlers } from '../../payments/webhooks/webhook-handlers';
import { isUuid } from '../../platform/errors/validation';
import { InvoiceStatus } from '../billing.entity';
import { InvoiceRepository } from '../invoices/invoice.repository';
import { CollectionRepository } from './collection.repository';
import { InvoiceSettlementService } from './invoice-settlement.service';
import { PaymentAttemptRepository } from './payment-attempt.repository';
import { DisputeInfo, PaymentReversalService } from './payment-reversal.service';

export class UnmatchedPaymentEventError extends Error {}

/** The fee of each balance transaction listed on a dispute (Stripe expands them on the dispute object). */
function disputeFees(list: unknown): { id: string; feeMinor: bigint; currency: string }[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((b): b is { id: string; fee: number; currency: string } => !!b && typeof b === 'object' && typeof b.id === 'string' && Number.isSafeInteger(b.fee) && typeof b.currency === 'string')
    .map((b) => ({ id: b.id, feeMinor: feeFromStripeUnits(b.fee, b.currency), currency: b.currency.toUpperCase() }));
}

@Injectable()
export class PaymentEvents implements OnModuleInit {
  private readonly log = new Logger('PaymentEvents');

  constructor(
    private readonly handlers: WebhookHandlers,
    private readonly settlement: InvoiceSettlementService,
    private readonly reversals: PaymentReversalService,
    private readonly invoices: InvoiceRepository,
    private readonly collections: CollectionRepository,
    private readonly attempts: PaymentAttemptRepository,
  ) {}

  onModuleInit(): void {
    this.handlers.on('payment_intent.succeeded', (tx, e) => this.succeeded(tx, e));
    this.handlers.on('payment_intent.payment_failed', (tx, e) => this.failed(tx, e));
    this.handlers.on('charge.refunded', (tx, e) => this.refunded(tx, e));
    this.handlers.on('charge.dispute.created', (tx, e) => this.disputeCreated(tx, e));
    this.handlers.on('charge.dispute.closed', (tx, e) => this.disputeClosed(tx, e));
  }

  private async succeeded(tx: Tx, e: StripeEventLike): Promise<void> {
    const pi = e.data.object;
    const invoiceId = await this.invoiceIdFor(tx, { paymentIntentId: pi.id, metadataInvoiceId: pi.metadata?.invoice_id });
    if (!invoiceId) return this.notOurs(e, pi.id);
    await this.settlement.linkAttempt(tx, pi.metadata?.attempt_id, pi.id);
    // The processing fee is read by the collection job's fee sweep (no processor call inside a transaction).
    await this.settlement.settle(tx, invoiceId, { paymentIntentId: pi.id, chargeId: typeof pi.latest_charge === 'string' ? pi.latest_charge : pi.latest_charge?.id ?? null });
  }

  private async failed(tx: Tx, e: StripeEventLike): Promise<void> {
    const pi = e.data.object;
    const invoiceId = await this.invoiceIdFor(tx, { paymentIntentId: pi.id, metadataInvoiceId: pi.metadata?.invoice_id });
    if (!invoiceId) return this.notOurs(e, pi.id);
    await this.settlement.linkAttempt(tx, pi.metadata?.attempt_id, pi.id);
    const err = pi.last_payment_error ?? {};
    await this.settlement.recordFailure(tx, invoiceId, { code: failureCodeOf(err.code ?? null, err.decline_code ?? null), message: String(err.message ?? 'payment failed') }, pi.id);
  }

  private async refunded(tx: Tx, e: StripeEventLike): Promise<void> {
    const charge = e.data.object;
    const invoiceId = await this.requireInvoice(tx, e, { chargeId: charge.id, paymentIntentId: charge.payment_intent, metadataInvoiceId: charge.metadata?.invoice_id });
    if (!invoiceId) return this.notOurs(e, charge.id);
    await this.ensureSettled(tx, invoiceId, charge.payment_intent, charge.id);
    const refunded = fromStripeAmount(charge.amount_refunded, charge.currency);
    await this.reversals.applyRefundedTotal(tx, invoiceId, refunded, { source: 'PROCESSOR', refundId: null });
  }

  private async disputeCreated(tx: Tx, e: StripeEventLike): Promise<void> {
    const found = await this.dispute(tx, e);
    if (!found) return this.notOurs(e, e.data.object.id);
    await this.reversals.disputeOpened(tx, found.invoiceId, found.info);
  }

  private async disputeClosed(tx: Tx, e: StripeEventLike): Promise<void> {
    const status = String(e.data.object.status);
    // warning_closed: an inquiry that never became a chargeback — no money moved, as if won.
    const outcome = status === 'lost' ? 'lost' : status === 'won' || status === 'warning_closed' ? 'won' : null;
    if (!outcome) {
      this.log.warn({ eventId: e.id, status }, 'dispute closed with an unknown status; ignored');
      return;
    }
    const found = await this.dispute(tx, e);
    if (!found) return this.notOurs(e, e.data.object.id);
    await this.reversals.disputeClosed(tx, found.invoiceId, found.info, outcome);
  }

  private async dispute(tx: Tx, e: StripeEventLike): Promise<{ invoiceId: string; info: DisputeInfo } | null> {
    const d = e.data.object;
    const chargeId = typeof d.charge === 'string' ? d.charge : d.charge?.id;
    const paymentIntentId = typeof d.payment_intent === 'string' ? d.payment_intent : d.payment_intent?.id ?? null;
    const invoiceId = await this.requireInvoice(tx, e, { chargeId, paymentIntentId, metadataInvoiceId: d.metadata?.invoice_id });
    if (!invoiceId) return null;
    await this.ensureSettled(tx, invoiceId, paymentIntentId, chargeId);
    return {
      invoiceId,
      info: {
        disputeId: d.id,
        chargeId,
        amountMinor: fromStripeAmount(d.amount, d.currency),
        currency: String(d.currency).toUpperCase(),
        reason: d.reason ?? null,
        feeTransactions: disputeFees(d.balance_transactions),
      },
    };
  }

  /** A refunded or disputed charge was paid: settle the invoice if its success has not arrived yet. */
  private async ensureSettled(tx: Tx, invoiceId: string, paymentIntentId: string | null, chargeId: string | null): Promise<void> {
    const inv = await this.invoices.byId(tx, invoiceId);
    if (inv?.status === InvoiceStatus.PAID) return;
    if (!paymentIntentId) throw new UnmatchedPaymentEventError(`invoice ${invoiceId} is not settled and the event names no payment intent`);
    await this.settlement.settle(tx, invoiceId, { paymentIntentId, chargeId });
  }

  private async requireInvoice(
    tx: Tx,
    e: StripeEventLike,
    ref: { chargeId?: string | null; paymentIntentId?: string | null; metadataInvoiceId?: string | null },
  ): Promise<string | null> {
    const id = await this.invoiceIdFor(tx, ref);
    if (id) return id;
    // Ours but not recorded yet only if a charge attempt is still waiting for its answer:
    // then the inbox retries it with backoff; otherwise the payment is not one of ours.
    if (await this.attempts.anyUnanswered(tx)) throw new UnmatchedPaymentEventError(`${e.type} ${e.id}: no invoice for charge ${ref.chargeId ?? '-'} / payment ${ref.paymentIntentId ?? '-'} yet`);
    return null;
  }

  /** Finds our invoice for a processor object: by charge, then payment intent, then our metadata. */
  private async invoiceIdFor(
    tx: Tx,
    ref: { chargeId?: string | null; paymentIntentId?: string | null; metadataInvoiceId?: string | null },
  ): Promise<string | null> {
    if (ref.chargeId) {
      const id = await this.collections.invoiceOfCharge(tx, ref.chargeId);
      if (id) return id;
    }
    if (ref.paymentIntentId) {
      const id = (await this.attempts.invoiceOfIntent(tx, ref.paymentIntentId)) ?? (await this.collections.invoiceOfIntent(tx, ref.paymentIntentId));
      if (id) return id;
    }
    const id = ref.metadataInvoiceId;
    if (isUuid(id) && (await this.invoices.exists(tx, id))) return id;
    return null;
  }

  private notOurs(e: StripeEventLike, objectId: string): void {
    this.log.warn({ eventId: e.id, type: e.type, objectId }, 'payment event for no invoice of ours; ignored');
  }
}
