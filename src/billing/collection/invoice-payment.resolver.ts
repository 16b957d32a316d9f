/**
 * Invoice.payment: how collection of an invoice stands, for whoever may read
 * the invoice (the invoice queries authorize). Batched per request: a page of
 * invoices costs three queries, not three per invoice.
 */
import { Context, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { moneyOutput } from '../../ledger/dto/money.output';
import { Database } from '../../platform/database/transaction';
import { LoaderContext, loaderFor } from '../../platform/graphql/loaders';
import { InvoiceDisputeOutput, InvoicePaymentOutput } from '../dto/collection.output';
import { InvoiceOutput } from '../dto/invoice.output';

interface CollectionRow {
  invoice_id: string;
  payment_intent_id: string | null;
  charge_id: string | null;
  failures: number;
  last_failure_code: string | null;
  next_attempt_at: Date | null;
  processing_fee_minor: string | null;
  processing_fee_currency: string | null;
}

interface DisputeRow {
  invoice_id: string;
  dispute_id: string;
  status: string;
  amount_minor: string;
  currency: string;
  reason: string | null;
  opened_at: Date;
  closed_at: Date | null;
}

@Resolver(() => InvoiceOutput)
export class InvoicePaymentResolver {
  constructor(private readonly db: Database) {}

  @ResolveField('payment', () => InvoicePaymentOutput)
  payment(@Parent() invoice: InvoiceOutput, @Context() ctx: LoaderContext): Promise<InvoicePaymentOutput> {
    return loaderFor<string, InvoicePaymentOutput>(ctx, 'billing.invoicePayments', (ids) => this.load(ids)).load(invoice.id);
  }

  private async load(ids: readonly string[]): Promise<InvoicePaymentOutput[]> {
    const em = this.db.reader;
    const list = [...ids];
    const [collections, attempts, disputes]: [CollectionRow[], { invoice_id: string; n: number }[], DisputeRow[]] = await Promise.all([
      em.query(
        `SELECT invoice_id, payment_intent_id, charge_id, failures, last_failure_code, next_attempt_at, processing_fee_minor::text, processing_fee_currency
           FROM invoice_collections WHERE invoice_id = ANY($1::uuid[])`,
        [list],
      ),
      em.query(`SELECT invoice_id, count(*)::int AS n FROM invoice_payment_attempts WHERE invoice_id = ANY($1::uuid[]) GROUP BY invoice_id`, [list]),
      em.query(
        `SELECT invoice_id, dispute_id, status, amount_minor::text, currency, reason, opened_at, closed_at
           FROM invoice_disputes WHERE invoice_id = ANY($1::uuid[]) ORDER BY opened_at, dispute_id`,
        [list],
      ),
    ]);
    const byInvoice = new Map(collections.map((c) => [c.invoice_id, c]));
    const attemptsOf = new Map(attempts.map((a) => [a.invoice_id, a.n]));
    const disputesOf = new Map<string, InvoiceDisputeOutput[]>();
    for (const d of disputes) {
      const out = disputesOf.get(d.invoice_id) ?? [];
      out.push({
        id: d.dispute_id,
        status: d.status,
        amount: moneyOutput(BigInt(d.amount_minor), d.currency.trim()),
        reason: d.reason,
        openedAt: d.opened_at,
        closedAt: d.closed_at,
      });
      disputesOf.set(d.invoice_id, out);
    }
    return list.map((id) => {
      const c = byInvoice.get(id);
      return {
        paymentIntentId: c?.payment_intent_id ?? null,
        chargeId: c?.charge_id ?? null,
        attempts: attemptsOf.get(id) ?? 0,
        failures: c?.failures ?? 0,
        lastFailureCode: c?.last_failure_code ?? null,
        nextAttemptAt: c?.next_attempt_at ?? null,
        processingFee: c?.processing_fee_minor != null ? moneyOutput(BigInt(c.processing_fee_minor), c.processing_fee_currency!.trim()) : null,
        disputes: disputesOf.get(id) ?? [],
      };
    });
  }
}
