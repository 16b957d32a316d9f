/**
 * The one allocation rule: split an amount among weights by
 * flooring every ideal share and giving the leftover units, one at a time, to
 * the shares with the largest fractional remainder — ties in the order listed.
 * The parts sum exactly to the whole; each part is within one unit of its ideal.
 * A negative amount (a reversal) is split as its absolute value, then negated,
 * so a refund mirrors the original allocation.
 */
export function allocate(amount: bigint, weights: readonly bigint[]): bigint[] {
  if (typeof amount !== 'bigint') throw new TypeError('allocate splits a bigint amount of minor units');
  if (weights.length === 0) throw new RangeError('allocate needs at least one weight');
  let total = 0n;
  for (const w of weights) {
    if (typeof w !== 'bigint' || w < 0n) throw new RangeError('allocation weights must be bigint ≥ 0');
    total += w;
  }
  if (total === 0n) throw new RangeError('allocation weights must not all be zero');
  if (amount < 0n) return allocate(-amount, weights).map((p) => -p);
  const parts = weights.map((w) => (amount * w) / total);
  const remainders = weights.map((w, i) => ({ i, r: (amount * w) % total }));
  let leftover = amount - parts.reduce((a, b) => a + b, 0n);
  // Largest remainder first; the sort is stable, so equal remainders keep the listed order.
  remainders.sort((a, b) => (a.r === b.r ? 0 : a.r > b.r ? -1 : 1));
  for (let k = 0; leftover > 0n; k++, leftover--) parts[remainders[k].i] += 1n;
  return parts;
}

/** Basis points: 1 bp = 0.01 %. */
export const BPS_WHOLE = 10_000n;

/**
 * Splits an amount into [share, rest] where share is `bps` of it — by the same
 * allocation rule (so share + rest is exactly the amount).
 */
export function splitBps(amount: bigint, bps: number | bigint): [share: bigint, rest: bigint] {
  const b = BigInt(bps);
  if (b < 0n || b > BPS_WHOLE) throw new RangeError('basis points must be between 0 and 10000');
  if (b === 0n) return [0n, amount];
  if (b === BPS_WHOLE) return [amount, 0n];
  const [share, rest] = allocate(amount, [b, BPS_WHOLE - b]);
  return [share, rest];
}
