import { Args, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { toConnection } from '../../platform/paging/page';
import { UsageEventsArgs, UsageSummaryArgs } from './dto/usage.input';
import {
  UsageEventConnection,
  UsageEventSource,
  UsageEventStatus,
  UsageSummaryOutput,
  UsageTotalsOutput,
} from './dto/usage.output';
import { UsageCounts, UsageQueryService } from './usage-query.service';

const counts = (c: UsageCounts): UsageTotalsOutput => ({
  inputTokens: c.inputTokens.toString(),
  outputTokens: c.outputTokens.toString(),
  totalTokens: (c.inputTokens + c.outputTokens).toString(),
  overageTokens: c.overageTokens.toString(),
  events: c.events.toString(),
  estimatedEvents: c.estimatedEvents.toString(),
});

@Resolver()
export class UsageResolver {
  constructor(private readonly usage: UsageQueryService) {}

  @Query(() => UsageSummaryOutput, {
    description:
      "An agreement's usage per hour or day (UTC) over [from, to), with totals, its limits and the current period's usage. " +
      'Members of the distiller or vendor organization, and platform admins.',
  })
  async usageSummary(@CurrentPrincipal() principal: Principal, @Args() args: UsageSummaryArgs): Promise<UsageSummaryOutput> {
    const s = await this.usage.summary(principal, args);
    const period = s.currentPeriod;
    const used = period.inputTokens + period.outputTokens;
    const quota = s.agreement.tokensPerPeriod;
    return {
      agreementId: s.agreement.id,
      granularity: s.granularity,
      from: s.from,
      to: s.to,
      buckets: s.buckets.map((b) => ({ start: b.start, ...counts(b) })),
      totals: counts(s.totals),
      limits: {
        tokensPerPeriod: quota?.toString() ?? null,
        tokensPerMinute: s.agreement.tokensPerMinute?.toString() ?? null,
      },
      currentPeriod: {
        start: period.start,
        end: period.end,
        inputTokens: period.inputTokens.toString(),
        outputTokens: period.outputTokens.toString(),
        totalTokens: used.toString(),
        overageTokens: period.overageTokens.toString(),
        events: period.events.toString(),
        tokensPerPeriod: quota?.toString() ?? null,
        remainingTokens: quota === null ? null : (quota > used ? quota - used : 0n).toString(),
      },
    };
  }

  @Query(() => UsageEventConnection, {
    description: "An agreement's usage events, newest first. Members of the distiller or vendor organization, and platform admins.",
  })
  async usageEvents(@CurrentPrincipal() principal: Principal, @Args() args: UsageEventsArgs): Promise<UsageEventConnection> {
    const page = await this.usage.events(principal, { agreementId: args.agreementId, first: args.first, after: args.after ?? null });
    return toConnection(page, (r) => r.cursor, (r) => ({
      eventId: r.eventId,
      source: r.source as UsageEventSource,
      occurredAt: r.occurredAt,
      receivedAt: r.receivedAt,
      inputTokens: r.inputTokens.toString(),
      outputTokens: r.outputTokens.toString(),
      overageTokens: r.overageTokens.toString(),
      status: r.overageTokens > 0n ? UsageEventStatus.OVERAGE : UsageEventStatus.WITHIN_QUOTA,
      estimated: r.estimated,
      metadata: r.metadata,
    }));
  }
}
