import { createUnionType, Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { SlugTakenError, TeacherModelOutput } from '../../../catalog/dto/model.output';
import { BusinessError } from '../../../platform/errors/business-error.type';
import { RoyaltyPolicy } from '../../../licensing/terms/terms.types';
import { DistillationMethod, LineageRelation } from '../../provenance.entity';

@ObjectType('LineageModelRef', { description: 'A model in a lineage graph.' })
export class LineageModelRefOutput {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  name: string;

  @Field(() => String)
  slug: string;

  @Field(() => ID)
  organizationId: string;

  @Field(() => String, { nullable: true })
  weightsDigest: string | null;

  @Field(() => Int, { description: 'Shortest number of edges from the model whose lineage this is (direct parents / children: 1).' })
  depth: number;
}

@ObjectType('LineageEdge', { description: 'child derives from parent under this agreement (its accepted terms have this hash).' })
export class LineageEdgeOutput {
  @Field(() => ID)
  childModelId: string;

  @Field(() => ID)
  parentModelId: string;

  @Field(() => ID)
  agreementId: string;

  @Field(() => String, { description: 'SHA-256 of the accepted terms (RFC 8785), as on the agreement.' })
  termsHash: string;

  @Field(() => LineageRelation)
  relation: LineageRelation;

  @Field(() => DistillationMethod, { nullable: true })
  method: DistillationMethod | null;

  @Field(() => Int, { nullable: true })
  dataShareBps: number | null;

  @Field(() => RoyaltyPolicy)
  royaltyPolicy: RoyaltyPolicy;

  @Field(() => Int)
  royaltyShareBps: number;
}

@ObjectType('ModelLineage')
export class ModelLineageOutput {
  @Field(() => [LineageModelRefOutput], { description: 'Every ancestor once, nearest first.' })
  ancestors: LineageModelRefOutput[];

  @Field(() => [LineageEdgeOutput])
  edges: LineageEdgeOutput[];

  @Field(() => Int, { description: 'Longest chain of edges above the model.' })
  depth: number;

  @Field(() => Int, {
    description: 'Distillation generation: the most DISTILLED edges on any chain above the model (0 = not distilled). Repeated distillation degrades models (model collapse).',
  })
  distillationGeneration: number;
}

@ObjectType('ModelDescendants')
export class ModelDescendantsOutput {
  @Field(() => [LineageModelRefOutput], { description: 'Every descendant once, nearest first.' })
  descendants: LineageModelRefOutput[];

  @Field(() => [LineageEdgeOutput])
  edges: LineageEdgeOutput[];
}

@ObjectType('RoyaltyStackEntry')
export class RoyaltyStackEntryOutput {
  @Field(() => ID, { description: 'The ancestor model owed the share.' })
  modelId: string;

  @Field(() => ID, { description: 'Its vendor organization (the payee).' })
  organizationId: string;

  @Field(() => RoyaltyPolicy)
  policy: RoyaltyPolicy;

  @Field(() => Int, { description: "Share of this model's revenue, in basis points (100 = 1 %)." })
  shareBps: number;

  @Field(() => Int)
  depth: number;

  @Field(() => ID, { description: 'The agreement whose licence sets the share.' })
  agreementId: string;
}

@ObjectType('RoyaltyStack', {
  description: 'What a model owes its ancestors: LAP shares of every ancestor at any depth (each once, its largest share), LRP shares of direct parents.',
})
export class RoyaltyStackOutput {
  @Field(() => [RoyaltyStackEntryOutput])
  entries: RoyaltyStackEntryOutput[];

  @Field(() => Int)
  totalBps: number;
}

// ------------------------------------------------------------------ refusals

@ObjectType('LicenceMissingEdge')
export class LicenceMissingEdgeOutput {
  @Field(() => ID)
  parentModelId: string;

  @Field(() => ID)
  agreementId: string;

  @Field(() => String, { description: 'NO_AGREEMENT (unknown, or not yours), WRONG_MODEL (the agreement is on another model), NOT_ACTIVE.' })
  reason: string;

  @Field(() => String, { nullable: true, description: 'For NOT_ACTIVE: the agreement status.' })
  status: string | null;
}

@ObjectType({ implements: () => [BusinessError] })
export class LicenceMissingError implements BusinessError {
  @Field(() => String)
  code = 'LICENCE_MISSING';

  @Field(() => String)
  message: string;

  @Field(() => [LicenceMissingEdgeOutput])
  edges: LicenceMissingEdgeOutput[];

  constructor(edges: LicenceMissingEdgeOutput[]) {
    this.edges = edges;
    this.message = `Every lineage edge must be backed by an active agreement of your organization on that parent model; ${edges.length} ${edges.length === 1 ? 'is' : 'are'} not — accept the parent's licence first (acceptLicenseOffer)`;
  }
}

@ObjectType('LicenceViolation')
export class LicenceViolationOutput {
  @Field(() => ID)
  parentModelId: string;

  @Field(() => ID)
  agreementId: string;

  @Field(() => String, { description: 'OUTPUT_TRAINING_PROHIBITED, RESEARCH_ONLY, NON_COMMERCIAL, TERRITORY.' })
  rule: string;

  @Field(() => String)
  message: string;
}

@ObjectType({ implements: () => [BusinessError] })
export class LicenceViolationError implements BusinessError {
  @Field(() => String)
  code = 'LICENCE_VIOLATION';

  @Field(() => String)
  message: string;

  @Field(() => [LicenceViolationOutput])
  violations: LicenceViolationOutput[];

  constructor(violations: LicenceViolationOutput[]) {
    this.violations = violations;
    this.message = `The declared lineage breaks ${violations.length === 1 ? 'a licence' : `${violations.length} licence terms`}: ${violations.map((v) => v.message).join('; ')}`;
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class LineageCycleError implements BusinessError {
  @Field(() => String)
  code = 'LINEAGE_CYCLE';

  @Field(() => String)
  message: string;

  @Field(() => ID, { description: 'The parent that already descends from the model.' })
  parentModelId: string;

  constructor(modelId: string, parentModelId: string) {
    this.parentModelId = parentModelId;
    this.message = `Model ${parentModelId} already descends from ${modelId}: declaring it a parent would make the lineage a cycle`;
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class TooManyParentsError implements BusinessError {
  @Field(() => String)
  code = 'TOO_MANY_PARENTS';

  @Field(() => String)
  message: string;

  @Field(() => Int)
  parents: number;

  @Field(() => Int)
  max: number;

  constructor(parents: number, max: number) {
    this.parents = parents;
    this.max = max;
    this.message = `A model may have at most ${max} parents (this lineage would give it ${parents})`;
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class TooManyAncestorsError implements BusinessError {
  @Field(() => String)
  code = 'TOO_MANY_ANCESTORS';

  @Field(() => String)
  message: string;

  @Field(() => Int)
  ancestors: number;

  @Field(() => Int)
  max: number;

  constructor(ancestors: number, max: number) {
    this.ancestors = ancestors;
    this.max = max;
    this.message = `A model's lineage may reach at most ${max} ancestors (this one would reach ${ancestors})`;
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class RoyaltyStackTooHighError implements BusinessError {
  @Field(() => String)
  code = 'ROYALTY_STACK_TOO_HIGH';

  @Field(() => String)
  message: string;

  @Field(() => Int)
  totalBps: number;

  @Field(() => Int)
  capBps: number;

  @Field(() => RoyaltyStackOutput, { description: 'The stack the lineage would have.' })
  stack: RoyaltyStackOutput;

  constructor(stack: RoyaltyStackOutput, capBps: number) {
    this.stack = stack;
    this.totalBps = stack.totalBps;
    this.capBps = capBps;
    this.message = `The ancestors' royalties would take ${stack.totalBps / 100} % of this model's revenue, above the platform cap of ${capBps / 100} %`;
  }
}

@ObjectType({ implements: () => [BusinessError] })
export class WeightsDigestTakenError implements BusinessError {
  @Field(() => String)
  code = 'WEIGHTS_DIGEST_TAKEN';

  @Field(() => String)
  message: string;

  @Field(() => String, { description: 'The weights digest another model already claims.' })
  digest: string;

  constructor(weightsDigest: string) {
    this.digest = weightsDigest;
    this.message = `A model with weights ${weightsDigest} is already registered`;
  }
}

const LINEAGE_REFUSALS = [LicenceMissingError, LicenceViolationError, LineageCycleError, TooManyParentsError, TooManyAncestorsError, RoyaltyStackTooHighError] as const;

export const RegisterStudentModelResult = createUnionType({
  name: 'RegisterStudentModelResult',
  types: () => [TeacherModelOutput, SlugTakenError, WeightsDigestTakenError, ...LINEAGE_REFUSALS] as const,
});

export const DeclareLineageResult = createUnionType({
  name: 'DeclareLineageResult',
  types: () => [TeacherModelOutput, ...LINEAGE_REFUSALS] as const,
});
