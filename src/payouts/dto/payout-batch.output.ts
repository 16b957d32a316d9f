import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { MoneyOutput, moneyOutput } from '../../ledger/dto/money.output';
import { Paginated } from '../../platform/graphql/pagination';
import type { BatchProgress, PayoutDetail, SkipDetail } from '../payout-batches.service';
import type { PayoutBatchRow, VendorHoldRow } from '../payout-batches.repository';
import { payoutFailureAdvice } from '../payout-failure-advice';
import { canReceiveTransfers } from '../payout-onboarding.service';

export enum PayoutBatchStatusEnum {
  IN_REVIEW = 'IN_REVIEW',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  EXECUTING = 'EXECUTING',
  COMPLETED = 'COMPLETED',
  PARTIALLY_FAILED = 'PARTIALLY_FAILED',
}
registerEnumType(PayoutBatchStatusEnum, {
  name: 'PayoutBatchStatus',
  description: 'IN_REVIEW (waiting for a second admin) → APPROVED → EXECUTING → COMPLETED | PARTIALLY_FAILED; or REJECTED.',
});

export enum VendorPayoutStatusEnum {
  PENDING = 'PENDING',
  HELD = 'HELD',
  APPROVED = 'APPROVED',
  SENDING = 'SENDING',
  SENT = 'SENT',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(VendorPayoutStatusEnum, {
  name: 'VendorPayoutStatus',
  description:
    'PENDING (batch in review) → APPROVED (batch approved) → SENDING (booked, transfer requested) → SENT | FAILED; HELD by an admin before sending; ' +
    'CANCELLED when its batch was rejected or it was still held when its batch finished (the amount is owed again).',
});

export enum PayoutSkipReasonEnum {
  BELOW_MINIMUM = 'BELOW_MINIMUM',
  NO_PAYOUT_ACCOUNT = 'NO_PAYOUT_ACCOUNT',
  ACCOUNT_CANNOT_RECEIVE_TRANSFERS = 'ACCOUNT_CANNOT_RECEIVE_TRANSFERS',
  VENDOR_ON_HOLD = 'VENDOR_ON_HOLD',
  OPEN_PAYOUT = 'OPEN_PAYOUT',
  NOTHING_AVAILABLE = 'NOTHING_AVAILABLE',
  LEDGER_MISMATCH = 'LEDGER_MISMATCH',
}
registerEnumType(PayoutSkipReasonEnum, { name: 'PayoutSkipReason', description: 'Why a vendor with earnings owed or pending was left out of a batch.' });

@ObjectType('PayoutActor', { description: 'The admin who did something to a batch.' })
export class PayoutActorOutput {
  @Field(() => ID)
  userId: string;

  @Field(() => String, { nullable: true })
  email: string | null;
}

@ObjectType('PayoutLine', { description: 'A ledger entry behind a payout amount (a statement line).' })
export class PayoutLineOutput {
  @Field(() => String, { description: 'The ledger entry id.' })
  entryId: string;

  @Field(() => String, { description: "The journal transaction's reference (e.g. the invoice it comes from)." })
  transactionReference: string;

  @Field(() => String, { description: 'INVOICE_PAID, REFUND, TRANSFER_REVERSAL, …' })
  transactionKind: string;

  @Field(() => Date)
  occurredAt: Date;

  @Field(() => MoneyOutput, { description: 'What this entry adds to the payout (earnings positive, a refund or royalty passed on negative).' })
  amount: MoneyOutput;

  @Field(() => String, { nullable: true })
  memo: string | null;
}

@ObjectType('PayoutHold', { description: 'An admin hold on one payout.' })
export class PayoutHoldOutput {
  @Field(() => String)
  reason: string;

  @Field(() => ID)
  heldBy: string;

  @Field(() => Date)
  heldAt: Date;
}

@ObjectType('PayoutAccountNow', { description: "The vendor's connected account as it is now (not as it was when the batch was made)." })
export class PayoutAccountNowOutput {
  @Field(() => String)
  accountId: string;

  @Field(() => Boolean)
  canReceiveTransfers: boolean;

  @Field(() => Boolean)
  payoutsEnabled: boolean;

  @Field(() => String, { nullable: true })
  disabledReason: string | null;

  @Field(() => [String])
  currentlyDue: string[];

  @Field(() => [String])
  pastDue: string[];
}

@ObjectType('VendorPayout', { description: "One vendor's payout in a batch: its amount, the ledger lines behind it, and how sending it went." })
export class VendorPayoutOutput {
  @Field(() => ID)
  id: string;

  @Field(() => ID)
  batchId: string;

  @Field(() => ID)
  organizationId: string;

  @Field(() => String, { nullable: true })
  organizationName: string | null;

  @Field(() => VendorPayoutStatusEnum)
  status: VendorPayoutStatusEnum;

  @Field(() => MoneyOutput)
  amount: MoneyOutput;

  @Field(() => String)
  currency: string;

  @Field(() => String, { description: 'The connected account the payout goes to (acct_…), fixed when the batch was made.' })
  accountId: string;

  @Field(() => Date, { description: 'When its batch was made.' })
  batchCreatedAt: Date;

  @Field(() => [PayoutLineOutput], { description: 'The ledger entries whose sum is the amount.' })
  lines: PayoutLineOutput[];

  @Field(() => PayoutHoldOutput, { nullable: true, description: 'Admins only (null for vendors): why it is held.' })
  hold: PayoutHoldOutput | null;

  @Field(() => PayoutAccountNowOutput, { nullable: true, description: 'The connected account now; null if the organization has none.' })
  accountNow: PayoutAccountNowOutput | null;

  @Field(() => String, { nullable: true, description: 'The transfer (tr_…) once sent.' })
  transferId: string | null;

  @Field(() => Date, { nullable: true })
  sentAt: Date | null;

  @Field(() => Date, { nullable: true })
  failedAt: Date | null;

  @Field(() => String, { nullable: true })
  failureCode: string | null;

  @Field(() => String, { nullable: true })
  failureMessage: string | null;

  @Field(() => String, { nullable: true, description: 'What to do about the failure (e.g. finish onboarding); null unless FAILED.' })
  failureAdvice: string | null;

  @Field(() => MoneyOutput, { description: 'How much of the transfer was reversed.' })
  reversed: MoneyOutput;
}

@ObjectType('VendorPayoutConnection')
export class VendorPayoutConnection extends Paginated(VendorPayoutOutput, 'VendorPayout') {}

@ObjectType('PayoutBatchSkip', { description: 'A vendor left out of the batch, and why.' })
export class PayoutBatchSkipOutput {
  @Field(() => ID)
  organizationId: string;

  @Field(() => String, { nullable: true })
  organizationName: string | null;

  @Field(() => PayoutSkipReasonEnum)
  reason: PayoutSkipReasonEnum;

  @Field(() => MoneyOutput, { description: 'Available earnings when the batch was made.' })
  available: MoneyOutput;

  @Field(() => String, { nullable: true, description: 'The figures or account state behind the reason.' })
  detail: string | null;
}

@ObjectType('PayoutBatchSkipConnection')
export class PayoutBatchSkipConnection extends Paginated(PayoutBatchSkipOutput, 'PayoutBatchSkip') {}

@ObjectType('PayoutSkipCount')
export class PayoutSkipCountOutput {
  @Field(() => PayoutSkipReasonEnum)
  reason: PayoutSkipReasonEnum;

  @Field(() => Int)
  count: number;
}

@ObjectType('PayoutStatusCount')
export class PayoutStatusCountOutput {
  @Field(() => VendorPayoutStatusEnum)
  status: VendorPayoutStatusEnum;

  @Field(() => Int)
  count: number;

  @Field(() => MoneyOutput)
  amount: MoneyOutput;
}

@ObjectType('PayoutBatchProgress')
export class PayoutBatchProgressOutput {
  @Field(() => [PayoutStatusCountOutput])
  byStatus: PayoutStatusCountOutput[];

  @Field(() => MoneyOutput, { description: 'Total of the SENT payouts.' })
  sent: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'Total reversed after sending.' })
  reversed: MoneyOutput;

  @Field(() => MoneyOutput, { description: 'Total of the payouts that will be (or were) sent: neither HELD nor CANCELLED.' })
  toSend: MoneyOutput;
}

@ObjectType('PayoutBatch', { description: "A snapshot of what may be paid out in one currency, reviewed by a second admin before it is sent." })
export class PayoutBatchOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  currency: string;

  @Field(() => PayoutBatchStatusEnum)
  status: PayoutBatchStatusEnum;

  @Field(() => MoneyOutput, { description: 'The currency minimum applied (PAYOUT_MINIMUMS).' })
  minimum: MoneyOutput;

  @Field(() => Date, { description: 'The time the available earnings were computed for.' })
  asOf: Date;

  @Field(() => Int)
  holdbackDays: number;

  @Field(() => MoneyOutput, { description: 'Total of all payouts when the batch was made.' })
  total: MoneyOutput;

  @Field(() => Int)
  payoutCount: number;

  @Field(() => String, { description: 'SHA-256 of the canonical snapshot (payouts, statuses, lines); approve with the current one.' })
  snapshotHash: string;

  @Field(() => PayoutActorOutput)
  createdBy: PayoutActorOutput;

  @Field(() => Date)
  createdAt: Date;

  @Field(() => PayoutActorOutput, { nullable: true })
  approvedBy: PayoutActorOutput | null;

  @Field(() => Date, { nullable: true })
  approvedAt: Date | null;

  @Field(() => ID, { nullable: true })
  rejectedBy: string | null;

  @Field(() => Date, { nullable: true })
  rejectedAt: Date | null;

  @Field(() => String, { nullable: true })
  rejectReason: string | null;

  @Field(() => Date, { nullable: true })
  completedAt: Date | null;
}

@ObjectType('PayoutBatchConnection')
export class PayoutBatchConnection extends Paginated(PayoutBatchOutput, 'PayoutBatch') {}

@ObjectType('VendorPayoutHold', { description: 'A vendor kept out of new payout batches.' })
export class VendorPayoutHoldOutput {
  @Field(() => ID)
  organizationId: string;

  @Field(() => String, { description: "The vendor organization's name." })
  organizationName: string;

  @Field(() => String)
  reason: string;

  @Field(() => ID)
  heldBy: string;

  @Field(() => Date)
  heldAt: Date;
}

export const toBatchOutput = (b: PayoutBatchRow): PayoutBatchOutput => ({
  id: b.id,
  currency: b.currency,
  status: b.status as PayoutBatchStatusEnum,
  minimum: moneyOutput(b.minimumMinor, b.currency),
  asOf: b.asOf,
  holdbackDays: b.holdbackDays,
  total: moneyOutput(b.totalMinor, b.currency),
  payoutCount: b.payoutCount,
  snapshotHash: b.snapshotHash,
  createdBy: { userId: b.createdBy, email: b.createdByEmail },
  createdAt: b.createdAt,
  approvedBy: b.approvedBy ? { userId: b.approvedBy, email: b.approvedByEmail } : null,
  approvedAt: b.approvedAt,
  rejectedBy: b.rejectedBy,
  rejectedAt: b.rejectedAt,
  rejectReason: b.rejectReason,
  completedAt: b.completedAt,
});

/** `forAdmin`: whether the hold's reason is shown (vendors see the HELD status only). */
export const toPayoutOutput = (p: PayoutDetail, forAdmin: boolean): VendorPayoutOutput => ({
  id: p.id,
  batchId: p.batchId,
  organizationId: p.organizationId,
  organizationName: p.organizationName,
  status: p.status as VendorPayoutStatusEnum,
  amount: moneyOutput(p.amountMinor, p.currency),
  currency: p.currency,
  accountId: p.accountId,
  batchCreatedAt: p.batchCreatedAt,
  lines: p.lines.map((l) => ({
    entryId: l.entryId,
    transactionReference: l.transactionReference,
    transactionKind: l.transactionKind,
    occurredAt: l.occurredAt,
    amount: moneyOutput(l.amountMinor, p.currency),
    memo: l.memo,
  })),
  hold: forAdmin && p.status === 'HELD' && p.holdReason && p.heldBy && p.heldAt ? { reason: p.holdReason, heldBy: p.heldBy, heldAt: p.heldAt } : null,
  accountNow: p.accountNow
    ? {
        accountId: p.accountNow.accountId,
        canReceiveTransfers: canReceiveTransfers({ transfersCapability: p.accountNow.transfersCapability as never, disabledReason: p.accountNow.disabledReason }),
        payoutsEnabled: p.accountNow.payoutsEnabled,
        disabledReason: p.accountNow.disabledReason,
        currentlyDue: p.accountNow.currentlyDue,
        pastDue: p.accountNow.pastDue,
      }
    : null,
  transferId: p.transferId,
  sentAt: p.sentAt,
  failedAt: p.failedAt,
  failureCode: p.failureCode,
  failureMessage: p.failureMessage,
  failureAdvice: p.status === 'FAILED' ? payoutFailureAdvice(p.failureCode) : null,
  reversed: moneyOutput(p.reversedMinor, p.currency),
});

export const toSkipOutput = (s: SkipDetail, currency: string): PayoutBatchSkipOutput => ({
  organizationId: s.organizationId,
  organizationName: s.organizationName,
  reason: s.reason as PayoutSkipReasonEnum,
  available: moneyOutput(s.availableMinor, currency),
  detail: s.detail,
});

export const toProgressOutput = (p: BatchProgress, currency: string): PayoutBatchProgressOutput => ({
  byStatus: p.byStatus.map((s) => ({ status: s.status as VendorPayoutStatusEnum, count: s.count, amount: moneyOutput(s.amountMinor, currency) })),
  sent: moneyOutput(p.sentMinor, currency),
  reversed: moneyOutput(p.reversedMinor, currency),
  toSend: moneyOutput(p.toSendMinor, currency),
});

export const toVendorHoldOutput = (h: VendorHoldRow): VendorPayoutHoldOutput => ({ ...h });
