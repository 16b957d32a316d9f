/**
 * Owns models (teachers and, later, students): creating and editing them with
 * their model cards, and their listing status (DRAFT → LISTED ⇄ UNLISTED).
 * Every write runs in one transaction with its audit entry. The public catalog
 * search lives in catalog-query.service.ts.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../identity/access.service';
import { Principal } from '../platform/auth/principal';
import { Database, Tx } from '../platform/database/transaction';
import { isUniqueViolation } from '../platform/database/pg-errors';
import { NotFoundError } from '../platform/errors/app-error';
import { toModelCard } from './catalog.mapper';
import { ModelCardInput } from './dto/model.input';
import { ModelEntity, ModelStatus } from './model.entity';

export interface ModelRef {
  id: string;
  organizationId: string;
  status: ModelStatus;
  name: string;
  slug: string;
}

export const SLUG_CONSTRAINT = 'UQ_models_organization_slug';
export const WEIGHTS_DIGEST_CONSTRAINT = 'UQ_models_weights_digest';
const ENTITY = 'TeacherModel';

export type CreateModelOutcome = { kind: 'created'; model: ModelEntity } | { kind: 'slug-taken'; slug: string };
export type StatusChangeOutcome =
  | { kind: 'changed' | 'unchanged'; model: ModelEntity }
  | { kind: 'invalid-transition'; from: ModelStatus; to: ModelStatus };

@Injectable()
export class CatalogService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
  ) {}

  /** For other modules: several models' refs in one query (absent ids are missing from the map). No authorization here. */
  async findModelRefs(em: EntityManager, ids: readonly string[]): Promise<Map<string, ModelRef>> {
    if (ids.length === 0) return new Map();
    const rows = await em.find(ModelEntity, {
      where: { id: In([...new Set(ids)]) },
      select: { id: true, organizationId: true, status: true, name: true, slug: true },
    });
    return new Map(rows.map((m) => [m.id, { id: m.id, organizationId: m.organizationId, status: m.status, name: m.name, slug: m.slug }]));
  }

  /** For other modules (provenance): whole models by id, in one query. No authorization here. */
  async findModels(em: EntityManager, ids: readonly string[]): Promise<Map<string, ModelEntity>> {
    if (ids.length === 0) return new Map();
    const rows = await em.find(ModelEntity, { where: { id: In([...new Set(ids)]) } });
    return new Map(rows.map((m) => [m.id, m]));
  }

  /** For other modules (provenance): the model whose weights have this digest, or null. */
  async findByWeightsDigest(em: EntityManager, digest: string): Promise<ModelEntity | null> {
    return em.findOne(ModelEntity, { where: { weightsDigest: digest } });
  }

  /** For other modules (licensing): the model's owner and status, or null. No authorization here. */
  async findModelRef(em: EntityManager, id: string, opts: { lock?: boolean } = {}): Promise<ModelRef | null> {
    const m = await em.findOne(ModelEntity, {
      where: { id },
      select: { id: true, organizationId: true, status: true, name: true, slug: true },
      ...(opts.lock ? { lock: { mode: 'pessimistic_read' as const } } : {}),
    });
    return m ? { id: m.id, organizationId: m.organizationId, status: m.status, name: m.name, slug: m.slug } : null;
  }

  /**
   * A new DRAFT model. The unique constraint (organization, slug) decides a
   * race between two creates: the loser's transaction rolls back and it gets
   * `slug-taken`, never a 500.
   */
  async create(
    principal: Principal,
    input: { organizationId: string; slug: string; name: string; card: ModelCardInput },
  ): Promise<CreateModelOutcome> {
    try {
      const model = await this.db.transaction(async (tx) => {
        await this.access.requireOrganization(tx, principal, input.organizationId, 'write');
        return this.insertModel(tx, principal, input);
      });
      return { kind: 'created', model };
    } catch (err) {
      if (isUniqueViolation(err, SLUG_CONSTRAINT)) return { kind: 'slug-taken', slug: input.slug };
      throw err;
    }
  }

  /**
   * Inserts a DRAFT model with its audit entry inside the caller's transaction
   * (provenance registers students this way). The caller has checked access;
   * a taken slug or weights digest surfaces as the unique violation
   * (SLUG_CONSTRAINT / WEIGHTS_DIGEST_CONSTRAINT) for the caller to map.
   */
  async insertModel(
    tx: Tx,
    principal: Principal,
    input: { organizationId: string; slug: string; name: string; card: ModelCardInput; weightsDigest?: string | null; commercialUse?: boolean },
  ): Promise<ModelEntity> {
    const card = toModelCard(input.card);
    const now = new Date();
    const model = tx.create(ModelEntity, {
      organizationId: input.organizationId,
      slug: input.slug,
      name: input.name,
      card,
      parameterCount: card.parameterCount === null ? null : BigInt(card.parameterCount),
      modalities: card.modalities,
      status: ModelStatus.DRAFT,
      listedAt: null,
      weightsDigest: input.weightsDigest ?? null,
      commercialUse: input.commercialUse ?? true,
      createdAt: now,
      updatedAt: now,
    });
    await tx.insert(ModelEntity, model);
    await this.audit.record(tx, principal, {
      action: 'catalog.model.created',
      targetType: ENTITY,
      targetId: model.id,
      organizationId: model.organizationId,
      data: { slug: model.slug, name: model.name, ...(model.weightsDigest ? { weightsDigest: model.weightsDigest } : {}) },
    });
    return model;
  }

  /** Name and/or the whole card; the slug never changes. */
  async update(principal: Principal, input: { id: string; name?: string | null; card?: ModelCardInput | null }): Promise<ModelEntity> {
    return this.db.transaction(async (tx) => {
      const model = await this.loadForWrite(tx, principal, input.id);
      const changed: string[] = [];
      if (input.name !== undefined && input.name !== null && input.name !== model.name) {
        model.name = input.name;
        changed.push('name');
      }
      if (input.card !== undefined && input.card !== null) {
        model.card = toModelCard(input.card);
        model.parameterCount = model.card.parameterCount === null ? null : BigInt(model.card.parameterCount);
        model.modalities = model.card.modalities;
        changed.push('card');
      }
      if (changed.length === 0) return model;
      model.updatedAt = new Date();
      await tx.update(ModelEntity, { id: model.id }, {
        name: model.name,
        card: model.card as never, // jsonb defeats TypeORM's deep-partial typing
        parameterCount: model.parameterCount,
        modalities: model.modalities,
        updatedAt: model.updatedAt,
      });
      await this.audit.record(tx, principal, {
        action: 'catalog.model.updated',
        targetType: ENTITY,
        targetId: model.id,
        organizationId: model.organizationId,
        data: { changed },
      });
      return model;
    });
  }

  /**
   * DRAFT or UNLISTED → LISTED (sets listed_at to now: a re-listed model comes
   * first again). Listing a LISTED model is idempotent: nothing changes, no
   * audit entry.
   */
  async list(principal: Principal, id: string): Promise<StatusChangeOutcome> {
    return this.changeStatus(principal, id, ModelStatus.LISTED);
  }

  /**
   * LISTED → UNLISTED (listed_at is kept). Unlisting an UNLISTED model is
   * idempotent; a DRAFT was never listed: `invalid-transition`.
   */
  async unlist(principal: Principal, id: string): Promise<StatusChangeOutcome> {
    return this.changeStatus(principal, id, ModelStatus.UNLISTED);
  }

  /** Every model of the organization, any status, newest first (members only). */
  async listForOrganization(principal: Principal, organizationId: string): Promise<ModelEntity[]> {
    const em = this.db.reader;
    await this.access.requireOrganization(em, principal, organizationId, 'read');
    return em.find(ModelEntity, { where: { organizationId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** A LISTED model for anyone; a DRAFT or UNLISTED one only for members of its organization. */
  async findVisible(principal: Principal | null, id: string): Promise<ModelEntity> {
    const em = this.db.reader;
    const model = await em.findOne(ModelEntity, { where: { id } });
    if (!model) throw new NotFoundError(ENTITY, id);
    if (model.status === ModelStatus.LISTED) return model;
    if (principal && (await this.access.isMember(em, principal, model.organizationId))) return model;
    throw new NotFoundError(ENTITY, id);
  }

  private async changeStatus(principal: Principal, id: string, to: ModelStatus): Promise<StatusChangeOutcome> {
    return this.db.transaction(async (tx) => {
      const model = await this.loadForWrite(tx, principal, id);
      const from = model.status;
      if (from === to) return { kind: 'unchanged', model };
      if (to === ModelStatus.UNLISTED && from === ModelStatus.DRAFT) return { kind: 'invalid-transition', from, to };
      const now = new Date();
      model.status = to;
      model.updatedAt = now;
      if (to === ModelStatus.LISTED) model.listedAt = now;
      await tx.update(ModelEntity, { id }, { status: to, updatedAt: now, listedAt: model.listedAt });
      await this.audit.record(tx, principal, {
        action: to === ModelStatus.LISTED ? 'catalog.model.listed' : 'catalog.model.unlisted',
        targetType: ENTITY,
        targetId: id,
        organizationId: model.organizationId,
        data: { from, to },
      });
      return { kind: 'changed', model };
    });
  }

  /**
   * The model, row-locked for the rest of the transaction, if the principal
   * may write to its organization. Another organization's model is NOT_FOUND
   * with the model's id (the owner's id is not revealed).
   */
  private async loadForWrite(tx: Tx, principal: Principal, id: string): Promise<ModelEntity> {
    const ref = await tx.findOne(ModelEntity, { where: { id }, select: { id: true, organizationId: true } });
    if (!ref) throw new NotFoundError(ENTITY, id);
    await this.access.requireOrganization(tx, principal, ref.organizationId, 'write', { entity: ENTITY, id });
    return tx.findOneOrFail(ModelEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }
}
