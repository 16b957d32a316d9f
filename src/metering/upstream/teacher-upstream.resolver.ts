import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { ConfigureTeacherUpstreamInput, TeacherUpstreamArgs } from './dto/teacher-upstream.input';
import { TeacherUpstreamOutput, toTeacherUpstreamOutput } from './dto/teacher-upstream.output';
import { TeacherUpstreamErrorOutput, TeacherUpstreamErrorsArgs, toTeacherUpstreamErrorOutput } from './dto/upstream-error.output';
import { TeacherUpstreamService } from './teacher-upstream.service';
import { UpstreamErrorLog } from './upstream-error-log.service';

@Resolver(() => TeacherUpstreamOutput)
export class TeacherUpstreamResolver {
  constructor(
    private readonly upstreams: TeacherUpstreamService,
    private readonly errors: UpstreamErrorLog,
  ) {}

  @Mutation(() => TeacherUpstreamOutput, {
    description:
      "Vendor members (write). Sets where the gateway forwards the model's requests, creating or replacing its upstream. " +
      'The apiKey is stored encrypted and never returned; credentialFingerprint identifies it.',
  })
  async configureTeacherUpstream(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: ConfigureTeacherUpstreamInput,
  ): Promise<TeacherUpstreamOutput> {
    return toTeacherUpstreamOutput(await this.upstreams.configure(principal, input));
  }

  @Query(() => TeacherUpstreamOutput, {
    nullable: true,
    description: "Vendor members (read). The model's upstream, or null when none is configured.",
  })
  async teacherUpstream(@CurrentPrincipal() principal: Principal, @Args() { modelId }: TeacherUpstreamArgs): Promise<TeacherUpstreamOutput | null> {
    const upstream = await this.upstreams.get(principal, modelId);
    return upstream ? toTeacherUpstreamOutput(upstream) : null;
  }

  @Query(() => [TeacherUpstreamErrorOutput], {
    description:
      "Vendor members (read) and admins. The agreement's most recent upstream errors (30 days), newest first, with details the distiller does not see " +
      '(secrets redacted). NOT_FOUND for anyone else, the distiller included.',
  })
  async teacherUpstreamErrors(
    @CurrentPrincipal() principal: Principal,
    @Args() { agreementId, first }: TeacherUpstreamErrorsArgs,
  ): Promise<TeacherUpstreamErrorOutput[]> {
    return (await this.errors.recentForVendor(principal, agreementId, first)).map(toTeacherUpstreamErrorOutput);
  }
}
