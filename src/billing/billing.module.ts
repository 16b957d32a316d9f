import { Module } from '@nestjs/common';
import { LedgerModule } from '../ledger/ledger.module';
import { ProvenanceModule } from '../provenance/provenance.module';
import { RevenueRepository } from './revenue/revenue.repository';
import { RevenueResolver } from './revenue/revenue.resolver';
import { RevenueService } from './revenue/revenue.service';
import { RoyaltyBillingService } from './revenue/royalty-billing.service';
import { BillingResolver } from './billing.resolver';
import { PeriodCloseJob } from './close/period-close.job';
import { PeriodCloseRepository } from './close/period-close.repository';
import { PeriodCloseService } from './close/period-close.service';
import { InvoiceQueryService } from './invoices/invoice-query.service';
import { InvoiceWriter } from './invoices/invoice-writer.service';
import { InvoiceRepository } from './invoices/invoice.repository';
import { UpfrontInvoiceService } from './invoices/upfront-invoice.service';
import { BillingRepository } from './billing.repository';
import { VendorFeeRepository } from './vendor-fee.repository';
import { VendorFeeService } from './vendor-fee.service';

/**
 * Billing: monthly UTC billing periods, rating from
 * the usage rollups, invoices (upfront fee on acceptance, one per distiller
 * and currency at the close of a period) with the ledger's INVOICE_ISSUED
 * posting, invoice reads, and per-vendor platform-fee overrides. Collection
 * (charging invoices) builds on InvoiceWriter's output and VendorFeeService.
 * Downstream revenue reports (revenue/) put royalties on the period invoices.
 */
@Module({
  imports: [LedgerModule, ProvenanceModule],
  providers: [
    BillingRepository,
    InvoiceRepository,
    VendorFeeRepository,
    InvoiceWriter,
    UpfrontInvoiceService,
    PeriodCloseRepository,
    PeriodCloseService,
    PeriodCloseJob,
    InvoiceQueryService,
    VendorFeeService,
    BillingResolver,
    RevenueRepository,
    RoyaltyBillingService,
    RevenueService,
    RevenueResolver,
  ],
  exports: [VendorFeeService, PeriodCloseService, InvoiceQueryService, InvoiceRepository, BillingRepository, InvoiceWriter],
})
export class BillingModule {}
