/** Entities and service results → GraphQL outputs (explicit, so no column leaks to the API). */
import { moneyOutput } from '../ledger/dto/money.output';
import { assertUnreachable } from '../platform/errors/app-error';
import { InvoiceLineEntity, InvoiceStatus } from './billing.entity';
import { BillingPeriodNotEndedError, CloseBillingPeriodResult, EarlierBillingPeriodOpenError } from './billing.errors';
import { CloseOutcome } from './close/period-close.service';
import { BillingPeriodCloseOutput, VendorFeeOutput } from './dto/billing.output';
import { InvoiceLineOutput, InvoiceOutput } from './dto/invoice.output';
import { InvoiceRow } from './invoices/invoice.repository';
import { VendorFee } from './vendor-fee.service';

export function toInvoiceOutput(i: InvoiceRow, currency = i.currency): InvoiceOutput {
  const due = i.status === InvoiceStatus.OPEN || i.status === InvoiceStatus.UNCOLLECTIBLE ? i.totalMinor - i.amountPaidMinor : 0n;
  return Object.assign(new InvoiceOutput(), {
    id: i.id,
    number: i.number,
    organizationId: i.distillerOrganizationId,
    kind: i.kind,
    status: i.status,
    currency,
    period: i.period,
    agreementId: i.agreementId,
    total: moneyOutput(i.totalMinor, currency),
    amountPaid: moneyOutput(i.amountPaidMinor, currency),
    amountRefunded: moneyOutput(i.amountRefundedMinor, currency),
    amountDue: moneyOutput(due, currency),
    issuedAt: i.issuedAt,
    dueAt: i.dueAt,
    paidAt: i.paidAt,
    voidedAt: i.voidedAt,
    createdAt: i.createdAt,
    lineCount: i.lineCount,
  });
}

export function toInvoiceLineOutput(l: InvoiceLineEntity, currency: string): InvoiceLineOutput {
  return Object.assign(new InvoiceLineOutput(), {
    position: l.position,
    kind: l.kind,
    description: l.description,
    agreementId: l.agreementId,
    modelId: l.modelId,
    vendorOrganizationId: l.vendorOrganizationId,
    usagePeriod: l.usagePeriod,
    quantity: l.quantity === null ? null : l.quantity.toString(),
    unitPricePerMillion: l.unitPriceMinor === null ? null : moneyOutput(l.unitPriceMinor, currency),
    amount: moneyOutput(l.amountMinor, currency),
    overageTokens: l.overageTokens.toString(),
    revenueReportId: l.revenueReportId ?? null,
    studentModelId: l.studentModelId ?? null,
    royaltyPolicy: l.royaltyPolicy ?? null,
    royaltyShareBps: l.royaltyShareBps ?? null,
  });
}

export function toCloseResult(o: CloseOutcome): typeof CloseBillingPeriodResult {
  switch (o.kind) {
    case 'closed':
      return Object.assign(new BillingPeriodCloseOutput(), {
        period: o.summary.period,
        status: o.summary.status,
        closedAt: o.summary.closedAt,
        invoicesCreated: o.summary.invoicesCreated,
        invoiceCount: o.summary.invoiceCount,
        totals: o.summary.totals.map((t) => ({ currency: t.currency, invoiceCount: t.invoiceCount, total: moneyOutput(t.totalMinor, t.currency) })),
        alreadyClosed: o.summary.alreadyClosed,
      });
    case 'not-ended':
      return new BillingPeriodNotEndedError(o.period, o.currentPeriod);
    case 'earlier-open':
      return new EarlierBillingPeriodOpenError(o.period, o.openPeriod);
    default:
      return assertUnreachable(o);
  }
}

export function toVendorFeeOutput(f: VendorFee): VendorFeeOutput {
  return Object.assign(new VendorFeeOutput(), f);
}
