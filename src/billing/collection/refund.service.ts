/**
 * Admin refunds (issue 5 §6). The refund is written as PENDING with its
 * idempotency key before the processor is called (no transaction open during
 * the call); a refund whose outcome is unknown stays PENDING and is resumed —
 * same key, same amount — by the next request for that invoice, so a retry
 * never refunds twice. Once the processor confirms, the invoice's refunded
 * total is reconciled (PaymentReversalService) — the processor's
 * charge.refunded webhook does the same, and whichever comes second finds
 * nothing left to book.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import type { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { BadInputError, ConflictError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { PaymentsUnavailableError } from '../../payments/payments.errors';
import { PAYMENTS_PORT, PaymentsPort, RefundResult } from '../../payments/payments.port';
import { InvoiceStatus } from '../billing.entity';
import { invoiceRow } from './collection.sql';
import { PaymentReversalService } from './payment-reversal.service';

export type RefundOutcome =
  | { kind: 'refunded'; invoiceId: string; refundId: string; amountMinor: bigint; currency: string }
  | { kind: 'pending'; invoiceId: string; refundId: string; amountMinor: bigint; currency: string; reason: string };

const MAX_REASON = 500;

interface RefundRow {
  id: string;
  idempotency_key: string;
  amount_minor: string;
  refunded_before_minor: string;
}

@Injectable()
export class RefundService {
  private readonly log = new Logger('Refunds');

  constructor(
    private readonly db: Database,
    @Inject(PAYMENTS_PORT) private readonly port: PaymentsPort,
    private readonly reversals: PaymentReversalService,
    private readonly audit: AuditService,
  ) {}

  /** Admins (the resolver checks). `amountMinor` null → everything not yet refunded. */
  async refundInvoice(principal: Principal, invoiceId: string, amountMinor: bigint | null, reason: string): Promise<RefundOutcome> {
    assertUuid('id', invoiceId);
    const text = reason.trim();
    if (text.length < 1 || text.length > MAX_REASON) throw new BadInputError([{ field: 'reason', message: `reason must be 1 to ${MAX_REASON} characters` }]);
    if (amountMinor !== null && amountMinor <= 0n) throw new BadInputError([{ field: 'amountMinor', message: 'amountMinor must be a positive integer (minor units)' }]);

    const claim = await this.db.transaction(async (tx) => {
      const inv = await invoiceRow(tx, invoiceId, true);
      if (!inv) throw new NotFoundError('Invoice', invoiceId);
      if (inv.status !== InvoiceStatus.PAID) throw new ConflictError(`Invoice ${inv.number} is ${inv.status}: only a PAID invoice can be refunded`, { status: inv.status });
      const [c]: { payment_intent_id: string | null }[] = await tx.query(`SELECT payment_intent_id FROM invoice_collections WHERE invoice_id = $1`, [inv.id]);
      if (!c?.payment_intent_id) throw new ConflictError(`Invoice ${inv.number} was not paid through the payment processor`);
      const [open]: { n: string }[] = await tx.query(`SELECT count(*)::text AS n FROM invoice_disputes WHERE invoice_id = $1 AND status = 'OPEN'`, [inv.id]);
      if (open.n !== '0') throw new ConflictError(`Invoice ${inv.number} has an open dispute: it cannot be refunded until the dispute closes`);
      const [pending]: RefundRow[] = await tx.query(
        `SELECT id, idempotency_key, amount_minor::text, refunded_before_minor::text FROM invoice_refunds WHERE invoice_id = $1 AND status = 'PENDING' AND source = 'ADMIN'`,
        [inv.id],
      );
      const remaining = BigInt(inv.amount_paid_minor) - BigInt(inv.amount_refunded_minor);
      if (pending) {
        // An earlier request's outcome is unknown: only that same refund may be asked again.
        if (amountMinor !== null && BigInt(pending.amount_minor) !== amountMinor) {
          throw new ConflictError(`A refund of ${pending.amount_minor} on invoice ${inv.number} is still in progress; retry it with the same amount`, {
            pendingAmountMinor: pending.amount_minor,
          });
        }
        return { refund: pending, inv, paymentIntentId: c.payment_intent_id };
      }
      const amount = amountMinor ?? remaining;
      if (remaining <= 0n) throw new ConflictError(`Invoice ${inv.number} is already fully refunded`);
      if (amount > remaining) {
        throw new BadInputError([{ field: 'amountMinor', message: `at most ${remaining} (minor units of ${inv.currency}) is left to refund on invoice ${inv.number}` }]);
      }
      const [{ n }]: { n: number }[] = await tx.query(`SELECT count(*)::int + 1 AS n FROM invoice_refunds WHERE invoice_id = $1`, [inv.id]);
      const [refund]: RefundRow[] = await tx.query(
        `INSERT INTO invoice_refunds (invoice_id, source, idempotency_key, amount_minor, refunded_before_minor, reason, status, requested_by_user_id)
         VALUES ($1, 'ADMIN', $2, $3, $4, $5, 'PENDING', $6) RETURNING id, idempotency_key, amount_minor::text, refunded_before_minor::text`,
        [inv.id, `invoice:${inv.id}:refund:${n}`, amount.toString(), inv.amount_refunded_minor, text, principal.kind === 'user' ? principal.userId : null],
      );
      await this.audit.record(tx, principal, {
        action: 'billing.invoice.refund_requested',
        targetType: 'Invoice',
        targetId: inv.id,
        organizationId: inv.distiller_organization_id,
        data: { number: inv.number, amountMinor: amount.toString(), currency: inv.currency, reason: text, refundId: refund.id },
      });
      return { refund, inv, paymentIntentId: c.payment_intent_id };
    });

    const { refund, inv } = claim;
    const amount = BigInt(refund.amount_minor);
    let result: RefundResult;
    try {
      result = await this.port.refund({
        paymentIntentId: claim.paymentIntentId,
        amountMinor: amount,
        currency: inv.currency,
        idempotencyKey: refund.idempotency_key,
        reason: 'requested_by_customer',
        metadata: { invoice_id: inv.id, invoice_number: inv.number, refund_id: refund.id },
      });
    } catch (err) {
      if (err instanceof PaymentsUnavailableError && !err.retryable) {
        await this.db.transaction((tx) =>
          tx.query(`UPDATE invoice_refunds SET status = 'FAILED', failure_message = $2, completed_at = now() WHERE id = $1`, [refund.id, err.message.slice(0, 500)]),
        );
        throw new ConflictError(`The payment processor refused the refund: ${err.message}`, { processorCode: err.code });
      }
      this.log.warn({ err, invoiceId: inv.id, refundId: refund.id }, 'refund outcome unknown; ask again to resume it with the same key');
      return { kind: 'pending', invoiceId: inv.id, refundId: refund.id, amountMinor: amount, currency: inv.currency, reason: 'processor unavailable' };
    }
    if (result.status === 'failed' || result.status === 'canceled') {
      await this.db.transaction((tx) =>
        tx.query(`UPDATE invoice_refunds SET status = 'FAILED', processor_refund_id = $2, failure_message = $3, completed_at = now() WHERE id = $1`, [
          refund.id,
          result.id,
          `processor answered ${result.status}`,
        ]),
      );
      throw new ConflictError(`The payment processor did not refund (status ${result.status})`, { processorRefundId: result.id });
    }
    if (result.status !== 'succeeded') {
      await this.db.transaction((tx) => tx.query(`UPDATE invoice_refunds SET processor_refund_id = $2 WHERE id = $1`, [refund.id, result.id]));
      return { kind: 'pending', invoiceId: inv.id, refundId: refund.id, amountMinor: amount, currency: inv.currency, reason: result.status };
    }
    await this.db.transaction(async (tx) => {
      const [[done]] = (await tx.query(
        `UPDATE invoice_refunds SET status = 'SUCCEEDED', processor_refund_id = $2, completed_at = now() WHERE id = $1 AND status = 'PENDING' RETURNING id`,
        [refund.id, result.id],
      )) as [{ id: string }[], number];
      if (!done) return;
      // At least this much is refunded now; if the webhook already booked it, nothing is left to book.
      await this.reversals.applyRefundedTotal(tx, inv.id, BigInt(refund.refunded_before_minor) + amount, { source: 'ADMIN', refundId: result.id });
    });
    return { kind: 'refunded', invoiceId: inv.id, refundId: refund.id, amountMinor: amount, currency: inv.currency };
  }
}
