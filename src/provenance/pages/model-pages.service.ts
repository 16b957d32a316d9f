/**
 * The public pages that provenance exports link to (see exportLinks in
 * exports/huggingface-card.ts): a model's page, its licence page (the HF
 * card's `license_link`) and the verification page of a weights digest.
 * Plain data here; model-pages.html.ts renders it, the controller negotiates
 * HTML or JSON. Visibility is the model's: a LISTED model for anyone, other
 * models only for members of their organization (others get not found).
 */
import { Injectable } from '@nestjs/common';
import { CatalogService } from '../../catalog/catalog.service';
import { ModelEntity } from '../../catalog/model.entity';
import { OrganizationService } from '../../identity/organization.service';
import { LicenseOfferService } from '../../licensing/license-offer.service';
import type { Principal } from '../../platform/auth/principal';
import { AppConfig } from '../../platform/config/app-config';
import { Database } from '../../platform/database/transaction';
import { NotFoundError } from '../../platform/errors/app-error';
import { isUuid } from '../../platform/errors/validation';
import { AttestationService } from '../attestation/attestation.service';
import { CertificationService } from '../certification/certification.service';
import { beimingLicenceName, displayTermsHash, exportLinks, ExportLinks } from '../exports/huggingface-card';
import { LineageLoader } from '../lineage/lineage.loader';
import { obligations } from '../lineage/obligations';
import { WEIGHTS_DIGEST } from '../student/dto/student.input';

export interface PageModel {
  id: string;
  name: string;
  slug: string;
  organization: { id: string; name: string };
  summary: string | null;
  weightsDigest: string | null;
  certification: string;
  links: ExportLinks;
}

export interface LicencePage {
  model: PageModel;
  /** The HF card's `license_name` for this model. */
  licenceName: string;
  /** The model's own ACTIVE offers: what others may accept for it. */
  offers: Array<{ id: string; name: string; version: number; termsHash: string; terms: Record<string, unknown>; pricing: Record<string, unknown> }>;
  /** The licences this model is bound by: the accepted terms of each lineage edge (the model's and its ancestors'). */
  inherited: Array<{ childModelId: string; parentModelId: string; parentName: string; agreementId: string; termsHash: string; terms: Record<string, unknown> }>;
  attributions: string[];
  notice: string;
}

export interface VerificationPage {
  weightsDigest: string;
  model: PageModel;
  ancestors: Array<{ id: string; name: string; depth: number }>;
  distillationGeneration: number;
  latestAttestation: { keyId: string; issuedAt: string; document: Record<string, unknown> } | null;
}

@Injectable()
export class ModelPagesService {
  constructor(
    private readonly config: AppConfig,
    private readonly db: Database,
    private readonly catalog: CatalogService,
    private readonly organizations: OrganizationService,
    private readonly offers: LicenseOfferService,
    private readonly lineage: LineageLoader,
    private readonly certifications: CertificationService,
    private readonly attestations: AttestationService,
  ) {}

  async modelPage(principal: Principal | null, id: string): Promise<PageModel> {
    return this.pageModel(await this.visibleModel(principal, id));
  }

  async licencePage(principal: Principal | null, id: string): Promise<LicencePage> {
    const model = await this.visibleModel(principal, id);
    const [page, lineage, { offers }] = await Promise.all([
      this.pageModel(model),
      this.lineage.load(this.db.reader, model),
      this.offers.listForModel(principal, model.id, null),
    ]);
    const names = new Map([[lineage.root.modelId, lineage.root.name], ...lineage.ancestors.map((a) => [a.modelId, a.name] as const)]);
    const ob = obligations(lineage, { name: model.name, commercialUse: model.commercialUse });
    return {
      model: page,
      licenceName: beimingLicenceName(lineage.edges),
      offers: offers
        .filter((o) => o.status === 'ACTIVE')
        .map((o) => ({ id: o.id, name: o.name, version: o.version, termsHash: displayTermsHash(o.termsHash), terms: o.terms, pricing: o.pricing })),
      inherited: lineage.edges.map((e) => ({
        childModelId: e.childModelId,
        parentModelId: e.parentModelId,
        parentName: names.get(e.parentModelId) ?? e.parentModelId,
        agreementId: e.agreementId,
        termsHash: displayTermsHash(e.termsHash),
        terms: e.terms as unknown as Record<string, unknown>,
      })),
      attributions: ob.attributions.map((a) => a.displayString),
      notice: ob.notice,
    };
  }

  /** Public like the GraphQL `verifyModel`: whoever holds the weights may check them. */
  async verificationPage(weightsDigest: string): Promise<VerificationPage> {
    if (!WEIGHTS_DIGEST.test(weightsDigest)) throw new NotFoundError('ModelVerification', weightsDigest);
    const found = await this.attestations.verify(weightsDigest);
    if (!found) throw new NotFoundError('ModelVerification', weightsDigest);
    const { model, lineage, latest } = found;
    return {
      weightsDigest,
      model: await this.pageModel(model),
      ancestors: lineage.ancestors.map((a) => ({ id: a.modelId, name: a.name, depth: a.depth })).sort((a, b) => a.depth - b.depth || a.name.localeCompare(b.name)),
      distillationGeneration: lineage.distillationGeneration,
      latestAttestation: latest
        ? { keyId: latest.keyId, issuedAt: latest.issuedAt.toISOString(), document: { payload: latest.payload, signature: latest.signature, keyId: latest.keyId, statement: latest.statement } }
        : null,
    };
  }

  /** Malformed ids are not found too: the page never hands a bad id to the database. */
  private async visibleModel(principal: Principal | null, id: string): Promise<ModelEntity> {
    if (!isUuid(id)) throw new NotFoundError('TeacherModel', id);
    return this.catalog.findVisible(principal, id);
  }

  private async pageModel(model: ModelEntity): Promise<PageModel> {
    const em = this.db.reader;
    const [org, cert] = await Promise.all([this.organizations.findById(model.organizationId), this.certifications.statusOf(em, model.id)]);
    return {
      id: model.id,
      name: model.name,
      slug: model.slug,
      organization: { id: model.organizationId, name: org?.name ?? '' },
      summary: model.card?.summary ?? null,
      weightsDigest: model.weightsDigest,
      certification: cert.status,
      links: exportLinks(this.config.publicUrl, model),
    };
  }
}
