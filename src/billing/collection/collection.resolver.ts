import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { moneyOutput } from '../../ledger/dto/money.output';
import { AdminOnly, CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { BadInputError } from '../../platform/errors/app-error';
import { toInvoiceOutput } from '../billing.mapper';
import { RefundInProgressError, RefundInvoiceResult } from '../billing.errors';
import { CurrencyBalancesOutput, InvoiceRefundOutput, PayInvoiceResultOutput, PaymentOutcome, RefundInvoiceArgs, RefundOutcomeKind } from '../dto/collection.output';
import { InvoiceOutput } from '../dto/invoice.output';
import { InvoiceQueryService } from '../invoices/invoice-query.service';
import { InvoiceSettlementService } from './invoice-settlement.service';
import { Database } from '../../platform/database/transaction';
import { assertUuid } from '../../platform/errors/validation';
import { parseDecimalInteger } from '../../platform/validation/decimal-integer';
import { BalancesService } from './balances.service';
import { EarningsBalanceService } from '../../earnings/earnings-balance.service';
import { CollectionService } from './collection.service';
import { RefundService } from './refund.service';

@Resolver()
export class CollectionResolver {
  constructor(
    private readonly collection: CollectionService,
    private readonly refunds: RefundService,
    private readonly balancesService: BalancesService,
    private readonly invoices: InvoiceQueryService,
    private readonly settlement: InvoiceSettlementService,
    private readonly db: Database,
    private readonly earnings: EarningsBalanceService,
  ) {}

  @Mutation(() => PayInvoiceResultOutput, {
    description:
      'Charges an OPEN or UNCOLLECTIBLE invoice now with the organization\'s saved payment method (off session). Members of the distiller ' +
      'organization with write access; others NOT_FOUND. Paying an UNCOLLECTIBLE invoice lifts the non-payment suspension of the agreements.',
  })
  async payInvoice(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string): Promise<PayInvoiceResultOutput> {
    const r = await this.collection.payInvoice(principal, id);
    const invoice = toInvoiceOutput(await this.invoices.get(principal, id));
    switch (r.kind) {
      case 'paid':
        return { outcome: PaymentOutcome.PAID, failureCode: null, message: null, nextAttemptAt: null, invoice };
      case 'already-paid':
        return { outcome: PaymentOutcome.ALREADY_PAID, failureCode: null, message: null, nextAttemptAt: null, invoice };
      case 'failed':
        return { outcome: PaymentOutcome.FAILED, failureCode: r.code, message: r.message, nextAttemptAt: r.nextAttemptAt, invoice };
      case 'pending':
        return { outcome: PaymentOutcome.PENDING, failureCode: null, message: r.reason, nextAttemptAt: null, invoice };
      case 'skipped':
        return { outcome: PaymentOutcome.SKIPPED, failureCode: null, message: r.reason, nextAttemptAt: null, invoice };
    }
  }

  @AdminOnly()
  @Mutation(() => RefundInvoiceResult, {
    description:
      'Platform admins. Refunds a PAID invoice (all that is left, or amountMinor) through the payment processor and reverses the ' +
      "payment's allocation proportionally in the ledger (platform fee and each vendor's payable). One refund of an invoice at a time: " +
      'while one is in flight, another request is answered RefundInProgressError and nothing is recorded. Audited.',
  })
  async refundInvoice(@CurrentPrincipal() principal: Principal, @Args() args: RefundInvoiceArgs): Promise<typeof RefundInvoiceResult> {
    const amount = args.amountMinor == null ? null : parseDecimalInteger('amountMinor', args.amountMinor, 1n);
    const r = await this.refunds.refundInvoice(principal, { invoiceId: args.id, amountMinor: amount, reason: args.reason, idempotencyKey: args.idempotencyKey ?? null });
    if (r.kind === 'in-progress') return new RefundInProgressError(r.invoiceNumber, r.refundId, moneyOutput(r.amountMinor, r.currency));
    return Object.assign(new InvoiceRefundOutput(), {
      outcome: r.kind === 'refunded' ? RefundOutcomeKind.REFUNDED : RefundOutcomeKind.PENDING,
      refundId: r.refundId,
      amount: moneyOutput(r.amountMinor, r.currency),
      invoice: toInvoiceOutput(await this.invoices.get(principal, args.id)),
    });
  }

  @AdminOnly()
  @Mutation(() => InvoiceOutput, {
    description:
      'Platform admins. Voids an OPEN or UNCOLLECTIBLE invoice: nothing is owed (the ledger reverses the receivable), an upfront fee counts as ' +
      "waived (its agreement becomes ACTIVE), a written-off invoice no longer suspends the distiller's agreements. Refused while a charge is in flight. Audited.",
  })
  async voidInvoice(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
    @Args('reason', { type: () => String }) reason: string,
  ): Promise<InvoiceOutput> {
    assertUuid('id', id);
    const text = reason.trim();
    if (text.length < 1 || text.length > 500) throw new BadInputError([{ field: 'reason', message: 'reason must be 1 to 500 characters' }]);
    await this.db.transaction((tx) => this.settlement.voidInvoice(tx, id, principal, text));
    return toInvoiceOutput(await this.invoices.get(principal, id));
  }

  @Query(() => [CurrencyBalancesOutput], {
    description:
      "An organization's balances per currency: as a distiller, receivable; as a vendor, payable, held, paid, and the payable split into pending " +
      '(inside the holdback), available (for payout) and negative carry-forward. Members (read) and platform admins.',
  })
  async balances(@CurrentPrincipal() principal: Principal, @Args('organizationId', { type: () => ID }) organizationId: string): Promise<CurrencyBalancesOutput[]> {
    const rows = await this.balancesService.balances(principal, organizationId);
    const earnings = new Map((await this.earnings.balancesOf(this.db.reader, organizationId.toLowerCase())).map((e) => [e.currency, e]));
    return rows.map((b) => {
      const e = earnings.get(b.currency);
      return {
        currency: b.currency,
        receivable: moneyOutput(b.receivable, b.currency),
        payable: moneyOutput(b.payable, b.currency),
        held: moneyOutput(b.held, b.currency),
        paid: moneyOutput(b.paid, b.currency),
        pending: moneyOutput(e?.pending ?? 0n, b.currency),
        available: moneyOutput(e?.available ?? 0n, b.currency),
        negativeCarryForward: moneyOutput(e?.negativeCarryForward ?? 0n, b.currency),
        availableAt: e?.availableAt ?? null,
      };
    });
  }
}
