/**
 * LicenseAgreement.vendor / .distiller / .model: who the parties are and what
 * was licensed, batched per request (one query per kind for a whole page). An
 * agreement is only ever shown to members of its two parties, so naming each
 * party to the other reveals nothing new.
 */
import { Context, ResolveField, Resolver, Root } from '@nestjs/graphql';
import { CatalogService, ModelRef } from '../catalog/catalog.service';
import { OrganizationOutput } from '../identity/dto/identity.output';
import { OrganizationEntity } from '../identity/identity.entity';
import { toOrganizationOutput } from '../identity/identity.mapper';
import { OrganizationService } from '../identity/organization.service';
import { Database } from '../platform/database/transaction';
import { LoaderContext, loaderFor } from '../platform/graphql/loaders';
import { LicenseAgreementOutput } from './dto/agreement.output';
import { LicenseOfferModelOutput } from './dto/license-offer.output';

@Resolver(() => LicenseAgreementOutput)
export class AgreementPartiesResolver {
  constructor(
    private readonly organizations: OrganizationService,
    private readonly catalog: CatalogService,
    private readonly db: Database,
  ) {}

  private organization(ctx: LoaderContext, id: string): Promise<OrganizationOutput> {
    const loader = loaderFor<string, OrganizationEntity>(ctx, 'identity.organizationsById', async (ids) => {
      const found = await this.organizations.findByIds(ids);
      return ids.map((i) => found.get(i) ?? new Error(`organization ${i} not found`));
    });
    return loader.load(id).then(toOrganizationOutput);
  }

  @ResolveField('vendor', () => OrganizationOutput, { description: 'The vendor organization (owner of the model).' })
  vendor(@Root() a: LicenseAgreementOutput, @Context() ctx: LoaderContext): Promise<OrganizationOutput> {
    return this.organization(ctx, a.vendorOrganizationId);
  }

  @ResolveField('distiller', () => OrganizationOutput, { description: 'The distiller organization that accepted the offer.' })
  distiller(@Root() a: LicenseAgreementOutput, @Context() ctx: LoaderContext): Promise<OrganizationOutput> {
    return this.organization(ctx, a.distillerOrganizationId);
  }

  @ResolveField('model', () => LicenseOfferModelOutput, { description: 'The licensed model.' })
  async model(@Root() a: LicenseAgreementOutput, @Context() ctx: LoaderContext): Promise<LicenseOfferModelOutput> {
    const loader = loaderFor<string, ModelRef>(ctx, 'catalog.modelRefsById', async (ids) => {
      const found = await this.catalog.findModelRefs(this.db.reader, ids);
      return ids.map((i) => found.get(i) ?? new Error(`model ${i} not found`));
    });
    const m = await loader.load(a.modelId);
    return { id: m.id, name: m.name, slug: m.slug };
  }
}
