import { Field, Float, ObjectType } from '@nestjs/graphql';

@ObjectType('SandboxClock', {
  description:
    "The platform's business time: what every time-dependent rule reads (validation of event times, period closes, holdbacks, expiries, " +
    'due dates, renewals, statements). Real time unless an admin advanced the sandbox test clock; it then runs on from the time it was moved to.',
})
export class SandboxClockOutput {
  @Field(() => Date, { description: 'The time the platform shows' })
  now: Date;

  @Field(() => Date, { description: 'Wall-clock time, for comparison' })
  realTime: Date;

  @Field(() => Boolean, { description: 'True when `now` is ahead of real time (the console shows it then)' })
  shifted: boolean;

  @Field(() => Float, { description: 'How far `now` is ahead of real time, in seconds (0 when not shifted)' })
  offsetSeconds: number;

  @Field(() => Boolean, {
    description: 'Whether advanceSandboxClock can move it: only in sandbox payments mode (never with a real payment processor). The clock is never frozen.',
  })
  advanceable: boolean;

  @Field(() => Date, { nullable: true, description: 'When (wall-clock) an admin last advanced it' })
  advancedAt: Date | null;
}

@ObjectType('SandboxJobRun', { description: 'A scheduled job run because the clock moved past what it would have done' })
export class SandboxJobRunOutput {
  @Field(() => String, { description: 'The job, e.g. billing.close-periods' })
  name: string;

  @Field(() => Boolean)
  succeeded: boolean;

  @Field(() => String, { description: "What it did (JSON, e.g. {\"closed\":[\"2026-11\"]}) or its error's message" })
  detail: string;
}

@ObjectType('SandboxClockAdvance')
export class SandboxClockAdvanceOutput {
  @Field(() => Date, { description: 'Business time just before the advance' })
  from: Date;

  @Field(() => Date, { description: 'The time the clock was moved to' })
  to: Date;

  @Field(() => SandboxClockOutput, { description: 'The clock after the advance and the jobs' })
  clock: SandboxClockOutput;

  @Field(() => [SandboxJobRunOutput], {
    description: 'The jobs whose schedule follows business time, run once the advance committed (period close, agreement expiry, collection)',
  })
  jobs: SandboxJobRunOutput[];
}
