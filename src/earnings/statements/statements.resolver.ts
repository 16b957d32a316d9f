import { Args, ID, Query, Resolver } from '@nestjs/graphql';
import { moneyOutput } from '../../ledger/dto/money.output';
import { CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { UuidPipe } from '../../platform/errors/validation';
import { EARNINGS_SOURCES, EarningsStatement, UsageStatement } from './statement.types';
import { EarningsStatementOutput, UsageStatementOutput } from './dto/statement.output';
import { IssuedStatement, StatementsService } from './statements.service';

function common(s: IssuedStatement) {
  return {
    id: s.row.id,
    organizationId: s.row.organizationId,
    period: s.row.period,
    keyId: s.row.keyId,
    issuedAt: s.row.issuedAt,
    payload: s.document.payload,
    signature: s.document.signature,
    statement: s.document.statement as unknown as Record<string, unknown>,
    document: s.document as unknown as Record<string, unknown>,
  };
}

@Resolver()
export class StatementsResolver {
  constructor(private readonly statements: StatementsService) {}

  @Query(() => EarningsStatementOutput, {
    description: "The vendor organization's signed earnings statement for a CLOSED billing period and currency (members and admins).",
  })
  async earningsStatement(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }, new UuidPipe('organizationId')) organizationId: string,
    @Args('period') period: string,
    @Args('currency') currency: string,
  ): Promise<EarningsStatementOutput> {
    const s = await this.statements.earnings(principal, organizationId, period, currency);
    const st: EarningsStatement = s.document.statement;
    return Object.assign(new EarningsStatementOutput(), {
      ...common(s),
      currency: st.currency,
      lineCount: st.lines.length,
      totals: EARNINGS_SOURCES.map((source) => ({ source, amount: moneyOutput(BigInt(st.totalsBySource[source]), st.currency) })),
      net: moneyOutput(BigInt(st.totals.netMinor), st.currency),
    });
  }

  @Query(() => UsageStatementOutput, {
    description: "The distiller organization's signed usage statement for a CLOSED billing period (members and admins).",
  })
  async usageStatement(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }, new UuidPipe('organizationId')) organizationId: string,
    @Args('period') period: string,
  ): Promise<UsageStatementOutput> {
    const s = await this.statements.usage(principal, organizationId, period);
    const st: UsageStatement = s.document.statement;
    return Object.assign(new UsageStatementOutput(), {
      ...common(s),
      agreements: st.agreements.map((a) => ({
        agreementId: a.agreementId,
        eventCount: a.usage.eventCount,
        inputTokens: a.usage.inputTokens,
        outputTokens: a.usage.outputTokens,
        merkleRoot: a.usage.merkleRoot,
        charges: a.chargeTotals.map((c) => moneyOutput(BigInt(c.amountMinor), c.currency)),
      })),
      totals: st.totals.map((c) => moneyOutput(BigInt(c.amountMinor), c.currency)),
    });
  }
}
