/** The ledger as admins read it. Amounts are Money; an entry's sign says its side (positive debit, negative credit). */
import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import GraphQLJSON from '../../platform/graphql/json.scalar';
import { Paginated } from '../../platform/graphql/pagination';
import { AccountKind, LedgerSide } from '../accounts';
import { MoneyOutput } from './money.output';

registerEnumType(AccountKind, {
  name: 'LedgerAccountKind',
  description: 'What a ledger account is, from its code',
  valuesMap: {
    PLATFORM_CASH: { description: "platform:cash — money at the payment processor (asset)" },
    PLATFORM_FEES: { description: "platform:fees — the platform's fee revenue" },
    PLATFORM_PROCESSING: { description: 'platform:processing — payment processing fees (expense)' },
    PLATFORM_BILLED: { description: 'platform:billed — invoiced, awaiting allocation on collection' },
    DISTILLER_RECEIVABLE: { description: 'distiller:<org>:receivable — what a distiller owes on open invoices (asset)' },
    VENDOR_PAYABLE: { description: 'vendor:<org>:payable — what the platform owes a vendor (liability; may go negative after refunds)' },
    VENDOR_HELD: { description: "vendor:<org>:held — a vendor's share held while a dispute is open (liability)" },
    VENDOR_PAID: { description: 'vendor:<org>:paid — what has been paid out to a vendor' },
    POOL: { description: "pool:<YYYY-MM> — a pool-plan period's money awaiting distribution (liability)" },
  },
});

registerEnumType(LedgerSide, {
  name: 'LedgerSide',
  description: 'Debit (positive amounts) or credit (negative amounts)',
});

@ObjectType('LedgerEntry', { description: 'One line of a journal transaction' })
export class LedgerEntryOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  accountCode: string;

  @Field(() => LedgerSide)
  side: LedgerSide;

  @Field(() => MoneyOutput, { description: 'Signed: positive debit, negative credit' })
  amount: MoneyOutput;

  @Field(() => String, { nullable: true })
  memo: string | null;
}

@ObjectType('LedgerTransaction', { description: 'A journal transaction: ≥ 2 entries summing to zero per currency; immutable' })
export class LedgerTransactionOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String, { description: 'Unique idempotency reference, e.g. "invoice:<id>:paid"' })
  reference: string;

  @Field(() => String, { description: 'e.g. INVOICE_ISSUED, INVOICE_PAID, REFUND' })
  kind: string;

  @Field(() => String)
  description: string;

  @Field(() => Date)
  occurredAt: Date;

  @Field(() => Date, { description: 'When it was recorded' })
  createdAt: Date;

  @Field(() => GraphQLJSON)
  metadata: Record<string, string>;

  @Field(() => [LedgerEntryOutput], { description: 'In posting order' })
  entries: LedgerEntryOutput[];
}

@ObjectType('LedgerTransactionConnection', { description: 'Newest first (by occurredAt, then id)' })
export class LedgerTransactionConnection extends Paginated(LedgerTransactionOutput, 'LedgerTransaction') {}

@ObjectType('LedgerAccountBalance', { description: "An account's balance in one currency" })
export class LedgerAccountBalanceOutput {
  @Field(() => String)
  currency: string;

  @Field(() => MoneyOutput, { description: 'Sum of the entries: positive = net debit, negative = net credit' })
  signedBalance: MoneyOutput;

  @Field(() => MoneyOutput, { description: "As people read it: positive when on the account's normal side (normalBalance)" })
  balance: MoneyOutput;
}

@ObjectType('LedgerAccountEntry', { description: 'An entry on the account, with its journal transaction' })
export class LedgerAccountEntryOutput {
  @Field(() => ID)
  id: string;

  @Field(() => LedgerSide)
  side: LedgerSide;

  @Field(() => MoneyOutput, { description: 'Signed: positive debit, negative credit' })
  amount: MoneyOutput;

  @Field(() => String, { nullable: true })
  memo: string | null;

  @Field(() => ID)
  transactionId: string;

  @Field(() => String)
  reference: string;

  @Field(() => String)
  kind: string;

  @Field(() => String)
  description: string;

  @Field(() => Date)
  occurredAt: Date;
}

@ObjectType('LedgerAccountEntryConnection', { description: 'Most recently recorded first' })
export class LedgerAccountEntryConnection extends Paginated(LedgerAccountEntryOutput, 'LedgerAccountEntry') {}

@ObjectType('LedgerAccount', { description: 'A ledger account code and its balances in every currency it holds' })
export class LedgerAccountOutput {
  @Field(() => String)
  code: string;

  @Field(() => AccountKind)
  kind: AccountKind;

  @Field(() => LedgerSide, { description: 'The side its balance normally sits on (DEBIT: assets, expenses; CREDIT: liabilities, revenue)' })
  normalBalance: LedgerSide;

  @Field(() => ID, { nullable: true, description: 'The distiller or vendor organization it belongs to' })
  organizationId: string | null;

  @Field(() => [LedgerAccountBalanceOutput], { description: 'One per currency, by currency code' })
  balances: LedgerAccountBalanceOutput[];
}
