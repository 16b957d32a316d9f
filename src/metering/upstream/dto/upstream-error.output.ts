import { ArgsType, Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { IsUuid } from '../../../platform/validation/uuid';
import { UPSTREAM_ERRORS_MAX_PAGE, type UpstreamErrorRow } from '../upstream-error-log.service';

@ObjectType('TeacherUpstreamError', {
  description:
    "An error between the gateway and the teacher's upstream, as the vendor sees it. The distiller was told only the status, the code and the request id.",
})
export class TeacherUpstreamErrorOutput {
  @Field(() => ID, { description: 'The gateway request (its `x-request-id`, quoted to the distiller).' })
  requestId: string;

  @Field(() => Date)
  occurredAt: Date;

  @Field(() => Boolean, { description: 'Whether the request was streamed.' })
  streamed: boolean;

  @Field(() => Int, { nullable: true, description: 'The HTTP status the upstream answered, when it answered one.' })
  upstreamStatus: number | null;

  @Field(() => String, { description: 'The error code the distiller received, e.g. upstream_error, upstream_timeout.' })
  code: string;

  @Field(() => String, {
    description: "What happened, e.g. the upstream's error body (at most 4 KiB), with the upstream credential and every header value the gateway sent redacted.",
  })
  detail: string;
}

@ArgsType()
export class TeacherUpstreamErrorsArgs {
  @Field(() => ID)
  @IsUuid()
  agreementId: string;

  @Field(() => Int, { nullable: true, defaultValue: 20, description: `How many of the most recent errors, 1–${UPSTREAM_ERRORS_MAX_PAGE} (default 20).` })
  @Transform(({ value }: { value: unknown }) => value ?? 20)
  @IsInt()
  @Min(1, { message: 'first must be at least 1' })
  @Max(UPSTREAM_ERRORS_MAX_PAGE, { message: `first must be at most ${UPSTREAM_ERRORS_MAX_PAGE}` })
  first: number = 20;
}

export function toTeacherUpstreamErrorOutput(r: UpstreamErrorRow): TeacherUpstreamErrorOutput {
  return { requestId: r.requestId, occurredAt: r.occurredAt, streamed: r.streamed, upstreamStatus: r.upstreamStatus, code: r.code, detail: r.detail };
}
