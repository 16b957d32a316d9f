import { ArgumentMetadata, Injectable, PipeTransform, ValidationError, ValidationPipe } from '@nestjs/common';
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

/**
 * Paths of the strings (values and object keys) holding U+0000, anywhere in an
 * argument: PostgreSQL stores no NUL byte in text or jsonb and would fail the
 * statement (INTERNAL) instead of naming the field. Paths follow the
 * class-validator ones (`card.limitations.1`, relative to an input object);
 * a scalar argument is named by `name`. Iterative, so a deeply nested body
 * cannot overflow the stack.
 */
export function nulBytePaths(value: unknown, name: string): string[] {
  const out: string[] = [];
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) out.push(path || name);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], path ? `${path}.${i}` : String(i)]);
    } else if (v !== null && typeof v === 'object' && isPlain(v)) {
      for (const [k, child] of Object.entries(v).reverse()) {
        const at = path ? `${path}.${k}` : k;
        if (k.includes('\u0000')) out.push(at);
        stack.push([child, at]);
      }
    }
  }
  return out;
}

/** Plain data (graphql-js builds arguments with a null prototype); not a Date, Buffer or stream. */
function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype;
}

/**
 * The one validation pipe, applied globally: first refuses NUL bytes in every
 * string of every argument (GraphQL args and input objects, REST bodies,
 * params and queries) — one check for all text, whatever its DTO says — then
 * class-validator on every input type.
 */
class AppValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // Custom parameter decorators (the principal, the request) carry no client text to check.
    const nul = metadata.type === 'custom' ? [] : nulBytePaths(value, metadata.data ?? 'input');
    if (nul.length) throw new BadInputError(nul.map((field) => ({ field, message: `${field} must not contain NUL characters (U+0000)` })));
    return super.transform(value, metadata);
  }
}

/** Failures become BAD_USER_INPUT with field paths. */
export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
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
