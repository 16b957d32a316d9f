import { Module } from '@nestjs/common';
import { ProvenanceModule } from '../../provenance/provenance.module';
import { AllocationPartsRepository } from './allocation-parts.repository';
import { PaymentAllocationService } from './payment-allocation.service';

/**
 * Earnings allocation: what a collected payment becomes — the platform fee,
 * each vendor's share, and the royalty cascade down each model's lineage —
 * recorded part by part. Billing calls it inside the payment's transaction.
 */
@Module({
  imports: [ProvenanceModule],
  providers: [AllocationPartsRepository, PaymentAllocationService],
  exports: [PaymentAllocationService],
})
export class EarningsAllocationModule {}
