/** Refusals of advanceSandboxClock: union members implementing BusinessError (nothing is written). */
import { createUnionType, Field, ObjectType } from '@nestjs/graphql';
import { BusinessError } from '../platform/errors/business-error.type';
import { SandboxClockAdvanceOutput } from './dto/sandbox-clock.output';

@ObjectType({ implements: () => [BusinessError], description: 'A real payment processor is configured: the platform runs on real time only.' })
export class SandboxClockUnavailableError implements BusinessError {
  @Field(() => String)
  code = 'SANDBOX_CLOCK_UNAVAILABLE';

  @Field(() => String)
  message = 'The test clock exists only in sandbox payments mode; with STRIPE_SECRET_KEY set the platform runs on real time';
}

@ObjectType({ implements: () => [BusinessError], description: 'The requested time is earlier than the time the clock shows: it never goes backwards.' })
export class SandboxClockBackwardsError implements BusinessError {
  @Field(() => String)
  code = 'SANDBOX_CLOCK_BACKWARDS';

  @Field(() => String)
  message: string;

  @Field(() => Date, { description: 'The time the clock showed when the request was refused' })
  now: Date;

  @Field(() => Date)
  requested: Date;

  constructor(now: Date, requested: Date) {
    this.now = now;
    this.requested = requested;
    this.message = `The clock shows ${now.toISOString()}; it cannot move back to ${requested.toISOString()}`;
  }
}

export const AdvanceSandboxClockResult = createUnionType({
  name: 'AdvanceSandboxClockResult',
  types: () => [SandboxClockAdvanceOutput, SandboxClockUnavailableError, SandboxClockBackwardsError] as const,
});
