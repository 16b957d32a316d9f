import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { ConfigureTeacherUpstreamInput, TeacherUpstreamArgs } from './dto/teacher-upstream.input';
import { TeacherUpstreamOutput, toTeacherUpstreamOutput } from './dto/teacher-upstream.output';
import { TeacherUpstreamService } from './teacher-upstream.service';

@Resolver(() => TeacherUpstreamOutput)
export class TeacherUpstreamResolver {
  constructor(private readonly upstreams: TeacherUpstreamService) {}

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
}
