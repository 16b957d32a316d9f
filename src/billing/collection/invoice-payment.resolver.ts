import { Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { moneyOutput } from '../../ledger/dto/money.output';
import { Database } from '../../platform/database/transaction';
import { InvoicePaymentOutput } from '../dto/collection.output';
import { InvoiceOutput } from '../dto/invoice.output';

/** Invoice.payment: visible to whoever may read the invoice (the invoice query authorizes). */
@Resolver(() => InvoiceOutput)
export class InvoicePaymentResolver {
  constructor(private readonly db: Database) {}

  @ResolveField('payment', () => InvoicePaymentOutput)
  async payment(@Parent() invoice: InvoiceOutput): Promise<InvoicePaymentOutput> {
    const em = this.db.reader;
    const [c]: {
      payment_intent_id: string | null; charge_id: string | null; failures: number; last_failure_code: string | null;
      next_attempt_at: Date | null; processing_fee_minor: string | null; processing_fee_currency: string | null;
    }[] = await em.query(
      `SELECT payment_intent_id, charge_id, failures, last_failure_code, next_attempt_at, processing_fee_minor::text, processing_fee_currency
         FROM invoice_collections WHERE invoice_id = $1`,
      [invoice.id],
    );
    const [{ n }]: { n: number }[] = await em.query(`SELECT count(*)::int AS n FROM invoice_payment_attempts WHERE invoice_id = $1`, [invoice.id]);
    const disputes: { dispute_id: string; status: string; amount_minor: string; currency: string; reason: string | null; opened_at: Date; closed_at: Date | null }[] =
      await em.query(
        `SELECT dispute_id, status, amount_minor::text, currency, reason, opened_at, closed_at FROM invoice_disputes WHERE invoice_id = $1 ORDER BY opened_at`,
        [invoice.id],
      );
    return {
      paymentIntentId: c?.payment_intent_id ?? null,
      chargeId: c?.charge_id ?? null,
      attempts: n,
      failures: c?.failures ?? 0,
      lastFailureCode: c?.last_failure_code ?? null,
      nextAttemptAt: c?.next_attempt_at ?? null,
      processingFee: c?.processing_fee_minor != null ? moneyOutput(BigInt(c.processing_fee_minor), c.processing_fee_currency!.trim()) : null,
      disputes: disputes.map((d) => ({
        id: d.dispute_id,
        status: d.status,
        amount: moneyOutput(BigInt(d.amount_minor), d.currency.trim()),
        reason: d.reason,
        openedAt: d.opened_at,
        closedAt: d.closed_at,
      })),
    };
  }
}
