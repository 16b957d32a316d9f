/**
 * Charging invoices. An OPEN invoice is charged off session with
 * the distiller's saved payment method; the idempotency key is derived from
 * the invoice and the attempt (`invoice:<id>:attempt:<n>`).
 *
 * Crash safety, in three steps with no transaction open during the processor
 * call: (1) the attempt row with its key is committed (or an unfinished one
 * is resumed, under a short lease so two workers never call for it at once);
 * (2) the processor is called; (3) the answer is recorded — settled, failed
 * (retry scheduled or written off), or still pending (asked again later with
 * retrievePaymentIntent). A crash between (2) and (3) leaves the attempt
 * PENDING: the next run calls again with the same key, the processor replays
 * the same PaymentIntent, and one charge exists. Webhooks for the same
 * payment may arrive before (3): every step is idempotent.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AccessService } from '../../identity/access.service';
import type { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { ConflictError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { PaymentsUnavailableError } from '../../payments/payments.errors';
import { PAYMENTS_PORT, PaymentIntentResult, PaymentsPort } from '../../payments/payments.port';
import { PaymentsService } from '../../payments/payments.service';
import { InvoiceStatus } from '../billing.entity';
import { InvoiceRepository } from '../invoices/invoice.repository';
import { CollectionRepository } from './collection.repository';
import { InvoiceSettlementService } from './invoice-settlement.service';
import { AttemptRow, PaymentAttemptRepository } from './payment-attempt.repository';
import { Clock } from '../../platform/clock/clock';

/** How long one worker owns an attempt while it calls the processor. */
const LEASE_SECONDS = 120;
/** After an unknown outcome (network, processor 5xx): ask again this soon. */
const UNKNOWN_RETRY_SECONDS = 300;

export type CollectOutcome =
  | { kind: 'paid'; invoiceId: string; paymentIntentId: string }
  | { kind: 'already-paid'; invoiceId: string }
  | { kind: 'failed'; invoiceId: string; code: string; message: string; nextAttemptAt: Date | null; uncollectible: boolean }
  | { kind: 'pending'; invoiceId: string; reason: string }
  | { kind: 'skipped'; invoiceId: string; reason: string };

@Injectable()
export class CollectionService {
  private readonly log = new Logger('Collection');

  constructor(
    private readonly db: Database,
    @Inject(PAYMENTS_PORT) private readonly port: PaymentsPort,
    private readonly payments: PaymentsService,
    private readonly settlement: InvoiceSettlementService,
    private readonly access: AccessService,
    private readonly invoices: InvoiceRepository,
    private readonly collections: CollectionRepository,
    private readonly attempts: PaymentAttemptRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * The distiller pays now (e.g. after saving a new card for an
   * UNCOLLECTIBLE invoice): members with write access; others NOT_FOUND.
   */
  async payInvoice(principal: Principal, invoiceId: string): Promise<CollectOutcome> {
    assertUuid('id', invoiceId);
    const inv = await this.invoices.byId(this.db.reader, invoiceId);
    if (!inv) throw new NotFoundError('Invoice', invoiceId);
    await this.access.requireOrganization(this.db.reader, principal, inv.distillerOrganizationId, 'write', { entity: 'Invoice', id: invoiceId });
    if (inv.status === InvoiceStatus.PAID) return { kind: 'already-paid', invoiceId };
    if (inv.status !== InvoiceStatus.OPEN && inv.status !== InvoiceStatus.UNCOLLECTIBLE) {
      throw new ConflictError(`Invoice ${inv.number} is ${inv.status} and cannot be paid`, { status: inv.status });
    }
    return this.collect(invoiceId, { includeUncollectible: true });
  }

  /** Charges every OPEN invoice whose (first or next) attempt is due; returns what happened to each. */
  async collectDue(limit = 100): Promise<{ attempted: number; paid: number; failed: number; pending: number }> {
    const due = await this.collections.dueInvoiceIds(this.db.reader, limit, this.clock.now());
    const out = { attempted: 0, paid: 0, failed: 0, pending: 0 };
    for (const id of due) {
      const r = await this.collect(id, { includeUncollectible: false }).catch((err: unknown) => {
        this.log.error({ err, invoiceId: id }, 'collection run failed for an invoice');
        return null;
      });
      if (!r || r.kind === 'skipped') continue;
      out.attempted++;
      if (r.kind === 'paid' || r.kind === 'already-paid') out.paid++;
      else if (r.kind === 'failed') out.failed++;
      else out.pending++;
    }
    return out;
  }

  /** One collection step for one invoice (see the file comment). */
  async collect(invoiceId: string, opts: { includeUncollectible: boolean }): Promise<CollectOutcome> {
    const customer = await this.customerOf(invoiceId);
    const claim = await this.db.transaction(async (tx) => {
      const inv = await this.invoices.byId(tx, invoiceId, { lock: true });
      if (!inv) throw new NotFoundError('Invoice', invoiceId);
      if (inv.status === InvoiceStatus.PAID) return { kind: 'already-paid' as const };
      const collectable = inv.status === InvoiceStatus.OPEN || (opts.includeUncollectible && inv.status === InvoiceStatus.UNCOLLECTIBLE);
      if (!collectable || inv.totalMinor <= 0n) return { kind: 'skip' as const, reason: `invoice is ${inv.status}` };
      const pending = await this.attempts.pendingOf(tx, inv.id);
      if (pending?.leased) return { kind: 'skip' as const, reason: 'another worker is charging this invoice' };
      if (pending) {
        await this.attempts.lease(tx, pending.id, LEASE_SECONDS);
        return { kind: 'attempt' as const, attempt: pending as AttemptRow, number: inv.number, org: inv.distillerOrganizationId };
      }
      if (!customer?.defaultPaymentMethodId) {
        const failure = { code: 'payment_method_missing', message: 'No saved payment method: add one with createPaymentSetup' };
        // An UNCOLLECTIBLE invoice paid on request without a card: nothing to record, just say so.
        if (inv.status !== InvoiceStatus.OPEN) return { kind: 'no-method' as const, failure, outcome: null };
        return { kind: 'no-method' as const, failure, outcome: await this.settlement.recordFailure(tx, inv.id, failure, null) };
      }
      const attempt = await this.attempts.insertLeased(tx, {
        invoiceId: inv.id,
        amountMinor: inv.totalMinor - inv.amountPaidMinor,
        currency: inv.currency,
        leaseSeconds: LEASE_SECONDS,
      });
      return { kind: 'attempt' as const, attempt, number: inv.number, org: inv.distillerOrganizationId };
    });

    if (claim.kind === 'already-paid') return { kind: 'already-paid', invoiceId };
    if (claim.kind === 'skip') return { kind: 'skipped', invoiceId, reason: claim.reason };
    if (claim.kind === 'no-method') {
      const o = claim.outcome;
      return {
        kind: 'failed',
        invoiceId,
        ...claim.failure,
        nextAttemptAt: o?.kind === 'retry-scheduled' ? o.nextAttemptAt : null,
        uncollectible: o?.kind === 'uncollectible',
      };
    }

    const { attempt } = claim;
    if (!attempt.payment_intent_id && !customer) {
      // The customer disappeared (e.g. payments switched between sandbox and Stripe): this attempt cannot be sent.
      const failure = { code: 'payment_method_missing', message: 'No customer at the payment processor: add a payment method with createPaymentSetup' };
      const outcome = await this.db.transaction(async (tx) => {
        await this.attempts.markFailed(tx, attempt.id, failure);
        return this.settlement.recordFailure(tx, invoiceId, failure, null);
      });
      return { kind: 'failed', invoiceId, ...failure, nextAttemptAt: outcome.kind === 'retry-scheduled' ? outcome.nextAttemptAt : null, uncollectible: outcome.kind === 'uncollectible' };
    }
    let result: PaymentIntentResult;
    try {
      result = attempt.payment_intent_id
        ? await this.port.retrievePaymentIntent(attempt.payment_intent_id)
        : await this.port.chargeOffSession({
            customerId: customer!.customerId,
            paymentMethodId: customer!.defaultPaymentMethodId,
            amountMinor: BigInt(attempt.amount_minor),
            currency: attempt.currency,
            idempotencyKey: attempt.idempotency_key,
            description: `Beiming invoice ${claim.number}`,
            metadata: { invoice_id: invoiceId, invoice_number: claim.number, attempt_id: attempt.id, distiller_organization_id: claim.org },
          });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code = err instanceof PaymentsUnavailableError ? err.code : 'processor_error';
      // Outcome unknown: keep the attempt PENDING (same key next time) and ask again soon.
      await this.db.transaction(async (tx) => {
        await this.attempts.release(tx, attempt.id, message);
        await this.collections.askAgainIn(tx, invoiceId, UNKNOWN_RETRY_SECONDS, this.clock.now());
      });
      this.log.warn({ invoiceId, attempt: attempt.attempt_no, code, message }, 'charge outcome unknown; will ask again with the same key');
      return { kind: 'pending', invoiceId, reason: code };
    }
    return this.record(invoiceId, attempt, result);
  }

  private async record(invoiceId: string, attempt: AttemptRow, result: PaymentIntentResult): Promise<CollectOutcome> {
    if (result.status === 'succeeded') {
      const outcome = await this.db.transaction(async (tx) => {
        await this.settlement.linkAttempt(tx, attempt.id, result.id);
        return this.settlement.settle(tx, invoiceId, { paymentIntentId: result.id, chargeId: result.latestChargeId });
      });
      if (result.latestChargeId) await this.bookProcessingFee(invoiceId, result.latestChargeId);
      this.log.log({ invoiceId, paymentIntentId: result.id, outcome }, 'invoice charge succeeded');
      return outcome === 'not-collectable' ? { kind: 'skipped', invoiceId, reason: 'invoice not collectable' } : { kind: 'paid', invoiceId, paymentIntentId: result.id };
    }
    if (result.status === 'requires_payment_method' || result.status === 'canceled') {
      const failure = { code: result.failureCode ?? result.status, message: result.failureMessage ?? `payment ${result.status}` };
      const outcome = await this.db.transaction(async (tx) => {
        await this.settlement.linkAttempt(tx, attempt.id, result.id);
        return this.settlement.recordFailure(tx, invoiceId, failure, result.id);
      });
      this.log.warn({ invoiceId, paymentIntentId: result.id, code: failure.code, outcome: outcome.kind }, 'invoice charge failed');
      return {
        kind: 'failed',
        invoiceId,
        ...failure,
        nextAttemptAt: outcome.kind === 'retry-scheduled' ? outcome.nextAttemptAt : null,
        uncollectible: outcome.kind === 'uncollectible',
      };
    }
    // processing / requires_action …: the webhook (or the next sweep's retrieve) will tell.
    await this.db.transaction(async (tx) => {
      await this.settlement.linkAttempt(tx, attempt.id, result.id);
      await this.attempts.release(tx, attempt.id);
      await this.collections.askAgainIn(tx, invoiceId, UNKNOWN_RETRY_SECONDS, this.clock.now());
    });
    return { kind: 'pending', invoiceId, reason: result.status };
  }

  /** Stripe's fee for the charge, read after the payment is recorded (a processor call: never inside a transaction). */
  async bookProcessingFee(invoiceId: string, chargeId: string): Promise<void> {
    try {
      const fee = await this.port.processingFee(chargeId);
      if (fee) await this.db.transaction((tx) => this.settlement.recordProcessingFee(tx, invoiceId, fee));
    } catch (err) {
      // Not money owed by anyone: the fee sweep picks it up later.
      this.log.warn({ err, invoiceId, chargeId }, 'processing fee not read yet');
    }
  }

  /** Paid invoices whose processing fee is not booked yet (a webhook settled them, or the fee read failed). */
  async bookMissingProcessingFees(limit = 100): Promise<number> {
    const rows = await this.collections.missingProcessingFees(this.db.reader, limit);
    for (const r of rows) await this.bookProcessingFee(r.invoiceId, r.chargeId);
    return rows.length;
  }

  private async customerOf(invoiceId: string) {
    const inv = await this.invoices.byId(this.db.reader, invoiceId);
    if (!inv) throw new NotFoundError('Invoice', invoiceId);
    return this.payments.customerFor(inv.distillerOrganizationId);
  }
}
