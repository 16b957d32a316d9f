/**
 * Downstream revenue reports: a member of the organization that owns a
 * student model reports what the model earned outside the platform in a
 * month. Each report is a new revision of (model, month, currency) — the
 * latest is current — with the royalties its stack owes, billed by the close
 * of the period open at acceptance (RoyaltyBillingService). The report is
 * checked against the thresholds of the licences of the model's own lineage
 * edges; each one exceeded raises a licence notice for the agreement's vendor.
 *
 * Concurrency: revisions of one (model, month, currency) are serialised by a
 * transaction-scoped advisory lock, so concurrent reports each get the next
 * revision number and the last committed one is current. Reports and their
 * royalties are immutable (triggers); notices are unique per (revision,
 * agreement, metric).
 */
import { Injectable } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { AccessService } from '../../identity/access.service';
import { ThresholdMetric } from '../../licensing/terms/terms.types';
import { isHttpsUrl } from '../../licensing/terms/terms.validation';
import { Principal } from '../../platform/auth/principal';
import { Clock } from '../../platform/clock/clock';
import { Database } from '../../platform/database/transaction';
import { BadInputError, ConflictError, FieldError, ForbiddenError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { MAX_PAGE_SIZE } from '../../platform/graphql/limits';
import { CursorParts, defineCursor } from '../../platform/paging/cursor';
import { Page, pageOf } from '../../platform/paging/page';
import { decimalIntegerProblem } from '../../platform/validation/decimal-integer';
import { isCurrencyCode } from '../../platform/validation/iso-codes';
import { isUuid } from '../../platform/validation/uuid';
import { RoyaltyStackService } from '../../provenance/lineage/royalty-stack.service';
import { parsePeriod, periodOf } from '../billing-period';
import { MissingReportRow, NoticeRow, ReportRow, RevenueRepository } from './revenue.repository';
import { RoyaltyAmount, royaltiesOf, RoyaltyStackOverflowError } from './royalty-lines';

export const LICENSE_NOTICE_CURSOR = defineCursor('license-notice', [CursorParts.timeKey, CursorParts.uuid]);
export const MISSING_REPORT_CURSOR = defineCursor('missing-revenue-report', [CursorParts.uuid]);

const MAX_EVIDENCE_URL = 2048;

export interface ReportRevenueInput {
  modelId: string;
  period: string;
  grossMinor: string;
  currency: string;
  evidenceUrl?: string | null;
  activeUsers?: string | null;
}

export interface ReportWithRoyalties {
  report: ReportRow;
  royalties: RoyaltyAmount[];
  notices: NoticeRow[];
}

const checkFirst = (first: number) => {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadInputError([{ field: 'first', message: `first must be between 1 and ${MAX_PAGE_SIZE}` }]);
  }
};

@Injectable()
export class RevenueService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly stacks: RoyaltyStackService,
    private readonly revenue: RevenueRepository,
  ) {}

  async report(principal: Principal, input: ReportRevenueInput): Promise<ReportWithRoyalties> {
    const v = this.validate(input);
    return this.db.transaction(async (tx) => {
      const found = await this.stacks.stackOf(tx, v.modelId);
      const owner = found?.lineage.root.organizationId;
      // Only members of the owning organization (write); anyone else is told the model does not exist.
      if (!found || !owner || !(await this.access.hasAccess(tx, principal, [owner], 'write'))) throw new NotFoundError('Model', input.modelId);

      await this.revenue.lockReportKey(tx, v.modelId, v.period, v.currency);
      const revision = (await this.revenue.latestRevision(tx, v.modelId, v.period, v.currency)) + 1;
      // An ancestor the reporting organization owns itself owes it nothing.
      const entries = found.stack.entries.filter((e) => e.organizationId !== owner);
      let royalties: RoyaltyAmount[];
      try {
        royalties = royaltiesOf(v.grossMinor, entries);
      } catch (err) {
        if (err instanceof RoyaltyStackOverflowError) throw new ConflictError(`The royalty stack of model ${v.modelId} takes ${err.totalBps} bps, more than the whole revenue`);
        throw err;
      }
      const report = await this.revenue.insertReport(tx, {
        modelId: v.modelId,
        distillerOrganizationId: owner,
        period: v.period,
        currency: v.currency,
        revision,
        grossMinor: v.grossMinor,
        activeUsers: v.activeUsers,
        evidenceUrl: v.evidenceUrl,
        billingPeriod: periodOf(this.clock.now()).period,
        reportedByUserId: principal.kind === 'user' ? principal.userId : null,
        reportedByApiKeyId: principal.kind === 'apiKey' ? principal.apiKeyId : null,
      });
      await this.revenue.insertRoyalties(tx, report.id, royalties);
      await this.audit.record(tx, principal, {
        action: 'billing.revenue.reported',
        targetType: 'ModelRevenueReport',
        targetId: report.id,
        organizationId: owner,
        data: {
          modelId: v.modelId,
          period: v.period,
          currency: v.currency,
          revision,
          grossMinor: v.grossMinor.toString(),
          activeUsers: v.activeUsers?.toString() ?? null,
          billingPeriod: report.billingPeriod,
          royalties: royalties.map((r) => ({ modelId: r.modelId, agreementId: r.agreementId, policy: r.policy, shareBps: r.shareBps, amountMinor: r.amountMinor.toString() })),
        },
      });

      // Thresholds of the licences of the model's own lineage edges.
      const direct = found.lineage.edges.filter((e) => e.childModelId === v.modelId);
      const parties = await this.revenue.agreementParties(tx, [...new Set(direct.map((e) => e.agreementId))]);
      const notices: NoticeRow[] = [];
      const checked = new Set<string>();
      for (const edge of direct) {
        if (checked.has(edge.agreementId)) continue;
        checked.add(edge.agreementId);
        const agreement = parties.get(edge.agreementId);
        if (!agreement) continue;
        for (const t of edge.terms.thresholds) {
          const threshold = BigInt(t.value);
          let observed: bigint | null = null;
          if (t.metric === ThresholdMetric.MONTHLY_ACTIVE_USERS) observed = v.activeUsers;
          else if (t.metric === ThresholdMetric.MONTHLY_REVENUE && agreement.currency === v.currency) observed = v.grossMinor;
          if (observed === null || observed <= threshold) continue;
          const notice = await this.revenue.insertNotice(tx, {
            reportId: report.id,
            agreementId: agreement.id,
            vendorOrganizationId: agreement.vendorOrganizationId,
            distillerOrganizationId: owner,
            modelId: v.modelId,
            period: v.period,
            metric: t.metric,
            effect: t.effect,
            threshold,
            observed,
            currency: t.metric === ThresholdMetric.MONTHLY_REVENUE ? v.currency : null,
          });
          if (!notice) continue;
          notices.push(notice);
          await this.audit.record(tx, principal, {
            action: 'licensing.notice.raised',
            targetType: 'LicenseNotice',
            targetId: notice.id,
            organizationId: agreement.vendorOrganizationId,
            data: { reportId: report.id, agreementId: agreement.id, modelId: v.modelId, period: v.period, metric: t.metric, effect: t.effect,
              threshold: threshold.toString(), observed: observed.toString() },
          });
        }
      }
      return { report, royalties, notices };
    });
  }

  /** Notices of a vendor organization (its members, admins), or every notice (admins, organizationId null). */
  async notices(principal: Principal, q: { organizationId: string | null; first: number; after: string | null }): Promise<Page<NoticeRow>> {
    checkFirst(q.first);
    if (q.organizationId !== null) assertUuid('organizationId', q.organizationId);
    const after = q.after == null ? null : LICENSE_NOTICE_CURSOR.decode(q.after);
    const em = this.db.reader;
    const org = q.organizationId?.toLowerCase() ?? null;
    if (org === null) {
      if (!principal.isAdmin) throw new ForbiddenError('Only platform admins may list the notices of every organization');
    } else if (!principal.isAdmin) {
      await this.access.requireOrganization(em, principal, org, 'read');
    }
    const rows = await this.revenue.notices(em, {
      vendorOrganizationId: org,
      after: after ? { timeKey: after[0], id: after[1] } : null,
      limit: q.first + 1,
    });
    return pageOf(rows, q.first);
  }

  /**
   * Student models with paid usage on the platform in a CLOSED period and no
   * revenue report for it: of one distiller (its members, admins), or of all
   * (admins, organizationId null).
   */
  async missingReports(principal: Principal, q: { period: string; organizationId: string | null; first: number; after: string | null }): Promise<Page<MissingReportRow> & { period: string }> {
    checkFirst(q.first);
    const period = parsePeriod(q.period).period;
    if (q.organizationId !== null) assertUuid('organizationId', q.organizationId);
    const after = q.after == null ? null : MISSING_REPORT_CURSOR.decode(q.after)[0];
    const em = this.db.reader;
    const org = q.organizationId?.toLowerCase() ?? null;
    if (org === null) {
      if (!principal.isAdmin) throw new ForbiddenError('Only platform admins may list the missing reports of every organization');
    } else if (!principal.isAdmin) {
      await this.access.requireOrganization(em, principal, org, 'read');
    }
    if (!(await this.revenue.periodClosed(em, period))) throw new ConflictError(`Billing period ${period} is not closed`, { period });
    const rows = await this.revenue.missingReports(em, { period, organizationId: org, afterModelId: after, limit: q.first + 1 });
    return { ...pageOf(rows, q.first), period };
  }

  /** Every field checked before anything is read or written; all problems at once. */
  private validate(input: ReportRevenueInput) {
    const errors: FieldError[] = [];
    if (!isUuid(input.modelId)) errors.push({ field: 'modelId', message: 'modelId must be a UUID' });
    let period = '';
    try {
      period = parsePeriod(input.period).period;
      if (period > periodOf(this.clock.now()).period) errors.push({ field: 'period', message: 'period must not be in the future' });
    } catch (err) {
      if (err instanceof BadInputError) errors.push(...err.fields);
      else throw err;
    }
    if (!isCurrencyCode(input.currency)) errors.push({ field: 'currency', message: 'currency must be an ISO 4217 code, upper-case (e.g. EUR)' });
    const grossProblem = decimalIntegerProblem(input.grossMinor, 0n);
    if (grossProblem) errors.push({ field: 'grossMinor', message: `grossMinor ${grossProblem}` });
    const usersProblem = input.activeUsers == null ? null : decimalIntegerProblem(input.activeUsers, 0n);
    if (usersProblem) errors.push({ field: 'activeUsers', message: `activeUsers ${usersProblem}` });
    const url = input.evidenceUrl ?? null;
    if (url !== null && (url.length > MAX_EVIDENCE_URL || !url.startsWith('https://') || !isHttpsUrl(url))) {
      errors.push({ field: 'evidenceUrl', message: `evidenceUrl must be an https URL of at most ${MAX_EVIDENCE_URL} characters` });
    }
    if (errors.length > 0) throw new BadInputError(errors);
    return {
      modelId: input.modelId.toLowerCase(),
      period,
      currency: input.currency,
      grossMinor: BigInt(input.grossMinor),
      activeUsers: input.activeUsers == null ? null : BigInt(input.activeUsers),
      evidenceUrl: url,
    };
  }
}
