/**
 * The SQL of downstream revenue: report revisions and their royalties, what
 * the close still owes per royalty entry, licence notices, and the reminders
 * of missing reports.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { CurrentRevision, RoyaltyAmount, RoyaltyBilled, RoyaltyTarget } from './royalty-lines';

export interface ReportRow {
  id: string;
  modelId: string;
  distillerOrganizationId: string;
  period: string;
  currency: string;
  revision: number;
  grossMinor: bigint;
  activeUsers: bigint | null;
  evidenceUrl: string | null;
  billingPeriod: string;
  createdAt: Date;
}

export interface NewReport {
  modelId: string;
  distillerOrganizationId: string;
  period: string;
  currency: string;
  grossMinor: bigint;
  activeUsers: bigint | null;
  evidenceUrl: string | null;
  billingPeriod: string;
  reportedByUserId: string | null;
  reportedByApiKeyId: string | null;
}

export interface AgreementParties {
  id: string;
  vendorOrganizationId: string;
  currency: string;
}

export interface NoticeRow {
  id: string;
  reportId: string;
  agreementId: string;
  vendorOrganizationId: string;
  distillerOrganizationId: string;
  modelId: string;
  period: string;
  metric: string;
  effect: string;
  threshold: bigint;
  observed: bigint;
  currency: string | null;
  createdAt: Date;
  /** Cursor key: created_at as `timeKeySql` renders it. */
  timeKey: string;
}

export type NewNotice = Omit<NoticeRow, 'id' | 'createdAt' | 'timeKey'>;

export interface MissingReportRow {
  modelId: string;
  modelName: string;
  organizationId: string;
}

const REPORT_COLUMNS = `id, model_id, distiller_organization_id, period, currency, revision, gross_minor::text, active_users::text,
  evidence_url, billing_period, created_at`;

type RawReport = {
  id: string; model_id: string; distiller_organization_id: string; period: string; currency: string; revision: number;
  gross_minor: string; active_users: string | null; evidence_url: string | null; billing_period: string; created_at: Date;
};

const toReport = (r: RawReport): ReportRow => ({
  id: r.id,
  modelId: r.model_id,
  distillerOrganizationId: r.distiller_organization_id,
  period: r.period,
  currency: r.currency,
  revision: r.revision,
  grossMinor: BigInt(r.gross_minor),
  activeUsers: r.active_users === null ? null : BigInt(r.active_users),
  evidenceUrl: r.evidence_url,
  billingPeriod: r.billing_period,
  createdAt: new Date(r.created_at),
});

type RawNotice = {
  id: string; report_id: string; agreement_id: string; vendor_organization_id: string; distiller_organization_id: string; model_id: string;
  period: string; metric: string; effect: string; threshold: string; observed: string; currency: string | null; created_at: Date; time_key: string;
};

const toNotice = (r: RawNotice): NoticeRow => ({
  id: r.id,
  reportId: r.report_id,
  agreementId: r.agreement_id,
  vendorOrganizationId: r.vendor_organization_id,
  distillerOrganizationId: r.distiller_organization_id,
  modelId: r.model_id,
  period: r.period,
  metric: r.metric,
  effect: r.effect,
  threshold: BigInt(r.threshold),
  observed: BigInt(r.observed),
  currency: r.currency,
  createdAt: new Date(r.created_at),
  timeKey: r.time_key,
});

const NOTICE_COLUMNS = `id, report_id, agreement_id, vendor_organization_id, distiller_organization_id, model_id, period, metric, effect,
  threshold::text, observed::text, currency, created_at, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS time_key`;

@Injectable()
export class RevenueRepository {
  /** Serialises the revisions of one (model, month, currency): each gets the next number, none is lost. */
  async lockReportKey(tx: EntityManager, modelId: string, period: string, currency: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`revenue-report:${modelId}:${period}:${currency}`]);
  }

  async latestRevision(em: EntityManager, modelId: string, period: string, currency: string): Promise<number> {
    const [r]: { n: number | null }[] = await em.query(
      `SELECT max(revision) AS n FROM model_revenue_reports WHERE model_id = $1 AND period = $2 AND currency = $3`,
      [modelId, period, currency],
    );
    return r?.n ?? 0;
  }

  async insertReport(tx: EntityManager, r: NewReport & { revision: number }): Promise<ReportRow> {
    const [row]: RawReport[] = await tx.query(
      `INSERT INTO model_revenue_reports (model_id, distiller_organization_id, period, currency, revision, gross_minor, active_users,
                                          evidence_url, billing_period, reported_by_user_id, reported_by_api_key_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       RETURNING ${REPORT_COLUMNS}`,
      [r.modelId, r.distillerOrganizationId, r.period, r.currency, r.revision, r.grossMinor.toString(),
        r.activeUsers === null ? null : r.activeUsers.toString(), r.evidenceUrl, r.billingPeriod, r.reportedByUserId, r.reportedByApiKeyId],
    );
    return toReport(row);
  }

  async insertRoyalties(tx: EntityManager, reportId: string, royalties: readonly RoyaltyAmount[]): Promise<void> {
    if (royalties.length === 0) return;
    await tx.query(
      `INSERT INTO model_revenue_royalties (report_id, position, ancestor_model_id, vendor_organization_id, agreement_id, policy, share_bps, depth, amount_minor)
       SELECT $1, u.* FROM unnest($2::int[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::int[], $8::int[], $9::bigint[]) AS u`,
      [
        reportId,
        royalties.map((_, i) => i + 1),
        royalties.map((r) => r.modelId),
        royalties.map((r) => r.organizationId),
        royalties.map((r) => r.agreementId),
        royalties.map((r) => r.policy),
        royalties.map((r) => r.shareBps),
        royalties.map((r) => r.depth),
        royalties.map((r) => r.amountMinor.toString()),
      ],
    );
  }

  async royaltiesOf(em: EntityManager, reportIds: readonly string[]): Promise<Map<string, RoyaltyAmount[]>> {
    const rows: Array<{
      report_id: string; ancestor_model_id: string; vendor_organization_id: string; agreement_id: string; policy: 'LAP' | 'LRP';
      share_bps: number; depth: number; amount_minor: string;
    }> = await em.query(
      `SELECT report_id, ancestor_model_id, vendor_organization_id, agreement_id, policy, share_bps, depth, amount_minor::text
         FROM model_revenue_royalties WHERE report_id = ANY($1::uuid[]) ORDER BY report_id, position`,
      [[...reportIds]],
    );
    const out = new Map<string, RoyaltyAmount[]>();
    for (const r of rows) {
      const list = out.get(r.report_id) ?? [];
      list.push({
        modelId: r.ancestor_model_id,
        organizationId: r.vendor_organization_id,
        agreementId: r.agreement_id,
        policy: r.policy,
        shareBps: r.share_bps,
        depth: r.depth,
        amountMinor: BigInt(r.amount_minor),
      });
      out.set(r.report_id, list);
    }
    return out;
  }

  /** The vendor and offer currency of each agreement. */
  async agreementParties(em: EntityManager, agreementIds: readonly string[]): Promise<Map<string, AgreementParties>> {
    if (agreementIds.length === 0) return new Map();
    const rows: { id: string; vendor: string; currency: string }[] = await em.query(
      `SELECT id, vendor_organization_id AS vendor, pricing_snapshot ->> 'currency' AS currency FROM license_agreements WHERE id = ANY($1::uuid[])`,
      [[...agreementIds]],
    );
    return new Map(rows.map((r) => [r.id, { id: r.id, vendorOrganizationId: r.vendor, currency: r.currency }]));
  }

  /** The notice, once per (report revision, agreement, metric): null when it was already raised. */
  async insertNotice(tx: EntityManager, n: NewNotice): Promise<NoticeRow | null> {
    const [row]: RawNotice[] = await tx.query(
      `INSERT INTO license_notices (report_id, agreement_id, vendor_organization_id, distiller_organization_id, model_id, period, metric, effect,
                                    threshold, observed, currency)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (report_id, agreement_id, metric) DO NOTHING
       RETURNING ${NOTICE_COLUMNS}`,
      [n.reportId, n.agreementId, n.vendorOrganizationId, n.distillerOrganizationId, n.modelId, n.period, n.metric, n.effect,
        n.threshold.toString(), n.observed.toString(), n.currency],
    );
    return row ? toNotice(row) : null;
  }

  /** Notices newest first; `vendorOrganizationId` null = all (admins). */
  async notices(em: EntityManager, q: { vendorOrganizationId: string | null; after: { timeKey: string; id: string } | null; limit: number }): Promise<NoticeRow[]> {
    const rows: RawNotice[] = await em.query(
      `SELECT ${NOTICE_COLUMNS} FROM license_notices
        WHERE ($1::uuid IS NULL OR vendor_organization_id = $1)
          AND ($2::timestamp IS NULL OR (created_at AT TIME ZONE 'UTC', id) < ($2::timestamp, $3::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT $4`,
      [q.vendorOrganizationId, q.after?.timeKey ?? null, q.after?.id ?? null, q.limit],
    );
    return rows.map(toNotice);
  }

  async periodClosed(em: EntityManager, period: string): Promise<boolean> {
    const [r]: { status: string }[] = await em.query(`SELECT status FROM billing_periods WHERE period = $1`, [period]);
    return r?.status === 'CLOSED';
  }

  /**
   * Student models (models with a lineage) that earned on the platform in
   * `period` — a PAID invoice's usage line names them as the model — and
   * have no revenue report for that month. By model id.
   */
  async missingReports(em: EntityManager, q: { period: string; organizationId: string | null; afterModelId: string | null; limit: number }): Promise<MissingReportRow[]> {
    const rows: { id: string; name: string; organization_id: string }[] = await em.query(
      `SELECT m.id, m.name, m.organization_id FROM models m
        WHERE ($2::uuid IS NULL OR m.organization_id = $2)
          AND ($3::uuid IS NULL OR m.id > $3)
          AND EXISTS (SELECT 1 FROM model_lineage_edges e WHERE e.child_model_id = m.id)
          AND EXISTS (SELECT 1 FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
                       WHERE l.model_id = m.id AND l.usage_period = $1 AND i.status = 'PAID'
                         AND l.kind IN ('USAGE_INPUT', 'USAGE_OUTPUT', 'ADJUSTMENT_INPUT', 'ADJUSTMENT_OUTPUT', 'MINIMUM_COMMITMENT_TRUE_UP'))
          AND NOT EXISTS (SELECT 1 FROM model_revenue_reports r WHERE r.model_id = m.id AND r.period = $1)
        ORDER BY m.id
        LIMIT $4`,
      [q.period, q.organizationId, q.afterModelId, q.limit],
    );
    return rows.map((r) => ({ modelId: r.id, modelName: r.name, organizationId: r.organization_id }));
  }

  // ---- the close ----

  /** Distillers with a revenue report the close of `period` may bill (accepted while `period` or an earlier one was open). */
  async reportingDistillers(em: EntityManager, period: string): Promise<string[]> {
    const rows: { id: string }[] = await em.query(
      `SELECT DISTINCT distiller_organization_id AS id FROM model_revenue_reports WHERE billing_period <= $1`,
      [period],
    );
    return rows.map((r) => r.id);
  }

  /**
   * For the close of `period`: the current revision (the latest accepted
   * while `period` or an earlier one was open) of every student model month
   * of the distillers, with its royalties, and what ROYALTY lines have billed
   * so far per entry (whatever the invoice's status: a voided invoice was
   * forgiven, not left to be billed again).
   */
  async royaltyState(
    em: EntityManager,
    distillers: readonly string[],
    period: string,
  ): Promise<{ currents: CurrentRevision[]; targets: RoyaltyTarget[]; billed: RoyaltyBilled[] }> {
    const currentRows: Array<{ id: string; distiller: string; model_id: string; name: string; period: string; currency: string }> = await em.query(
      `SELECT DISTINCT ON (r.model_id, r.period, r.currency)
              r.id, r.distiller_organization_id AS distiller, r.model_id, m.name, r.period, r.currency
         FROM model_revenue_reports r JOIN models m ON m.id = r.model_id
        WHERE r.distiller_organization_id = ANY($1::uuid[]) AND r.billing_period <= $2
        ORDER BY r.model_id, r.period, r.currency, r.revision DESC`,
      [[...distillers], period],
    );
    if (currentRows.length === 0) return { currents: [], targets: [], billed: [] };
    const currents: CurrentRevision[] = currentRows.map((r) => ({
      reportId: r.id,
      distillerOrganizationId: r.distiller,
      studentModelId: r.model_id,
      studentName: r.name,
      period: r.period,
      currency: r.currency,
    }));
    const byId = new Map(currents.map((c) => [c.reportId, c]));
    const royalties = await this.royaltiesOf(em, currents.map((c) => c.reportId));
    const targets: RoyaltyTarget[] = [];
    for (const [reportId, list] of royalties) {
      const c = byId.get(reportId)!;
      for (const x of list) {
        targets.push({
          ...c,
          ancestorModelId: x.modelId,
          vendorOrganizationId: x.organizationId,
          agreementId: x.agreementId,
          policy: x.policy,
          shareBps: x.shareBps,
          amountMinor: x.amountMinor,
        });
      }
    }
    const billedRows: Array<{
      student: string; period: string; currency: string; ancestor: string; policy: string; vendor: string; agreement: string; share: number; amount: string;
    }> = await em.query(
      `SELECT l.student_model_id AS student, l.usage_period AS period, i.currency, l.model_id AS ancestor, l.royalty_policy AS policy,
              (array_agg(l.vendor_organization_id ORDER BY i.created_at DESC, l.position DESC))[1] AS vendor,
              (array_agg(l.agreement_id ORDER BY i.created_at DESC, l.position DESC))[1] AS agreement,
              (array_agg(l.royalty_share_bps ORDER BY i.created_at DESC, l.position DESC))[1] AS share,
              sum(l.amount_minor)::text AS amount
         FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
        WHERE l.kind = 'ROYALTY' AND l.student_model_id = ANY($1::uuid[]) AND i.distiller_organization_id = ANY($2::uuid[])
        GROUP BY l.student_model_id, l.usage_period, i.currency, l.model_id, l.royalty_policy`,
      [[...new Set(currents.map((c) => c.studentModelId))], [...distillers]],
    );
    const billed: RoyaltyBilled[] = billedRows.map((r) => ({
      studentModelId: r.student,
      period: r.period,
      currency: r.currency,
      ancestorModelId: r.ancestor,
      policy: r.policy,
      vendorOrganizationId: r.vendor,
      agreementId: r.agreement,
      shareBps: r.share,
      amountMinor: BigInt(r.amount),
    }));
    return { currents, targets, billed };
  }
}
