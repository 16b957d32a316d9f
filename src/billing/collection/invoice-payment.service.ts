/**
 * How collection of invoices stands (their payment, attempts, processing fee
 * and disputes), for invoices the caller could already read. Many invoices
 * at once: three queries whatever their number.
 */
import { Injectable } from '@nestjs/common';
import { Database } from '../../platform/database/transaction';
import { CollectionRepository } from './collection.repository';
import { PaymentAttemptRepository } from './payment-attempt.repository';

export interface InvoiceDispute {
  id: string;
  status: string;
  amountMinor: bigint;
  currency: string;
  reason: string | null;
  openedAt: Date;
  closedAt: Date | null;
}

export interface InvoicePayment {
  paymentIntentId: string | null;
  chargeId: string | null;
  attempts: number;
  failures: number;
  lastFailureCode: string | null;
  nextAttemptAt: Date | null;
  processingFee: { amountMinor: bigint; currency: string } | null;
  disputes: InvoiceDispute[];
}

@Injectable()
export class InvoicePaymentService {
  constructor(
    private readonly db: Database,
    private readonly collections: CollectionRepository,
    private readonly attempts: PaymentAttemptRepository,
  ) {}

  /** One entry per id, in order. */
  async paymentsOf(ids: readonly string[]): Promise<InvoicePayment[]> {
    const em = this.db.reader;
    const [collections, attemptsOf, disputes] = await Promise.all([
      this.collections.collectionsOf(em, ids),
      this.attempts.countsOf(em, ids),
      this.collections.disputesOf(em, ids),
    ]);
    const byInvoice = new Map(collections.map((c) => [c.invoice_id, c]));
    const disputesOf = new Map<string, InvoiceDispute[]>();
    for (const d of disputes) {
      const list = disputesOf.get(d.invoice_id) ?? [];
      list.push({
        id: d.dispute_id,
        status: d.status,
        amountMinor: BigInt(d.amount_minor),
        currency: d.currency.trim(),
        reason: d.reason,
        openedAt: d.opened_at,
        closedAt: d.closed_at,
      });
      disputesOf.set(d.invoice_id, list);
    }
    return ids.map((id) => {
      const c = byInvoice.get(id);
      return {
        paymentIntentId: c?.payment_intent_id ?? null,
        chargeId: c?.charge_id ?? null,
        attempts: attemptsOf.get(id) ?? 0,
        failures: c?.failures ?? 0,
        lastFailureCode: c?.last_failure_code ?? null,
        nextAttemptAt: c?.next_attempt_at ?? null,
        processingFee: c?.processing_fee_minor != null ? { amountMinor: BigInt(c.processing_fee_minor), currency: c.processing_fee_currency!.trim() } : null,
        disputes: disputesOf.get(id) ?? [],
      };
    });
  }
}
