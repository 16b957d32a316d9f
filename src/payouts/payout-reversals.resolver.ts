import { Args, ID, Mutation, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../platform/auth/decorators';
import { Principal } from '../platform/auth/principal';
import { UuidPipe } from '../platform/errors/validation';
import { toTransferReversalOutput, TransferReversalOutput } from './dto/payout-reversal.output';
import { PayoutReversalsService } from './payout-reversals.service';

@Resolver()
export class PayoutReversalsResolver {
  constructor(private readonly reversals: PayoutReversalsService) {}

  @Mutation(() => TransferReversalOutput, {
    description:
      "Platform admins. Reverses part (or the rest) of a SENT payout's transfer, in the transfer's own currency: booked as TRANSFER_REVERSAL (the vendor is owed it again) and audited. " +
      'At most the payout minus what is already reversed or being reversed. An unknown processor outcome leaves the request pending: asking again with the same amount and reason (or the same requestKey) finishes it without reversing twice.',
  })
  async reverseTransfer(
    @CurrentPrincipal() principal: Principal,
    @Args('payoutId', { type: () => ID }, new UuidPipe('payoutId')) payoutId: string,
    @Args('amountMinor', { type: () => String, description: "Minor units of the transfer's currency, as a decimal string." }) amountMinor: string,
    @Args('reason', { type: () => String }) reason: string,
    @Args('currency', { type: () => String, nullable: true, description: "Optional check: must be the transfer's currency." }) currency?: string | null,
    @Args('requestKey', { type: () => String, nullable: true, description: 'Optional name of this request: the same name answers the same reversal.' }) requestKey?: string | null,
  ): Promise<TransferReversalOutput> {
    return toTransferReversalOutput(await this.reversals.reverseTransfer(principal, { payoutId, amountMinor, reason, currency: currency ?? null, requestKey: requestKey ?? null }));
  }
}
