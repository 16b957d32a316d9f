import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { moneyOutput } from '../../ledger/dto/money.output';
import { CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { toConnection } from '../../platform/paging/page';
import { LicenseNoticesArgs, MissingRevenueReportsArgs, ReportModelRevenueInput } from './dto/revenue.input';
import {
  LicenseNoticeConnection,
  LicenseNoticeOutput,
  MissingRevenueReportConnection,
  ModelRevenueReportOutput,
} from './dto/revenue.output';
import { NoticeRow } from './revenue.repository';
import { LICENSE_NOTICE_CURSOR, MISSING_REPORT_CURSOR, ReportWithRoyalties, RevenueService } from './revenue.service';

const toNotice = (n: NoticeRow): LicenseNoticeOutput => ({
  id: n.id,
  reportId: n.reportId,
  agreementId: n.agreementId,
  vendorOrganizationId: n.vendorOrganizationId,
  distillerOrganizationId: n.distillerOrganizationId,
  modelId: n.modelId,
  period: n.period,
  metric: n.metric,
  effect: n.effect,
  threshold: n.threshold.toString(),
  observed: n.observed.toString(),
  currency: n.currency,
  createdAt: n.createdAt,
});

const toReport = ({ report: r, royalties, notices }: ReportWithRoyalties): ModelRevenueReportOutput => ({
  id: r.id,
  modelId: r.modelId,
  organizationId: r.distillerOrganizationId,
  period: r.period,
  revision: r.revision,
  gross: moneyOutput(r.grossMinor, r.currency),
  activeUsers: r.activeUsers === null ? null : r.activeUsers.toString(),
  evidenceUrl: r.evidenceUrl,
  billingPeriod: r.billingPeriod,
  royalties: royalties.map((x) => ({
    ancestorModelId: x.modelId,
    vendorOrganizationId: x.organizationId,
    agreementId: x.agreementId,
    policy: x.policy,
    shareBps: x.shareBps,
    depth: x.depth,
    amount: moneyOutput(x.amountMinor, r.currency),
  })),
  notices: notices.map(toNotice),
  createdAt: r.createdAt,
});

@Resolver()
export class RevenueResolver {
  constructor(private readonly revenue: RevenueService) {}

  @Mutation(() => ModelRevenueReportOutput, {
    description:
      'Members of the organization that owns the student model (others: NOT_FOUND). Reports what the model earned outside the platform ' +
      'in a month; a second report of the same model, month and currency is a correction (only the difference is billed or credited). ' +
      "The royalties go on the organization's next PERIOD invoice in that currency. Audited.",
  })
  async reportModelRevenue(@CurrentPrincipal() principal: Principal, @Args('input') input: ReportModelRevenueInput): Promise<ModelRevenueReportOutput> {
    return toReport(await this.revenue.report(principal, input));
  }

  @Query(() => LicenseNoticeConnection, {
    description: "Licence notices of a vendor organization's agreements (its members, platform admins), newest first; admins may omit organizationId.",
  })
  async licenseNotices(@CurrentPrincipal() principal: Principal, @Args() args: LicenseNoticesArgs): Promise<LicenseNoticeConnection> {
    const page = await this.revenue.notices(principal, { organizationId: args.organizationId ?? null, first: args.first, after: args.after ?? null });
    return toConnection(page, (n) => LICENSE_NOTICE_CURSOR.encode([n.timeKey, n.id]), toNotice);
  }

  @Query(() => MissingRevenueReportConnection, {
    description:
      'For a CLOSED month: student models with paid usage on the platform that month and no revenue report for it. A distiller organization ' +
      '(its members, platform admins); admins may omit organizationId.',
  })
  async missingRevenueReports(@CurrentPrincipal() principal: Principal, @Args() args: MissingRevenueReportsArgs): Promise<MissingRevenueReportConnection> {
    const page = await this.revenue.missingReports(principal, {
      period: args.period,
      organizationId: args.organizationId ?? null,
      first: args.first,
      after: args.after ?? null,
    });
    return toConnection(page, (m) => MISSING_REPORT_CURSOR.encode([m.modelId]), (m) => ({ ...m, period: page.period }));
  }
}
