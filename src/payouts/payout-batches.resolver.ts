import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AdminOnly, CurrentPrincipal } from '../platform/auth/decorators';
import type { Principal } from '../platform/auth/principal';
import { UuidPipe } from '../platform/errors/validation';
import { PageArgs } from '../platform/graphql/pagination';
import { toConnection } from '../platform/paging/page';
import { CreatePayoutBatchInput, OrganizationPayoutsArgs, PayoutBatchesArgs } from './dto/payout-batch.input';
import {
  PayoutBatchConnection,
  PayoutBatchOutput,
  PayoutBatchProgressOutput,
  PayoutBatchSkipConnection,
  PayoutSkipCountOutput,
  PayoutSkipReasonEnum,
  toBatchOutput,
  toPayoutOutput,
  toProgressOutput,
  toSkipOutput,
  toVendorHoldOutput,
  VendorPayoutConnection,
  VendorPayoutHoldOutput,
  VendorPayoutOutput,
} from './dto/payout-batch.output';
import { PayoutBatchesService } from './payout-batches.service';
import { PayoutReviewService } from './payout-review.service';

@Resolver(() => PayoutBatchOutput)
export class PayoutBatchesResolver {
  constructor(
    private readonly batches: PayoutBatchesService,
    private readonly review: PayoutReviewService,
  ) {}

  @AdminOnly()
  @Mutation(() => PayoutBatchOutput, {
    description:
      'Platform admins. Snapshots every vendor that can be paid in the currency now (available earnings at or above PAYOUT_MINIMUMS, an account that can receive transfers, ' +
      'no vendor hold, no open payout) into an IN_REVIEW batch; everyone else owed something is listed in `skipped` with the reason. ' +
      'CONFLICT (reason NOTHING_TO_PAY, with skipCounts) when nobody can be paid.',
  })
  async createPayoutBatch(@CurrentPrincipal() principal: Principal, @Args('input') input: CreatePayoutBatchInput): Promise<PayoutBatchOutput> {
    return toBatchOutput(await this.batches.create(principal, input.currency));
  }

  @AdminOnly()
  @Mutation(() => PayoutBatchOutput, {
    description:
      "Platform admins other than the batch's creator (FORBIDDEN, reason FOUR_EYES). Approves the batch as shown by `snapshotHash` (CONFLICT SNAPSHOT_CHANGED when it changed since), " +
      'within the approver\'s PAYOUT_APPROVAL_LIMITS ceiling (FORBIDDEN APPROVAL_LIMIT_EXCEEDED). Its pending payouts are then sent; held ones are not.',
  })
  async approvePayoutBatch(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }, new UuidPipe('id')) id: string,
    @Args('snapshotHash') snapshotHash: string,
  ): Promise<PayoutBatchOutput> {
    return toBatchOutput(await this.review.approve(principal, id, snapshotHash));
  }

  @AdminOnly()
  @Mutation(() => PayoutBatchOutput, { description: 'Platform admins. Rejects a batch in review: its payouts are cancelled and their earnings wait for the next batch.' })
  async rejectPayoutBatch(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }, new UuidPipe('id')) id: string,
    @Args('reason') reason: string,
  ): Promise<PayoutBatchOutput> {
    return toBatchOutput(await this.review.reject(principal, id, reason));
  }

  @AdminOnly()
  @Mutation(() => VendorPayoutOutput, { description: 'Platform admins. Holds a PENDING or APPROVED payout (not once it is being sent): it is not sent.' })
  async holdPayout(
    @CurrentPrincipal() principal: Principal,
    @Args('payoutId', { type: () => ID }, new UuidPipe('payoutId')) payoutId: string,
    @Args('reason') reason: string,
  ): Promise<VendorPayoutOutput> {
    const held = await this.review.hold(principal, payoutId, reason);
    return toPayoutOutput(await this.batches.payoutDetail(held.id), true);
  }

  @AdminOnly()
  @Mutation(() => VendorPayoutOutput, { description: 'Platform admins. Releases a held payout back to PENDING, only while its batch is in review.' })
  async releasePayout(
    @CurrentPrincipal() principal: Principal,
    @Args('payoutId', { type: () => ID }, new UuidPipe('payoutId')) payoutId: string,
  ): Promise<VendorPayoutOutput> {
    const released = await this.review.release(principal, payoutId);
    return toPayoutOutput(await this.batches.payoutDetail(released.id), true);
  }

  @AdminOnly()
  @Mutation(() => VendorPayoutHoldOutput, { description: 'Platform admins. Keeps the vendor out of new payout batches until released (hold its batched payouts one by one).' })
  async holdVendorPayouts(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }, new UuidPipe('organizationId')) organizationId: string,
    @Args('reason') reason: string,
  ): Promise<VendorPayoutHoldOutput> {
    return toVendorHoldOutput(await this.review.holdVendor(principal, organizationId, reason));
  }

  @AdminOnly()
  @Mutation(() => VendorPayoutHoldOutput, { nullable: true, description: 'Platform admins. Lifts a vendor hold; answers the hold removed, or null if there was none.' })
  async releaseVendorPayouts(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }, new UuidPipe('organizationId')) organizationId: string,
  ): Promise<VendorPayoutHoldOutput | null> {
    const removed = await this.review.releaseVendor(principal, organizationId);
    return removed ? toVendorHoldOutput(removed) : null;
  }

  @AdminOnly()
  @Query(() => [VendorPayoutHoldOutput], { description: 'Platform admins. Every vendor kept out of new payout batches (holdVendorPayouts), longest held first.' })
  async vendorPayoutHolds(@CurrentPrincipal() principal: Principal): Promise<VendorPayoutHoldOutput[]> {
    return (await this.review.vendorHolds(principal)).map(toVendorHoldOutput);
  }

  @AdminOnly()
  @Query(() => PayoutBatchConnection, { description: 'Platform admins. Payout batches, newest first.' })
  async payoutBatches(@Args() args: PayoutBatchesArgs): Promise<PayoutBatchConnection> {
    const page = await this.batches.batches({ status: args.status ?? null, currency: args.currency ?? null }, args.first, args.after ?? null);
    return toConnection(page, (r) => r.cursor, toBatchOutput);
  }

  @AdminOnly()
  @Query(() => PayoutBatchOutput, { description: 'Platform admins. One payout batch.' })
  async payoutBatch(@Args('id', { type: () => ID }, new UuidPipe('id')) id: string): Promise<PayoutBatchOutput> {
    return toBatchOutput(await this.batches.batch(id));
  }

  @ResolveField('payouts', () => VendorPayoutConnection, { description: 'The payouts, by vendor organization id, with their lines and the account state now.' })
  async payouts(@Parent() batch: PayoutBatchOutput, @Args() page: PageArgs): Promise<VendorPayoutConnection> {
    const rows = await this.batches.batchPayouts(batch.id, page.first, page.after ?? null);
    return toConnection(rows, (r) => r.cursor, (r) => toPayoutOutput(r, true));
  }

  @ResolveField('skipped', () => PayoutBatchSkipConnection, { description: 'Vendors owed something who were left out, with the reason, by organization id.' })
  async skipped(@Parent() batch: PayoutBatchOutput, @Args() page: PageArgs): Promise<PayoutBatchSkipConnection> {
    const rows = await this.batches.batchSkips(batch.id, page.first, page.after ?? null);
    return toConnection(rows, (r) => r.cursor, (r) => toSkipOutput(r, batch.currency));
  }

  @ResolveField('skipCounts', () => [PayoutSkipCountOutput], { description: 'Skipped vendors by reason.' })
  async skipCounts(@Parent() batch: PayoutBatchOutput): Promise<PayoutSkipCountOutput[]> {
    return (await this.batches.skipCounts(batch.id)).map((c) => ({ reason: c.reason as PayoutSkipReasonEnum, count: c.count }));
  }

  @ResolveField('progress', () => PayoutBatchProgressOutput, { description: 'Payouts by status, amount sent and reversed.' })
  async progress(@Parent() batch: PayoutBatchOutput): Promise<PayoutBatchProgressOutput> {
    return toProgressOutput(await this.batches.progress(batch.id), batch.currency);
  }
}

@Resolver()
export class VendorPayoutsResolver {
  constructor(private readonly batches: PayoutBatchesService) {}

  @Query(() => VendorPayoutConnection, {
    description:
      "Members (read) and platform admins. The organization's payouts, newest first: status, amount, the statement lines each covers, failures with what to do, reversals.",
  })
  async payouts(@CurrentPrincipal() principal: Principal, @Args() args: OrganizationPayoutsArgs): Promise<VendorPayoutConnection> {
    const page = await this.batches.organizationPayouts(principal, args.organizationId, args.first, args.after ?? null);
    return toConnection(page, (r) => r.cursor, (r) => toPayoutOutput(r, principal.isAdmin));
  }
}
