/**
 * Licence offers: publish (validated, canonicalised, hashed, versioned per
 * (model, name)), retire, and the reads with their visibility rules:
 * an ACTIVE offer of a LISTED model is public; anything else is visible to
 * members of the vendor organization only (others get NOT_FOUND).
 *
 * Publishing is allowed while the model is DRAFT (vendors prepare offers before
 * listing) or LISTED; an UNLISTED model was withdrawn from sale, so publishing
 * on it is refused (CONFLICT) until it is listed again. Terms with
 * watermarkRequired need a watermark scheme registered for the model (the
 * provenance registry, asked through WATERMARK_DIRECTORY).
 */
import { Inject, Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { CatalogService, ModelRef } from '../catalog/catalog.service';
import { ModelStatus } from '../catalog/model.entity';
import { AccessService } from '../identity/access.service';
import { Principal } from '../platform/auth/principal';
import { isUniqueViolation } from '../platform/database/pg-errors';
import { Database, Tx } from '../platform/database/transaction';
import { BadInputError, ConflictError, NotFoundError } from '../platform/errors/app-error';
import { assertUuid } from '../platform/errors/validation';
import { LicenseOfferEntity, OfferStatus } from './license-offer.entity';
import { LicensingRepository } from './licensing.repository';
import { canonicalTerms, hashCanonical } from './terms/canonical-terms';
import { PricingInput, TermsInput } from './terms/terms.types';
import { validateOffer } from './terms/terms.validation';

/**
 * What publishing needs to know about watermark schemes, without depending on
 * provenance (which owns the registry and provides this token).
 */
export const WATERMARK_DIRECTORY = Symbol('WATERMARK_DIRECTORY');

export interface WatermarkDirectory {
  /** True when at least one watermark scheme is registered for the model. */
  hasScheme(em: EntityManager, modelId: string): Promise<boolean>;
}

export interface OfferWithModel {
  offer: LicenseOfferEntity;
  model: ModelRef;
}

@Injectable()
export class LicenseOfferService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly catalog: CatalogService,
    @Inject(WATERMARK_DIRECTORY) private readonly watermarks: WatermarkDirectory,
    private readonly licensing: LicensingRepository,
  ) {}

  async publish(
    principal: Principal,
    input: { modelId: string; name: string; terms: TermsInput; pricing: PricingInput },
  ): Promise<OfferWithModel> {
    const errors = validateOffer(input.terms, input.pricing);
    if (errors.length) throw new BadInputError(errors);
    const canonical = canonicalTerms(input.terms, input.pricing);
    const hash = hashCanonical(canonical);
    const name = input.name.trim();
    try {
      return await this.db.transaction(async (tx) => {
        const model = await this.catalog.findModelRef(tx, input.modelId, { lock: true });
        if (!model) throw new NotFoundError('TeacherModel', input.modelId);
        await this.requireVendor(tx, principal, model.organizationId, 'TeacherModel', input.modelId);
        if (model.status === ModelStatus.UNLISTED) {
          throw new ConflictError('The model is unlisted; list it again before publishing offers', { modelStatus: model.status });
        }
        // Schemes are never removed, so one seen here still exists at commit.
        if (canonical.terms.watermarkRequired && !(await this.watermarks.hasScheme(tx, model.id))) {
          throw new BadInputError([
            {
              field: 'terms.watermarkRequired',
              message:
                'The terms require watermarked outputs but the model has no watermark scheme: ' +
                'register a watermark scheme for this model first (registerWatermarkScheme), or publish with watermarkRequired: false',
            },
          ]);
        }
        // Serialises publishes of the same (model, name): versions are consecutive
        // and exactly one stays ACTIVE (the partial unique index is the backstop).
        await this.licensing.lockPublish(tx, model.id, name);
        const max = await this.licensing.maxOfferVersion(tx, model.id, name);
        const previous = await tx.findOne(LicenseOfferEntity, { where: { modelId: model.id, name, status: OfferStatus.ACTIVE } });
        if (previous) await this.markRetired(tx, principal, previous, 'superseded');
        const p = canonical.pricing;
        const offer = await tx.save(
          tx.create(LicenseOfferEntity, {
            modelId: model.id,
            organizationId: model.organizationId,
            name,
            version: max + 1,
            terms: canonical.terms as unknown as Record<string, unknown>,
            pricing: canonical.pricing as unknown as Record<string, unknown>,
            termsHash: hash,
            currency: p.currency,
            upfrontFeeMinor: BigInt(p.upfrontFeeMinor),
            inputPerMillionMinor: BigInt(p.inputPerMillionMinor),
            outputPerMillionMinor: BigInt(p.outputPerMillionMinor),
            minimumCommitmentMinor: BigInt(p.minimumCommitmentMinor),
            poolEligible: p.poolEligible,
            status: OfferStatus.ACTIVE,
            publishedByUserId: principal.kind === 'user' ? principal.userId : null,
            retiredAt: null,
          }),
        );
        await this.audit.record(tx, principal, {
          action: 'licensing.offer.published',
          targetType: 'LicenseOffer',
          targetId: offer.id,
          organizationId: model.organizationId,
          data: { modelId: model.id, name, version: offer.version, termsHash: hash, supersedes: previous?.id ?? null },
        });
        return { offer, model };
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('A concurrent publish of this offer won; retry');
      throw e;
    }
  }

  async retire(principal: Principal, id: string): Promise<OfferWithModel> {
    assertUuid('id', id);
    return this.db.transaction(async (tx) => {
      // FOR UPDATE: waits for accepts holding the offer FOR SHARE, and makes later accepts see RETIRED.
      const offer = await tx.findOne(LicenseOfferEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!offer) throw new NotFoundError('LicenseOffer', id);
      await this.requireVendor(tx, principal, offer.organizationId, 'LicenseOffer', id);
      const model = await this.catalog.findModelRef(tx, offer.modelId);
      if (!model) throw new NotFoundError('LicenseOffer', id);
      if (offer.status === OfferStatus.RETIRED) return { offer, model }; // idempotent
      await this.markRetired(tx, principal, offer, 'retired');
      return { offer, model };
    });
  }

  /** One offer, if the caller may see it (anonymous callers: ACTIVE offers of LISTED models). */
  async get(principal: Principal | null, id: string): Promise<OfferWithModel> {
    assertUuid('id', id);
    const em = this.db.reader;
    const offer = await em.findOne(LicenseOfferEntity, { where: { id } });
    const model = offer && (await this.catalog.findModelRef(em, offer.modelId));
    if (!offer || !model) throw new NotFoundError('LicenseOffer', id);
    const isPublic = offer.status === OfferStatus.ACTIVE && model.status === ModelStatus.LISTED;
    if (!isPublic && !(await this.canReadVendor(em, principal, offer.organizationId))) throw new NotFoundError('LicenseOffer', id);
    return { offer, model };
  }

  /**
   * A model's offers, by name then newest version. Vendor members see every
   * version (optionally filtered by status); others see the ACTIVE offers of a
   * LISTED model, and NOT_FOUND for a model they cannot see.
   */
  async listForModel(principal: Principal | null, modelId: string, status: OfferStatus | null): Promise<{ offers: LicenseOfferEntity[]; model: ModelRef }> {
    assertUuid('modelId', modelId);
    const em = this.db.reader;
    const model = await this.catalog.findModelRef(em, modelId);
    if (!model) throw new NotFoundError('TeacherModel', modelId);
    const isVendor = await this.canReadVendor(em, principal, model.organizationId);
    if (!isVendor && model.status !== ModelStatus.LISTED) throw new NotFoundError('TeacherModel', modelId);
    if (!isVendor && status === OfferStatus.RETIRED) return { offers: [], model };
    const effective = isVendor ? status : OfferStatus.ACTIVE;
    const offers = await em.find(LicenseOfferEntity, {
      where: { modelId, ...(effective ? { status: effective } : {}) },
      order: { name: 'ASC', version: 'DESC' },
    });
    return { offers, model };
  }

  /** For the TeacherModel.offers DataLoader: the ACTIVE offers of many models in one query. */
  async activeOffersOfModels(modelIds: readonly string[]): Promise<Map<string, LicenseOfferEntity[]>> {
    const byModel = new Map<string, LicenseOfferEntity[]>(modelIds.map((id) => [id, []]));
    if (modelIds.length === 0) return byModel;
    const rows = await this.db.reader.find(LicenseOfferEntity, {
      where: { modelId: In([...new Set(modelIds)]), status: OfferStatus.ACTIVE },
      order: { name: 'ASC' },
    });
    for (const r of rows) byModel.get(r.modelId)?.push(r);
    return byModel;
  }

  private async markRetired(tx: Tx, principal: Principal, offer: LicenseOfferEntity, reason: 'retired' | 'superseded'): Promise<void> {
    const retiredAt = await this.licensing.retireOffer(tx, offer.id);
    offer.status = OfferStatus.RETIRED;
    offer.retiredAt = retiredAt ? new Date(retiredAt) : new Date();
    await this.audit.record(tx, principal, {
      action: 'licensing.offer.retired',
      targetType: 'LicenseOffer',
      targetId: offer.id,
      organizationId: offer.organizationId,
      data: { modelId: offer.modelId, name: offer.name, version: offer.version, reason },
    });
  }

  /** Write access to the vendor organization; a non-member gets NOT_FOUND for the object they named. */
  private async requireVendor(tx: EntityManager, principal: Principal, organizationId: string, entity: string, id: string): Promise<void> {
    await this.access.requireOrganization(tx, principal, organizationId, 'write', { entity, id });
  }

  private async canReadVendor(em: EntityManager, principal: Principal | null, organizationId: string): Promise<boolean> {
    return principal !== null && this.access.hasAccess(em, principal, [organizationId], 'read');
  }
}
