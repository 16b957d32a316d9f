import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { moneyOutput, MoneyOutput } from '../../ledger/dto/money.output';
import type { SandboxDispute } from '../sandbox/sandbox-payments.adapter';

export enum SandboxDisputeOutcomeEnum {
  WON = 'WON',
  LOST = 'LOST',
}
registerEnumType(SandboxDisputeOutcomeEnum, { name: 'SandboxDisputeOutcome' });

@ObjectType('SandboxDispute', { description: 'A dispute simulated on a sandbox payment (SANDBOX mode only; no real money).' })
export class SandboxDisputeOutput {
  @Field(() => ID)
  id: string;

  @Field(() => ID)
  paymentIntentId: string;

  @Field(() => ID)
  chargeId: string;

  @Field(() => MoneyOutput)
  amount: MoneyOutput;

  @Field(() => String)
  reason: string;

  @Field(() => String, { description: "Stripe's dispute status: needs_response, won, lost." })
  status: string;
}

export function toSandboxDisputeOutput(d: SandboxDispute): SandboxDisputeOutput {
  return { id: d.id, paymentIntentId: d.paymentIntentId, chargeId: d.chargeId, amount: moneyOutput(d.amountMinor, d.currency), reason: d.reason, status: d.status };
}
