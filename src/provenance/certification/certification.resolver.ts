import { Args, Context, Mutation, Query, ResolveField, Resolver, Root } from '@nestjs/graphql';
import { toTeacherModelOutput } from '../../catalog/catalog.mapper';
import { TeacherModelOutput } from '../../catalog/dto/model.output';
import { AdminOnly, CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { LoaderContext, loaderFor } from '../../platform/graphql/loaders';
import { PageArgs } from '../../platform/graphql/pagination';
import { toConnection } from '../../platform/paging/page';
import { CertificationAlreadyRevokedError, RevokeCertificationResult } from './certification.errors';
import { CertificationService } from './certification.service';
import { ModelCertificationState } from './certification.status';
import { CertifyModelInput, RevokeCertificationInput } from './dto/certification.input';
import {
  CertificationOutput,
  CertificationQueueConnection,
  ModelCertificationStatusOutput,
  toCertificationOutput,
  toModelCertificationStatusOutput,
} from './dto/certification.output';

@Resolver()
export class CertificationResolver {
  constructor(private readonly certifications: CertificationService) {}

  @AdminOnly()
  @Mutation(() => CertificationOutput, {
    description:
      'Platform admins. Certifies a model (any organization) with evaluation evidence, a safety review and an expiry ' +
      '(future, at most 3 years ahead). Supersedes earlier certifications of the model. Audited.',
  })
  async certifyModel(@CurrentPrincipal() principal: Principal, @Args('input') input: CertifyModelInput): Promise<CertificationOutput> {
    return toCertificationOutput(await this.certifications.certify(principal, input));
  }

  @AdminOnly()
  @Query(() => CertificationQueueConnection, {
    description:
      'Platform admins. Student models (with a declared lineage) whose latest certification is missing, revoked or expired, ' +
      'oldest wait first (registration, revocation or expiry), with the model, its organization, lineage and latest certification.',
  })
  async certificationQueue(@CurrentPrincipal() principal: Principal, @Args() page: PageArgs): Promise<CertificationQueueConnection> {
    const entries = await this.certifications.queue(principal, { first: page.first, after: page.after ?? null });
    return toConnection(
      entries,
      (e) => e.cursor,
      (e) => ({
        model: toTeacherModelOutput(e.model, e.organization),
        status: e.status,
        waitingSince: e.waitingSince,
        parentCount: e.parentCount,
        latestCertification: e.latest ? toCertificationOutput(e.latest) : null,
      }),
    );
  }

  @AdminOnly()
  @Mutation(() => RevokeCertificationResult, {
    description: 'Platform admins. Revokes a certification (audited); an already revoked one gives CertificationAlreadyRevokedError.',
  })
  async revokeCertification(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: RevokeCertificationInput,
  ): Promise<typeof RevokeCertificationResult> {
    const outcome = await this.certifications.revoke(principal, input);
    const certification = toCertificationOutput(outcome.certification);
    return outcome.kind === 'revoked' ? certification : new CertificationAlreadyRevokedError(certification);
  }
}

/** TeacherModel.certification: public wherever the model is visible; batched per request (one query per page of models). */
@Resolver(() => TeacherModelOutput)
export class ModelCertificationResolver {
  constructor(
    private readonly certifications: CertificationService,
    private readonly db: Database,
  ) {}

  @ResolveField('certification', () => ModelCertificationStatusOutput, {
    description: "The model's certification status (CERTIFIED, EXPIRED, REVOKED or NONE) from its latest certification.",
  })
  async certification(@Root() model: TeacherModelOutput, @Context() ctx: LoaderContext): Promise<ModelCertificationStatusOutput> {
    const loader = loaderFor<string, ModelCertificationState>(ctx, 'provenance.certificationByModel', async (ids) => {
      const byModel = await this.certifications.statusesOf(this.db.reader, ids);
      return ids.map((id) => byModel.get(id)!);
    });
    return toModelCertificationStatusOutput(await loader.load(model.id));
  }
}
