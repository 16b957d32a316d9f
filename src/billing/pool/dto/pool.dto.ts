/** GraphQL inputs and outputs of the pool plan (plans, subscriptions, distributions, statements). */
import { ArgsType, createUnionType, Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { MoneyOutput } from '../../../ledger/dto/money.output';
import { BusinessError } from '../../../platform/errors/business-error.type';
import { IsUuid } from '../../../platform/validation/uuid';
import { PoolDistributionMode, PoolOverage, PoolPlanStatus, PoolSubscriptionStatus } from '../pool.types';

registerEnumType(PoolOverage, { name: 'PoolOverage', description: 'REFUSE: past the shared allowance the gateway answers 429; BILL: overage lines on the next invoice' });
registerEnumType(PoolDistributionMode, {
  name: 'PoolDistributionMode',
  description: "PRO_RATA: the net pool by each teacher's share of all eligible pool tokens; USER_CENTRIC: each subscriber's part only to the teachers it used",
});
registerEnumType(PoolPlanStatus, { name: 'PoolPlanStatus' });
registerEnumType(PoolSubscriptionStatus, { name: 'PoolSubscriptionStatus' });

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

@InputType()
export class CreatePoolPlanInput {
  @Field(() => String, { description: '1..100 characters; a plan with the same name and currency gets the next version' })
  @Transform(trim)
  @IsString()
  @MaxLength(100)
  name: string;

  @Field(() => String, { description: 'ISO 4217, upper-case' })
  @IsString()
  currency: string;

  @Field(() => String, { description: 'Per month, integer minor units as a decimal string (> 0)' })
  @IsString()
  monthlyFeeMinor: string;

  @Field(() => String, { description: "Tokens per month shared by all of a subscriber's pool agreements (> 0)" })
  @IsString()
  tokenAllowance: string;

  @Field(() => PoolOverage)
  @IsEnum(PoolOverage)
  overage: PoolOverage;

  @Field(() => String, { nullable: true, description: 'BILL only: price per million tokens beyond the allowance, minor units' })
  @IsOptional()
  @IsString()
  overagePerMillionMinor?: string | null;

  @Field(() => PoolDistributionMode)
  @IsEnum(PoolDistributionMode)
  distribution: PoolDistributionMode;

  @Field(() => String, { description: 'A teacher with fewer pool tokens in a period earns nothing and leaves the denominator' })
  @IsString()
  minimumTokensToEarn: string;

  @Field(() => Int, { description: "The platform's fee on the pool, in basis points (0..10000)" })
  @IsInt()
  @Min(0)
  @Max(10_000)
  platformFeeBps: number;
}

@ArgsType()
export class PoolPeriodArgs {
  @Field(() => String, { description: 'YYYY-MM (UTC)' })
  @Matches(/^\d{4}-(0[1-9]|1[0-2])$/, { message: 'period must be a month as YYYY-MM (UTC), e.g. 2026-10' })
  period: string;
}

@ArgsType()
export class PoolStatementArgs {
  @Field(() => ID)
  @IsUuid()
  planId: string;

  @Field(() => String, { description: 'YYYY-MM (UTC)' })
  @Matches(/^\d{4}-(0[1-9]|1[0-2])$/, { message: 'period must be a month as YYYY-MM (UTC), e.g. 2026-10' })
  period: string;

  @Field(() => ID, { nullable: true, description: "The vendor or distiller organization whose view is asked for (read access); omitted: platform admins' full view" })
  @IsOptional()
  @IsUuid()
  organizationId?: string | null;
}

@ObjectType('PoolPlan', { description: 'A version of a pool plan: one subscription across every pool-eligible teacher of its currency' })
export class PoolPlanOutput {
  @Field(() => ID) id: string;
  @Field(() => String) name: string;
  @Field(() => Int) version: number;
  @Field(() => String) currency: string;
  @Field(() => MoneyOutput) monthlyFee: MoneyOutput;
  @Field(() => String, { description: 'Tokens per month, shared by all of a subscriber\'s pool agreements' }) tokenAllowance: string;
  @Field(() => PoolOverage) overage: PoolOverage;
  @Field(() => MoneyOutput, { nullable: true }) overagePerMillion: MoneyOutput | null;
  @Field(() => PoolDistributionMode) distribution: PoolDistributionMode;
  @Field(() => String) minimumTokensToEarn: string;
  @Field(() => Int) platformFeeBps: number;
  @Field(() => PoolPlanStatus) status: PoolPlanStatus;
  @Field(() => Date) createdAt: Date;
  @Field(() => Date, { nullable: true }) retiredAt: Date | null;
}

@ObjectType('CreatePoolPlanPayload')
export class CreatePoolPlanPayload {
  @Field(() => PoolPlanOutput) plan: PoolPlanOutput;
  @Field(() => PoolPlanOutput, { nullable: true, description: 'The previous ACTIVE version, now SUPERSEDED' }) superseded: PoolPlanOutput | null;
}

@ObjectType('PoolSubscriptionPeriod', { description: 'One invoiced period of a subscription' })
export class PoolSubscriptionPeriodOutput {
  @Field(() => String) period: string;
  @Field(() => ID, { description: 'The plan version of that period' }) planId: string;
  @Field(() => ID) invoiceId: string;
  @Field(() => String) invoiceStatus: string;
  @Field(() => MoneyOutput, { description: 'The fee (prorated by days for the first period)' }) fee: MoneyOutput;
  @Field(() => String, { description: 'Tokens of the previous period beyond the allowance, billed here (BILL plans)' }) overageTokens: string;
  @Field(() => MoneyOutput) overage: MoneyOutput;
}

@ObjectType('PoolAllowanceUse', { description: "The current month's use of a subscription's token allowance, shared by all its pool agreements" })
export class PoolAllowanceUseOutput {
  @Field(() => String, { description: 'YYYY-MM (UTC, business time)' }) period: string;
  @Field(() => String, { description: 'Tokens per month of the plan version the subscription is on' }) allowanceTokens: string;
  @Field(() => String, { description: 'Tokens used this month by all its pool agreements (input + output)' }) usedTokens: string;
  @Field(() => String, { description: 'allowanceTokens − usedTokens, never below 0' }) remainingTokens: string;
  @Field(() => String, { description: 'Tokens beyond the allowance this month (BILL plans: billed on the next invoice; REFUSE plans stay at 0 but for in-flight estimates)' }) overageTokens: string;
  @Field(() => Int, { description: 'Used share of the allowance in basis points (10000 = all used), rounded down' }) usedBps: number;
}

@ObjectType('PoolSubscription')
export class PoolSubscriptionOutput {
  @Field(() => ID) id: string;
  @Field(() => ID, { description: 'The plan version it renews on' }) planId: string;
  @Field(() => ID, { description: 'The distiller organization' }) organizationId: string;
  @Field(() => String) currency: string;
  @Field(() => PoolSubscriptionStatus) status: PoolSubscriptionStatus;
  @Field(() => String, { nullable: true, description: 'NON_PAYMENT while SUSPENDED' }) suspensionCause: string | null;
  @Field(() => Boolean, { description: 'Cancelled: ends at the end of the current period' }) cancelAtPeriodEnd: boolean;
  @Field(() => Date) startedAt: Date;
  @Field(() => Date, { nullable: true }) endedAt: Date | null;
  @Field(() => [PoolSubscriptionPeriodOutput], { nullable: true, description: 'Invoiced periods (the subscription read only)' }) periods: PoolSubscriptionPeriodOutput[] | null;
  @Field(() => ID, { nullable: true, description: 'subscribeToPool: the first invoice, issued at once' }) firstInvoiceId: string | null;
}

@ObjectType({ implements: () => [BusinessError], description: 'The organization already has a live subscription in this currency' })
export class PoolSubscriptionExistsError implements BusinessError {
  @Field(() => String) code = 'POOL_SUBSCRIPTION_EXISTS';
  @Field(() => String) message = 'The organization already has a live pool subscription in this currency';
  @Field(() => PoolSubscriptionOutput) subscription: PoolSubscriptionOutput;
  constructor(subscription: PoolSubscriptionOutput) {
    this.subscription = subscription;
  }
}

@ObjectType({ implements: () => [BusinessError], description: 'The plan version is SUPERSEDED or RETIRED: no new subscriptions' })
export class PoolPlanNotAvailableError implements BusinessError {
  @Field(() => String) code = 'POOL_PLAN_NOT_AVAILABLE';
  @Field(() => String) message: string;
  @Field(() => PoolPlanStatus) status: PoolPlanStatus;
  constructor(status: PoolPlanStatus) {
    this.status = status;
    this.message = `This plan version is ${status}: subscribe to the plan's ACTIVE version`;
  }
}

export const SubscribeToPoolResult = createUnionType({
  name: 'SubscribeToPoolResult',
  types: () => [PoolSubscriptionOutput, PoolSubscriptionExistsError, PoolPlanNotAvailableError] as const,
});

@ObjectType('PoolExit')
export class PoolExitOutput {
  @Field(() => ID) modelId: string;
  @Field(() => String, { description: 'From this period on the model earns nothing from the pool' }) fromPeriod: string;
}

@ObjectType('PoolDistribution', { description: "A plan's distribution of one period" })
export class PoolDistributionOutput {
  @Field(() => ID) planId: string;
  @Field(() => String) period: string;
  @Field(() => PoolDistributionMode) distribution: PoolDistributionMode;
  @Field(() => MoneyOutput, { description: 'Paid into the pool and distributed now (this and earlier periods)' }) gross: MoneyOutput;
  @Field(() => MoneyOutput) platformFee: MoneyOutput;
  @Field(() => MoneyOutput, { description: 'To teachers (before their royalty stacks)' }) distributed: MoneyOutput;
  @Field(() => MoneyOutput, { description: 'Left in the pool for the next period (nothing eligible was used)' }) carried: MoneyOutput;
  @Field(() => MoneyOutput, {
    description: 'Refunds of earlier distributed periods netted now: off the gross before the platform fee (gross = platformFee + distributed + carried + clawback)',
  })
  clawback: MoneyOutput;
  @Field(() => MoneyOutput, { description: 'Refunds of earlier distributed periods beyond this gross, left for the following distribution' })
  clawbackCarried: MoneyOutput;
  @Field(() => MoneyOutput, { description: 'USER_CENTRIC: the net of subscribers without eligible use, split pro rata' }) remainder: MoneyOutput;
  @Field(() => String) totalEligibleTokens: string;
  @Field(() => String) minimumTokensToEarn: string;
  @Field(() => Int) platformFeeBps: number;
  @Field(() => Date) closedAt: Date;
}

@ObjectType('PoolPeriodClose')
export class PoolPeriodCloseOutput {
  @Field(() => String) period: string;
  @Field(() => Int, { description: 'Subscriptions invoiced for the next period by this call' }) renewed: number;
  @Field(() => Int, { description: 'Subscriptions ended (cancelled, or their plan retired) by this call' }) ended: number;
  @Field(() => [PoolDistributionOutput]) distributions: PoolDistributionOutput[];
}

@ObjectType({ implements: () => [BusinessError] })
export class PoolPeriodNotEndedError implements BusinessError {
  @Field(() => String) code = 'POOL_PERIOD_NOT_ENDED';
  @Field(() => String) message: string;
  @Field(() => String) period: string;
  @Field(() => String) currentPeriod: string;
  constructor(period: string, currentPeriod: string) {
    this.period = period;
    this.currentPeriod = currentPeriod;
    this.message = `${period} has not ended yet (the current period is ${currentPeriod})`;
  }
}

export const ClosePoolPeriodResult = createUnionType({ name: 'ClosePoolPeriodResult', types: () => [PoolPeriodCloseOutput, PoolPeriodNotEndedError] as const });

@ObjectType('PoolStatementLine', { description: "A teacher's line: tokens, share, amount, threshold status" })
export class PoolStatementLineOutput {
  @Field(() => ID) modelId: string;
  @Field(() => String) modelName: string;
  @Field(() => ID) vendorOrganizationId: string;
  @Field(() => String, { description: 'Pool tokens of the period (all paying subscribers)' }) tokens: string;
  @Field(() => Boolean, { description: 'false: below minimumTokensToEarn (earns nothing, not in the denominator)' }) aboveThreshold: boolean;
  @Field(() => Int, { description: 'Share of all eligible pool tokens, basis points (rounded down; 0 below the threshold)' }) tokenShareBps: number;
  @Field(() => MoneyOutput, { description: 'Before its royalty stack' }) amount: MoneyOutput;
  @Field(() => [String], { description: 'CONCENTRATED_SUBSCRIBER, SELF_DEALING' }) flags: string[];
  @Field(() => Boolean, { description: 'Held for admin review (in the vendor\'s held account)' }) held: boolean;
  @Field(() => Date, { nullable: true }) releasedAt: Date | null;
}

@ObjectType('PoolStatementSubscriber')
export class PoolStatementSubscriberOutput {
  @Field(() => ID) organizationId: string;
  @Field(() => MoneyOutput, { description: 'Paid into this distribution' }) paid: MoneyOutput;
  @Field(() => MoneyOutput, { description: 'Its part of the net pool' }) net: MoneyOutput;
  @Field(() => String) eligibleTokens: string;
  @Field(() => Boolean, { description: 'USER_CENTRIC: no eligible use, its part went to the pro-rata remainder' }) toRemainder: boolean;
}

@ObjectType('PoolFeeBreakdownLine', { description: "USER_CENTRIC: where a subscriber's part of the net went" })
export class PoolFeeBreakdownLineOutput {
  @Field(() => ID) modelId: string;
  @Field(() => ID) vendorOrganizationId: string;
  @Field(() => String) tokens: string;
  @Field(() => MoneyOutput) amount: MoneyOutput;
}

@ObjectType('PoolClawbackLine', { description: 'A refund of an already distributed subscription period, netted by this distribution' })
export class PoolClawbackLineOutput {
  @Field(() => ID) subscriptionId: string;
  @Field(() => ID) organizationId: string;
  @Field(() => String, { description: 'The refunded period (its pool is credited back)' }) period: string;
  @Field(() => ID) invoiceId: string;
  @Field(() => MoneyOutput) amount: MoneyOutput;
}

@ObjectType('PoolStatement')
export class PoolStatementOutput {
  @Field(() => PoolDistributionOutput) distribution: PoolDistributionOutput;
  @Field(() => String) planName: string;
  @Field(() => Int) planVersion: number;
  @Field(() => [PoolStatementLineOutput]) lines: PoolStatementLineOutput[];
  @Field(() => [PoolStatementSubscriberOutput]) subscribers: PoolStatementSubscriberOutput[];
  @Field(() => [PoolFeeBreakdownLineOutput]) feeBreakdown: PoolFeeBreakdownLineOutput[];
  @Field(() => [PoolClawbackLineOutput], { description: 'Platform admins (complete view): the refunds this distribution netted; empty otherwise' })
  clawbacks: PoolClawbackLineOutput[];
  @Field(() => Boolean, { description: 'true: every teacher and subscriber (admin view)' }) complete: boolean;
}
