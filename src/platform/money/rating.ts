/**
 * Rating: a token quantity at a price in minor units per million tokens,
 * rounded half-up once per invoice line (never per event).
 */
const MILLION = 1_000_000n;

export function rateTokens(quantity: bigint, minorPerMillion: bigint): bigint {
  if (typeof quantity !== 'bigint' || typeof minorPerMillion !== 'bigint') throw new TypeError('rateTokens takes bigint quantity and price');
  if (quantity < 0n) throw new RangeError('quantity must be ≥ 0');
  if (minorPerMillion < 0n) throw new RangeError('price must be ≥ 0');
  return (quantity * minorPerMillion + MILLION / 2n) / MILLION;
}
