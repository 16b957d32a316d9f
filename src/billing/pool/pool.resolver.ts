import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { moneyOutput } from '../../ledger/dto/money.output';
import { AdminOnly, CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { PoolCloseService } from '../../earnings/pool/pool-close.service';
import { PoolStatementService } from '../../earnings/pool/pool-statement.service';
import type { DistributionRow } from '../../earnings/pool/pool-distribution.repository';
import { nextPeriod, parsePeriod } from '../billing-period';
import {
  ClosePoolPeriodResult,
  CreatePoolPlanInput,
  CreatePoolPlanPayload,
  PoolDistributionOutput,
  PoolExitOutput,
  PoolPeriodArgs,
  PoolPeriodCloseOutput,
  PoolPeriodNotEndedError,
  PoolPlanNotAvailableError,
  PoolAllowanceUseOutput,
  PoolPlanOutput,
  PoolStatementArgs,
  PoolStatementOutput,
  PoolSubscriptionExistsError,
  PoolSubscriptionOutput,
  SubscribeToPoolResult,
} from './dto/pool.dto';
import { PoolPlanService } from './pool-plan.service';
import { PoolSubscriptionService } from './pool-subscription.service';
import { SubscriptionPeriodRow } from './pool.repository';
import { PoolDistributionMode, PoolPlanRow, PoolSubscriptionRow } from './pool.types';
import { BPS_WHOLE } from '../../platform/money/allocation';

export function toPlanOutput(p: PoolPlanRow): PoolPlanOutput {
  return Object.assign(new PoolPlanOutput(), {
    id: p.id,
    name: p.name,
    version: p.version,
    currency: p.currency,
    monthlyFee: moneyOutput(p.monthlyFeeMinor, p.currency),
    tokenAllowance: p.tokenAllowance.toString(),
    overage: p.overage,
    overagePerMillion: p.overagePerMillionMinor === null ? null : moneyOutput(p.overagePerMillionMinor, p.currency),
    distribution: p.distribution,
    minimumTokensToEarn: p.minimumTokensToEarn.toString(),
    platformFeeBps: p.platformFeeBps,
    status: p.status,
    createdAt: p.createdAt,
    retiredAt: p.retiredAt,
  });
}

function toSubscriptionOutput(s: PoolSubscriptionRow, periods: SubscriptionPeriodRow[] | null, firstInvoiceId: string | null = null): PoolSubscriptionOutput {
  return Object.assign(new PoolSubscriptionOutput(), {
    id: s.id,
    planId: s.planId,
    organizationId: s.distillerOrganizationId,
    currency: s.currency,
    status: s.status,
    suspensionCause: s.suspensionCause,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    firstInvoiceId,
    periods:
      periods?.map((r) => ({
        period: r.period,
        planId: r.planId,
        invoiceId: r.invoiceId,
        invoiceStatus: r.invoiceStatus,
        fee: moneyOutput(r.feeMinor, s.currency),
        overageTokens: r.overageTokens.toString(),
        overage: moneyOutput(r.overageMinor, s.currency),
      })) ?? null,
  });
}

function toDistributionOutput(d: DistributionRow): PoolDistributionOutput {
  const m = (v: bigint) => moneyOutput(v, d.currency);
  return Object.assign(new PoolDistributionOutput(), {
    planId: d.planId,
    period: d.period,
    distribution: d.distribution as PoolDistributionMode,
    gross: m(d.grossMinor),
    platformFee: m(d.feeMinor),
    distributed: m(d.distributedMinor),
    carried: m(d.carriedMinor),
    clawback: m(d.clawbackMinor),
    clawbackCarried: m(d.clawbackCarriedMinor),
    remainder: m(d.remainderMinor),
    totalEligibleTokens: d.totalEligibleTokens.toString(),
    minimumTokensToEarn: d.minimumTokensToEarn.toString(),
    platformFeeBps: d.platformFeeBps,
    closedAt: d.closedAt,
  });
}

@Resolver()
export class PoolResolver {
  constructor(
    private readonly plans: PoolPlanService,
    private readonly subscriptions: PoolSubscriptionService,
    private readonly closes: PoolCloseService,
    private readonly statements: PoolStatementService,
  ) {}

  @AdminOnly()
  @Mutation(() => CreatePoolPlanPayload, {
    description: 'Platform admins. A new plan, or the next version of (name, currency) — the ACTIVE one becomes SUPERSEDED; its subscribers move at renewal. Audited.',
  })
  async createPoolPlan(@CurrentPrincipal() principal: Principal, @Args('input') input: CreatePoolPlanInput): Promise<CreatePoolPlanPayload> {
    const r = await this.plans.create(principal, input);
    return { plan: toPlanOutput(r.plan), superseded: r.superseded ? toPlanOutput(r.superseded) : null };
  }

  @AdminOnly()
  @Mutation(() => PoolPlanOutput, { description: 'Platform admins. No new subscriptions, no renewals (subscriptions end with their period). Idempotent. Audited.' })
  async retirePoolPlan(@CurrentPrincipal() principal: Principal, @Args('planId', { type: () => ID }) planId: string): Promise<PoolPlanOutput> {
    return toPlanOutput((await this.plans.retire(principal, planId)).plan);
  }

  @Query(() => [PoolPlanOutput], { description: 'The ACTIVE pool plans (platform admins: every version with includeInactive).' })
  async poolPlans(
    @CurrentPrincipal() principal: Principal,
    @Args('includeInactive', { type: () => Boolean, nullable: true, defaultValue: false }) includeInactive: boolean,
  ): Promise<PoolPlanOutput[]> {
    return (await this.plans.list(principal, includeInactive)).map(toPlanOutput);
  }

  @Mutation(() => SubscribeToPoolResult, {
    description:
      "A distiller organization (write) subscribes to an ACTIVE plan: the current period's fee, prorated by the days left, is invoiced at once (kind POOL); " +
      'later periods at renewal. Then acceptLicenseOffer(viaPool: true) on pool-eligible offers.',
  })
  async subscribeToPool(
    @CurrentPrincipal() principal: Principal,
    @Args('planId', { type: () => ID }) planId: string,
    @Args('organizationId', { type: () => ID }) organizationId: string,
  ): Promise<typeof SubscribeToPoolResult> {
    const o = await this.subscriptions.subscribe(principal, planId, organizationId);
    if (o.kind === 'subscribed') return toSubscriptionOutput(o.subscription, null, o.invoice.id);
    if (o.kind === 'exists') return new PoolSubscriptionExistsError(toSubscriptionOutput(o.subscription, null));
    return new PoolPlanNotAvailableError(o.plan.status);
  }

  @Mutation(() => PoolSubscriptionOutput, { description: 'The distiller (write): the subscription and its pool agreements end at the end of the current period. Idempotent.' })
  async cancelPoolSubscription(@CurrentPrincipal() principal: Principal, @Args('subscriptionId', { type: () => ID }) subscriptionId: string): Promise<PoolSubscriptionOutput> {
    const o = await this.subscriptions.cancel(principal, subscriptionId);
    return toSubscriptionOutput(o.subscription, null);
  }

  @Query(() => PoolSubscriptionOutput, { description: 'Members of the distiller organization (read) and platform admins; others NOT_FOUND.' })
  async poolSubscription(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string): Promise<PoolSubscriptionOutput> {
    const r = await this.subscriptions.get(principal, id);
    return toSubscriptionOutput(r.subscription, r.periods);
  }

  @Query(() => [PoolSubscriptionOutput], { description: "A distiller organization's pool subscriptions, newest first (read)." })
  async poolSubscriptions(@CurrentPrincipal() principal: Principal, @Args('organizationId', { type: () => ID }) organizationId: string): Promise<PoolSubscriptionOutput[]> {
    return (await this.subscriptions.listFor(principal, organizationId)).map((s) => toSubscriptionOutput(s, null));
  }

  @Mutation(() => PoolExitOutput, { description: "The model's vendor (write): the model leaves the pool from the next period (new pool agreements refused at once). Idempotent." })
  async leavePool(@CurrentPrincipal() principal: Principal, @Args('modelId', { type: () => ID }) modelId: string): Promise<PoolExitOutput> {
    return this.plans.leavePool(principal, modelId);
  }

  @AdminOnly()
  @Mutation(() => ClosePoolPeriodResult, {
    description:
      'Platform admins (also a job on the 1st of each month). For an ended month: renews every live subscription into the next month (fee + overage), ' +
      'then distributes the month for every plan — from the rollups and only what was paid — in one ledger transaction per plan. Idempotent.',
  })
  async closePoolPeriod(@CurrentPrincipal() principal: Principal, @Args() args: PoolPeriodArgs): Promise<typeof ClosePoolPeriodResult> {
    const o = await this.closes.close(principal, args.period);
    if (o.kind === 'not-ended') return new PoolPeriodNotEndedError(o.period, o.currentPeriod);
    const renewal = await this.subscriptions.renew(nextPeriod(parsePeriod(args.period)).period);
    return Object.assign(new PoolPeriodCloseOutput(), {
      period: args.period,
      renewed: renewal.invoiced,
      ended: renewal.ended,
      distributions: o.distributions.map((d) => toDistributionOutput(d.distribution)),
    });
  }

  @AdminOnly()
  @Mutation(() => Boolean, { description: "Platform admins: releases a teacher's flagged (held) pool earnings after review, down its royalty stack. Idempotent. Audited." })
  async releasePoolEarnings(
    @CurrentPrincipal() principal: Principal,
    @Args('planId', { type: () => ID }) planId: string,
    @Args('period', { type: () => String }) period: string,
    @Args('modelId', { type: () => ID }) modelId: string,
  ): Promise<boolean> {
    await this.closes.release(principal, planId, period, modelId);
    return true;
  }

  @Query(() => PoolStatementOutput, {
    description:
      "A plan's distribution of a period explained. Without organizationId: platform admins, every line. With it (read access): a vendor's own teachers' " +
      "lines; a distiller's payment and, under USER_CENTRIC, where its part went. Others NOT_FOUND.",
  })
  async poolStatement(@CurrentPrincipal() principal: Principal, @Args() args: PoolStatementArgs): Promise<PoolStatementOutput> {
    const s = await this.statements.statement(principal, args.planId, args.period, args.organizationId ?? null);
    const c = s.distribution.currency;
    const total = s.distribution.totalEligibleTokens;
    return {
      distribution: toDistributionOutput(s.distribution),
      planName: s.plan.name,
      planVersion: s.plan.version,
      lines: s.lines.map((l) => ({
        modelId: l.modelId,
        modelName: l.modelName,
        vendorOrganizationId: l.vendorOrganizationId,
        tokens: l.tokens.toString(),
        aboveThreshold: l.eligible,
        tokenShareBps: l.eligible && total > 0n ? Number((l.tokens * BPS_WHOLE) / total) : 0,
        amount: moneyOutput(l.amountMinor, c),
        flags: l.flags,
        held: l.held,
        releasedAt: l.releasedAt,
      })),
      subscribers: s.subscribers.map((x) => ({
        organizationId: x.distillerOrganizationId,
        paid: moneyOutput(x.paidMinor, c),
        net: moneyOutput(x.netMinor, c),
        eligibleTokens: x.eligibleTokens.toString(),
        toRemainder: x.toRemainder,
      })),
      feeBreakdown: s.feeBreakdown.map((f) => ({ modelId: f.modelId, vendorOrganizationId: f.vendorOrganizationId, tokens: f.tokens.toString(), amount: moneyOutput(f.amountMinor, c) })),
      clawbacks: s.clawbacks.map((x) => ({ subscriptionId: x.subscriptionId, organizationId: x.distillerOrganizationId, period: x.period, invoiceId: x.invoiceId, amount: moneyOutput(x.amountMinor, c) })),
      complete: s.complete,
    };
  }
}

/** Fields of a subscription computed on demand (only for a subscription the caller could read). */
@Resolver(() => PoolSubscriptionOutput)
export class PoolSubscriptionFieldsResolver {
  constructor(private readonly subscriptions: PoolSubscriptionService) {}

  @ResolveField(() => PoolAllowanceUseOutput, { description: "This month's use of the shared token allowance (business time)" })
  async allowanceUse(@Parent() s: PoolSubscriptionOutput): Promise<PoolAllowanceUseOutput> {
    const u = await this.subscriptions.allowanceUse(s.id);
    const over = u.used > u.allowance ? u.used - u.allowance : 0n;
    const remaining = u.used < u.allowance ? u.allowance - u.used : 0n;
    return Object.assign(new PoolAllowanceUseOutput(), {
      period: u.period,
      allowanceTokens: u.allowance.toString(),
      usedTokens: u.used.toString(),
      remainingTokens: remaining.toString(),
      overageTokens: over.toString(),
      usedBps: Number(((u.allowance - remaining) * BPS_WHOLE) / u.allowance),
    });
  }
}
