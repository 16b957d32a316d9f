/**
 * Owns model certifications: admins record evaluation evidence,
 * a safety review and an expiry for any model, and revoke certifications; each
 * change is audited in its transaction. The public status of a model comes from
 * its latest certification (see certification.status.ts); `statusesOf` reads
 * it for many models in one query (the TeacherModel.certification DataLoader,
 * and attestations).
 *
 * Certifications of one model are serialised by a transaction-scoped advisory
 * lock and stamped with clock_timestamp() after taking it, so "latest" (by
 * certified_at) is also the last one committed.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { CatalogService } from '../../catalog/catalog.service';
import { ModelEntity } from '../../catalog/model.entity';
import { OrganizationService } from '../../identity/organization.service';
import { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { BadInputError, FieldError, ForbiddenError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { MAX_PAGE_SIZE } from '../../platform/graphql/limits';
import { CursorParts, defineCursor } from '../../platform/paging/cursor';
import { Page, pageOf } from '../../platform/paging/page';
import {
  CertificationEvidence,
  CertificationStatus,
  expiryProblem,
  ModelCertificationState,
  NOT_CERTIFIED,
  SafetyReview,
  stateOfLatest,
} from './certification.status';
import { DATASET_DIGEST, DECIMAL, MAX_EVIDENCE, REASON_MAX_LENGTH } from './dto/certification.input';
import type { CertificationRow } from './dto/certification.output';
import { CertificationRepository, CertificationSqlRow } from './certification.repository';
import { Clock } from '../../platform/clock/clock';

const EXPIRY_CONSTRAINT = 'CHK_model_certifications_expiry';
const MODEL = 'TeacherModel';
const CERTIFICATION = 'Certification';

export interface CertifyModelCommand {
  modelId: string;
  evidence: CertificationEvidence[];
  safetyReview: { summary: string; reviewer: string; passed: boolean; reportUrl?: string | null };
  expiresAt: Date;
}

/** Oldest wait first by (waiting since, to the microsecond; model id). */
const QUEUE_CURSOR = defineCursor('certification-queue', [CursorParts.timeKey, CursorParts.uuid]);

/** A student model awaiting certification, with what the reviewer needs. */
export interface CertificationQueueEntry {
  model: ModelEntity;
  organization: { id: string; name: string; country: string | null };
  /** NONE (never certified), REVOKED or EXPIRED: why it is in the queue. */
  status: CertificationStatus;
  /** Since registration (NONE), revocation (REVOKED) or expiry (EXPIRED). */
  waitingSince: Date;
  parentCount: number;
  /** The latest certification (revoked or expired), null when NONE. */
  latest: CertificationRow | null;
  cursor: string;
}

export type RevokeOutcome = { kind: 'revoked'; certification: CertificationRow } | { kind: 'already-revoked'; certification: CertificationRow };

@Injectable()
export class CertificationService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditService,
    private readonly catalog: CatalogService,
    private readonly certifications: CertificationRepository,
    private readonly clock: Clock,
    private readonly organizations: OrganizationService,
  ) {}

  /**
   * Platform admins (the resolver's guard checks it; checked again here for
   * other callers): student models whose latest certification is missing,
   * revoked or expired now, oldest wait first, keyset-paged.
   */
  async queue(principal: Principal, q: { first: number; after: string | null }): Promise<Page<CertificationQueueEntry>> {
    if (!principal.isAdmin) throw new ForbiddenError('The certification queue is for platform admins');
    if (!Number.isInteger(q.first) || q.first < 1 || q.first > MAX_PAGE_SIZE) {
      throw new BadInputError([{ field: 'first', message: `first must be between 1 and ${MAX_PAGE_SIZE}` }]);
    }
    const after = q.after == null ? null : QUEUE_CURSOR.decode(q.after);
    const em = this.db.reader;
    const fetched = await this.certifications.queue(em, this.clock.now(), after, q.first + 1);
    const page = pageOf(fetched, q.first);
    const ids = page.rows.map((r) => r.id);
    if (ids.length === 0) return { rows: [], hasNextPage: page.hasNextPage };
    const models = new Map((await em.getRepository(ModelEntity).findBy({ id: In(ids) })).map((m) => [m.id, m]));
    const orgs = await this.organizations.findByIds([...new Set(page.rows.map((r) => r.organization_id))], em);
    const latest = new Map((await this.certifications.latestOf(em, ids)).map((c) => [c.model_id, toRow(c)]));
    return {
      hasNextPage: page.hasNextPage,
      rows: page.rows.map((r) => {
        const org = orgs.get(r.organization_id);
        return {
          model: models.get(r.id)!,
          organization: { id: r.organization_id, name: org?.name ?? '', country: org?.country ?? null },
          status: CertificationStatus[r.status],
          waitingSince: new Date(r.waiting_since),
          parentCount: r.parent_count,
          latest: latest.get(r.id) ?? null,
          cursor: QUEUE_CURSOR.encode([r.time_key, r.id]),
        };
      }),
    };
  }

  /**
   * A new certification of the model (any organization's; the caller is a
   * platform admin — the resolver's guard checks it). It supersedes earlier
   * ones: the model's status now follows this one.
   */
  async certify(principal: Principal, input: CertifyModelCommand): Promise<CertificationRow> {
    assertUuid('modelId', input.modelId);
    const evidence = input.evidence.map((e) => ({ benchmark: e.benchmark, metric: e.metric, value: e.value, datasetDigest: e.datasetDigest }));
    const safetyReview: SafetyReview = {
      summary: input.safetyReview.summary,
      reviewer: input.safetyReview.reviewer,
      passed: input.safetyReview.passed,
      reportUrl: input.safetyReview.reportUrl ?? null,
    };
    const problems = inputProblems(evidence, input.expiresAt, this.clock.now());
    if (problems.length > 0) throw new BadInputError(problems);
    try {
      return await this.db.transaction(async (tx) => {
        const model = await this.catalog.findModelRef(tx, input.modelId);
        if (!model) throw new NotFoundError(MODEL, input.modelId);
        await this.certifications.lockModel(tx, model.id);
        const previous = await this.certifications.latestId(tx, model.id);
        const row = await this.certifications.insert(tx, {
          modelId: model.id,
          evidence,
          safetyReview,
          certifiedByUserId: principal.kind === 'user' ? principal.userId : null,
          expiresAt: input.expiresAt,
        });
        const certification = toRow(row);
        await this.audit.record(tx, principal, {
          action: 'provenance.model.certified',
          targetType: MODEL,
          targetId: model.id,
          organizationId: model.organizationId,
          data: {
            certificationId: certification.id,
            expiresAt: certification.expiresAt.toISOString(),
            evidence,
            safetyReview: { reviewer: safetyReview.reviewer, passed: safetyReview.passed, reportUrl: safetyReview.reportUrl },
            supersedes: previous?.id ?? null,
          },
        });
        return certification;
      });
    } catch (err) {
      // The database clock passed expiresAt between our check and the insert.
      if (isCheckViolation(err, EXPIRY_CONSTRAINT)) throw new BadInputError([{ field: 'expiresAt', message: 'expiresAt must be in the future' }]);
      throw err;
    }
  }

  /** Marks the certification revoked (admins). Revoking it again changes nothing: `already-revoked`. */
  async revoke(principal: Principal, input: { id: string; reason: string }): Promise<RevokeOutcome> {
    assertUuid('id', input.id);
    const reason = input.reason.trim();
    if (reason.length < 1 || reason.length > REASON_MAX_LENGTH) {
      throw new BadInputError([{ field: 'reason', message: `reason must be 1 to ${REASON_MAX_LENGTH} characters` }]);
    }
    return this.db.transaction(async (tx) => {
      const current = await this.certifications.lockById(tx, input.id);
      if (!current) throw new NotFoundError(CERTIFICATION, input.id);
      if (current.revoked_at) return { kind: 'already-revoked', certification: toRow(current) };
      const certification = toRow(await this.certifications.markRevoked(tx, input.id, principal.kind === 'user' ? principal.userId : null, reason));
      const model = await this.catalog.findModelRef(tx, certification.modelId);
      await this.audit.record(tx, principal, {
        action: 'provenance.model.certification_revoked',
        targetType: MODEL,
        targetId: certification.modelId,
        organizationId: model?.organizationId ?? null,
        data: { certificationId: certification.id, reason },
      });
      return { kind: 'revoked', certification };
    });
  }

  /** The model's certification status at `now` (default: the platform Clock's; NONE for an unknown model). No authorization here. */
  async statusOf(em: EntityManager, modelId: string, now: Date = this.clock.now()): Promise<ModelCertificationState> {
    return (await this.statusesOf(em, [modelId], now)).get(modelId) ?? NOT_CERTIFIED;
  }

  /** Every given model's status, in one query (models never certified: NONE). No authorization here. */
  async statusesOf(em: EntityManager, modelIds: readonly string[], now: Date = this.clock.now()): Promise<Map<string, ModelCertificationState>> {
    const ids = [...new Set(modelIds)];
    const out = new Map<string, ModelCertificationState>(ids.map((id) => [id, NOT_CERTIFIED]));
    if (ids.length === 0) return out;
    const rows = await this.certifications.latestOf(em, ids);
    for (const r of rows) out.set(r.model_id, stateOfLatest(toRow(r), now));
    return out;
  }
}

/** Rules the input types already check (re-checked for callers other than GraphQL), and the clock-dependent expiry window. */
function inputProblems(evidence: CertificationEvidence[], expiresAt: Date, now: Date): FieldError[] {
  const problems: FieldError[] = [];
  if (evidence.length < 1 || evidence.length > MAX_EVIDENCE) {
    problems.push({ field: 'evidence', message: `evidence must hold 1 to ${MAX_EVIDENCE} evaluation results` });
  }
  evidence.forEach((e, i) => {
    if (!DECIMAL.test(e.value)) problems.push({ field: `evidence.${i}.value`, message: 'value must be a decimal number such as "71.3"' });
    if (!DATASET_DIGEST.test(e.datasetDigest)) {
      problems.push({ field: `evidence.${i}.datasetDigest`, message: 'datasetDigest must be sha256: followed by 64 lower-case hex digits' });
    }
  });
  const expiry = expiryProblem(expiresAt, now);
  if (expiry) problems.push({ field: 'expiresAt', message: expiry });
  return problems;
}

function toRow(r: CertificationSqlRow): CertificationRow {
  return {
    id: r.id,
    modelId: r.model_id,
    evidence: r.evidence,
    safetyReview: r.safety_review,
    certifiedByUserId: r.certified_by_user_id,
    certifiedAt: new Date(r.certified_at),
    expiresAt: new Date(r.expires_at),
    revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
    revokedByUserId: r.revoked_by_user_id,
    revocationReason: r.revocation_reason,
  };
}

function isCheckViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } } | undefined;
  const pg = e?.driverError ?? e;
  return pg?.code === '23514' && pg.constraint === constraint;
}
