/**
 * The distribution of a pool period at scale: the same results as
 * distributePool (pool-distribution.ts, the reference) without bringing the
 * (subscriber, teacher) pairs into the process.
 *
 * Within the close's transaction:
 * 1. What each subscriber paid (from the contributions), the fee and the net
 *    (after the clawback, rule 6) and each subscriber's part of it are
 *    computed in JS (splitPool: the allocation over the subscribers) and sent
 *    once to a temporary table.
 * 2. The period's usage per (subscriber, teacher, vendor) of paying
 *    subscribers is aggregated from the rollups ONCE into a temporary table
 *    (ON COMMIT DROP) — the same rows as the reference's input. The paying
 *    subscribers are a parameter (an array; PostgreSQL hashes it), not a
 *    join with the temporary table: a query reading a temporary table cannot
 *    run in parallel, and this one is the close's largest.
 * 3. Per teacher (≈ 1,000 rows): tokens, the gaming flags' inputs (largest
 *    usage row, self-dealing). Eligibility (classifyTeachers) in JS.
 * 4. Per subscriber: its tokens on eligible teachers (a temporary table).
 * 5. USER_CENTRIC: each eligible teacher's Σ floor(net·tokens·scale ÷
 *    eligible tokens) over its subscribers, in exact numeric arithmetic in
 *    SQL (userCentricPairWeight), the remainder summed in SQL; then ONE
 *    allocation over the teachers in JS (teacherAmounts).
 * The stored subscriber rows are inserted from the temporary table.
 *
 * A model reached through several vendor organizations (an anomaly: a
 * model's agreements carry its vendor) is still exact: the pair sums are then
 * taken over (subscriber, teacher) before the USER_CENTRIC weights.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { PoolPlanTerms, PoolContributionRow } from './pool-distribution.repository';
import {
  classifyTeachers,
  clawbackTakesAll,
  PoolDistribution,
  splitPool,
  teacherAmounts,
  TeacherResult,
  undistributedTotals,
  userCentricScale,
} from './pool-distribution';

/** What the gaming flags look at, per teacher: its largest single usage row of a paying subscriber, and whether a paying subscriber is its vendor. */
export interface PoolFlagInputs {
  maxSubscriberTokens: bigint;
  selfDealing: boolean;
}

/** The distribution without the per-subscriber results (those stay in the database, see insertSubscribers). */
export interface PoolCloseComputed extends Omit<PoolDistribution, 'subscribers'> {
  /** Something is split (eligible tokens, money, and a gross above the clawback): subscribers get their parts. */
  distributing: boolean;
  subscriberCount: number;
  pairCount: bigint;
  flagInputs: Map<string, PoolFlagInputs>;
  /** Each teacher's vendor organization (the smallest id if the usage shows several). */
  vendorOf: Map<string, string>;
}

/** A phase of the close done: its name and the rows it produced (null: not counted). */
export type PoolCloseProgress = (phase: string, rows: number | bigint | null) => void;

type Raw = Record<string, unknown>;
const big = (v: unknown): bigint => BigInt(v as string);
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

@Injectable()
export class PoolCloseComputation {
  /**
   * Computes the distribution of `period` for `plan` (inside the close's
   * transaction; the temporary tables live until it ends).
   */
  async compute(
    tx: EntityManager,
    plan: Pick<PoolPlanTerms, 'id' | 'distribution' | 'platformFeeBps' | 'minimumTokensToEarn'>,
    p: { period: string; start: Date },
    contributions: readonly Pick<PoolContributionRow, 'distillerOrganizationId' | 'amountMinor'>[],
    clawbackMinor: bigint,
    progress: PoolCloseProgress = () => undefined,
  ): Promise<PoolCloseComputed> {
    const mode = plan.distribution;
    if (plan.minimumTokensToEarn < 0n) throw new RangeError('minimumTokensToEarn must be ≥ 0');
    if (clawbackMinor < 0n) throw new RangeError('clawbackMinor must be ≥ 0');

    // 1. Paid per subscriber (id order), the fee, the net and the subscribers' parts.
    const paid = new Map<string, bigint>();
    for (const c of contributions) {
      if (c.amountMinor < 0n) throw new RangeError('a contribution must be ≥ 0');
      paid.set(c.distillerOrganizationId, (paid.get(c.distillerOrganizationId) ?? 0n) + c.amountMinor);
    }
    const subscriberIds = [...paid.keys()].sort(cmp);
    const paids = subscriberIds.map((s) => paid.get(s)!);
    const gross = paids.reduce((s, x) => s + x, 0n);
    const swallowed = clawbackTakesAll(gross, clawbackMinor);
    const split = gross > 0n && !swallowed ? splitPool(paids, plan.platformFeeBps, clawbackMinor) : { gross, fee: 0n, net: 0n, nets: paids.map(() => 0n) };
    await tx.query(`CREATE TEMP TABLE pool_close_paid (distiller uuid NOT NULL, paid bigint NOT NULL, net bigint NOT NULL) ON COMMIT DROP`);
    await tx.query(
      `INSERT INTO pool_close_paid (distiller, paid, net) SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[])`,
      [subscriberIds, paids.map(String), split.nets.map(String)],
    );
    progress('subscribers paid', subscriberIds.length);

    // 2. The period's usage rows of paying subscribers, from the rollups, once.
    await tx.query(
      `CREATE TEMP TABLE pool_close_usage ON COMMIT DROP AS
       SELECT a.distiller_organization_id AS distiller, a.model_id AS model, a.vendor_organization_id AS vendor,
              sum(t.input_tokens + t.output_tokens)::bigint AS tokens
         FROM pool_subscription_periods sp
         JOIN license_agreements a ON a.pool_subscription_id = sp.subscription_id
         JOIN usage_period_totals t ON t.agreement_id = a.id AND t.period_start = $3
        WHERE sp.plan_id = $1 AND sp.period = $2
          AND NOT EXISTS (SELECT 1 FROM pool_exits e WHERE e.model_id = a.model_id AND e.from_period <= $2)
          AND a.distiller_organization_id = ANY($4::uuid[])
        GROUP BY a.distiller_organization_id, a.model_id, a.vendor_organization_id
       HAVING sum(t.input_tokens + t.output_tokens) > 0`,
      [plan.id, p.period, p.start.toISOString(), subscriberIds],
    );
    progress('usage of the period materialised', null);

    // 3. Per teacher: tokens and the flags' inputs.
    const perTeacher: Raw[] = await tx.query(
      `SELECT model, vendor, sum(tokens)::text AS tokens, max(tokens)::text AS max_tokens, bool_or(distiller = vendor) AS self, count(*)::text AS n
         FROM pool_close_usage GROUP BY model, vendor`,
    );
    const tokensOf = new Map<string, bigint>();
    const vendorOf = new Map<string, string>();
    const flagInputs = new Map<string, PoolFlagInputs>();
    let rows = 0n;
    let severalVendors = false;
    for (const r of perTeacher) {
      const model = r.model as string;
      const vendor = r.vendor as string;
      tokensOf.set(model, (tokensOf.get(model) ?? 0n) + big(r.tokens));
      const known = vendorOf.get(model);
      if (known !== undefined) severalVendors = true;
      if (known === undefined || vendor < known) vendorOf.set(model, vendor);
      const f = flagInputs.get(model) ?? { maxSubscriberTokens: 0n, selfDealing: false };
      if (f.maxSubscriberTokens < big(r.max_tokens)) f.maxSubscriberTokens = big(r.max_tokens);
      f.selfDealing ||= r.self as boolean;
      flagInputs.set(model, f);
      rows += big(r.n);
    }
    // The reference counts (subscriber, teacher) pairs; rows are (subscriber, teacher, vendor).
    const pairs = severalVendors ? big((await tx.query(`SELECT count(*)::text AS n FROM (SELECT DISTINCT distiller, model FROM pool_close_usage) x`))[0].n) : rows;
    const { teachers: classified, totalEligible } = classifyTeachers(
      [...tokensOf.keys()].sort(cmp).map((t) => ({ teacherId: t, tokens: tokensOf.get(t)! })),
      plan.minimumTokensToEarn,
    );
    const eligible = classified.filter((t) => t.eligible);
    const eligibleIds = eligible.map((t) => t.teacherId);
    progress(`per-teacher totals of ${rows} usage rows`, classified.length);

    // 4. Per subscriber: its tokens on eligible teachers (its part of the net is 0 when nothing is distributed);
    //    USER_CENTRIC: its part times the scale, once per subscriber rather than per pair.
    const distributing = !swallowed && totalEligible > 0n && gross > 0n;
    const scale = distributing && mode === 'USER_CENTRIC' ? userCentricScale(pairs, eligible.length, totalEligible, split.net) : 1n;
    await tx.query(
      `CREATE TEMP TABLE pool_close_subscribers ON COMMIT DROP AS
       SELECT pd.distiller, pd.paid, CASE WHEN $2 THEN pd.net ELSE 0 END::bigint AS net, coalesce(e.tokens, 0)::bigint AS eligible,
              CASE WHEN $2 THEN pd.net ELSE 0 END::numeric * $3::numeric AS net_scaled
         FROM pool_close_paid pd
         LEFT JOIN (SELECT distiller, sum(tokens) AS tokens FROM pool_close_usage WHERE model = ANY($1::uuid[]) GROUP BY distiller) e
           ON e.distiller = pd.distiller`,
      [eligibleIds, distributing, scale.toString()],
    );
    progress('subscribers eligible tokens', subscriberIds.length);

    const nothing = {
      mode,
      grossMinor: gross,
      feeMinor: 0n,
      netMinor: 0n,
      distributedMinor: 0n,
      ...undistributedTotals(gross, clawbackMinor),
      totalEligibleTokens: totalEligible,
      remainderMinor: 0n,
      teachers: classified.map((t): TeacherResult => ({ ...t, amountMinor: 0n })),
    };
    if (!distributing) return { ...nothing, distributing, subscriberCount: subscriberIds.length, pairCount: pairs, flagInputs, vendorOf };

    // 5. The teachers' amounts: PRO_RATA by tokens; USER_CENTRIC by the per-subscriber weights summed in SQL.
    const net = split.net;
    let remainder = 0n;
    const subscriberWeights = new Map<string, bigint>();
    if (mode === 'USER_CENTRIC') {
      const [r]: Raw[] = await tx.query(`SELECT coalesce(sum(net), 0)::text AS remainder FROM pool_close_subscribers WHERE eligible = 0 AND net > 0`);
      remainder = big(r.remainder);
      // One pair's weight is userCentricPairWeight (net·tokens·scale ÷ eligible tokens, floored), in exact numeric arithmetic.
      const source = severalVendors ? `(SELECT distiller, model, sum(tokens) AS tokens FROM pool_close_usage GROUP BY distiller, model)` : `pool_close_usage`;
      const weights: Raw[] = await tx.query(
        `SELECT u.model, sum(div(s.net_scaled * u.tokens, s.eligible))::text AS weight
           FROM ${source} u JOIN pool_close_subscribers s ON s.distiller = u.distiller
          WHERE u.model = ANY($1::uuid[]) AND s.net > 0 AND s.eligible > 0
          GROUP BY u.model`,
        [eligibleIds],
      );
      for (const w of weights) subscriberWeights.set(w.model as string, big(w.weight));
      progress('user-centric weights', weights.length);
    }
    const amounts = teacherAmounts({ mode, netMinor: net, eligible, totalEligible, subscriberWeights, remainderMinor: remainder, scale });
    const amountOf = new Map(eligibleIds.map((t, i) => [t, amounts[i]]));
    return {
      mode,
      grossMinor: gross,
      feeMinor: split.fee,
      netMinor: net,
      distributedMinor: net,
      carriedMinor: 0n,
      clawbackMinor,
      clawbackCarriedMinor: 0n,
      totalEligibleTokens: totalEligible,
      remainderMinor: remainder,
      teachers: classified.map((t) => ({ ...t, amountMinor: amountOf.get(t.teacherId) ?? 0n })),
      distributing,
      subscriberCount: subscriberIds.length,
      pairCount: pairs,
      flagInputs,
      vendorOf,
    };
  }

  /**
   * The stored per-subscriber results, from the computation's temporary table
   * (one INSERT … SELECT). USER_CENTRIC with a distribution: a subscriber
   * without eligible tokens went to the remainder.
   */
  async insertSubscribers(tx: EntityManager, planId: string, period: string, d: Pick<PoolCloseComputed, 'mode' | 'distributing'>): Promise<void> {
    const toRemainder = d.mode === 'USER_CENTRIC' && d.distributing;
    await tx.query(
      `INSERT INTO pool_distribution_subscribers (plan_id, period, distiller_organization_id, paid_minor, net_minor, eligible_tokens, to_remainder)
       SELECT $1, $2, distiller, paid, net, eligible, $3::boolean AND eligible = 0 FROM pool_close_subscribers`,
      [planId, period, toRemainder],
    );
  }
}
