/**
 * TeacherModel.huggingFaceCardYaml / cycloneDx: the model's provenance in the
 * formats the ecosystem reads (public, like the model and its lineage).
 */
import { Context, ResolveField, Resolver, Root } from '@nestjs/graphql';
import { TeacherModelOutput } from '../../catalog/dto/model.output';
import { CatalogService } from '../../catalog/catalog.service';
import { OrganizationService } from '../../identity/organization.service';
import { AppConfig } from '../../platform/config/app-config';
import { Database } from '../../platform/database/transaction';
import GraphQLJSON from '../../platform/graphql/json.scalar';
import { LoaderContext } from '../../platform/graphql/loaders';
import { CertificationService } from '../certification/certification.service';
import { LineageLoader, lineageInRequest } from '../lineage/lineage.loader';
import { obligations } from '../lineage/obligations';
import { royaltyStack } from '../lineage/royalty-stack';
import { rootOf } from '../student/student-model.resolver';
import { cycloneDxBom } from './cyclonedx';
import { huggingFaceCardYaml, ProvenanceExportInput } from './huggingface-card';

@Resolver(() => TeacherModelOutput)
export class ProvenanceExportsResolver {
  constructor(
    private readonly config: AppConfig,
    private readonly db: Database,
    private readonly lineage: LineageLoader,
    private readonly catalog: CatalogService,
    private readonly organizations: OrganizationService,
    private readonly certifications: CertificationService,
  ) {}

  private async input(model: TeacherModelOutput, ctx: LoaderContext): Promise<ProvenanceExportInput> {
    const em = this.db.reader;
    const lineage = await lineageInRequest(ctx, this.lineage, em, rootOf(model));
    const orgIds = [model.organizationId, ...lineage.ancestors.map((a) => a.organizationId)];
    const [orgs, cert, entity] = await Promise.all([
      this.organizations.findByIds(orgIds, em),
      this.certifications.statusOf(em, model.id),
      this.catalog.findModels(em, [model.id]),
    ]);
    const ob = obligations(lineage, { name: model.name, commercialUse: model.commercialUse });
    return {
      model: {
        id: model.id,
        name: model.name,
        slug: model.slug,
        organizationId: model.organizationId,
        organizationName: orgs.get(model.organizationId)?.name ?? model.organizationId,
        weightsDigest: model.weightsDigest,
        card: entity.get(model.id)!.card,
        commercialUse: model.commercialUse,
      },
      lineage,
      royaltyStack: royaltyStack(lineage),
      obligations: { attributions: ob.attributions.map((a) => ({ displayString: a.displayString })), notice: ob.notice },
      certification: cert.status === 'NONE' ? null : { status: cert.status, certifiedAt: cert.certifiedAt, expiresAt: cert.expiresAt },
      publicBaseUrl: this.config.publicUrl,
      organizationNames: Object.fromEntries([...orgs.values()].map((o) => [o.id, o.name])),
    };
  }

  @ResolveField('huggingFaceCardYaml', () => String, {
    description:
      'Hugging Face model-card front matter (between --- lines): license, base_model and base_model_relation, plus `distillation:` and `beiming:` keys with the full licensed lineage, royalty stack, attribution and certification.',
  })
  async huggingFaceCardYaml(@Root() model: TeacherModelOutput, @Context() ctx: LoaderContext): Promise<string> {
    return huggingFaceCardYaml(await this.input(model, ctx));
  }

  @ResolveField('cycloneDx', () => GraphQLJSON, {
    description: 'A CycloneDX 1.6 ML-BOM: the model as a machine-learning-model component with its ancestors in pedigree, licences per agreement, and the lineage as dependencies.',
  })
  async cycloneDx(@Root() model: TeacherModelOutput, @Context() ctx: LoaderContext): Promise<object> {
    return cycloneDxBom(await this.input(model, ctx));
  }
}
