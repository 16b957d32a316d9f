/**
 * What a payment outcome does to an invoice, inside the caller's transaction
 * (the collection run, or a webhook's inbox transaction). Idempotent and
 * order-tolerant: every entry point locks the invoice row first, a PAID
 * invoice never regresses, and the ledger's unique references make a repeat
 * write nothing.
 *
 * Settling a payment allocates it (the earnings module): per vendor, the
 * platform fee (config or the vendor's override, in basis points) is split off
 * the sum of its lines by the one allocation rule, and the vendor's share of
 * each model's lines runs down that model's lineage (the royalty cascade).
 * One ledger transaction records cash in, the receivable cleared, and
 * platform:billed → fee, vendor shares and royalties. The net per account is
 * kept so refunds and disputes reverse it — cascade included — proportionally.
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
import { InvoiceKind, InvoiceStatus } from '../billing.entity';
import { InvoiceRepository, InvoiceRow } from '../invoices/invoice.repository';
import { VendorFeeService } from '../vendor-fee.service';
import { CollectionRepository } from './collection.repository';
import { AllocatedPayment, PaymentAllocationService, PaymentToAllocate } from '../../earnings/allocation/payment-allocation.service';
import { PaymentAttemptRepository } from './payment-attempt.repository';
import { Clock } from '../../platform/clock/clock';
import { PoolSubscriptionService } from '../pool/pool-subscription.service';

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
    private readonly invoices: InvoiceRepository,
    private readonly collections: CollectionRepository,
    private readonly attempts: PaymentAttemptRepository,
    private readonly earnings: PaymentAllocationService,
    private readonly clock: Clock,
    private readonly pool: PoolSubscriptionService,
  ) {}

  /** A successful payment of the invoice's amount due. */
  async settle(tx: Tx, invoiceId: string, payment: PaymentRef): Promise<SettleOutcome> {
    const inv = await this.invoices.byId(tx, invoiceId, { lock: true });
    if (!inv) throw new Error(`invoice ${invoiceId} not found`);
    await this.collections.rememberPayment(tx, inv.id, payment.paymentIntentId, payment.chargeId);
    if (inv.status === InvoiceStatus.PAID) return 'already-paid';
    if (inv.status !== InvoiceStatus.OPEN && inv.status !== InvoiceStatus.UNCOLLECTIBLE) {
      // Money arrived for an invoice that cannot take it (VOID): kept on record for an admin to refund.
      this.log.error({ invoiceId, status: inv.status, paymentIntentId: payment.paymentIntentId }, 'payment succeeded for an invoice that is not collectable');
      return 'not-collectable';
    }
    const total = inv.totalMinor;
    const allocation = inv.kind === InvoiceKind.POOL ? this.poolAllocation(inv) : await this.allocate(tx, inv);
    await this.ledger.post(tx, {
      reference: `invoice:${inv.id}:paid`,
      kind: INVOICE_PAID,
      description: `Invoice ${inv.number} paid`,
      lines: [
        { account: Accounts.platformCash, currency: inv.currency, amountMinor: total, memo: payment.paymentIntentId },
        { account: Accounts.distillerReceivable(inv.distillerOrganizationId), currency: inv.currency, amountMinor: -total, memo: inv.number },
        { account: Accounts.platformBilled, currency: inv.currency, amountMinor: total, memo: inv.number },
        ...allocation.lines,
      ],
      metadata: { invoiceId: inv.id, invoiceNumber: inv.number, paymentIntentId: payment.paymentIntentId, ...(payment.chargeId ? { chargeId: payment.chargeId } : {}) },
    });
    await this.collections.insertAllocations(tx, inv.id, inv.currency, allocation.accounts);
    await this.invoices.markPaid(tx, inv.id, this.clock.now());
    await this.collections.markSettled(tx, inv.id, this.clock.now());
    await this.attempts.markSucceeded(tx, inv.id, payment.paymentIntentId, payment.chargeId);
    await this.audit.record(tx, null, {
      action: 'billing.invoice.paid',
      targetType: 'Invoice',
      targetId: inv.id,
      organizationId: inv.distillerOrganizationId,
      data: { number: inv.number, totalMinor: total.toString(), currency: inv.currency, paymentIntentId: payment.paymentIntentId, from: inv.status },
    });
    if (inv.kind === InvoiceKind.UPFRONT && inv.agreementId) {
      await this.agreements.activatePaid(tx, inv.agreementId, inv.number, null);
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
    const inv = await this.invoices.byId(tx, invoiceId, { lock: true });
    if (!inv) throw new Error(`invoice ${invoiceId} not found`);
    if (paymentIntentId) {
      // This attempt's failure was already counted (the charge's answer and its webhook both report it).
      if (!(await this.attempts.markFailedByIntent(tx, paymentIntentId, failure))) return { kind: 'ignored', reason: 'attempt already recorded' };
    }
    if (inv.status !== InvoiceStatus.OPEN) return { kind: 'ignored', reason: `invoice is ${inv.status}` };
    const c = await this.collections.countFailure(tx, inv.id, failure, this.clock.now());
    const schedule = this.config.collectionRetryHours;
    if (c.failures <= schedule.length) {
      const next = new Date(c.firstFailureAt.getTime() + schedule[c.failures - 1] * 3_600_000);
      await this.collections.setNextAttempt(tx, inv.id, next);
      await this.audit.record(tx, null, {
        action: 'billing.invoice.payment_failed',
        targetType: 'Invoice',
        targetId: inv.id,
        organizationId: inv.distillerOrganizationId,
        data: { number: inv.number, failures: c.failures, code: failure.code, nextAttemptAt: next.toISOString() },
      });
      return { kind: 'retry-scheduled', nextAttemptAt: next, failures: c.failures };
    }
    await this.collections.setNextAttempt(tx, inv.id, null);
    await this.invoices.markUncollectible(tx, inv.id);
    // Subscriptions before agreements, the order a pool renewal ending a subscription takes them in.
    const suspendedSubscriptions = await this.pool.suspendForNonPayment(tx, inv.distillerOrganizationId);
    const suspended = await this.agreements.suspendForNonPayment(tx, inv.distillerOrganizationId, inv.number);
    await this.audit.record(tx, null, {
      action: 'billing.invoice.uncollectible',
      targetType: 'Invoice',
      targetId: inv.id,
      organizationId: inv.distillerOrganizationId,
      data: { number: inv.number, failures: c.failures, code: failure.code, suspendedAgreementIds: suspended, suspendedPoolSubscriptionIds: suspendedSubscriptions },
    });
    this.log.warn({ invoiceId: inv.id, number: inv.number, failures: c.failures, suspended: suspended.length }, 'invoice uncollectible: agreements suspended');
    return { kind: 'uncollectible', suspendedAgreementIds: suspended };
  }

  /** Stripe's fee on the charge: DR platform:processing, CR platform:cash (same currency only). */
  async recordProcessingFee(tx: Tx, invoiceId: string, fee: { feeMinor: bigint; currency: string }): Promise<boolean> {
    const inv = await this.invoices.byId(tx, invoiceId, { lock: true });
    if (!inv) return false;
    if (!(await this.collections.setProcessingFee(tx, inv.id, fee)) || fee.feeMinor === 0n) return false;
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

  /**
   * Ties a processor PaymentIntent to our attempt (its metadata carries the
   * attempt id), whichever learns it first: the charge's answer or a webhook.
   */
  async linkAttempt(tx: Tx, attemptId: string | null | undefined, paymentIntentId: string): Promise<void> {
    if (!isUuid(attemptId)) return;
    await this.attempts.link(tx, attemptId, paymentIntentId);
  }

  /**
   * A pool subscription's payment is not any vendor's yet: it moves from
   * platform:billed to the pool of its period, which the pool distribution of
   * the plan shares out (fee, teachers, royalties) when the period closes.
   */
  private poolAllocation(inv: InvoiceRow): AllocatedPayment {
    const account = Accounts.pool(inv.period!);
    return {
      lines: [{ account, currency: inv.currency, amountMinor: -inv.totalMinor, memo: `${inv.number} pool subscription` }],
      accounts: [{ account, vendorOrganizationId: null, amount: inv.totalMinor, feeBps: null }],
    };
  }

  /**
   * Allocates the payment (earnings: platform fee per vendor by the one
   * allocation rule, the vendor's share per model, the royalty cascade down
   * each model's lineage) and returns the ledger lines and net per account.
   */
  private async allocate(tx: Tx, inv: InvoiceRow): Promise<AllocatedPayment> {
    const vendors = new Map<string, PaymentToAllocate['vendors'][number]>();
    for (const g of await this.invoices.lineGroups(tx, inv.id)) {
      let v = vendors.get(g.vendorOrganizationId);
      if (!v) vendors.set(g.vendorOrganizationId, (v = { vendorOrganizationId: g.vendorOrganizationId, feeBps: await this.fees.feeBpsFor(tx, g.vendorOrganizationId), groups: [] }));
      v.groups.push({ modelId: g.modelId, basis: g.royalty ? 'ROYALTY' : 'REVENUE', grossMinor: g.amountMinor });
    }
    for (const v of vendors.values()) {
      const sum = v.groups.reduce((s, g) => s + g.grossMinor, 0n);
      if (sum < 0n) throw new Error(`invoice ${inv.number}: vendor ${v.vendorOrganizationId} lines sum to ${sum} < 0`);
    }
    return this.earnings.allocate(tx, { invoiceId: inv.id, invoiceNumber: inv.number, currency: inv.currency, vendors: [...vendors.values()] });
  }

  /**
   * An admin voids an OPEN or UNCOLLECTIBLE invoice: nothing is owed any more
   * (the issue posting is reversed), an upfront fee counts as waived (its
   * agreement becomes ACTIVE), and a written-off invoice no longer keeps the
   * distiller's agreements suspended. Refused while a charge attempt's outcome
   * is unknown — that money may be on its way.
   */
  async voidInvoice(tx: Tx, invoiceId: string, actor: Principal, reason: string): Promise<void> {
    const inv = await this.invoices.byId(tx, invoiceId, { lock: true });
    if (!inv) throw new NotFoundError('Invoice', invoiceId);
    if (inv.status !== InvoiceStatus.OPEN && inv.status !== InvoiceStatus.UNCOLLECTIBLE) {
      throw new ConflictError(
        `Invoice ${inv.number} is ${inv.status}: only OPEN or UNCOLLECTIBLE invoices can be voided${inv.status === InvoiceStatus.PAID ? ' (refund a PAID one)' : ''}`,
        { status: inv.status },
      );
    }
    if (await this.attempts.hasPending(tx, inv.id)) throw new ConflictError(`Invoice ${inv.number} has a charge whose outcome is not known yet; try again once it is settled or failed`);
    await this.invoices.markVoid(tx, inv.id, this.clock.now());
    await this.collections.setNextAttempt(tx, inv.id, null);
    const total = inv.totalMinor;
    if (total > 0n) {
      await this.ledger.post(tx, {
        reference: `invoice:${inv.id}:voided`,
        kind: INVOICE_VOIDED,
        description: `Invoice ${inv.number} voided: ${reason}`.slice(0, 1000),
        lines: [
          { account: Accounts.platformBilled, currency: inv.currency, amountMinor: total, memo: inv.number },
          { account: Accounts.distillerReceivable(inv.distillerOrganizationId), currency: inv.currency, amountMinor: -total, memo: inv.number },
        ],
        metadata: { invoiceId: inv.id, invoiceNumber: inv.number },
      });
    }
    await this.audit.record(tx, actor, {
      action: 'billing.invoice.voided',
      targetType: 'Invoice',
      targetId: inv.id,
      organizationId: inv.distillerOrganizationId,
      data: { number: inv.number, from: inv.status, totalMinor: total.toString(), currency: inv.currency, reason },
    });
    if (inv.kind === InvoiceKind.UPFRONT && inv.agreementId) await this.agreements.activatePaid(tx, inv.agreementId, inv.number, actor, 'waived');
    if (inv.status === InvoiceStatus.UNCOLLECTIBLE) await this.reinstateIfSettledUp(tx, inv);
  }

  /** After a payment (or a void): when the distiller has nothing uncollectible left, its non-payment suspensions end. */
  private async reinstateIfSettledUp(tx: Tx, inv: InvoiceRow): Promise<void> {
    if ((await this.invoices.countUncollectible(tx, inv.distillerOrganizationId)) === 0) {
      // Subscriptions (renewal lock, subscription rows) before agreements: the order a pool renewal takes them in.
      await this.pool.reinstateAfterPayment(tx, inv.distillerOrganizationId);
      await this.agreements.reinstateAfterPayment(tx, inv.distillerOrganizationId, inv.number);
    }
  }
}
