import { Module } from '@nestjs/common';
import { LedgerModule } from '../../ledger/ledger.module';
import { ProvenanceModule } from '../../provenance/provenance.module';
import { PoolCloseComputation } from './pool-close-computation.repository';
import { PoolCloseService } from './pool-close.service';
import { PoolDistributionRepository } from './pool-distribution.repository';
import { PoolStatementService } from './pool-statement.service';

/**
 * Pool earnings: the distribution of a pool plan's period (pure rules in
 * pool-distribution.ts), its ledger transaction and royalty cascade, the
 * gaming flags that hold earnings for review, and the statements explaining it.
 */
@Module({
  imports: [LedgerModule, ProvenanceModule],
  providers: [PoolDistributionRepository, PoolCloseComputation, PoolCloseService, PoolStatementService],
  exports: [PoolCloseService, PoolStatementService],
})
export class PoolEarningsModule {}
