/** Usage read models. Token and event counts are bigints in storage: decimal strings here. */
import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { LicenseLimitsOutput } from '../../../licensing/dto/license-terms.output';
import GraphQLJSON from '../../../platform/graphql/json.scalar';
import { Paginated } from '../../../platform/graphql/pagination';
import { UsageGranularity } from './usage.input';

export enum UsageEventSource {
  GATEWAY = 'GATEWAY',
  REPORTED = 'REPORTED',
}
registerEnumType(UsageEventSource, {
  name: 'UsageEventSource',
  valuesMap: {
    GATEWAY: { description: "Metered by the platform's gateway" },
    REPORTED: { description: 'Reported by the vendor (POST /v1/usage/events)' },
  },
});

export enum UsageEventStatus {
  WITHIN_QUOTA = 'WITHIN_QUOTA',
  OVERAGE = 'OVERAGE',
}
registerEnumType(UsageEventStatus, {
  name: 'UsageEventStatus',
  valuesMap: { OVERAGE: { description: 'Some or all of its tokens were beyond the period quota (overageTokens > 0)' } },
});

@ObjectType('UsageTotals', { description: 'Counts as decimal strings' })
export class UsageTotalsOutput {
  @Field(() => String)
  inputTokens: string;

  @Field(() => String)
  outputTokens: string;

  @Field(() => String, { description: 'inputTokens + outputTokens' })
  totalTokens: string;

  @Field(() => String, { description: 'Tokens beyond the period quota (billed as overage)' })
  overageTokens: string;

  @Field(() => String, { description: 'Usage events recorded' })
  events: string;

  @Field(() => String, { description: 'Events whose token counts were estimated (the upstream reported none)' })
  estimatedEvents: string;
}

@ObjectType('UsageBucket', { description: 'One hour or one day (UTC) of usage, by when it occurred' })
export class UsageBucketOutput extends UsageTotalsOutput {
  @Field(() => Date)
  start: Date;
}

@ObjectType('UsagePeriod', { description: 'The current billing period (calendar month, UTC): "used X of Y"' })
export class UsagePeriodOutput {
  @Field(() => Date)
  start: Date;

  @Field(() => Date, { description: 'Exclusive' })
  end: Date;

  @Field(() => String)
  inputTokens: string;

  @Field(() => String)
  outputTokens: string;

  @Field(() => String, { description: 'Tokens used this period (inputTokens + outputTokens)' })
  totalTokens: string;

  @Field(() => String)
  overageTokens: string;

  @Field(() => String)
  events: string;

  @Field(() => String, { nullable: true, description: "The agreement's period quota; null = unlimited" })
  tokensPerPeriod: string | null;

  @Field(() => String, { nullable: true, description: 'Quota minus totalTokens, never below 0; null = unlimited' })
  remainingTokens: string | null;
}

@ObjectType('UsageSummary')
export class UsageSummaryOutput {
  @Field(() => ID)
  agreementId: string;

  @Field(() => UsageGranularity)
  granularity: UsageGranularity;

  @Field(() => Date, { description: 'The requested `from`, aligned down to the bucket' })
  from: Date;

  @Field(() => Date, { description: 'The requested `to`, aligned down to the bucket (exclusive)' })
  to: Date;

  @Field(() => [UsageBucketOutput], { description: 'Every bucket of [from, to), oldest first; buckets without usage are zeros' })
  buckets: UsageBucketOutput[];

  @Field(() => UsageTotalsOutput, { description: 'Sum of the buckets' })
  totals: UsageTotalsOutput;

  @Field(() => LicenseLimitsOutput, { description: "The agreement's limits (from the accepted terms)" })
  limits: LicenseLimitsOutput;

  @Field(() => UsagePeriodOutput)
  currentPeriod: UsagePeriodOutput;
}

@ObjectType('UsageEvent', { description: 'One recorded usage event (immutable)' })
export class UsageEventOutput {
  @Field(() => String, { description: "The reporter's id (REPORTED) or the gateway request id (GATEWAY)" })
  eventId: string;

  @Field(() => UsageEventSource)
  source: UsageEventSource;

  @Field(() => Date)
  occurredAt: Date;

  @Field(() => Date)
  receivedAt: Date;

  @Field(() => String)
  inputTokens: string;

  @Field(() => String)
  outputTokens: string;

  @Field(() => String, { description: 'Tokens of this event beyond the period quota' })
  overageTokens: string;

  @Field(() => UsageEventStatus)
  status: UsageEventStatus;

  @Field(() => Boolean, { description: 'Token counts estimated (the upstream reported no usage)' })
  estimated: boolean;

  @Field(() => GraphQLJSON, { nullable: true })
  metadata: Record<string, unknown> | null;
}

@ObjectType('UsageEventConnection', { description: 'Newest first (by occurredAt, then eventId)' })
export class UsageEventConnection extends Paginated(UsageEventOutput, 'UsageEvent') {}
