import { Field, ID, ObjectType } from '@nestjs/graphql';
import { MoneyOutput, moneyOutput } from '../../ledger/dto/money.output';
import type { TransferReversalOutcome } from '../payout-reversals.service';

@ObjectType('TransferReversal', { description: "A reversal of part (or the rest) of a sent payout's transfer, booked in the ledger (TRANSFER_REVERSAL)." })
export class TransferReversalOutput {
  @Field(() => ID)
  payoutId: string;

  @Field(() => String, { description: "The processor's reversal id (trr_…)." })
  reversalId: string;

  @Field(() => MoneyOutput, { description: "The reversed amount, in the transfer's currency." })
  amount: MoneyOutput;

  @Field(() => MoneyOutput, { description: "The payout's reversed total after this reversal." })
  payoutReversed: MoneyOutput;

  @Field(() => MoneyOutput, { description: "The payout's amount." })
  payoutAmount: MoneyOutput;

  @Field(() => Boolean, { description: 'False when this request had already been answered (a replay of the same request).' })
  created: boolean;
}

export function toTransferReversalOutput(o: TransferReversalOutcome): TransferReversalOutput {
  return {
    payoutId: o.payoutId,
    reversalId: o.reversalId,
    amount: moneyOutput(o.amountMinor, o.currency),
    payoutReversed: moneyOutput(o.reversedMinor, o.currency),
    payoutAmount: moneyOutput(o.payoutAmountMinor, o.currency),
    created: o.created,
  };
}
