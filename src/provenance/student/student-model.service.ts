/**
 * Registering student models and declaring lineage. Every edge must be backed
 * by an agreement of the registering organization on that parent model, in a
 * state under which the model was lawfully distilled (ACTIVE, or EXPIRED after
 * its term), and must respect the agreement's terms. The whole lineage is
 * checked before anything is written: parents (≤ 16), ancestors (≤ 1,024), no
 * cycle, and the royalty stack under the platform cap.
 *
 * Concurrency: lineage writes take one transaction-scoped advisory lock, so two
 * declarations that would together close a cycle cannot both pass their check;
 * the agreements are read FOR SHARE, so a suspension or termination racing the
 * registration waits for it (and vice versa).
 */
import { Injectable } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { CatalogService, SLUG_CONSTRAINT, WEIGHTS_DIGEST_CONSTRAINT } from '../../catalog/catalog.service';
import { ModelCardInput } from '../../catalog/dto/model.input';
import { ModelEntity } from '../../catalog/model.entity';
import { AccessService } from '../../identity/access.service';
import { OrganizationService } from '../../identity/organization.service';
import { AgreementStatus } from '../../licensing/license-agreement.entity';
import { AgreementLineageView, LicenseAgreementService } from '../../licensing/license-agreement.service';
import { OutputTraining } from '../../licensing/terms/terms.types';
import { Principal } from '../../platform/auth/principal';
import { AppConfig } from '../../platform/config/app-config';
import { isUniqueViolation } from '../../platform/database/pg-errors';
import { Database, Tx } from '../../platform/database/transaction';
import { BadInputError, FieldError, NotFoundError } from '../../platform/errors/app-error';
import { LineageLoader, toLineageModel } from '../lineage/lineage.loader';
import { Lineage, LineageModel, RoyaltyStack } from '../lineage/lineage.types';
import { royaltyStack } from '../lineage/royalty-stack';
import { DistillationMethod, LineageEdgeEntity, LineageRelation } from '../provenance.entity';
import { MAX_ANCESTORS, MAX_PARENTS } from './dto/student.input';
import { StudentModelRepository } from './student-model.repository';

/** Agreements under which a model may have been lawfully derived. */
const BACKING_STATUSES = new Set([AgreementStatus.ACTIVE, AgreementStatus.EXPIRED]);

export interface EdgeInput {
  parentModelId: string;
  agreementId: string;
  relation: LineageRelation;
  method?: DistillationMethod | null;
  dataShareBps?: number | null;
}

export type LineageRefusal =
  | { kind: 'licence-missing'; edges: Array<{ parentModelId: string; agreementId: string; reason: 'NO_AGREEMENT' | 'WRONG_MODEL' | 'NOT_ACTIVE'; status: string | null }> }
  | { kind: 'licence-violation'; violations: Array<{ parentModelId: string; agreementId: string; rule: string; message: string }> }
  | { kind: 'cycle'; modelId: string; parentModelId: string }
  | { kind: 'too-many-parents'; parents: number }
  | { kind: 'too-many-ancestors'; ancestors: number }
  | { kind: 'royalty-stack-too-high'; stack: RoyaltyStack; capBps: number };

export type RegisterOutcome =
  | { kind: 'registered'; model: ModelEntity }
  | { kind: 'slug-taken'; slug: string }
  | { kind: 'weights-digest-taken'; weightsDigest: string }
  | LineageRefusal;

export type DeclareOutcome = { kind: 'declared'; model: ModelEntity } | LineageRefusal;

class Refused extends Error {
  constructor(readonly refusal: LineageRefusal) {
    super(refusal.kind);
  }
}

@Injectable()
export class StudentModelService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly catalog: CatalogService,
    private readonly organizations: OrganizationService,
    private readonly agreements: LicenseAgreementService,
    private readonly lineage: LineageLoader,
    private readonly students: StudentModelRepository,
  ) {}

  async register(
    principal: Principal,
    input: { organizationId: string; slug: string; name: string; card: ModelCardInput; weightsDigest: string; commercialUse: boolean; lineage: EdgeInput[] },
  ): Promise<RegisterOutcome> {
    validateEdges(input.lineage);
    try {
      const model = await this.db.transaction(async (tx) => {
        await this.access.requireOrganization(tx, principal, input.organizationId, 'write');
        await this.students.lockLineageWrites(tx);
        // Check against a model that does not exist yet, then insert it and its edges.
        const pending: LineageModel = {
          modelId: '00000000-0000-0000-0000-000000000000',
          name: input.name,
          slug: input.slug,
          organizationId: input.organizationId,
          weightsDigest: input.weightsDigest,
          commercialUse: input.commercialUse,
        };
        const backing = await this.check(tx, pending, input.lineage, 0);
        const model = await this.catalog.insertModel(tx, principal, {
          organizationId: input.organizationId,
          slug: input.slug,
          name: input.name,
          card: input.card,
          weightsDigest: input.weightsDigest,
          commercialUse: input.commercialUse,
        });
        await this.insertEdges(tx, principal, model, input.lineage, backing, 'provenance.student.registered');
        return model;
      });
      return { kind: 'registered', model };
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      if (isUniqueViolation(err, SLUG_CONSTRAINT)) return { kind: 'slug-taken', slug: input.slug };
      if (isUniqueViolation(err, WEIGHTS_DIGEST_CONSTRAINT)) return { kind: 'weights-digest-taken', weightsDigest: input.weightsDigest };
      throw err;
    }
  }

  /** Adds parents to an existing model of the caller's organization (e.g. a listed teacher that was itself distilled). */
  async declare(principal: Principal, input: { modelId: string; lineage: EdgeInput[] }): Promise<DeclareOutcome> {
    validateEdges(input.lineage);
    try {
      const model = await this.db.transaction(async (tx) => {
        const ref = await this.catalog.findModelRef(tx, input.modelId);
        if (!ref) throw new NotFoundError('TeacherModel', input.modelId);
        await this.access.requireOrganization(tx, principal, ref.organizationId, 'write', { entity: 'TeacherModel', id: input.modelId });
        await this.students.lockLineageWrites(tx);
        const model = (await this.catalog.findModels(tx, [input.modelId])).get(input.modelId)!;
        const already = await tx.find(LineageEdgeEntity, { where: { childModelId: model.id }, select: { parentModelId: true } });
        const duplicate = input.lineage.find((e) => already.some((a) => a.parentModelId === e.parentModelId));
        if (duplicate) {
          throw new BadInputError([{ field: 'lineage', message: `model ${duplicate.parentModelId} is already a declared parent (lineage is append-only)` }]);
        }
        const backing = await this.check(tx, toLineageModel(model), input.lineage, already.length);
        await this.insertEdges(tx, principal, model, input.lineage, backing, 'provenance.lineage.declared');
        return model;
      });
      return { kind: 'declared', model };
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      throw err;
    }
  }

  /**
   * Every rule, in the order a user can act on them; throws Refused. Returns
   * the agreements backing the new edges.
   */
  private async check(tx: Tx, model: LineageModel, edges: EdgeInput[], existingParents: number): Promise<Map<string, AgreementLineageView>> {
    if (existingParents + edges.length > MAX_PARENTS) throw new Refused({ kind: 'too-many-parents', parents: existingParents + edges.length });

    const views = await this.agreements.lineageViews(tx, edges.map((e) => e.agreementId), { lock: true });
    const missing: Extract<LineageRefusal, { kind: 'licence-missing' }>['edges'] = [];
    for (const e of edges) {
      const a = views.get(e.agreementId);
      if (!a || a.distillerOrganizationId !== model.organizationId) {
        missing.push({ parentModelId: e.parentModelId, agreementId: e.agreementId, reason: 'NO_AGREEMENT', status: null });
      } else if (a.modelId !== e.parentModelId) {
        missing.push({ parentModelId: e.parentModelId, agreementId: e.agreementId, reason: 'WRONG_MODEL', status: null });
      } else if (!BACKING_STATUSES.has(a.status)) {
        missing.push({ parentModelId: e.parentModelId, agreementId: e.agreementId, reason: 'NOT_ACTIVE', status: a.status });
      }
    }
    if (missing.length > 0) throw new Refused({ kind: 'licence-missing', edges: missing });

    const org = await this.organizations.findById(model.organizationId, tx);
    const violations: Extract<LineageRefusal, { kind: 'licence-violation' }>['violations'] = [];
    for (const e of edges) {
      const { terms } = views.get(e.agreementId)!;
      const at = { parentModelId: e.parentModelId, agreementId: e.agreementId };
      if (e.relation === LineageRelation.DISTILLED && terms.outputTraining === OutputTraining.PROHIBITED) {
        violations.push({ ...at, rule: 'OUTPUT_TRAINING_PROHIBITED', message: `the licence of ${e.parentModelId} prohibits training on its outputs` });
      }
      if (model.commercialUse && terms.researchOnly) {
        violations.push({ ...at, rule: 'RESEARCH_ONLY', message: `the licence of ${e.parentModelId} is research-only, and the model is declared commercial (register it with commercialUse: false)` });
      } else if (model.commercialUse && !terms.commercialUse) {
        violations.push({ ...at, rule: 'NON_COMMERCIAL', message: `the licence of ${e.parentModelId} forbids commercial use, and the model is declared commercial (register it with commercialUse: false)` });
      }
      const country = org?.country ?? null;
      if (country !== null && terms.territory.excludedCountries.includes(country)) {
        violations.push({ ...at, rule: 'TERRITORY', message: `the licence of ${e.parentModelId} excludes ${country}, your organization's country` });
      }
    }
    if (violations.length > 0) throw new Refused({ kind: 'licence-violation', violations });

    // Cycle: a new parent that already descends from the model (only possible when declaring on an existing model).
    const parentIds = edges.map((e) => e.parentModelId);
    const selfParent = parentIds.find((p) => p === model.modelId);
    if (selfParent !== undefined) throw new Refused({ kind: 'cycle', modelId: model.modelId, parentModelId: selfParent });
    if ((await this.lineage.ancestorIds(tx, parentIds)).has(model.modelId)) {
      throw new Refused({ kind: 'cycle', modelId: model.modelId, parentModelId: await this.parentReaching(tx, parentIds, model.modelId) });
    }

    // The lineage the model would have: what it has, plus the new edges.
    const existingRows = await this.lineage.ancestryEdges(tx, [model.modelId, ...parentIds]);
    const rows = [
      ...existingRows,
      ...edges.map((e) => ({
        child_model_id: model.modelId,
        parent_model_id: e.parentModelId,
        agreement_id: e.agreementId,
        relation: e.relation,
        method: e.method ?? null,
        data_share_bps: e.dataShareBps ?? null,
        terms_hash: views.get(e.agreementId)!.termsHash,
      })),
    ];
    const ancestors = new Set(rows.map((r) => r.parent_model_id));
    if (ancestors.size > MAX_ANCESTORS) throw new Refused({ kind: 'too-many-ancestors', ancestors: ancestors.size });
    const lineage: Lineage = await this.lineage.assemble(tx, model, rows);
    const stack = royaltyStack(lineage);
    if (stack.totalBps > this.config.royaltyStackCapBps) {
      throw new Refused({ kind: 'royalty-stack-too-high', stack, capBps: this.config.royaltyStackCapBps });
    }
    return views;
  }

  /** Which of `parentIds` has `target` among its ancestors (for the cycle report). */
  private async parentReaching(tx: Tx, parentIds: string[], target: string): Promise<string> {
    for (const p of parentIds) {
      if ((await this.lineage.ancestorIds(tx, [p])).has(target)) return p;
    }
    return parentIds[0];
  }

  private async insertEdges(
    tx: Tx,
    principal: Principal,
    model: ModelEntity,
    edges: EdgeInput[],
    backing: Map<string, AgreementLineageView>,
    action: string,
  ): Promise<void> {
    const userId = principal.kind === 'user' ? principal.userId : null;
    await tx.insert(
      LineageEdgeEntity,
      edges.map((e) => {
        const a = backing.get(e.agreementId)!;
        return {
          childModelId: model.id,
          parentModelId: e.parentModelId,
          agreementId: e.agreementId,
          relation: e.relation,
          method: e.method ?? null,
          dataShareBps: e.dataShareBps ?? null,
          termsHash: a.termsHash,
          royaltyPolicy: a.terms.royalty.policy,
          royaltyShareBps: a.terms.royalty.shareBps,
          registeredByUserId: userId,
        };
      }),
    );
    await this.audit.record(tx, principal, {
      action,
      targetType: 'TeacherModel',
      targetId: model.id,
      organizationId: model.organizationId,
      data: {
        weightsDigest: model.weightsDigest,
        edges: edges.map((e) => ({ parentModelId: e.parentModelId, agreementId: e.agreementId, relation: e.relation, method: e.method ?? null, termsHash: backing.get(e.agreementId)!.termsHash })),
      },
    });
  }
}

/** Shape rules the input types cannot express: one edge per parent, method iff DISTILLED. */
function validateEdges(edges: EdgeInput[]): void {
  const problems: FieldError[] = [];
  const seen = new Set<string>();
  edges.forEach((e, i) => {
    if (seen.has(e.parentModelId)) problems.push({ field: `lineage.${i}.parentModelId`, message: 'each parent may appear once' });
    seen.add(e.parentModelId);
    const distilled = e.relation === LineageRelation.DISTILLED;
    if (distilled && !e.method) problems.push({ field: `lineage.${i}.method`, message: 'a DISTILLED edge names its method (LOGITS, SEQUENCES or SYNTHETIC_DATA)' });
    if (!distilled && e.method) problems.push({ field: `lineage.${i}.method`, message: `method applies to DISTILLED edges only (this one is ${e.relation})` });
  });
  if (problems.length > 0) throw new BadInputError(problems);
}
