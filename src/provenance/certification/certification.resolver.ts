import { Args, Context, Mutation, ResolveField, Resolver, Root } from '@nestjs/graphql';
import { TeacherModelOutput } from '../../catalog/dto/model.output';
import { AdminOnly, CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { LoaderContext, loaderFor } from '../../platform/graphql/loaders';
import { CertificationAlreadyRevokedError, RevokeCertificationResult } from './certification.errors';
import { CertificationService } from './certification.service';
import { ModelCertificationState } from './certification.status';
import { CertifyModelInput, RevokeCertificationInput } from './dto/certification.input';
import {
  CertificationOutput,
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
