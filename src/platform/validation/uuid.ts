/**
 * The one UUID check. RFC 9562's textual form (8-4-4-4-12 hex digits, any
 * version or variant, nil and max included), exactly what PostgreSQL's `uuid`
 * type accepts, so an id that passes never fails in the database as a 500.
 * Hex digits are case-insensitive on input (RFC 9562 §4); ids are compared
 * and stored in lower case, which is how PostgreSQL prints them, so inputs are
 * lower-cased where they enter (`IsUuid`, `UuidPipe`, `normalizeUuid`).
 */
import { Transform } from 'class-transformer';
import { ValidationOptions } from 'class-validator';
import { predicateDecorator } from './decorator';

/** The canonical (lower-case) form as a pattern source, for ids embedded in larger identifiers. */
export const UUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const UUID = new RegExp(`^${UUID_PATTERN}$`, 'i');

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** The canonical text of a valid UUID (lower case); other values pass through for the validator to refuse. */
export function normalizeUuid<T>(value: T): T {
  return (isUuid(value) ? value.toLowerCase() : value) as T;
}

const isUuidConstraint = predicateDecorator('isUuid', isUuid, 'a UUID');

/** class-validator + class-transformer: `$property must be a UUID`; a valid id arrives lower-cased. */
export function IsUuid(options?: ValidationOptions): PropertyDecorator {
  const lower = Transform(({ value }: { value: unknown }) => (Array.isArray(value) ? value.map(normalizeUuid) : normalizeUuid(value)));
  const check = isUuidConstraint(options);
  return (target: object, property: string | symbol) => {
    lower(target, property);
    check(target, property);
  };
}
