/**
 * The upfront fee: accepting an offer whose pricing has an upfrontFeeMinor > 0
 * issues an UPFRONT invoice with one UPFRONT_FEE line in the accept
 * transaction itself (the agreement stays PENDING_PAYMENT until collection
 * marks the invoice PAID). Without a fee, nothing.
 */
import { Injectable, OnModuleInit } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { AgreementHooks } from '../../licensing/agreement-hooks';
import { LicenseAgreementEntity } from '../../licensing/license-agreement.entity';
import type { CanonicalPricing } from '../../licensing/terms/terms.types';
import { Principal } from '../../platform/auth/principal';
import { Tx } from '../../platform/database/transaction';
import { Money } from '../../platform/money/money';
import { InvoiceKind, InvoiceLineKind, InvoiceStatus } from '../billing.entity';
import { InvoiceRepository } from './invoice.repository';
import { InvoiceWriter, IssuedInvoice } from './invoice-writer.service';

/** The agreement is unusable until paid: the upfront invoice is due at once. */
const UPFRONT_DUE_DAYS = 0;

@Injectable()
export class UpfrontInvoiceService implements OnModuleInit {
  constructor(
    private readonly hooks: AgreementHooks,
    private readonly writer: InvoiceWriter,
    private readonly invoices: InvoiceRepository,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.hooks.onAccepted((tx, agreement, actor) => this.onAccepted(tx, agreement, actor).then(() => undefined));
    this.hooks.answerUpfrontPaid(async (tx, agreementId) => (await this.invoices.upfrontStatus(tx, agreementId)) === InvoiceStatus.PAID);
  }

  async onAccepted(tx: Tx, agreement: LicenseAgreementEntity, actor: Principal | null): Promise<IssuedInvoice | null> {
    if (agreement.poolSubscriptionId) return null; // a pool agreement: the subscription pays
    const pricing = agreement.pricingSnapshot as unknown as CanonicalPricing;
    const fee = BigInt(pricing.upfrontFeeMinor);
    if (fee <= 0n) return null;
    const names = await this.invoices.offerNames(tx, agreement.offerId);
    const fmt = Money.of(fee, pricing.currency).format();
    const [invoice] = await this.writer.issue(tx, [
      {
        distillerOrganizationId: agreement.distillerOrganizationId,
        currency: pricing.currency,
        kind: InvoiceKind.UPFRONT,
        period: null,
        agreementId: agreement.id,
        dueInDays: UPFRONT_DUE_DAYS,
        lines: [
          {
            kind: InvoiceLineKind.UPFRONT_FEE,
            agreementId: agreement.id,
            vendorOrganizationId: agreement.vendorOrganizationId,
            modelId: agreement.modelId,
            usagePeriod: null,
            quantity: null,
            unitPrice: null,
            amount: fee,
            overage: 0n,
            description: `Upfront licence fee — ${names?.modelName ?? 'model'}, offer "${names?.offerName ?? '?'}" v${names?.version ?? '?'}: ${fmt}`,
          },
        ],
      },
    ]);
    if (!invoice) return null;
    await this.audit.record(tx, actor, {
      action: 'billing.invoice.issued',
      targetType: 'Invoice',
      targetId: invoice.id,
      organizationId: agreement.distillerOrganizationId,
      data: { number: invoice.number, kind: invoice.kind, agreementId: agreement.id, currency: invoice.currency, totalMinor: invoice.totalMinor.toString() },
    });
    return invoice;
  }
}
