/**
 * The distribution of a pool plan's period (pure; exact in integer minor
 * units). Input: what each subscriber paid for the period (only paid
 * subscriptions reach here) and the period's usage per (subscriber, teacher)
 * from the rollups. Output: the platform fee, what each teacher earns, what
 * is carried to the next distribution, and why.
 *
 * Rules:
 * 1. The platform fee is split off the gross first (`splitBps`, the one
 *    allocation rule); the rest is the net pool.
 * 2. A teacher whose pool tokens in the period (all subscribers) are below
 *    `minimumTokensToEarn` earns nothing, and its tokens leave every
 *    denominator (it is "below threshold").
 * 3. PRO_RATA: the net pool is split by each eligible teacher's share of all
 *    eligible pool tokens — one application of the allocation rule.
 * 4. USER_CENTRIC: each subscriber's part of the net (the net split over
 *    subscribers by what they paid) goes only to the eligible teachers that
 *    subscriber used, by that subscriber's own tokens. A subscriber who used
 *    no eligible teacher adds its part to a remainder that is split pro rata
 *    (rule 3) over all eligible tokens. Each teacher's ideal amount is the sum
 *    of these exact rationals; the integer amounts come from ONE application
 *    of the allocation rule over the teachers (weights are the ideals scaled
 *    by a power of ten large enough that the rounding of the weights can never
 *    move a result across an integer the exact ideal is not on), so the
 *    amounts sum to the net and each is within one unit of its ideal.
 * 5. No eligible tokens at all: nothing is distributed and no fee is taken;
 *    the whole gross is carried to the next distribution.
 * 6. Clawback (refunds of periods already distributed, not netted yet):
 *    it comes off the gross before the fee (rule 1 applies to gross −
 *    clawback). A clawback of at least the gross takes the whole gross —
 *    no fee, nothing to teachers, nothing carried — and the excess waits for
 *    the following distribution; under rule 5 (with a gross above the
 *    clawback) nothing is netted and everything waits. So
 *    fee + distributed + carried = gross − clawback applied, none negative.
 *
 * Results never depend on input order: subscribers and teachers are put in
 * id order before anything is rounded (ties of the allocation rule go to the
 * smaller id).
 */
import { allocate, splitBps } from '../../platform/money/allocation';

export type PoolDistributionMode = 'PRO_RATA' | 'USER_CENTRIC';

export interface PoolContribution {
  subscriberId: string;
  /** Paid for the period (≥ 0); several contributions of one subscriber add up. */
  amountMinor: bigint;
}

export interface PoolUsage {
  subscriberId: string;
  teacherId: string;
  /** Tokens (input + output) from the rollups, ≥ 0. */
  tokens: bigint;
}

export interface PoolDistributionInput {
  mode: PoolDistributionMode;
  platformFeeBps: number;
  minimumTokensToEarn: bigint;
  contributions: readonly PoolContribution[];
  usage: readonly PoolUsage[];
  /** Refunds of already distributed periods still to net (≥ 0; default 0). */
  clawbackMinor?: bigint;
}

export interface TeacherResult {
  teacherId: string;
  tokens: bigint;
  /** False: below minimumTokensToEarn (earns nothing, not in any denominator). */
  eligible: boolean;
  amountMinor: bigint;
}

export interface SubscriberResult {
  subscriberId: string;
  paidMinor: bigint;
  /** This subscriber's part of the net pool (the net split by what subscribers paid). */
  netMinor: bigint;
  /** Tokens on eligible teachers. */
  eligibleTokens: bigint;
  /** USER_CENTRIC: true when its part went to the pro-rata remainder (it used no eligible teacher). */
  toRemainder: boolean;
}

export interface PoolDistribution {
  mode: PoolDistributionMode;
  grossMinor: bigint;
  feeMinor: bigint;
  /** gross − fee when something is distributed; 0 otherwise. */
  netMinor: bigint;
  /** What the teachers receive (= netMinor). */
  distributedMinor: bigint;
  /** Not distributed (no eligible tokens at all): the whole gross, for the next distribution. */
  carriedMinor: bigint;
  /** The clawback netted now (off the gross before the fee). */
  clawbackMinor: bigint;
  /** The clawback asked for but not netted now (beyond the gross, or nothing distributed): for the following distribution. */
  clawbackCarriedMinor: bigint;
  totalEligibleTokens: bigint;
  /** USER_CENTRIC: the net of subscribers without eligible use, split pro rata. */
  remainderMinor: bigint;
  /** In teacher id order. */
  teachers: TeacherResult[];
  /** In subscriber id order. */
  subscribers: SubscriberResult[];
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const digits = (n: bigint): number => (n <= 0n ? 1 : n.toString().length);

/*
 * The pieces of the distribution, shared by distributePool (the reference,
 * everything in memory) and the close of a large pool (pool-close-computation.repository.ts:
 * the per-pair sums in SQL, these rules in JS on ~1,000 teachers and one
 * allocation over the subscribers).
 */

/** Rule 2: which teachers earn (tokens ≥ minimumTokensToEarn), in the order given, and their eligible tokens in total. */
export function classifyTeachers(
  totals: readonly { teacherId: string; tokens: bigint }[],
  minimumTokensToEarn: bigint,
): { teachers: Array<{ teacherId: string; tokens: bigint; eligible: boolean }>; totalEligible: bigint } {
  if (minimumTokensToEarn < 0n) throw new RangeError('minimumTokensToEarn must be ≥ 0');
  let totalEligible = 0n;
  const teachers = totals.map((t) => {
    const eligible = t.tokens >= minimumTokensToEarn;
    if (eligible) totalEligible += t.tokens;
    return { teacherId: t.teacherId, tokens: t.tokens, eligible };
  });
  return { teachers, totalEligible };
}

/**
 * Rules 1 and 6 and the subscribers' parts: the fee (off the gross less the
 * clawback), the net, and the net split over the subscribers (id order) by
 * what each paid. Only when something is distributed (gross > clawback).
 */
export function splitPool(paidInIdOrder: readonly bigint[], platformFeeBps: number, clawbackMinor = 0n): { gross: bigint; fee: bigint; net: bigint; nets: bigint[] } {
  const gross = paidInIdOrder.reduce((s, x) => s + x, 0n);
  const [fee, net] = splitBps(gross - clawbackMinor, platformFeeBps);
  return { gross, fee, net, nets: allocate(net, paidInIdOrder) };
}

/** Rule 6: a clawback of at least the gross takes all of it (nothing is split or distributed). */
export function clawbackTakesAll(grossMinor: bigint, clawbackMinor: bigint): boolean {
  return clawbackMinor > 0n && clawbackMinor >= grossMinor;
}

/**
 * Rules 5 and 6 when nothing is distributed: a clawback that takes the whole
 * gross nets what it can now and carries the rest; otherwise (no eligible use,
 * or nothing paid) the gross waits for the next distribution and the clawback
 * is not netted.
 */
export function undistributedTotals(grossMinor: bigint, clawbackMinor: bigint): { carriedMinor: bigint; clawbackMinor: bigint; clawbackCarriedMinor: bigint } {
  const all = clawbackTakesAll(grossMinor, clawbackMinor);
  return { carriedMinor: all ? 0n : grossMinor, clawbackMinor: all ? grossMinor : 0n, clawbackCarriedMinor: all ? clawbackMinor - grossMinor : clawbackMinor };
}

/**
 * USER_CENTRIC: the power of ten the ideals are scaled by so that the floors
 * of the scaled ideals are within 1/(4·totalEligible) of a unit in total (see
 * header). `pairs`: the (subscriber, teacher) pairs with tokens of paying
 * subscribers, all teachers (eligible or not).
 */
export function userCentricScale(pairs: bigint, eligibleTeachers: number, totalEligible: bigint, net: bigint): bigint {
  return 10n ** BigInt(digits(pairs + BigInt(eligibleTeachers)) + 2 * digits(totalEligible) + digits(net) + 2);
}

/** USER_CENTRIC: one subscriber's scaled weight for one eligible teacher it used (the floor of net·tokens·scale ÷ its eligible tokens). */
export function userCentricPairWeight(subscriberNet: bigint, tokens: bigint, scale: bigint, subscriberEligibleTokens: bigint): bigint {
  return (subscriberNet * tokens * scale) / subscriberEligibleTokens;
}

/**
 * Rules 3 and 4, once the per-subscriber weights are summed per teacher: the
 * eligible teachers' amounts (id order), ONE allocation of the net.
 * USER_CENTRIC adds to each teacher's summed subscriber weights its scaled
 * pro-rata share of the remainder.
 */
export function teacherAmounts(input: {
  mode: PoolDistributionMode;
  netMinor: bigint;
  /** Eligible teachers in id order. */
  eligible: readonly { teacherId: string; tokens: bigint }[];
  totalEligible: bigint;
  /** USER_CENTRIC: Σ userCentricPairWeight per teacher (missing = 0). */
  subscriberWeights?: ReadonlyMap<string, bigint>;
  remainderMinor?: bigint;
  scale?: bigint;
}): bigint[] {
  const { mode, netMinor, eligible, totalEligible } = input;
  let weights: bigint[];
  if (mode === 'PRO_RATA') {
    weights = eligible.map((t) => t.tokens);
  } else {
    const remainder = input.remainderMinor ?? 0n;
    const scale = input.scale ?? 1n;
    weights = eligible.map((t) => (input.subscriberWeights?.get(t.teacherId) ?? 0n) + (remainder > 0n ? (remainder * t.tokens * scale) / totalEligible : 0n));
  }
  return weights.some((x) => x > 0n) ? allocate(netMinor, weights) : eligible.map(() => 0n);
}

export function distributePool(input: PoolDistributionInput): PoolDistribution {
  const { mode, platformFeeBps, minimumTokensToEarn } = input;
  const clawback = input.clawbackMinor ?? 0n;
  if (minimumTokensToEarn < 0n) throw new RangeError('minimumTokensToEarn must be ≥ 0');
  if (clawback < 0n) throw new RangeError('clawbackMinor must be ≥ 0');

  const paid = new Map<string, bigint>();
  for (const c of input.contributions) {
    if (c.amountMinor < 0n) throw new RangeError('a contribution must be ≥ 0');
    paid.set(c.subscriberId, (paid.get(c.subscriberId) ?? 0n) + c.amountMinor);
  }
  // Usage per (subscriber, teacher), summed; subscribers without a payment are ignored (not paid for this pool).
  const pair = new Map<string, Map<string, bigint>>();
  const teacherTokens = new Map<string, bigint>();
  for (const u of input.usage) {
    if (u.tokens < 0n) throw new RangeError('tokens must be ≥ 0');
    if (!paid.has(u.subscriberId) || u.tokens === 0n) continue;
    let m = pair.get(u.subscriberId);
    if (!m) pair.set(u.subscriberId, (m = new Map()));
    m.set(u.teacherId, (m.get(u.teacherId) ?? 0n) + u.tokens);
    teacherTokens.set(u.teacherId, (teacherTokens.get(u.teacherId) ?? 0n) + u.tokens);
  }

  const teacherIds = [...teacherTokens.keys()].sort(cmp);
  const classified = classifyTeachers(teacherIds.map((t) => ({ teacherId: t, tokens: teacherTokens.get(t)! })), minimumTokensToEarn);
  const eligible = new Set(classified.teachers.filter((t) => t.eligible).map((t) => t.teacherId));
  const eligibleTeachers = classified.teachers.filter((t) => t.eligible);
  const totalEligible = classified.totalEligible;
  const subscriberIds = [...paid.keys()].sort(cmp);
  const gross = subscriberIds.reduce((s, id) => s + paid.get(id)!, 0n);
  const eligibleTokensOf = (s: string): bigint => {
    let sum = 0n;
    for (const [t, n] of pair.get(s) ?? []) if (eligible.has(t)) sum += n;
    return sum;
  };

  // Rule 6: a clawback of at least the gross takes all of it; rule 5: no eligible use, nothing netted, everything waits.
  if (clawbackTakesAll(gross, clawback) || totalEligible === 0n || gross === 0n) {
    return {
      mode,
      grossMinor: gross,
      feeMinor: 0n,
      netMinor: 0n,
      distributedMinor: 0n,
      ...undistributedTotals(gross, clawback),
      totalEligibleTokens: totalEligible,
      remainderMinor: 0n,
      teachers: classified.teachers.map((t) => ({ ...t, amountMinor: 0n })),
      subscribers: subscriberIds.map((s) => ({ subscriberId: s, paidMinor: paid.get(s)!, netMinor: 0n, eligibleTokens: eligibleTokensOf(s), toRemainder: false })),
    };
  }

  const { fee, net, nets: subscriberNets } = splitPool(subscriberIds.map((s) => paid.get(s)!), platformFeeBps, clawback);
  const subscribers: SubscriberResult[] = subscriberIds.map((s, i) => {
    const eligibleTokens = eligibleTokensOf(s);
    return { subscriberId: s, paidMinor: paid.get(s)!, netMinor: subscriberNets[i], eligibleTokens, toRemainder: mode === 'USER_CENTRIC' && eligibleTokens === 0n };
  });

  let remainder = 0n;
  let scale = 1n;
  const w = new Map<string, bigint>();
  if (mode === 'USER_CENTRIC') {
    const pairs = [...pair.values()].reduce((s, m) => s + m.size, 0);
    scale = userCentricScale(BigInt(pairs), eligibleTeachers.length, totalEligible, net);
    for (const s of subscribers) {
      if (s.netMinor === 0n) continue;
      if (s.eligibleTokens === 0n) {
        remainder += s.netMinor;
        continue;
      }
      for (const [t, n] of pair.get(s.subscriberId)!) {
        if (eligible.has(t)) w.set(t, (w.get(t) ?? 0n) + userCentricPairWeight(s.netMinor, n, scale, s.eligibleTokens));
      }
    }
  }
  const amounts = teacherAmounts({ mode, netMinor: net, eligible: eligibleTeachers, totalEligible, subscriberWeights: w, remainderMinor: remainder, scale });
  const amountOf = new Map(eligibleTeachers.map((t, i) => [t.teacherId, amounts[i]]));
  return {
    mode,
    grossMinor: gross,
    feeMinor: fee,
    netMinor: net,
    distributedMinor: net,
    carriedMinor: 0n,
    clawbackMinor: clawback,
    clawbackCarriedMinor: 0n,
    totalEligibleTokens: totalEligible,
    remainderMinor: remainder,
    teachers: classified.teachers.map((t) => ({ ...t, amountMinor: amountOf.get(t.teacherId) ?? 0n })),
    subscribers,
  };
}

/**
 * USER_CENTRIC explanation for one subscriber: where its part of the net went,
 * split over the eligible teachers it used by its own tokens (the allocation
 * rule over this subscriber alone; sums to its part). Teachers' amounts are
 * rounded once over all subscribers, so a row can differ from the exact
 * contribution to that teacher's total by less than one unit. Empty when its
 * part went to the pro-rata remainder.
 */
export function subscriberBreakdown(
  d: PoolDistribution,
  usage: readonly PoolUsage[],
  subscriberId: string,
): Array<{ teacherId: string; tokens: bigint; amountMinor: bigint }> {
  const s = d.subscribers.find((x) => x.subscriberId === subscriberId);
  if (!s || s.toRemainder || s.netMinor === 0n || d.distributedMinor === 0n) return [];
  const eligible = new Set(d.teachers.filter((t) => t.eligible).map((t) => t.teacherId));
  const tokens = new Map<string, bigint>();
  for (const u of usage) if (u.subscriberId === subscriberId && eligible.has(u.teacherId) && u.tokens > 0n) tokens.set(u.teacherId, (tokens.get(u.teacherId) ?? 0n) + u.tokens);
  const ids = [...tokens.keys()].sort(cmp);
  if (ids.length === 0) return [];
  const parts = allocate(s.netMinor, ids.map((t) => tokens.get(t)!));
  return ids.map((t, i) => ({ teacherId: t, tokens: tokens.get(t)!, amountMinor: parts[i] }));
}
