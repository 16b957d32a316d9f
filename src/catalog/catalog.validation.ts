/** Validators for 64-bit integers carried as decimal strings (GraphQL Int is 32-bit). */
import { predicateDecorator as decorator } from '../platform/validation/decorator';

const PG_BIGINT_MAX = 9_223_372_036_854_775_807n;

export function isNonNegativeBigIntString(value: unknown): value is string {
  return typeof value === 'string' && /^(0|[1-9][0-9]{0,18})$/.test(value) && BigInt(value) <= PG_BIGINT_MAX;
}

export function isPositiveBigIntString(value: unknown): value is string {
  return isNonNegativeBigIntString(value) && value !== '0';
}

export const IsPositiveBigIntString = decorator(
  'isPositiveBigIntString',
  isPositiveBigIntString,
  'a positive integer written in decimal digits (at most 9223372036854775807)',
);
export const IsNonNegativeBigIntString = decorator(
  'isNonNegativeBigIntString',
  isNonNegativeBigIntString,
  'a non-negative integer written in decimal digits (at most 9223372036854775807)',
);
