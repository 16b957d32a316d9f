import fc from 'fast-check';
import { poolFlags } from './pool-close.service';
import { distributePool, PoolDistributionInput, PoolDistributionMode, PoolUsage, subscriberBreakdown } from './pool-distribution';

const SEED = 20_261_207;
const RUNS = 10_000;
const sub = (n: number) => `s${String(n).padStart(3, '0')}`;
const tea = (n: number) => `t${String(n).padStart(3, '0')}`;

const inputArb = (mode?: PoolDistributionMode) =>
  fc
    .record({
      mode: mode ? fc.constant(mode) : fc.constantFrom<PoolDistributionMode>('PRO_RATA', 'USER_CENTRIC'),
      platformFeeBps: fc.integer({ min: 0, max: 10_000 }),
      minimumTokensToEarn: fc.bigInt({ min: 0n, max: 5_000n }),
      subscribers: fc.integer({ min: 1, max: 8 }),
      teachers: fc.integer({ min: 1, max: 8 }),
      fees: fc.array(fc.bigInt({ min: 0n, max: 10_000_000n }), { minLength: 8, maxLength: 8 }),
      usage: fc.array(fc.record({ s: fc.nat(7), t: fc.nat(7), tokens: fc.bigInt({ min: 0n, max: 3_000n }) }), { maxLength: 30 }),
      clawback: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 20_000_000n })),
    })
    .map(
      (r): PoolDistributionInput => ({
        mode: r.mode,
        platformFeeBps: r.platformFeeBps,
        minimumTokensToEarn: r.minimumTokensToEarn,
        contributions: Array.from({ length: r.subscribers }, (_, i) => ({ subscriberId: sub(i), amountMinor: r.fees[i] })),
        usage: r.usage.filter((u) => u.s < r.subscribers && u.t < r.teachers).map((u) => ({ subscriberId: sub(u.s), teacherId: tea(u.t), tokens: u.tokens })),
        clawbackMinor: r.clawback,
      }),
    );

const opts = { seed: SEED, numRuns: RUNS };

describe('pool distribution: examples', () => {
  it('PRO_RATA: 20 % fee, then by share of eligible tokens; a teacher below the threshold earns nothing', () => {
    const d = distributePool({
      mode: 'PRO_RATA',
      platformFeeBps: 2000,
      minimumTokensToEarn: 1000n,
      contributions: [{ subscriberId: 'a', amountMinor: 10_000n }, { subscriberId: 'b', amountMinor: 10_000n }],
      usage: [
        { subscriberId: 'a', teacherId: 'x', tokens: 30_000n },
        { subscriberId: 'b', teacherId: 'y', tokens: 10_000n },
        { subscriberId: 'b', teacherId: 'z', tokens: 999n },
      ],
    });
    expect(d.feeMinor).toBe(4000n);
    expect(d.teachers.map((t) => [t.teacherId, t.eligible, t.amountMinor])).toEqual([['x', true, 12_000n], ['y', true, 4000n], ['z', false, 0n]]);
  });

  it('USER_CENTRIC: each subscriber pays only the teachers it used; no eligible use → pro-rata remainder', () => {
    const d = distributePool({
      mode: 'USER_CENTRIC',
      platformFeeBps: 2000,
      minimumTokensToEarn: 1000n,
      contributions: [{ subscriberId: 'a', amountMinor: 10_000n }, { subscriberId: 'b', amountMinor: 10_000n }, { subscriberId: 'c', amountMinor: 10_000n }],
      usage: [
        { subscriberId: 'a', teacherId: 'x', tokens: 30_000n },
        { subscriberId: 'b', teacherId: 'y', tokens: 10_000n },
        { subscriberId: 'c', teacherId: 'z', tokens: 999n },
      ],
    });
    // Net 24,000: a's 8,000 → x, b's 8,000 → y, c's 8,000 (only z, below threshold) → pro rata 3:1 → x 6,000, y 2,000.
    expect(d.remainderMinor).toBe(8000n);
    expect(d.teachers.map((t) => [t.teacherId, t.amountMinor])).toEqual([['x', 14_000n], ['y', 10_000n], ['z', 0n]]);
    expect(d.subscribers.find((s) => s.subscriberId === 'c')!.toRemainder).toBe(true);
    const usage: PoolUsage[] = [{ subscriberId: 'a', teacherId: 'x', tokens: 30_000n }];
    expect(subscriberBreakdown(d, usage, 'a')).toEqual([{ teacherId: 'x', tokens: 30_000n, amountMinor: 8000n }]);
  });

  it('clawback: off the gross before the fee; beyond the gross it takes everything and the excess waits', () => {
    const base = { mode: 'PRO_RATA' as const, platformFeeBps: 2000, minimumTokensToEarn: 0n, usage: [{ subscriberId: 'a', teacherId: 'x', tokens: 10n }] };
    const d = distributePool({ ...base, contributions: [{ subscriberId: 'a', amountMinor: 10_000n }], clawbackMinor: 2500n });
    expect([d.clawbackMinor, d.feeMinor, d.distributedMinor, d.carriedMinor, d.clawbackCarriedMinor]).toEqual([2500n, 1500n, 6000n, 0n, 0n]);
    const over = distributePool({ ...base, contributions: [{ subscriberId: 'a', amountMinor: 1000n }], clawbackMinor: 2500n });
    expect([over.clawbackMinor, over.feeMinor, over.distributedMinor, over.carriedMinor, over.clawbackCarriedMinor]).toEqual([1000n, 0n, 0n, 0n, 1500n]);
    expect(over.teachers.map((t) => t.amountMinor)).toEqual([0n]);
    const unused = distributePool({ ...base, usage: [], contributions: [{ subscriberId: 'a', amountMinor: 1000n }], clawbackMinor: 300n });
    expect([unused.clawbackMinor, unused.carriedMinor, unused.clawbackCarriedMinor]).toEqual([0n, 1000n, 300n]);
    expect(() => distributePool({ ...base, contributions: [], clawbackMinor: -1n })).toThrow(RangeError);
  });

  it('no eligible tokens: nothing distributed, no fee, the gross carried forward', () => {
    const d = distributePool({ mode: 'PRO_RATA', platformFeeBps: 2000, minimumTokensToEarn: 10n, contributions: [{ subscriberId: 'a', amountMinor: 500n }], usage: [{ subscriberId: 'a', teacherId: 'x', tokens: 9n }] });
    expect([d.feeMinor, d.distributedMinor, d.carriedMinor]).toEqual([0n, 0n, 500n]);
  });
});

describe('pool distribution: properties (fixed seed, 10,000 runs each)', () => {
  it('the pool is distributed to the minor unit: fee + teachers + carried = gross − clawback netted; nothing negative; nobody below the threshold earns', () => {
    fc.assert(
      fc.property(inputArb(), (input) => {
        const d = distributePool(input);
        const gross = input.contributions.reduce((s, c) => s + c.amountMinor, 0n);
        const asked = input.clawbackMinor ?? 0n;
        const toTeachers = d.teachers.reduce((s, t) => s + t.amountMinor, 0n);
        if (d.grossMinor !== gross || d.feeMinor + toTeachers + d.carriedMinor !== gross - d.clawbackMinor) return false;
        if (toTeachers !== d.distributedMinor) return false;
        // The clawback is netted or carried, never lost or invented; never more than the gross; none of it negative.
        if (d.clawbackMinor + d.clawbackCarriedMinor !== asked || d.clawbackMinor > gross) return false;
        if ([d.feeMinor, d.distributedMinor, d.carriedMinor, d.clawbackMinor, d.clawbackCarriedMinor, d.netMinor].some((x) => x < 0n)) return false;
        // Whenever anything is distributed, the whole clawback is netted (the excess only waits when it exceeds the gross).
        if (d.distributedMinor > 0n && d.clawbackCarriedMinor !== 0n) return false;
        if (asked >= gross && asked > 0n && (d.clawbackMinor !== gross || d.feeMinor !== 0n || d.carriedMinor !== 0n)) return false;
        for (const t of d.teachers) {
          if (t.amountMinor < 0n) return false;
          if (t.tokens < input.minimumTokensToEarn && (t.eligible || t.amountMinor !== 0n)) return false;
        }
        // The fee is the allocation rule's share of the gross whenever something is distributed.
        if (d.distributedMinor > 0n && d.feeMinor * 10_000n > (gross - d.clawbackMinor) * BigInt(input.platformFeeBps) + 10_000n) return false;
        return d.subscribers.reduce((s, x) => s + x.netMinor, 0n) === d.netMinor;
      }),
      opts,
    );
  });

  it('PRO_RATA: each teacher within one unit of net × its tokens ÷ eligible tokens', () => {
    fc.assert(
      fc.property(inputArb('PRO_RATA'), (input) => {
        const d = distributePool(input);
        if (d.distributedMinor === 0n) return true;
        return d.teachers.every((t) => {
          if (!t.eligible) return t.amountMinor === 0n;
          const ideal = d.netMinor * t.tokens; // ÷ totalEligibleTokens
          const scaled = t.amountMinor * d.totalEligibleTokens;
          return scaled - ideal < d.totalEligibleTokens && ideal - scaled < d.totalEligibleTokens;
        });
      }),
      opts,
    );
  });

  it('USER_CENTRIC never pays a teacher that no paying subscriber used, unless some subscriber went to the remainder', () => {
    fc.assert(
      fc.property(inputArb('USER_CENTRIC'), (input) => {
        const d = distributePool(input);
        const remainder = d.subscribers.some((s) => s.toRemainder && s.netMinor > 0n);
        const fundedBy = new Map<string, Set<string>>();
        for (const u of input.usage) if (u.tokens > 0n) fundedBy.set(u.teacherId, (fundedBy.get(u.teacherId) ?? new Set()).add(u.subscriberId));
        return d.teachers.every((t) => {
          if (t.amountMinor === 0n || remainder) return true;
          // Paid only when at least one subscriber with a non-zero part used it.
          return [...(fundedBy.get(t.teacherId) ?? [])].some((s) => d.subscribers.find((x) => x.subscriberId === s)!.netMinor > 0n);
        });
      }),
      opts,
    );
  });

  it('USER_CENTRIC: each teacher within one unit of its exact ideal (its subscribers\' parts plus its share of the remainder)', () => {
    fc.assert(
      fc.property(inputArb('USER_CENTRIC'), (input) => {
        const d = distributePool(input);
        if (d.distributedMinor === 0n) return true;
        // Exact ideal per teacher as a fraction num/den with den = product of the subscribers' eligible token totals.
        const eligible = new Set(d.teachers.filter((t) => t.eligible).map((t) => t.teacherId));
        const subs = d.subscribers.filter((s) => s.netMinor > 0n && s.eligibleTokens > 0n);
        const den = subs.reduce((p, s) => p * s.eligibleTokens, 1n) * (d.remainderMinor > 0n ? d.totalEligibleTokens : 1n);
        return d.teachers.every((t) => {
          if (!eligible.has(t.teacherId)) return t.amountMinor === 0n;
          let num = 0n;
          for (const s of subs) {
            const n = input.usage.filter((u) => u.subscriberId === s.subscriberId && u.teacherId === t.teacherId).reduce((a, u) => a + u.tokens, 0n);
            num += (s.netMinor * n * den) / s.eligibleTokens;
          }
          if (d.remainderMinor > 0n) num += (d.remainderMinor * t.tokens * den) / d.totalEligibleTokens;
          const scaled = t.amountMinor * den;
          return scaled - num < den && num - scaled < den;
        });
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('with every subscriber\'s usage proportional to one profile, the two modes agree within one unit per teacher', () => {
    const arb = fc.record({
      feeBps: fc.integer({ min: 0, max: 10_000 }),
      minimum: fc.bigInt({ min: 0n, max: 200n }),
      profile: fc.array(fc.bigInt({ min: 0n, max: 50n }), { minLength: 1, maxLength: 8 }),
      subs: fc.array(fc.record({ k: fc.bigInt({ min: 0n, max: 20n }), fee: fc.bigInt({ min: 0n, max: 5_000_000n }) }), { minLength: 1, maxLength: 8 }),
    });
    fc.assert(
      fc.property(arb, (r) => {
        const usage: PoolUsage[] = [];
        r.subs.forEach((s, i) => r.profile.forEach((p, j) => usage.push({ subscriberId: sub(i), teacherId: tea(j), tokens: s.k * p })));
        const base = { platformFeeBps: r.feeBps, minimumTokensToEarn: r.minimum, contributions: r.subs.map((s, i) => ({ subscriberId: sub(i), amountMinor: s.fee })), usage };
        const pr = distributePool({ ...base, mode: 'PRO_RATA' });
        const uc = distributePool({ ...base, mode: 'USER_CENTRIC' });
        if (pr.distributedMinor !== uc.distributedMinor || pr.feeMinor !== uc.feeMinor) return false;
        return pr.teachers.every((t, i) => {
          const diff = t.amountMinor - uc.teachers[i].amountMinor;
          return diff <= 1n && diff >= -1n;
        });
      }),
      opts,
    );
  });

  it('results do not depend on input order', () => {
    fc.assert(
      fc.property(inputArb(), fc.infiniteStream(fc.nat()), (input, rnd) => {
        const shuffle = <T>(xs: readonly T[]): T[] => {
          const a = [...xs];
          for (let i = a.length - 1; i > 0; i--) {
            const j = rnd.next().value % (i + 1);
            [a[i], a[j]] = [a[j], a[i]];
          }
          return a;
        };
        const a = distributePool(input);
        const b = distributePool({ ...input, contributions: shuffle(input.contributions), usage: shuffle(input.usage) });
        return JSON.stringify(a, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) === JSON.stringify(b, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      }),
      opts,
    );
  });
});

describe('pool gaming flags', () => {
  const usage = [
    { distillerOrganizationId: 'a', modelId: 'x', vendorOrganizationId: 'vx', tokens: 9_000n },
    { distillerOrganizationId: 'b', modelId: 'x', vendorOrganizationId: 'vx', tokens: 1_000n },
    { distillerOrganizationId: 'a', modelId: 'y', vendorOrganizationId: 'vy', tokens: 5_000n },
    { distillerOrganizationId: 'vy', modelId: 'y', vendorOrganizationId: 'vy', tokens: 5_000n },
    { distillerOrganizationId: 'unpaid', modelId: 'y', vendorOrganizationId: 'vy', tokens: 90_000n },
  ];
  const d = distributePool({
    mode: 'PRO_RATA',
    platformFeeBps: 0,
    minimumTokensToEarn: 0n,
    contributions: ['a', 'b', 'vy'].map((s) => ({ subscriberId: s, amountMinor: 100n })),
    usage: usage.map((u) => ({ subscriberId: u.distillerOrganizationId, teacherId: u.modelId, tokens: u.tokens })),
  });

  it('one subscriber above the share: CONCENTRATED_SUBSCRIBER (strictly above); own organization: SELF_DEALING; unpaid usage ignored', () => {
    expect(Object.fromEntries(poolFlags(d, usage, 8000))).toEqual({ x: ['CONCENTRATED_SUBSCRIBER'], y: ['SELF_DEALING'] });
    expect(Object.fromEntries(poolFlags(d, usage, 9000))).toEqual({ y: ['SELF_DEALING'] });
    expect(Object.fromEntries(poolFlags(d, usage, 10_000))).toEqual({ y: ['SELF_DEALING'] });
    expect(Object.fromEntries(poolFlags(d, usage, 4000))).toEqual({ x: ['CONCENTRATED_SUBSCRIBER'], y: ['CONCENTRATED_SUBSCRIBER', 'SELF_DEALING'] });
  });
});
