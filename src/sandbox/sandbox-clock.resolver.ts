import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { AdminOnly, CurrentPrincipal } from '../platform/auth/decorators';
import { Principal } from '../platform/auth/principal';
import { SandboxClockAdvanceOutput, SandboxClockOutput } from './dto/sandbox-clock.output';
import { AdvanceSandboxClockResult, SandboxClockBackwardsError, SandboxClockUnavailableError } from './sandbox-clock.errors';
import { SandboxClockService, SandboxClockView } from './sandbox-clock.service';

const toClockOutput = (v: SandboxClockView): SandboxClockOutput =>
  Object.assign(new SandboxClockOutput(), {
    now: v.now,
    realTime: v.realTime,
    shifted: v.offsetMs > 0,
    offsetSeconds: v.offsetMs / 1000,
    advanceable: v.advanceable,
    advancedAt: v.advancedAt,
  });

@Resolver(() => SandboxClockOutput)
export class SandboxClockResolver {
  constructor(private readonly clocks: SandboxClockService) {}

  @Query(() => SandboxClockOutput, { description: "Any signed-in caller. The platform's business time and whether the sandbox test clock moved it." })
  async sandboxClock(): Promise<SandboxClockOutput> {
    return toClockOutput(await this.clocks.view());
  }

  @AdminOnly()
  @Mutation(() => AdvanceSandboxClockResult, {
    description:
      'Platform admins, sandbox payments mode only. Moves business time forward to `to` (never backwards; it then runs on from there) for every ' +
      'process of the service, then runs the jobs whose schedules follow business time (period close, agreement expiry, collection). Audited.',
  })
  async advanceSandboxClock(@CurrentPrincipal() principal: Principal, @Args('to', { type: () => Date }) to: Date): Promise<typeof AdvanceSandboxClockResult> {
    const o = await this.clocks.advance(principal, to);
    switch (o.kind) {
      case 'unavailable':
        return new SandboxClockUnavailableError();
      case 'backwards':
        return new SandboxClockBackwardsError(o.now, o.requested);
      case 'advanced':
        return Object.assign(new SandboxClockAdvanceOutput(), { from: o.from, to: o.to, clock: toClockOutput(o.clock), jobs: o.jobs });
    }
  }
}
