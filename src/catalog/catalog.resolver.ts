import { Args, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { OrganizationService } from '../identity/organization.service';
import { CurrentPrincipal, OptionalPrincipal, Public } from '../platform/auth/decorators';
import { Principal } from '../platform/auth/principal';
import { toConnection } from '../platform/paging/page';
import { CatalogQueryService } from './catalog-query.service';
import { toTeacherModelOutput } from './catalog.mapper';
import { ModelEntity } from './model.entity';
import { CatalogService } from './catalog.service';
import { CatalogArgs, CreateTeacherModelInput, ModelIdArgs, OrganizationIdArgs, UpdateTeacherModelInput } from './dto/model.input';
import {
  CreateTeacherModelResult,
  InvalidModelStatusTransitionError,
  SlugTakenError,
  TeacherModelConnection,
  TeacherModelOutput,
  UnlistTeacherModelResult,
} from './dto/model.output';

@Resolver()
export class CatalogResolver {
  constructor(
    private readonly models: CatalogService,
    private readonly queries: CatalogQueryService,
    private readonly organizations: OrganizationService,
  ) {}

  /** Entity → API, with its vendor (one query for all the models given). */
  private async outputs(models: ModelEntity[]): Promise<TeacherModelOutput[]> {
    const vendors = await this.organizations.findByIds(models.map((m) => m.organizationId));
    return models.map((m) => toTeacherModelOutput(m, vendors.get(m.organizationId)!));
  }

  private async output(model: ModelEntity): Promise<TeacherModelOutput> {
    return (await this.outputs([model]))[0];
  }

  @Mutation(() => CreateTeacherModelResult, {
    description: 'A new DRAFT teacher model (write access to the organization). The slug is immutable afterwards.',
  })
  async createTeacherModel(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: CreateTeacherModelInput,
  ): Promise<typeof CreateTeacherModelResult> {
    const outcome = await this.models.create(principal, input);
    return outcome.kind === 'created' ? this.output(outcome.model) : new SlugTakenError(outcome.slug);
  }

  @Mutation(() => TeacherModelOutput, {
    description: 'Changes the name and/or replaces the whole card; the slug cannot be changed.',
  })
  async updateTeacherModel(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: UpdateTeacherModelInput,
  ): Promise<TeacherModelOutput> {
    return this.output(await this.models.update(principal, input));
  }

  @Mutation(() => TeacherModelOutput, {
    description: 'DRAFT or UNLISTED → LISTED, setting listedAt to now. Idempotent: listing a LISTED model changes nothing.',
  })
  async listTeacherModel(@CurrentPrincipal() principal: Principal, @Args() { id }: ModelIdArgs): Promise<TeacherModelOutput> {
    const outcome = await this.models.list(principal, id);
    if (outcome.kind === 'invalid-transition') throw new Error('unreachable: every status may become LISTED');
    return this.output(outcome.model);
  }

  @Mutation(() => UnlistTeacherModelResult, {
    description:
      'LISTED → UNLISTED (hidden from the catalog; listedAt kept). Idempotent on an UNLISTED model; a DRAFT gives InvalidModelStatusTransitionError.',
  })
  async unlistTeacherModel(
    @CurrentPrincipal() principal: Principal,
    @Args() { id }: ModelIdArgs,
  ): Promise<typeof UnlistTeacherModelResult> {
    const outcome = await this.models.unlist(principal, id);
    return outcome.kind === 'invalid-transition'
      ? new InvalidModelStatusTransitionError(outcome.from, outcome.to)
      : this.output(outcome.model);
  }

  @Public()
  @Query(() => TeacherModelConnection, {
    description: 'The public catalog: LISTED models, most recently listed first, paged with `first`/`after`.',
  })
  async catalog(@Args() args: CatalogArgs): Promise<TeacherModelConnection> {
    const filter = args.filter ?? {};
    const page = await this.queries.page(filter, args.first, args.after ?? null);
    return { ...toConnection(page, (r) => r.cursor, (r) => toTeacherModelOutput(r.model, r.vendor)), filter };
  }

  @Public()
  @Query(() => TeacherModelOutput, {
    description: 'A LISTED model for anyone; a DRAFT or UNLISTED one only for members of its organization (others: NOT_FOUND).',
  })
  async teacherModel(@OptionalPrincipal() principal: Principal | null, @Args() { id }: ModelIdArgs): Promise<TeacherModelOutput> {
    return this.output(await this.models.findVisible(principal, id));
  }

  @Query(() => [TeacherModelOutput], { description: "Every model of the caller's organization, any status, newest first." })
  async myModels(@CurrentPrincipal() principal: Principal, @Args() { organizationId }: OrganizationIdArgs): Promise<TeacherModelOutput[]> {
    return this.outputs(await this.models.listForOrganization(principal, organizationId));
  }
}

@Resolver(() => TeacherModelConnection)
export class TeacherModelConnectionResolver {
  constructor(private readonly queries: CatalogQueryService) {}

  @ResolveField('totalCount', () => Int)
  async totalCount(@Parent() connection: TeacherModelConnection): Promise<number> {
    return connection.totalCount ?? this.queries.count(connection.filter);
  }
}
