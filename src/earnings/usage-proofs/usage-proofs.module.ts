import { Module } from '@nestjs/common';
import { IdentityModule } from '../../identity/identity.module';
import { UsageMerkleService } from './usage-merkle.service';
import { UsageProofsRepository } from './usage-proofs.repository';
import { UsageProofsResolver } from './usage-proofs.resolver';
import { UsageProofsService } from './usage-proofs.service';

/**
 * Merkle roots of what a closed billing period billed per agreement, and
 * inclusion proofs of single usage events (GraphQL usageInclusionProof).
 * Exports UsageMerkleService for whoever signs period statements.
 */
@Module({
  imports: [IdentityModule],
  providers: [UsageProofsRepository, UsageMerkleService, UsageProofsService, UsageProofsResolver],
  exports: [UsageMerkleService],
})
export class UsageProofsModule {}
