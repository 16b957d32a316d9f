import { Injectable, PipeTransform, ValidationError, ValidationPipe } from '@nestjs/common';
import { isUuid, normalizeUuid } from '../validation/uuid';
import { BadInputError, FieldError } from './app-error';

export { isUuid };

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

export function assertUuid(field: string, value: unknown): asserts value is string {
  if (!isUuid(value)) {
    throw new BadInputError([{ field, message: `${field} must be a UUID` }]);
  }
}

/** For `@Args('id', { type: () => ID }, new UuidPipe('id'))`: a malformed id is BAD_USER_INPUT, not a database error; a valid one arrives lower-cased. */
@Injectable()
export class UuidPipe implements PipeTransform<unknown, string> {
  constructor(private readonly field: string) {}

  transform(value: unknown): string {
    assertUuid(this.field, value);
    return normalizeUuid(value);
  }
}
