/**
 * Admin refunds. The refund is written as PENDING before the processor is
 * called (no transaction open during the call), with a processor idempotency
 * key derived from our ids, so asking the processor again never refunds twice.
 *
 * Each request is answered for itself. A request with the client's
 * idempotencyKey of an earlier one is that request asked again: same refund,
 * same answer (a PENDING one is resumed). Any other request while a refund of
 * the invoice is in flight is answered RefundInProgress and nothing is
 * written — refunds of one invoice run one after the other, each recording
 * what was refunded before it. (Without a key, the same amount and reason
 * asked again while that refund is PENDING is the same request retried.)
 *
 * Once the processor confirms, the invoice's refunded total is reconciled
 * (PaymentReversalService) — the processor's charge.refunded webhook does the
 * same, and whichever comes second finds nothing left to book.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import type { Principal } from '../../platform/auth/principal';
import { Database, Tx } from '../../platform/database/transaction';
import { BadInputError, ConflictError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { PaymentsUnavailableError } from '../../payments/payments.errors';
import { PAYMENTS_PORT, PaymentsPort, RefundResult } from '../../payments/payments.port';
import { InvoiceStatus } from '../billing.entity';
import { InvoiceRepository, InvoiceRow } from '../invoices/invoice.repository';
import { CollectionRepository } from './collection.repository';
import { PaymentReversalService } from './payment-reversal.service';
import { RefundRepository, RefundRow } from './refund.repository';

interface RefundFacts {
  invoiceId: string;
  refundId: string;
  amountMinor: bigint;
  currency: string;
}

export type RefundOutcome =
  | ({ kind: 'refunded' } & RefundFacts)
  | ({ kind: 'pending'; reason: string } & RefundFacts)
  /** Another refund of the invoice (these facts) is in flight: this request was not carried out. */
  | ({ kind: 'in-progress'; invoiceNumber: string } & RefundFacts);

export interface RefundRequest {
  invoiceId: string;
  /** null → everything not yet refunded. */
  amountMinor: bigint | null;
  reason: string;
  idempotencyKey: string | null;
}

const MAX_REASON = 500;
/** Printable ASCII without spaces, as Stripe's keys (which allow up to 255 characters). */
const CLIENT_KEY = /^[\x21-\x7e]{1,255}$/;

type Claim =
  | { kind: 'call'; refund: RefundRow; inv: InvoiceRow; paymentIntentId: string }
  | { kind: 'answered'; outcome: RefundOutcome };

@Injectable()
export class RefundService {
  private readonly log = new Logger('Refunds');

  constructor(
    private readonly db: Database,
    @Inject(PAYMENTS_PORT) private readonly port: PaymentsPort,
    private readonly reversals: PaymentReversalService,
    private readonly refunds: RefundRepository,
    private readonly invoices: InvoiceRepository,
    private readonly collections: CollectionRepository,
    private readonly audit: AuditService,
  ) {}

  /** Admins (the resolver checks). */
  async refundInvoice(principal: Principal, req: RefundRequest): Promise<RefundOutcome> {
    assertUuid('id', req.invoiceId);
    const text = req.reason.trim();
    if (text.length < 1 || text.length > MAX_REASON) throw new BadInputError([{ field: 'reason', message: `reason must be 1 to ${MAX_REASON} characters` }]);
    if (req.amountMinor !== null && req.amountMinor <= 0n) throw new BadInputError([{ field: 'amountMinor', message: 'amountMinor must be a positive integer (minor units)' }]);
    if (req.idempotencyKey !== null && !CLIENT_KEY.test(req.idempotencyKey)) {
      throw new BadInputError([{ field: 'idempotencyKey', message: 'idempotencyKey must be 1 to 255 printable ASCII characters without spaces' }]);
    }

    const claim = await this.db.transaction((tx) => this.claim(tx, principal, { ...req, reason: text }));
    if (claim.kind === 'answered') return claim.outcome;
    return this.callProcessor(claim.refund, claim.inv, claim.paymentIntentId);
  }

  /** Under the invoice's lock: the request's own refund (new, or the one its key names), or why there is none. */
  private async claim(tx: Tx, principal: Principal, req: RefundRequest): Promise<Claim> {
    const inv = await this.invoices.byId(tx, req.invoiceId, { lock: true });
    if (!inv) throw new NotFoundError('Invoice', req.invoiceId);
    const facts = (r: RefundRow): RefundFacts => ({ invoiceId: inv.id, refundId: r.id, amountMinor: BigInt(r.amount_minor), currency: inv.currency });

    if (req.idempotencyKey !== null) {
      const earlier = await this.refunds.byClientKey(tx, req.idempotencyKey);
      if (earlier) {
        if (earlier.invoice_id !== inv.id || earlier.reason !== req.reason || (req.amountMinor !== null && BigInt(earlier.amount_minor) !== req.amountMinor)) {
          throw new BadInputError([{ field: 'idempotencyKey', message: 'this idempotencyKey was used for a different refund request (invoice, amount or reason)' }]);
        }
        return this.replay(tx, earlier, inv, facts(earlier));
      }
    }

    if (inv.status !== InvoiceStatus.PAID) throw new ConflictError(`Invoice ${inv.number} is ${inv.status}: only a PAID invoice can be refunded`, { status: inv.status });
    const paymentIntentId = await this.collections.paymentIntentOf(tx, inv.id);
    if (!paymentIntentId) throw new ConflictError(`Invoice ${inv.number} was not paid through the payment processor`);
    if (await this.collections.hasOpenDispute(tx, inv.id)) throw new ConflictError(`Invoice ${inv.number} has an open dispute: it cannot be refunded until the dispute closes`);

    const pending = await this.refunds.pendingAdminRefund(tx, inv.id);
    if (pending) {
      const sameRequestAgain =
        req.idempotencyKey === null &&
        pending.client_idempotency_key === null &&
        pending.reason === req.reason &&
        (req.amountMinor === null || BigInt(pending.amount_minor) === req.amountMinor);
      if (sameRequestAgain) return { kind: 'call', refund: pending, inv, paymentIntentId };
      return { kind: 'answered', outcome: { kind: 'in-progress', invoiceNumber: inv.number, ...facts(pending) } };
    }

    const remaining = inv.amountPaidMinor - inv.amountRefundedMinor;
    const amount = req.amountMinor ?? remaining;
    if (remaining <= 0n) throw new ConflictError(`Invoice ${inv.number} is already fully refunded`);
    if (amount > remaining) {
      throw new BadInputError([{ field: 'amountMinor', message: `at most ${remaining} (minor units of ${inv.currency}) is left to refund on invoice ${inv.number}` }]);
    }
    let refund: RefundRow;
    try {
      refund = await this.refunds.insertPendingAdminRefund(tx, {
        invoiceId: inv.id,
        clientIdempotencyKey: req.idempotencyKey,
        amountMinor: amount,
        refundedBeforeMinor: inv.amountRefundedMinor,
        reason: req.reason,
        requestedByUserId: principal.kind === 'user' ? principal.userId : null,
      });
    } catch (err) {
      // A concurrent request with the same key on another invoice (the invoice lock serializes requests of one invoice).
      if ((err as { constraint?: string }).constraint === 'UQ_invoice_refunds_client_key') throw new ConflictError('A concurrent refund request used this idempotencyKey');
      throw err;
    }
    await this.audit.record(tx, principal, {
      action: 'billing.invoice.refund_requested',
      targetType: 'Invoice',
      targetId: inv.id,
      organizationId: inv.distillerOrganizationId,
      data: { number: inv.number, amountMinor: amount.toString(), currency: inv.currency, reason: req.reason, refundId: refund.id },
    });
    return { kind: 'call', refund, inv, paymentIntentId };
  }

  /** The answer an earlier request with this key got (or gets now, if it is still PENDING). */
  private async replay(tx: Tx, earlier: RefundRow, inv: InvoiceRow, facts: RefundFacts): Promise<Claim> {
    if (earlier.status === 'SUCCEEDED') return { kind: 'answered', outcome: { kind: 'refunded', ...facts } };
    if (earlier.status === 'FAILED') throw new ConflictError(`The payment processor did not refund: ${earlier.failure_message ?? 'failed'}`, { refundId: earlier.id });
    const paymentIntentId = await this.collections.paymentIntentOf(tx, inv.id);
    return { kind: 'call', refund: earlier, inv, paymentIntentId: paymentIntentId! };
  }

  private async callProcessor(refund: RefundRow, inv: InvoiceRow, paymentIntentId: string): Promise<RefundOutcome> {
    const amount = BigInt(refund.amount_minor);
    const facts: RefundFacts = { invoiceId: inv.id, refundId: refund.id, amountMinor: amount, currency: inv.currency };
    let result: RefundResult;
    try {
      result = await this.port.refund({
        paymentIntentId,
        amountMinor: amount,
        currency: inv.currency,
        idempotencyKey: refund.idempotency_key,
        reason: 'requested_by_customer',
        metadata: { invoice_id: inv.id, invoice_number: inv.number, refund_id: refund.id },
      });
    } catch (err) {
      if (err instanceof PaymentsUnavailableError && !err.retryable) {
        await this.db.transaction((tx) => this.refunds.markFailed(tx, refund.id, err.message, null));
        throw new ConflictError(`The payment processor refused the refund: ${err.message}`, { processorCode: err.code });
      }
      this.log.warn({ err, invoiceId: inv.id, refundId: refund.id }, 'refund outcome unknown; ask again to resume it with the same key');
      return { kind: 'pending', ...facts, reason: 'processor unavailable' };
    }
    if (result.status === 'failed' || result.status === 'canceled') {
      await this.db.transaction((tx) => this.refunds.markFailed(tx, refund.id, `processor answered ${result.status}`, result.id));
      throw new ConflictError(`The payment processor did not refund (status ${result.status})`, { processorRefundId: result.id });
    }
    if (result.status !== 'succeeded') {
      await this.db.transaction((tx) => this.refunds.setProcessorRefundId(tx, refund.id, result.id));
      return { kind: 'pending', ...facts, reason: result.status };
    }
    await this.db.transaction(async (tx) => {
      if (!(await this.refunds.markSucceeded(tx, refund.id, result.id))) return;
      // At least this much is refunded now; if the webhook already booked it, nothing is left to book.
      await this.reversals.applyRefundedTotal(tx, inv.id, BigInt(refund.refunded_before_minor) + amount, { source: 'ADMIN', refundId: result.id });
    });
    return { kind: 'refunded', ...facts };
  }
}
