import { EarningsModule } from '../../earnings/earnings.module';
import { InvoiceAllocationFieldResolver, InvoiceAllocationResolver } from './invoice-allocation.resolver';
import { InvoiceAllocationService } from './invoice-allocation.service';
import { EarningsAllocationModule } from '../../earnings/allocation/allocation.module';
import { Module } from '@nestjs/common';
import { LedgerModule } from '../../ledger/ledger.module';
import { PaymentsModule } from '../../payments/payments.module';
import { BillingModule } from '../billing.module';
import { PoolModule } from '../pool/pool.module';
import { BalancesService } from './balances.service';
import { CollectionJob } from './collection.job';
import { CollectionRepository } from './collection.repository';
import { CollectionResolver } from './collection.resolver';
import { CollectionService } from './collection.service';
import { InvoicePaymentResolver } from './invoice-payment.resolver';
import { InvoicePaymentService } from './invoice-payment.service';
import { InvoiceSettlementService } from './invoice-settlement.service';
import { PaymentAttemptRepository } from './payment-attempt.repository';
import { PaymentEvents } from './payment-events';
import { PaymentReversalService } from './payment-reversal.service';
import { RefundRepository } from './refund.repository';
import { RefundService } from './refund.service';

/**
 * Collection: charging invoices through the payments port with
 * retries and write-off, settling payments into the ledger (platform fee and
 * vendor payables), refunds and disputes reversing that allocation, the
 * webhook handlers for payment events, and organizations' balances.
 */
@Module({
  imports: [LedgerModule, PaymentsModule, BillingModule, EarningsAllocationModule, EarningsModule, PoolModule],
  providers: [
    InvoiceAllocationService,
    InvoiceAllocationFieldResolver,
    InvoiceAllocationResolver,
    CollectionRepository,
    PaymentAttemptRepository,
    InvoiceSettlementService,
    InvoicePaymentService,
    PaymentReversalService,
    CollectionService,
    RefundRepository,
    RefundService,
    BalancesService,
    PaymentEvents,
    CollectionJob,
    CollectionResolver,
    InvoicePaymentResolver,
  ],
  exports: [CollectionService],
})
export class CollectionModule {}
