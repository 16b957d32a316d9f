import { ArgsType, Field, ID, InputType, Int } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsInt, IsString, Length, Matches, Max, Min } from 'class-validator';
import { IsUuid } from '../../../platform/validation/uuid';

export const TIMEOUT_MS_MIN = 100;
export const TIMEOUT_MS_MAX = 600_000;
export const TIMEOUT_MS_DEFAULT = 30_000;
export const BASE_URL_MAX_LENGTH = 2048;
export const API_KEY_MAX_LENGTH = 4096;
export const UPSTREAM_MODEL_MAX_LENGTH = 200;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/**
 * What a vendor configures for the gateway. The URL's finer rules (http(s),
 * no credentials / query / fragment, https in production) are checked by the
 * service, which also normalises it. No message here ever echoes the apiKey.
 */
@InputType()
export class ConfigureTeacherUpstreamInput {
  @Field(() => ID, { description: "The teacher model (write access to the model's vendor organization)." })
  @IsUuid()
  modelId: string;

  @Field(() => String, {
    description:
      'Base URL of the OpenAI-compatible API, e.g. https://api.vendor.example/v1 (the gateway appends /chat/completions). ' +
      'Absolute http(s) URL without credentials, query or fragment; a trailing slash is removed; https is required in production. At most 2,048 characters.',
  })
  @Transform(trim)
  @IsString()
  @Length(1, BASE_URL_MAX_LENGTH, { message: `baseUrl must be 1 to ${BASE_URL_MAX_LENGTH} characters` })
  baseUrl: string;

  @Field(() => String, {
    description: 'The credential the gateway sends upstream (Authorization: Bearer). Stored encrypted, never returned: 1–4,096 visible ASCII characters.',
  })
  @IsString()
  @Length(1, API_KEY_MAX_LENGTH, { message: `apiKey must be 1 to ${API_KEY_MAX_LENGTH} characters` })
  // Sent as an HTTP header value: spaces and control characters would break (or smuggle) headers.
  @Matches(/^[\x21-\x7e]*$/, { message: 'apiKey must contain only visible ASCII characters (no spaces or control characters)' })
  apiKey: string;

  @Field(() => String, { description: 'The model name sent upstream as `model` (1–200 characters).' })
  @Transform(trim)
  @IsString()
  @Length(1, UPSTREAM_MODEL_MAX_LENGTH, { message: `upstreamModel must be 1 to ${UPSTREAM_MODEL_MAX_LENGTH} characters` })
  @Matches(/^[^\p{Cc}]*$/u, { message: 'upstreamModel must not contain control characters' })
  upstreamModel: string;

  @Field(() => Int, {
    nullable: true,
    defaultValue: TIMEOUT_MS_DEFAULT,
    description: `How long the gateway waits for the upstream, in milliseconds (${TIMEOUT_MS_MIN}–${TIMEOUT_MS_MAX}, default ${TIMEOUT_MS_DEFAULT}).`,
  })
  @Transform(({ value }: { value: unknown }) => value ?? TIMEOUT_MS_DEFAULT)
  @IsInt({ message: 'timeoutMs must be an integer' })
  @Min(TIMEOUT_MS_MIN, { message: `timeoutMs must be at least ${TIMEOUT_MS_MIN}` })
  @Max(TIMEOUT_MS_MAX, { message: `timeoutMs must be at most ${TIMEOUT_MS_MAX}` })
  timeoutMs: number = TIMEOUT_MS_DEFAULT;
}

@ArgsType()
export class TeacherUpstreamArgs {
  @Field(() => ID)
  @IsUuid()
  modelId: string;
}
