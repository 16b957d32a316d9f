import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { MoneyOutput, moneyOutput } from '../../../ledger/dto/money.output';
import { PaymentsModeEnum } from '../../../payments/dto/payment-setup.output';
import type { ReconciliationResult, UnmatchedItem } from '../reconciliation.service';

export enum ReconciliationSideEnum {
  LEDGER = 'LEDGER',
  PROCESSOR = 'PROCESSOR',
}
registerEnumType(ReconciliationSideEnum, { name: 'ReconciliationSide', description: 'Which side has the item: our ledger, or the payment processor (its balance transactions).' });

export enum ReconciliationItemStatusEnum {
  DIFFERENCE = 'DIFFERENCE',
  TIMING = 'TIMING',
}
registerEnumType(ReconciliationItemStatusEnum, {
  name: 'ReconciliationItemStatus',
  description: 'DIFFERENCE: one side has it and the other not (or another amount). TIMING: the counterpart is on a neighbouring day, or a dispute is settled by the two sides at different times.',
});

export enum ReconciliationTriggerEnum {
  ADMIN = 'ADMIN',
  JOB = 'JOB',
}
registerEnumType(ReconciliationTriggerEnum, { name: 'ReconciliationTrigger' });

@ObjectType('ReconciliationCategory', { description: 'What matched in one category and currency.' })
export class ReconciliationCategoryOutput {
  @Field(() => String, { description: 'charge, processing_fee, refund, dispute (with dispute_reversal), transfer, transfer_reversal, …' })
  category: string;

  @Field(() => Int, { description: "Processor items matched (balance transactions, or their fees)." })
  matchedCount: number;

  @Field(() => MoneyOutput, { description: 'Their signed sum (money in positive).' })
  matched: MoneyOutput;
}

@ObjectType('ReconciliationItem', { description: 'A cash movement without its counterpart on the other side that day.' })
export class ReconciliationItemOutput {
  @Field(() => ReconciliationSideEnum)
  side: ReconciliationSideEnum;

  @Field(() => ReconciliationItemStatusEnum)
  status: ReconciliationItemStatusEnum;

  @Field(() => String)
  category: string;

  @Field(() => String, { nullable: true, description: 'The processor object (ch_…, re_…, du_…, tr_…, trr_…); null when the ledger names none.' })
  sourceId: string | null;

  @Field(() => MoneyOutput, { description: "Signed: positive into the platform's balance." })
  amount: MoneyOutput;

  @Field(() => String, { description: 'The ledger reference, or the balance transaction id (":fee" for its fee).' })
  reference: string;

  @Field(() => Date)
  at: Date;

  @Field(() => String)
  note: string;
}

@ObjectType('Reconciliation', { description: "One UTC day's ledger cash movements compared with the processor's balance transactions (a stored run)." })
export class ReconciliationOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String, { description: 'The UTC day, YYYY-MM-DD.' })
  date: string;

  @Field(() => PaymentsModeEnum)
  mode: PaymentsModeEnum;

  @Field(() => ReconciliationTriggerEnum)
  trigger: ReconciliationTriggerEnum;

  @Field(() => Date)
  ranAt: Date;

  @Field(() => Int)
  matchedCount: number;

  @Field(() => Int, { description: 'Unmatched items that are differences (0: the day reconciles).' })
  differenceCount: number;

  @Field(() => Int)
  timingCount: number;

  @Field(() => [ReconciliationCategoryOutput])
  categories: ReconciliationCategoryOutput[];

  @Field(() => [ReconciliationItemOutput])
  unmatched: ReconciliationItemOutput[];
}

const item = (u: UnmatchedItem): ReconciliationItemOutput => ({
  side: u.side as ReconciliationSideEnum,
  status: u.status as ReconciliationItemStatusEnum,
  category: u.category,
  sourceId: u.sourceId,
  amount: moneyOutput(u.amountMinor, u.currency),
  reference: u.reference,
  at: u.at,
  note: u.note,
});

export function toReconciliationOutput(r: ReconciliationResult): ReconciliationOutput {
  return {
    id: r.id,
    date: r.date,
    mode: r.mode.toUpperCase() as PaymentsModeEnum,
    trigger: r.trigger as ReconciliationTriggerEnum,
    ranAt: r.ranAt,
    matchedCount: r.matchedCount,
    differenceCount: r.differenceCount,
    timingCount: r.timingCount,
    categories: r.categories.map((c) => ({ category: c.category, matchedCount: c.matchedCount, matched: moneyOutput(c.matchedMinor, c.currency) })),
    unmatched: r.unmatched.map(item),
  };
}
