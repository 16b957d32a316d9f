import { ValidationError, ValidationPipe } from '@nestjs/common';
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
    exceptionFactory: (errors) => {
      // Drop the top-level argument name (e.g. `input.`) only when it wraps everything.
      return new BadInputError(flatten(errors));
    },
  });
}
