/**
 * registerStudentModel / declareLineage, and the lineage fields of every
 * model: lineage, descendants (the model's organization only), royaltyStack.
 * A model's lineage is loaded once per request however many fields use it.
 */
import { Args, Context, Mutation, ResolveField, Resolver, Root } from '@nestjs/graphql';
import { toTeacherModelOutput } from '../../catalog/catalog.mapper';
import { SlugTakenError, TeacherModelOutput } from '../../catalog/dto/model.output';
import { ModelEntity } from '../../catalog/model.entity';
import { AccessService } from '../../identity/access.service';
import { OrganizationService } from '../../identity/organization.service';
import { CurrentPrincipal, OptionalPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { ForbiddenError, assertUnreachable } from '../../platform/errors/app-error';
import { LoaderContext } from '../../platform/graphql/loaders';
import { ProvenanceSnapshots } from '../exports/provenance-snapshots';
import { LineageLoader, lineageInRequest, rootOf } from '../lineage/lineage.loader';
import { Lineage, LineageEdgeView, RoyaltyStack } from '../lineage/lineage.types';
import { royaltyStack } from '../lineage/royalty-stack';
import { ObligationsOutput, toObligationsOutput } from '../lineage/obligations.output';
import { DeclareLineageInput, RegisterStudentModelInput } from './dto/student.input';
import {
  DeclareLineageResult,
  LicenceMissingEdgeOutput,
  LicenceMissingError,
  LicenceViolationError,
  LicenceViolationOutput,
  LineageCycleError,
  LineageEdgeOutput,
  ModelDescendantsOutput,
  ModelLineageOutput,
  RegisterStudentModelResult,
  RoyaltyStackOutput,
  RoyaltyStackTooHighError,
  TooManyAncestorsError,
  TooManyParentsError,
  WeightsDigestTakenError,
} from './dto/lineage.output';
import { MAX_ANCESTORS, MAX_PARENTS } from './dto/student.input';
import { LineageRefusal, StudentModelService } from './student-model.service';

export function toEdgeOutput(e: LineageEdgeView): LineageEdgeOutput {
  return Object.assign(new LineageEdgeOutput(), {
    childModelId: e.childModelId,
    parentModelId: e.parentModelId,
    agreementId: e.agreementId,
    termsHash: e.termsHash,
    relation: e.relation,
    method: e.method,
    dataShareBps: e.dataShareBps,
    royaltyPolicy: e.terms.royalty.policy,
    royaltyShareBps: e.terms.royalty.shareBps,
  });
}

/** The lineage root for a model as GraphQL returns it. */

export function toLineageOutput(l: Lineage): ModelLineageOutput {
  return Object.assign(new ModelLineageOutput(), {
    ancestors: l.ancestors.map((a) => ({ id: a.modelId, name: a.name, slug: a.slug, organizationId: a.organizationId, weightsDigest: a.weightsDigest, depth: a.depth })),
    edges: l.edges.map(toEdgeOutput),
    depth: l.depth,
    distillationGeneration: l.distillationGeneration,
  });
}

export function toStackOutput(stack: RoyaltyStack): RoyaltyStackOutput {
  return Object.assign(new RoyaltyStackOutput(), { entries: stack.entries.map((e) => ({ ...e })), totalBps: stack.totalBps });
}

function refusalOutput(r: LineageRefusal) {
  switch (r.kind) {
    case 'licence-missing':
      return new LicenceMissingError(r.edges.map((e) => Object.assign(new LicenceMissingEdgeOutput(), e)));
    case 'licence-violation':
      return new LicenceViolationError(r.violations.map((v) => Object.assign(new LicenceViolationOutput(), v)));
    case 'cycle':
      return new LineageCycleError(r.modelId, r.parentModelId);
    case 'too-many-parents':
      return new TooManyParentsError(r.parents, MAX_PARENTS);
    case 'too-many-ancestors':
      return new TooManyAncestorsError(r.ancestors, MAX_ANCESTORS);
    case 'royalty-stack-too-high':
      return new RoyaltyStackTooHighError(toStackOutput(r.stack), r.capBps);
    default:
      return assertUnreachable(r);
  }
}

@Resolver(() => TeacherModelOutput)
export class StudentModelResolver {
  constructor(
    private readonly db: Database,
    private readonly service: StudentModelService,
    private readonly lineage: LineageLoader,
    private readonly organizations: OrganizationService,
    private readonly access: AccessService,
    private readonly snapshots: ProvenanceSnapshots,
  ) {}

  private async output(model: ModelEntity): Promise<TeacherModelOutput> {
    const org = await this.organizations.findById(model.organizationId);
    return toTeacherModelOutput(model, { id: model.organizationId, name: org?.name ?? '', country: org?.country ?? null });
  }

  @Mutation(() => RegisterStudentModelResult, {
    description:
      'Registers a student model (DRAFT) with its lineage: every parent backed by your agreement on it, within its terms. List it with listTeacherModel and publish offers to sell it as a teacher in turn.',
  })
  async registerStudentModel(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: RegisterStudentModelInput,
  ): Promise<typeof RegisterStudentModelResult> {
    const r = await this.service.register(principal, input);
    switch (r.kind) {
      case 'registered':
        return this.output(r.model);
      case 'slug-taken':
        return new SlugTakenError(r.slug);
      case 'weights-digest-taken':
        return new WeightsDigestTakenError(r.weightsDigest);
      default:
        return refusalOutput(r);
    }
  }

  @Mutation(() => DeclareLineageResult, {
    description: 'Adds parents to an existing model of your organization (append-only), with the same checks as registerStudentModel.',
  })
  async declareLineage(@CurrentPrincipal() principal: Principal, @Args('input') input: DeclareLineageInput): Promise<typeof DeclareLineageResult> {
    const r = await this.service.declare(principal, input);
    return r.kind === 'declared' ? this.output(r.model) : refusalOutput(r);
  }

  /** The model's lineage, once per request. */
  private lineageOf(ctx: LoaderContext, m: TeacherModelOutput): Promise<Lineage> {
    return lineageInRequest(ctx, this.lineage, this.db.reader, rootOf(m));
  }

  @ResolveField('lineage', () => ModelLineageOutput, { description: 'Ancestors and the licensed edges among them (public, like the model).' })
  async lineageField(@Root() model: TeacherModelOutput, @Context() ctx: LoaderContext): Promise<ModelLineageOutput> {
    return toLineageOutput(await this.lineageOf(ctx, model));
  }

  @ResolveField('royaltyStack', () => RoyaltyStackOutput)
  async royaltyStackField(@Root() model: TeacherModelOutput, @Context() ctx: LoaderContext): Promise<RoyaltyStackOutput> {
    return toStackOutput(royaltyStack(await this.lineageOf(ctx, model)));
  }

  @ResolveField('obligations', () => ObligationsOutput)
  async obligationsField(@Root() model: TeacherModelOutput, @Context() ctx: LoaderContext): Promise<ObligationsOutput> {
    // Computed once per content version, with the exports (provenance-snapshots.ts).
    return toObligationsOutput((await this.snapshots.of(ctx, model)).obligations);
  }

  @ResolveField('descendants', () => ModelDescendantsOutput, {
    description: "Models derived from this one, at any depth, with their edges: for the model's organization (and admins) only.",
  })
  async descendants(@Root() model: TeacherModelOutput, @OptionalPrincipal() principal: Principal | null): Promise<ModelDescendantsOutput> {
    const allowed = principal !== null && (principal.isAdmin || (await this.access.isMember(this.db.reader, principal, model.organizationId)));
    if (!allowed) throw new ForbiddenError("Descendants are visible to the model's organization only");
    const d = await this.lineage.descendants(this.db.reader, model.id);
    return Object.assign(new ModelDescendantsOutput(), {
      descendants: d.nodes.map((n) => ({ id: n.modelId, name: n.name, slug: n.slug, organizationId: n.organizationId, weightsDigest: n.weightsDigest, depth: n.depth })),
      // The edge rows carry the royalty copied from their agreement's terms.
      edges: d.edges.map((r) =>
        Object.assign(new LineageEdgeOutput(), {
          childModelId: r.child_model_id,
          parentModelId: r.parent_model_id,
          agreementId: r.agreement_id,
          termsHash: r.terms_hash,
          relation: r.relation,
          method: r.method,
          dataShareBps: r.data_share_bps,
          royaltyPolicy: r.royalty_policy,
          royaltyShareBps: r.royalty_share_bps,
        }),
      ),
    });
  }
}
