import { Args, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { UsageInclusionProofArgs } from './dto/usage-proofs.input';
import { UsageInclusionProofOutput } from './dto/usage-proofs.output';
import { UsageProofsService } from './usage-proofs.service';

@Resolver(() => UsageInclusionProofOutput)
export class UsageProofsResolver {
  constructor(private readonly proofs: UsageProofsService) {}

  @Query(() => UsageInclusionProofOutput, {
    nullable: true,
    description:
      "Proof that a usage event was counted in a closed billing period's bill for an agreement (the usage lines of that period, " +
      'or the adjustment lines for late events of earlier periods). Members of the distiller or vendor organization (read) and platform ' +
      'admins; others NOT_FOUND. An event that was not counted in that period (or does not exist) is NOT_FOUND with ' +
      'extensions.counted = false; a period that is not closed is CONFLICT (reason PERIOD_NOT_CLOSED).',
  })
  async usageInclusionProof(@CurrentPrincipal() principal: Principal, @Args() args: UsageInclusionProofArgs): Promise<UsageInclusionProofOutput> {
    const p = await this.proofs.inclusionProof(principal, args.agreementId, args.period, args.eventId);
    return {
      agreementId: p.agreementId,
      period: p.period,
      eventId: p.eventId,
      leaf: p.leaf as unknown as UsageInclusionProofOutput['leaf'],
      leafIndex: p.leafIndex,
      treeSize: p.treeSize,
      leafHash: p.leafHash,
      auditPath: p.auditPath,
      merkleRoot: p.merkleRoot,
    };
  }
}
