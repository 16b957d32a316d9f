/** Validators for 64-bit integers carried as decimal strings (GraphQL Int is 32-bit). */
import { decimalIntegerProblem } from '../platform/validation/decimal-integer';
import { predicateDecorator as decorator } from '../platform/validation/decorator';

export function isNonNegativeBigIntString(value: unknown): value is string {
  return typeof value === 'string' && decimalIntegerProblem(value, 0n) === null;
}

export function isPositiveBigIntString(value: unknown): value is string {
  return typeof value === 'string' && decimalIntegerProblem(value, 1n) === null;
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
