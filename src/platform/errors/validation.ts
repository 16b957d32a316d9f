import { Injectable, PipeTransform, ValidationError, ValidationPipe } from '@nestjs/common';
import { BadInputError, FieldError } from './app-error';

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    for (const message of Object.values(e.constraints ?? {})) out.push({ field: path, message });
    if (e.children?.length) out.push(...flatten(e.children, path));
  }
  return out;
}

/** class-validator on every input type; failures become BAD_USER_INPUT with field paths. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidUnknownValues: true,
    exceptionFactory: (errors) => new BadInputError(flatten(errors)),
  });
}

/** PostgreSQL's uuid syntax (any version): anything else would fail in the database as a 500. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function assertUuid(field: string, value: unknown): asserts value is string {
  if (!isUuid(value)) {
    throw new BadInputError([{ field, message: `${field} must be a UUID` }]);
  }
}

/** For `@Args('id', { type: () => ID }, new UuidPipe('id'))`: a malformed id is BAD_USER_INPUT, not a database error. */
@Injectable()
export class UuidPipe implements PipeTransform<unknown, string> {
  constructor(private readonly field: string) {}

  transform(value: unknown): string {
    assertUuid(this.field, value);
    return value;
  }
}
