import { Args, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AdminOnly } from '../platform/auth/decorators';
import { toConnection } from '../platform/paging/page';
import { balanceOnNormalSide, LedgerSide, normalSideOf } from './accounts';
import { LedgerAccountEntriesArgs, LedgerTransactionsArgs } from './dto/ledger.input';
import {
  LedgerAccountEntryConnection,
  LedgerAccountOutput,
  LedgerTransactionConnection,
} from './dto/ledger.output';
import { moneyOutput } from './dto/money.output';
import { LedgerQueryService } from './ledger-query.service';

const sideOf = (amountMinor: bigint): LedgerSide => (amountMinor > 0n ? LedgerSide.DEBIT : LedgerSide.CREDIT);

/** Admins only: the journal and account statements. */
@Resolver(() => LedgerAccountOutput)
export class LedgerResolver {
  constructor(private readonly ledger: LedgerQueryService) {}

  @AdminOnly()
  @Query(() => LedgerTransactionConnection, { description: 'Journal transactions with their entries, newest first. Admins only.' })
  async ledgerTransactions(@Args() args: LedgerTransactionsArgs): Promise<LedgerTransactionConnection> {
    const page = await this.ledger.transactions(args.filter ?? {}, args.first, args.after ?? null);
    return toConnection(page, (t) => t.cursor, (t) => ({
      id: t.id,
      reference: t.reference,
      kind: t.kind,
      description: t.description,
      occurredAt: t.occurredAt,
      createdAt: t.createdAt,
      metadata: t.metadata,
      entries: t.entries.map((e) => ({
        id: e.id,
        accountCode: e.accountCode,
        side: sideOf(e.amountMinor),
        amount: moneyOutput(e.amountMinor, e.currency),
        memo: e.memo,
      })),
    }));
  }

  @AdminOnly()
  @Query(() => LedgerAccountOutput, {
    description: 'One account code: its balance per currency and its entries. NOT_FOUND if nothing was ever posted to it. Admins only.',
  })
  async ledgerAccount(@Args('code', { type: () => String }) code: string): Promise<LedgerAccountOutput> {
    const a = await this.ledger.account(code);
    return {
      code: a.code,
      kind: a.kind,
      normalBalance: normalSideOf(a.kind),
      organizationId: a.organizationId,
      balances: a.balances.map((b) => ({
        currency: b.currency,
        signedBalance: moneyOutput(b.balanceMinor, b.currency),
        balance: moneyOutput(balanceOnNormalSide(a.kind, b.balanceMinor), b.currency),
      })),
    };
  }

  // Reachable only through ledgerAccount (admins); field resolvers do not run the guard.
  @ResolveField('entries', () => LedgerAccountEntryConnection, { description: 'Most recently recorded first.' })
  async entries(@Parent() account: LedgerAccountOutput, @Args() args: LedgerAccountEntriesArgs): Promise<LedgerAccountEntryConnection> {
    const page = await this.ledger.accountEntries(account.code, { first: args.first, after: args.after ?? null, currency: args.currency ?? null });
    return toConnection(page, (e) => e.cursor, (e) => ({
      id: e.id,
      side: sideOf(e.amountMinor),
      amount: moneyOutput(e.amountMinor, e.currency),
      memo: e.memo,
      transactionId: e.transactionId,
      reference: e.reference,
      kind: e.kind,
      description: e.description,
      occurredAt: e.occurredAt,
    }));
  }
}
