import { createUnionType, Field, Float, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { OrganizationOutput } from '../../identity/dto/identity.output';
import { Paginated } from '../../platform/graphql/pagination';
import { BusinessError } from '../../platform/errors/business-error.type';
import type { CatalogFilter } from '../catalog-query.service';
import { ModelStatus } from '../model.entity';

registerEnumType(ModelStatus, {
  name: 'ModelStatus',
  description: 'DRAFT → LISTED → UNLISTED; an UNLISTED model may be LISTED again.',
});

/** What a model takes in or puts out. Stored as text in the card and in models.modalities. */
export enum Modality {
  TEXT = 'TEXT',
  IMAGE = 'IMAGE',
  AUDIO = 'AUDIO',
  VIDEO = 'VIDEO',
  CODE = 'CODE',
  EMBEDDING = 'EMBEDDING',
}
registerEnumType(Modality, { name: 'Modality' });

@ObjectType('ModelEvaluation')
export class ModelEvaluationOutput {
  @Field(() => String)
  benchmark: string;

  @Field(() => String)
  metric: string;

  @Field(() => Float)
  value: number;
}

@ObjectType('ModelCard')
export class ModelCardOutput {
  @Field(() => String)
  summary: string;

  @Field(() => String, {
    nullable: true,
    description: 'Number of parameters as a decimal string (may exceed 2^53).',
  })
  parameterCount: string | null;

  @Field(() => [Modality])
  modalities: Modality[];

  @Field(() => Int, { nullable: true, description: 'Context window in tokens.' })
  contextLength: number | null;

  @Field(() => [String], { description: 'BCP-47 language tags, e.g. `en`, `zh-Hans`.' })
  languages: string[];

  @Field(() => String, { nullable: true })
  trainingDataSummary: string | null;

  @Field(() => [ModelEvaluationOutput])
  evaluations: ModelEvaluationOutput[];

  @Field(() => [String])
  intendedUses: string[];

  @Field(() => [String])
  limitations: string[];

  @Field(() => [String], { description: 'Names or references of the models this one derives from.' })
  baseModels: string[];
}

@ObjectType('TeacherModel', {
  description:
    'A model in the catalog, with its model card: a teacher a vendor lists, or a student registered with its licensed lineage — which can be listed as a teacher in turn (indirect distillation).',
})
export class TeacherModelOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String, { description: 'URL-safe, unique within the vendor organization; immutable after creation.' })
  slug: string;

  @Field(() => String)
  name: string;

  @Field(() => ModelStatus)
  status: ModelStatus;

  @Field(() => ID, { description: 'The vendor organization that owns the model.' })
  organizationId: string;

  @Field(() => ModelCardOutput)
  card: ModelCardOutput;

  @Field(() => String, {
    nullable: true,
    description: 'Number of parameters as a decimal string (a 64-bit integer; GraphQL Int is 32-bit).',
  })
  parameterCount: string | null;

  @Field(() => [Modality])
  modalities: Modality[];

  @Field(() => Date, { nullable: true, description: 'When the model was last listed; null while DRAFT.' })
  listedAt: Date | null;

  @Field(() => Date)
  createdAt: Date;

  @Field(() => Date)
  updatedAt: Date;

  @Field(() => String, {
    nullable: true,
    description: 'Digest of the released weights (`sha256:<hex>`): required for students, optional for teachers; `verifyModel` looks models up by it.',
  })
  weightsDigest: string | null;

  @Field(() => Boolean, { description: 'Declared for commercial use: research-only or non-commercial licences cannot back its lineage.' })
  commercialUse: boolean;

  /**
   * A plain field, filled when the model is loaded (the catalog fetches a page's
   * vendors in one query): no per-node field resolver on the hot catalog path.
   */
  @Field(() => OrganizationOutput, { description: 'The vendor organization.' })
  vendor: OrganizationOutput;
}

@ObjectType({ implements: () => [BusinessError] })
export class SlugTakenError implements BusinessError {
  @Field(() => String)
  code = 'SLUG_TAKEN';

  @Field(() => String)
  message: string;

  @Field(() => String)
  slug: string;

  constructor(slug: string) {
    this.slug = slug;
    this.message = `The organization already has a model with slug "${slug}"`;
  }
}

export const CreateTeacherModelResult = createUnionType({
  name: 'CreateTeacherModelResult',
  types: () => [TeacherModelOutput, SlugTakenError] as const,
});

@ObjectType('TeacherModelConnection')
export class TeacherModelConnection extends Paginated(TeacherModelOutput, 'TeacherModel') {
  @Field(() => Int, { description: 'Number of models matching the filter (all pages); counted only when selected.' })
  totalCount?: number;

  /** The filter of this connection, for the lazily resolved totalCount (not exposed). */
  filter: CatalogFilter;
}

@ObjectType({ implements: () => [BusinessError], description: 'The model is not in a status this change applies to.' })
export class InvalidModelStatusTransitionError implements BusinessError {
  @Field(() => String)
  code = 'INVALID_STATUS_TRANSITION';

  @Field(() => String)
  message: string;

  @Field(() => ModelStatus)
  from: ModelStatus;

  @Field(() => ModelStatus)
  to: ModelStatus;

  constructor(from: ModelStatus, to: ModelStatus) {
    this.from = from;
    this.to = to;
    this.message = `A ${from} model cannot become ${to}`;
  }
}

export const UnlistTeacherModelResult = createUnionType({
  name: 'UnlistTeacherModelResult',
  types: () => [TeacherModelOutput, InvalidModelStatusTransitionError] as const,
});
