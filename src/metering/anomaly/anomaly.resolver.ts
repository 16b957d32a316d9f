import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { toConnection } from '../../platform/paging/page';
import { PageArgs } from '../../platform/graphql/pagination';
import { AnomalyFlagRow, AnomalyQueryService } from './anomaly-query.service';
import { AcknowledgeAnomalyFlagInput, AnomalyFlagFilter } from './dto/anomaly-flag.input';
import { AnomalyFlagConnection, AnomalyFlagOutput } from './dto/anomaly-flag.output';

const toOutput = (r: AnomalyFlagRow): AnomalyFlagOutput => ({
  id: r.id,
  agreementId: r.agreementId,
  vendorOrganizationId: r.vendorOrganizationId,
  distillerOrganizationId: r.distillerOrganizationId,
  kind: r.kind,
  windowStart: r.windowStart,
  occurrences: r.occurrences,
  observedTokens: r.observedTokens?.toString() ?? null,
  baselineTokens: r.baselineTokens?.toString() ?? null,
  detail: r.detail,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  acknowledgedAt: r.acknowledgedAt,
  acknowledgedBy: r.acknowledgedByUserId,
  acknowledgementNote: r.acknowledgementNote,
});

@Resolver(() => AnomalyFlagOutput)
export class AnomalyResolver {
  constructor(private readonly anomalies: AnomalyQueryService) {}

  @Query(() => AnomalyFlagConnection, {
    description:
      "Anomaly flags on a vendor organization's agreements, newest first: members of that organization (read) and platform admins " +
      '(who may omit organizationId to see every vendor). Distillers never see flags about themselves.',
  })
  async anomalyFlags(
    @CurrentPrincipal() principal: Principal,
    @Args('filter', { type: () => AnomalyFlagFilter, nullable: true }) filter: AnomalyFlagFilter | null,
    @Args() page: PageArgs,
  ): Promise<AnomalyFlagConnection> {
    const flags = await this.anomalies.list(principal, {
      organizationId: filter?.organizationId ?? null,
      agreementId: filter?.agreementId ?? null,
      kinds: filter?.kinds ?? null,
      acknowledged: filter?.acknowledged ?? null,
      first: page.first,
      after: page.after ?? null,
    });
    return toConnection(flags, (r) => r.cursor, toOutput);
  }

  @Mutation(() => AnomalyFlagOutput, {
    description:
      'The vendor organization (write) or a platform admin marks a flag as handled, audit-logged. ' +
      'A flag already acknowledged is returned unchanged (the first acknowledgement stands).',
  })
  async acknowledgeAnomalyFlag(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: AcknowledgeAnomalyFlagInput,
  ): Promise<AnomalyFlagOutput> {
    return toOutput(await this.anomalies.acknowledge(principal, { id: input.id, note: input.note ?? null }));
  }
}
