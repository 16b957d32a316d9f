/** TeacherModel.offers: the model's ACTIVE offers, batched per request (one query for a page of models). */
import { Context, ResolveField, Resolver, Root } from '@nestjs/graphql';
import { TeacherModelOutput } from '../catalog/dto/model.output';
import { LoaderContext, loaderFor } from '../platform/graphql/loaders';
import { LicenseOfferOutput } from './dto/license-offer.output';
import { LicenseOfferEntity } from './license-offer.entity';
import { LicenseOfferService } from './license-offer.service';
import { toOfferOutput } from './licensing.mapper';

@Resolver(() => TeacherModelOutput)
export class TeacherModelOffersResolver {
  constructor(private readonly service: LicenseOfferService) {}

  @ResolveField('offers', () => [LicenseOfferOutput], { description: 'ACTIVE licence offers of the model, by name.' })
  async offers(@Root() model: TeacherModelOutput, @Context() ctx: LoaderContext): Promise<LicenseOfferOutput[]> {
    const loader = loaderFor<string, LicenseOfferEntity[]>(ctx, 'licensing.activeOffersByModel', async (ids) => {
      const byModel = await this.service.activeOffersOfModels(ids);
      return ids.map((id) => byModel.get(id) ?? []);
    });
    const rows = await loader.load(model.id);
    return rows.map((o) => toOfferOutput(o, { id: model.id, name: model.name, slug: model.slug }));
  }
}
