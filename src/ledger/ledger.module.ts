import { Module } from '@nestjs/common';
import { LedgerQueryService } from './ledger-query.service';
import { LedgerRepository } from './ledger.repository';
import { LedgerResolver } from './ledger.resolver';
import { LedgerService } from './ledger.service';

/**
 * The double-entry ledger: accounts, journal transactions and
 * entries, kept balanced and immutable by PostgreSQL. Other modules post
 * through LedgerService inside their own transaction; admins read it through
 * GraphQL (ledgerTransactions, ledgerAccount).
 */
@Module({
  providers: [LedgerService, LedgerQueryService, LedgerRepository, LedgerResolver],
  exports: [LedgerService],
})
export class LedgerModule {}
