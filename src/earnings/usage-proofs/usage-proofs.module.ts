import { Module } from '@nestjs/common';
import { UsageMerkleService } from './usage-merkle.service';

/** Merkle roots and inclusion proofs over the usage events billed in a period. */
@Module({
  providers: [UsageMerkleService],
  exports: [UsageMerkleService],
})
export class UsageProofsModule {}
