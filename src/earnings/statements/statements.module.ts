import { Module } from '@nestjs/common';
import { ProvenanceModule } from '../../provenance/provenance.module';
import { UsageProofsModule } from '../usage-proofs/usage-proofs.module';
import { StatementsController } from './statements.controller';
import { StatementsRepository } from './statements.repository';
import { StatementsResolver } from './statements.resolver';
import { StatementsService } from './statements.service';

/**
 * Signed statements: vendors' earnings (from the ledger, broken down by the
 * payments' allocations) and distillers' usage (with Merkle roots of the
 * events billed), signed with the platform's attestation key.
 */
@Module({
  imports: [ProvenanceModule, UsageProofsModule],
  providers: [StatementsRepository, StatementsService, StatementsResolver],
  controllers: [StatementsController],
})
export class StatementsModule {}
