/**
 * Refunds and disputes reverse an invoice's payment proportionally: the
 * amount is split over the payment's allocation (platform fee and each
 * vendor's payable) by the one allocation rule, in a new ledger transaction.
 * A vendor's payable may go negative (money already paid out nets against
 * later earnings). A dispute holds the vendors' shares of the disputed amount
 * (payable → held) until it closes: won releases them, lost takes them back
 * with the platform's fee share and the cash.
 *
 * Both arrive from two directions (an admin's refund answered by the
 * processor, and the processor's webhook) in any order. Refunds are reconciled
 * to a cumulative total — whichever comes first books the difference, the
 * other finds nothing left to do; disputes key every posting by dispute id.
 */
import { Injectable } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Accounts } from '../../ledger/accounts';
import { LedgerService } from '../../ledger/ledger.service';
import type { Tx } from '../../platform/database/transaction';
import { allocate } from '../../platform/money/allocation';
import { InvoiceStatus } from '../billing.entity';
import { InvoiceRepository } from '../invoices/invoice.repository';
import { AllocationRow, CollectionRepository } from './collection.repository';

export const REFUND = 'REFUND';
export const DISPUTE_HOLD = 'DISPUTE_HOLD';
export const DISPUTE_WON = 'DISPUTE_WON';
export const DISPUTE_LOST = 'DISPUTE_LOST';
export const DISPUTE_FEE = 'DISPUTE_FEE';

export interface DisputeInfo {
  disputeId: string;
  chargeId: string;
  amountMinor: bigint;
  currency: string;
  reason: string | null;
  /**
   * The processor's balance transactions of the dispute that carry a fee (the
   * dispute fee taken when it opens; negative when returned after a win), as
   * listed on the dispute object: each is booked once, by its id.
   */
  feeTransactions?: { id: string; feeMinor: bigint; currency: string }[];
}

export type DisputeOutcome = 'won' | 'lost';

interface Part {
  row: AllocationRow;
  amount: bigint;
}

@Injectable()
export class PaymentReversalService {
  constructor(
    private readonly ledger: LedgerService,
    private readonly audit: AuditService,
    private readonly invoices: InvoiceRepository,
    private readonly collections: CollectionRepository,
  ) {}

  /**
   * Brings the invoice's refunded amount up to `refundedTotal` (never down;
   * capped at what was paid), booking the difference as a proportional
   * reversal. Returns the amount booked now (0 when already there).
   */
  async applyRefundedTotal(tx: Tx, invoiceId: string, refundedTotal: bigint, meta: { source: 'ADMIN' | 'PROCESSOR'; refundId?: string | null }): Promise<bigint> {
    const inv = await this.invoices.byId(tx, invoiceId, { lock: true });
    if (!inv) throw new Error(`invoice ${invoiceId} not found`);
    if (inv.status !== InvoiceStatus.PAID) throw new Error(`invoice ${inv.number} is ${inv.status}: a refund needs a settled payment`);
    const paid = inv.amountPaidMinor;
    const current = inv.amountRefundedMinor;
    const target = refundedTotal > paid ? paid : refundedTotal;
    if (target <= current) return 0n;
    const delta = target - current;
    const parts = this.split(await this.collections.allocationsOf(tx, inv.id), delta);
    await this.ledger.post(tx, {
      reference: `invoice:${inv.id}:refunded-to:${target}`,
      kind: REFUND,
      description: `Refund on invoice ${inv.number} (${target} of ${paid} refunded)`,
      lines: [
        ...parts.filter((p) => p.amount > 0n).map((p) => ({ account: p.row.account, currency: inv.currency, amountMinor: p.amount, memo: inv.number })),
        { account: Accounts.platformCash, currency: inv.currency, amountMinor: -delta, memo: meta.refundId ?? inv.number },
      ],
      metadata: { invoiceId: inv.id, invoiceNumber: inv.number, source: meta.source, ...(meta.refundId ? { refundId: meta.refundId } : {}) },
    });
    await this.invoices.setRefundedTotal(tx, inv.id, target);
    await this.audit.record(tx, null, {
      action: 'billing.invoice.refunded',
      targetType: 'Invoice',
      targetId: inv.id,
      organizationId: inv.distillerOrganizationId,
      data: { number: inv.number, amountMinor: delta.toString(), refundedTotalMinor: target.toString(), currency: inv.currency, source: meta.source, refundId: meta.refundId ?? null },
    });
    return delta;
  }

  /** Records the dispute (once) and holds the vendors' shares of the disputed amount. */
  async disputeOpened(tx: Tx, invoiceId: string, d: DisputeInfo): Promise<void> {
    const inv = await this.invoices.byId(tx, invoiceId, { lock: true });
    if (!inv) throw new Error(`invoice ${invoiceId} not found`);
    if (inv.status !== InvoiceStatus.PAID) throw new Error(`invoice ${inv.number} is ${inv.status}: a dispute needs a settled payment`);
    const created = await this.collections.insertDispute(tx, {
      disputeId: d.disputeId,
      invoiceId: inv.id,
      chargeId: d.chargeId,
      amountMinor: d.amountMinor,
      currency: inv.currency,
      reason: d.reason,
    });
    await this.bookDisputeFees(tx, inv.id, inv.number, inv.currency, d);
    const held = this.vendorParts(await this.collections.allocationsOf(tx, inv.id), d.amountMinor);
    if (held.length > 0) {
      await this.ledger.post(tx, {
        reference: `dispute:${d.disputeId}:hold`,
        kind: DISPUTE_HOLD,
        description: `Dispute ${d.disputeId} on invoice ${inv.number}: vendor shares held`,
        lines: held.flatMap((p) => [
          { account: p.row.account, currency: inv.currency, amountMinor: p.amount, memo: d.disputeId },
          { account: Accounts.vendorHeld(p.row.vendor_organization_id!), currency: inv.currency, amountMinor: -p.amount, memo: d.disputeId },
        ]),
        metadata: { invoiceId: inv.id, disputeId: d.disputeId },
      });
    }
    if (created) {
      await this.audit.record(tx, null, {
        action: 'billing.dispute.opened',
        targetType: 'Invoice',
        targetId: inv.id,
        organizationId: inv.distillerOrganizationId,
        data: { number: inv.number, disputeId: d.disputeId, amountMinor: d.amountMinor.toString(), currency: inv.currency, reason: d.reason },
      });
    }
  }

  /** Closes the dispute (opening it first if its creation has not arrived yet); a closed dispute never reopens. */
  async disputeClosed(tx: Tx, invoiceId: string, d: DisputeInfo, outcome: DisputeOutcome): Promise<void> {
    await this.disputeOpened(tx, invoiceId, d);
    const amount = await this.collections.closeDispute(tx, d.disputeId, outcome === 'won' ? 'WON' : 'LOST');
    if (amount === null) return;
    const inv = (await this.invoices.byId(tx, invoiceId))!;
    const allocations = await this.collections.allocationsOf(tx, inv.id);
    const held = this.vendorParts(allocations, amount);
    if (outcome === 'won') {
      if (held.length > 0) {
        await this.ledger.post(tx, {
          reference: `dispute:${d.disputeId}:won`,
          kind: DISPUTE_WON,
          description: `Dispute ${d.disputeId} on invoice ${inv.number} won: vendor shares released`,
          lines: held.flatMap((p) => [
            { account: Accounts.vendorHeld(p.row.vendor_organization_id!), currency: inv.currency, amountMinor: p.amount, memo: d.disputeId },
            { account: p.row.account, currency: inv.currency, amountMinor: -p.amount, memo: d.disputeId },
          ]),
          metadata: { invoiceId: inv.id, disputeId: d.disputeId },
        });
      }
    } else {
      const parts = this.split(allocations, amount);
      await this.ledger.post(tx, {
        reference: `dispute:${d.disputeId}:lost`,
        kind: DISPUTE_LOST,
        description: `Dispute ${d.disputeId} on invoice ${inv.number} lost: the disputed amount leaves the platform`,
        lines: [
          ...parts
            .filter((p) => p.amount > 0n)
            .map((p) => ({
              account: p.row.vendor_organization_id ? Accounts.vendorHeld(p.row.vendor_organization_id) : p.row.account,
              currency: inv.currency,
              amountMinor: p.amount,
              memo: d.disputeId,
            })),
          { account: Accounts.platformCash, currency: inv.currency, amountMinor: -amount, memo: d.disputeId },
        ],
        metadata: { invoiceId: inv.id, disputeId: d.disputeId },
      });
    }
    await this.audit.record(tx, null, {
      action: `billing.dispute.${outcome}`,
      targetType: 'Invoice',
      targetId: inv.id,
      organizationId: inv.distillerOrganizationId,
      data: { number: inv.number, disputeId: d.disputeId, amountMinor: amount.toString(), currency: inv.currency },
    });
  }

  /**
   * The processor's dispute fees (Dr platform:processing, Cr platform:cash; a
   * returned fee the other way), one posting per balance transaction id, so
   * every event that lists it books it once. A fee in another currency than
   * the invoice's is not booked (as for processing fees).
   */
  private async bookDisputeFees(tx: Tx, invoiceId: string, invoiceNumber: string, currency: string, d: DisputeInfo): Promise<void> {
    for (const f of d.feeTransactions ?? []) {
      if (f.feeMinor === 0n || f.currency !== currency) continue;
      await this.ledger.post(tx, {
        reference: `dispute:${d.disputeId}:fee:${f.id}`,
        kind: DISPUTE_FEE,
        description: `${f.feeMinor > 0n ? 'Dispute fee' : 'Dispute fee returned'} on dispute ${d.disputeId} (invoice ${invoiceNumber})`,
        lines: [
          { account: Accounts.platformProcessing, currency, amountMinor: f.feeMinor, memo: d.disputeId },
          { account: Accounts.platformCash, currency, amountMinor: -f.feeMinor, memo: f.id },
        ],
        metadata: { invoiceId, disputeId: d.disputeId, balanceTransactionId: f.id },
      });
    }
  }

  /** `amount` over the allocation, by the one allocation rule (weights: what each account received). */
  private split(allocations: AllocationRow[], amount: bigint): Part[] {
    if (allocations.length === 0) throw new Error('no allocation recorded for this payment');
    const weights = allocations.map((a) => BigInt(a.amount_minor));
    if (weights.every((w) => w === 0n)) throw new Error('the payment allocated nothing');
    return allocate(amount, weights).map((a, i) => ({ row: allocations[i], amount: a }));
  }

  private vendorParts(allocations: AllocationRow[], amount: bigint): Part[] {
    return this.split(allocations, amount).filter((p) => p.row.vendor_organization_id !== null && p.amount > 0n);
  }
}
