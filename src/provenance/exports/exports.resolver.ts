/**
 * TeacherModel.huggingFaceCardYaml / cycloneDx: the model's provenance in the
 * formats the ecosystem reads (public, like the model and its lineage),
 * rendered once per content version (provenance-snapshots.ts).
 */
import { Context, ResolveField, Resolver, Root } from '@nestjs/graphql';
import { TeacherModelOutput } from '../../catalog/dto/model.output';
import GraphQLJSON from '../../platform/graphql/json.scalar';
import { LoaderContext } from '../../platform/graphql/loaders';
import { cycloneDxBom } from './cyclonedx';
import { huggingFaceCardYaml } from './huggingface-card';
import { ProvenanceSnapshots } from './provenance-snapshots';

@Resolver(() => TeacherModelOutput)
export class ProvenanceExportsResolver {
  constructor(private readonly snapshots: ProvenanceSnapshots) {}

  @ResolveField('huggingFaceCardYaml', () => String, {
    description:
      'Hugging Face model-card front matter (between --- lines): license, base_model and base_model_relation, plus `distillation:` and `beiming:` keys with the full licensed lineage, royalty stack, attribution and certification.',
  })
  async huggingFaceCardYaml(@Root() model: TeacherModelOutput, @Context() ctx: LoaderContext): Promise<string> {
    return this.snapshots.render(await this.snapshots.of(ctx, model), 'huggingFaceCardYaml', huggingFaceCardYaml);
  }

  @ResolveField('cycloneDx', () => GraphQLJSON, {
    description: 'A CycloneDX 1.6 ML-BOM: the model as a machine-learning-model component with its ancestors in pedigree, licences per agreement, and the lineage as dependencies.',
  })
  async cycloneDx(@Root() model: TeacherModelOutput, @Context() ctx: LoaderContext): Promise<object> {
    return this.snapshots.render(await this.snapshots.of(ctx, model), 'cycloneDx', (input) => cycloneDxBom(input));
  }
}
