/**
 * What a payment outcome does to an invoice, inside the caller's transaction
 * (the collection run, or a webhook's inbox transaction). Idempotent and
 * order-tolerant: every entry point locks the invoice row first, a PAID
 * invoice never regresses, and the ledger's unique references make a repeat
 * write nothing.
 *
 * Settling a payment allocates it (DESIGN.md §4): per vendor, the sum of that
 * vendor's lines is split by the one allocation rule into the platform fee
 * (config or the vendor's override, in basis points) and the vendor's payable;
 * one ledger transaction records cash in, the receivable cleared, and
 * platform:billed → fees + payables. The allocation is kept so refunds and
 * disputes reverse it proportionally.
 */
import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Accounts } from '../../ledger/accounts';
import { LedgerService } from '../../ledger/ledger.service';
import { AgreementPaymentStatusService } from '../../licensing/agreement-payment-status.service';
import { AppConfig } from '../../platform/config/app-config';
import type { Principal } from '../../platform/auth/principal';
import type { Tx } from '../../platform/database/transaction';
import { ConflictError, NotFoundError } from '../../platform/errors/app-error';
import { isUuid } from '../../platform/errors/validation';
import { splitBps } from '../../platform/money/allocation';
import { InvoiceKind, InvoiceStatus } from '../billing.entity';
import { VendorFeeService } from '../vendor-fee.service';
import { invoiceRow, InvoiceRow } from './collection.sql';

export const INVOICE_PAID = 'INVOICE_PAID';
export const PROCESSING_FEE = 'PROCESSING_FEE';
export const INVOICE_VOIDED = 'INVOICE_VOIDED';

export interface PaymentRef {
  paymentIntentId: string;
  chargeId: string | null;
}

export type SettleOutcome = 'settled' | 'already-paid' | 'not-collectable';

export interface FailureInfo {
  code: string;
  message: string;
}

export type FailureOutcome =
  | { kind: 'retry-scheduled'; nextAttemptAt: Date; failures: number }
  | { kind: 'uncollectible'; suspendedAgreementIds: string[] }
  | { kind: 'ignored'; reason: string };

@Injectable()
export class InvoiceSettlementService {
  private readonly log = new Logger('Collection');

  constructor(
    private readonly ledger: LedgerService,
    private readonly fees: VendorFeeService,
    private readonly agreements: AgreementPaymentStatusService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  /** A successful payment of the invoice's amount due. */
  async settle(tx: Tx, invoiceId: string, payment: PaymentRef): Promise<SettleOutcome> {
    const inv = await invoiceRow(tx, invoiceId, true);
    if (!inv) throw new Error(`invoice ${invoiceId} not found`);
    await this.rememberPayment(tx, inv.id, payment);
    if (inv.status === InvoiceStatus.PAID) return 'already-paid';
    if (inv.status !== InvoiceStatus.OPEN && inv.status !== InvoiceStatus.UNCOLLECTIBLE) {
      // Money arrived for an invoice that cannot take it (VOID): kept on record for an admin to refund.
      this.log.error({ invoiceId, status: inv.status, paymentIntentId: payment.paymentIntentId }, 'payment succeeded for an invoice that is not collectable');
      return 'not-collectable';
    }
    const total = BigInt(inv.total_minor);
    const parts = await this.allocate(tx, inv);
    await this.ledger.post(tx, {
      reference: `invoice:${inv.id}:paid`,
      kind: INVOICE_PAID,
      description: `Invoice ${inv.number} paid`,
      lines: [
        { account: Accounts.platformCash, currency: inv.currency, amountMinor: total, memo: payment.paymentIntentId },
        { account: Accounts.distillerReceivable(inv.distiller_organization_id), currency: inv.currency, amountMinor: -total, memo: inv.number },
        { account: Accounts.platformBilled, currency: inv.currency, amountMinor: total, memo: inv.number },
        ...parts.filter((p) => p.amount > 0n).map((p) => ({ account: p.account, currency: inv.currency, amountMinor: -p.amount, memo: inv.number })),
      ],
      metadata: { invoiceId: inv.id, invoiceNumber: inv.number, paymentIntentId: payment.paymentIntentId, ...(payment.chargeId ? { chargeId: payment.chargeId } : {}) },
    });
    await tx.query(
      `INSERT INTO invoice_allocations (invoice_id, account, vendor_organization_id, currency, amount_minor, fee_bps, position)
       SELECT $1, * FROM unnest($2::text[], $3::uuid[], $4::text[], $5::bigint[], $6::int[], $7::int[])`,
      [
        inv.id,
        parts.map((p) => p.account),
        parts.map((p) => p.vendorOrganizationId),
        parts.map(() => inv.currency),
        parts.map((p) => p.amount.toString()),
        parts.map((p) => p.feeBps),
        parts.map((_, i) => i + 1),
      ],
    );
    await tx.query(`UPDATE invoices SET status = 'PAID', amount_paid_minor = total_minor, paid_at = now() WHERE id = $1`, [inv.id]);
    await tx.query(
      `UPDATE invoice_collections SET settled_at = now(), next_attempt_at = NULL, updated_at = now() WHERE invoice_id = $1`,
      [inv.id],
    );
    await tx.query(
      `UPDATE invoice_payment_attempts SET status = 'SUCCEEDED', completed_at = now(), claimed_until = NULL, charge_id = coalesce(charge_id, $2)
        WHERE invoice_id = $1 AND payment_intent_id = $3 AND status <> 'SUCCEEDED'`,
      [inv.id, payment.chargeId, payment.paymentIntentId],
    );
    await this.audit.record(tx, null, {
      action: 'billing.invoice.paid',
      targetType: 'Invoice',
      targetId: inv.id,
      organizationId: inv.distiller_organization_id,
      data: { number: inv.number, totalMinor: total.toString(), currency: inv.currency, paymentIntentId: payment.paymentIntentId, from: inv.status },
    });
    if (inv.kind === InvoiceKind.UPFRONT && inv.agreement_id) {
      await this.agreements.activatePaid(tx, inv.agreement_id, inv.number, null);
    }
    await this.reinstateIfSettledUp(tx, inv);
    return 'settled';
  }

  /**
   * A failed attempt: schedule the next one (config.collectionRetryHours after
   * the first failure), or after the last write the invoice off as
   * UNCOLLECTIBLE and suspend the distiller's agreements until it is paid.
   */
  async recordFailure(tx: Tx, invoiceId: string, failure: FailureInfo, paymentIntentId: string | null): Promise<FailureOutcome> {
    const inv = await invoiceRow(tx, invoiceId, true);
    if (!inv) throw new Error(`invoice ${invoiceId} not found`);
    if (paymentIntentId) {
      const [[attempt]] = (await tx.query(
        `UPDATE invoice_payment_attempts SET status = 'FAILED', completed_at = now(), claimed_until = NULL, failure_code = $2, failure_message = $3
          WHERE payment_intent_id = $1 AND status = 'PENDING' RETURNING id`,
        [paymentIntentId, failure.code, failure.message],
      )) as [{ id: string }[], number];
      // This attempt's failure was already counted (the charge's answer and its webhook both report it).
      if (!attempt) return { kind: 'ignored', reason: 'attempt already recorded' };
    }
    if (inv.status !== InvoiceStatus.OPEN) return { kind: 'ignored', reason: `invoice is ${inv.status}` };
    const [c]: { failures: number; first_failure_at: Date | null }[] = await tx.query(
      `INSERT INTO invoice_collections (invoice_id, failures, first_failure_at, last_failure_code, last_failure_message)
       VALUES ($1, 1, now(), $2, $3)
       ON CONFLICT (invoice_id) DO UPDATE SET failures = invoice_collections.failures + 1,
         first_failure_at = coalesce(invoice_collections.first_failure_at, now()),
         last_failure_code = excluded.last_failure_code, last_failure_message = excluded.last_failure_message, updated_at = now()
       RETURNING failures, first_failure_at`,
      [inv.id, failure.code, failure.message.slice(0, 500)],
    );
    const schedule = this.config.collectionRetryHours;
    if (c.failures <= schedule.length) {
      const next = new Date(new Date(c.first_failure_at!).getTime() + schedule[c.failures - 1] * 3_600_000);
      await tx.query(`UPDATE invoice_collections SET next_attempt_at = $2 WHERE invoice_id = $1`, [inv.id, next]);
      await this.audit.record(tx, null, {
        action: 'billing.invoice.payment_failed',
        targetType: 'Invoice',
        targetId: inv.id,
        organizationId: inv.distiller_organization_id,
        data: { number: inv.number, failures: c.failures, code: failure.code, nextAttemptAt: next.toISOString() },
      });
      return { kind: 'retry-scheduled', nextAttemptAt: next, failures: c.failures };
    }
    await tx.query(`UPDATE invoice_collections SET next_attempt_at = NULL WHERE invoice_id = $1`, [inv.id]);
    await tx.query(`UPDATE invoices SET status = 'UNCOLLECTIBLE' WHERE id = $1`, [inv.id]);
    const suspended = await this.agreements.suspendForNonPayment(tx, inv.distiller_organization_id, inv.number);
    await this.audit.record(tx, null, {
      action: 'billing.invoice.uncollectible',
      targetType: 'Invoice',
      targetId: inv.id,
      organizationId: inv.distiller_organization_id,
      data: { number: inv.number, failures: c.failures, code: failure.code, suspendedAgreementIds: suspended },
    });
    this.log.warn({ invoiceId: inv.id, number: inv.number, failures: c.failures, suspended: suspended.length }, 'invoice uncollectible: agreements suspended');
    return { kind: 'uncollectible', suspendedAgreementIds: suspended };
  }

  /** Stripe's fee on the charge: DR platform:processing, CR platform:cash (same currency only). */
  async recordProcessingFee(tx: Tx, invoiceId: string, fee: { feeMinor: bigint; currency: string }): Promise<boolean> {
    const inv = await invoiceRow(tx, invoiceId, true);
    if (!inv) return false;
    const [[row]] = (await tx.query(
      `UPDATE invoice_collections SET processing_fee_minor = $2, processing_fee_currency = $3, updated_at = now()
        WHERE invoice_id = $1 AND processing_fee_minor IS NULL RETURNING invoice_id`,
      [inv.id, fee.feeMinor.toString(), fee.currency],
    )) as [{ invoice_id: string }[], number];
    if (!row || fee.feeMinor === 0n) return false;
    if (fee.currency !== inv.currency) {
      // Settlement in another currency: our cash account is per charge currency; not booked (see README).
      this.log.warn({ invoiceId, chargeCurrency: inv.currency, feeCurrency: fee.currency }, 'processing fee in another currency not booked');
      return false;
    }
    await this.ledger.post(tx, {
      reference: `invoice:${inv.id}:processing-fee`,
      kind: PROCESSING_FEE,
      description: `Processing fee on the payment of invoice ${inv.number}`,
      lines: [
        { account: Accounts.platformProcessing, currency: inv.currency, amountMinor: fee.feeMinor, memo: inv.number },
        { account: Accounts.platformCash, currency: inv.currency, amountMinor: -fee.feeMinor, memo: inv.number },
      ],
      metadata: { invoiceId: inv.id, invoiceNumber: inv.number },
    });
    return true;
  }

  private async rememberPayment(tx: Tx, invoiceId: string, p: PaymentRef): Promise<void> {
    await tx.query(
      `INSERT INTO invoice_collections (invoice_id, payment_intent_id, charge_id) VALUES ($1, $2, $3)
       ON CONFLICT (invoice_id) DO UPDATE SET payment_intent_id = coalesce(invoice_collections.payment_intent_id, excluded.payment_intent_id),
         charge_id = coalesce(invoice_collections.charge_id, excluded.charge_id), updated_at = now()`,
      [invoiceId, p.paymentIntentId, p.chargeId],
    );
  }

  /**
   * Ties a processor PaymentIntent to our attempt (its metadata carries the
   * attempt id), whichever learns it first: the charge's answer or a webhook.
   */
  async linkAttempt(tx: Tx, attemptId: string | null | undefined, paymentIntentId: string): Promise<void> {
    if (!isUuid(attemptId)) return;
    await tx.query(
      `UPDATE invoice_payment_attempts SET payment_intent_id = $2
        WHERE id = $1 AND payment_intent_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM invoice_payment_attempts o WHERE o.payment_intent_id = $2)`,
      [attemptId, paymentIntentId],
    );
  }

  /** The fee and payable per vendor, by the one allocation rule (platform fee first, then vendors in line order). */
  private async allocate(tx: Tx, inv: InvoiceRow): Promise<{ account: string; vendorOrganizationId: string | null; amount: bigint; feeBps: number | null }[]> {
    const byVendor: { vendor: string; amount: string }[] = await tx.query(
      `SELECT vendor_organization_id AS vendor, sum(amount_minor)::text AS amount
         FROM invoice_lines WHERE invoice_id = $1 GROUP BY vendor_organization_id ORDER BY min(position)`,
      [inv.id],
    );
    let fees = 0n;
    const vendors: { account: string; vendorOrganizationId: string; amount: bigint; feeBps: number }[] = [];
    for (const v of byVendor) {
      const amount = BigInt(v.amount);
      if (amount < 0n) throw new Error(`invoice ${inv.number}: vendor ${v.vendor} lines sum to ${amount} < 0`);
      const feeBps = await this.fees.feeBpsFor(tx, v.vendor);
      const [fee, payable] = splitBps(amount, feeBps);
      fees += fee;
      vendors.push({ account: Accounts.vendorPayable(v.vendor), vendorOrganizationId: v.vendor, amount: payable, feeBps });
    }
    return [{ account: Accounts.platformFees, vendorOrganizationId: null, amount: fees, feeBps: null }, ...vendors];
  }

  /**
   * An admin voids an OPEN or UNCOLLECTIBLE invoice: nothing is owed any more
   * (the issue posting is reversed), an upfront fee counts as waived (its
   * agreement becomes ACTIVE), and a written-off invoice no longer keeps the
   * distiller's agreements suspended. Refused while a charge attempt's outcome
   * is unknown — that money may be on its way.
   */
  async voidInvoice(tx: Tx, invoiceId: string, actor: Principal, reason: string): Promise<void> {
    const inv = await invoiceRow(tx, invoiceId, true);
    if (!inv) throw new NotFoundError('Invoice', invoiceId);
    if (inv.status !== InvoiceStatus.OPEN && inv.status !== InvoiceStatus.UNCOLLECTIBLE) {
      throw new ConflictError(
        `Invoice ${inv.number} is ${inv.status}: only OPEN or UNCOLLECTIBLE invoices can be voided${inv.status === InvoiceStatus.PAID ? ' (refund a PAID one)' : ''}`,
        { status: inv.status },
      );
    }
    const [pending]: unknown[] = await tx.query(`SELECT 1 FROM invoice_payment_attempts WHERE invoice_id = $1 AND status = 'PENDING'`, [inv.id]);
    if (pending) throw new ConflictError(`Invoice ${inv.number} has a charge whose outcome is not known yet; try again once it is settled or failed`);
    await tx.query(`UPDATE invoices SET status = 'VOID', voided_at = now() WHERE id = $1`, [inv.id]);
    await tx.query(`UPDATE invoice_collections SET next_attempt_at = NULL, updated_at = now() WHERE invoice_id = $1`, [inv.id]);
    const total = BigInt(inv.total_minor);
    if (total > 0n) {
      await this.ledger.post(tx, {
        reference: `invoice:${inv.id}:voided`,
        kind: INVOICE_VOIDED,
        description: `Invoice ${inv.number} voided: ${reason}`.slice(0, 1000),
        lines: [
          { account: Accounts.platformBilled, currency: inv.currency, amountMinor: total, memo: inv.number },
          { account: Accounts.distillerReceivable(inv.distiller_organization_id), currency: inv.currency, amountMinor: -total, memo: inv.number },
        ],
        metadata: { invoiceId: inv.id, invoiceNumber: inv.number },
      });
    }
    await this.audit.record(tx, actor, {
      action: 'billing.invoice.voided',
      targetType: 'Invoice',
      targetId: inv.id,
      organizationId: inv.distiller_organization_id,
      data: { number: inv.number, from: inv.status, totalMinor: total.toString(), currency: inv.currency, reason },
    });
    if (inv.kind === InvoiceKind.UPFRONT && inv.agreement_id) await this.agreements.activatePaid(tx, inv.agreement_id, inv.number, actor, 'waived');
    if (inv.status === InvoiceStatus.UNCOLLECTIBLE) await this.reinstateIfSettledUp(tx, inv);
  }

  /** After a payment (or a void): when the distiller has nothing uncollectible left, its non-payment suspensions end. */
  private async reinstateIfSettledUp(tx: Tx, inv: InvoiceRow): Promise<void> {
    const [left]: { n: string }[] = await tx.query(
      `SELECT count(*)::text AS n FROM invoices WHERE distiller_organization_id = $1 AND status = 'UNCOLLECTIBLE'`,
      [inv.distiller_organization_id],
    );
    if (left.n === '0') await this.agreements.reinstateAfterPayment(tx, inv.distiller_organization_id, inv.number);
  }
}
