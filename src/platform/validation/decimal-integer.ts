/**
 * The one grammar for integers carried as decimal strings in inputs — money in
 * minor units, token counts, parameter counts (GraphQL's Int is 32-bit and a
 * float never touches money): `0` or a non-zero digit followed by digits, at
 * most 2^63-1 (what a bigint column holds). Nothing else: no whitespace, no
 * "+", no leading zeros, no decimals, no exponent. A lenient parser would
 * store `" 5"` or `"005"` as 5 while the client's own copy (and any hash of
 * it) still says otherwise. Never goes through a JS number.
 */
import { BadInputError } from '../errors/app-error';

/** The largest amount a bigint column holds. */
export const MAX_INT64 = 9_223_372_036_854_775_807n;

const CANONICAL = /^(0|[1-9][0-9]*)$/;
const NEGATIVE = /^-[1-9][0-9]*$/;

/** null when `value` is a valid decimal integer string (or bigint) in [min, MAX_INT64], else why not. */
export function decimalIntegerProblem(value: unknown, min: bigint): string | null {
  const below = min === 0n ? 'must not be negative' : `must be at least ${min}`;
  if (typeof value === 'bigint') {
    if (value < min) return below;
    return value > MAX_INT64 ? `must be at most ${MAX_INT64}` : null;
  }
  if (typeof value !== 'string') return 'must be an integer written as a decimal string (e.g. "1500")';
  if (NEGATIVE.test(value)) return below;
  if (!CANONICAL.test(value)) {
    return 'must be an integer written as a decimal string (e.g. "1500"): digits only, without spaces, sign, leading zeros, decimals or exponent';
  }
  // The length check first: no BigInt of an arbitrarily long string.
  if (value.length > 19 || BigInt(value) > MAX_INT64) return `must be at most ${MAX_INT64}`;
  if (BigInt(value) < min) return below;
  return null;
}

/** The value as a bigint, or BAD_USER_INPUT naming `field`. */
export function parseDecimalInteger(field: string, value: unknown, min: bigint): bigint {
  const problem = decimalIntegerProblem(value, min);
  if (problem !== null) throw new BadInputError([{ field, message: `${field} ${problem}` }]);
  return BigInt(value as string | bigint);
}
