import { Module } from '@nestjs/common';
import { EarningsBalanceRepository } from './earnings-balance.repository';
import { EarningsBalanceService } from './earnings-balance.service';
import { EarningsQueryService } from './earnings-query.service';
import { EarningsResolver } from './earnings.resolver';

/**
 * Vendors' earnings read from the ledger: what is owed, what is still inside
 * the holdback window, what may be paid out. Other modules (payouts) call
 * EarningsBalanceService inside their own transaction; people read it through
 * GraphQL (`earnings`, and `earningsBalances` for admins).
 */
@Module({
  providers: [EarningsBalanceRepository, EarningsBalanceService, EarningsQueryService, EarningsResolver],
  exports: [EarningsBalanceService],
})
export class EarningsModule {}
