/**
 * The set-based close of a pool period (pool-close-computation.repository.ts: usage
 * aggregated in SQL, the USER_CENTRIC weights in numeric arithmetic) against
 * the reference distributePool + poolFlags over the same inputs, on real
 * PostgreSQL. Random pools (fixed seeds): both modes, fees, thresholds (some
 * teachers below, some pools with nothing eligible), subscribers without
 * usage, unpaid subscriptions, zero payments, payments of an earlier period,
 * zero-token rollups, a rollup of another month, a teacher that left the
 * pool, self-dealing and concentrated subscribers, a model whose usage shows
 * two vendor organizations, and clawbacks (below, equal to and above the
 * gross; the computation alone, rolled back). Every stored result must equal the
 * reference: totals, each teacher's tokens, eligibility, amount and flags,
 * each subscriber's paid, net, eligible tokens and remainder status.
 */
import { DataSource, EntityManager } from 'typeorm';
import { PoolCloseComputation } from '../src/earnings/pool/pool-close-computation.repository';
import { PoolCloseService, poolFlags } from '../src/earnings/pool/pool-close.service';
import { distributePool } from '../src/earnings/pool/pool-distribution';
import { PoolDistributionRepository } from '../src/earnings/pool/pool-distribution.repository';
import { startTestApp, TestApp } from './support/app';
import { useLedgerInvariant } from './support/ledger-invariant';
import { createModel, publishOk } from './support/licensing';
import { signUp } from './support/users';

const FLAG_SHARE_BPS = 4000;
const PERIOD = '2026-03';
const EARLIER = '2026-02';
const START = new Date(Date.UTC(2026, 2, 1));

/** A small deterministic PRNG (mulberry32) so each seed is the same pool every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)), chance: (p: number) => next() < p };
}

interface Scenario {
  seed: number;
  mode: 'PRO_RATA' | 'USER_CENTRIC';
  /** 'none': a threshold no teacher reaches. */
  threshold: 'some' | 'none' | 'zero';
  zeroPayments?: boolean;
  twoVendors?: boolean;
  exit?: boolean;
}

const SCENARIOS: Scenario[] = [
  { seed: 1, mode: 'USER_CENTRIC', threshold: 'some' },
  { seed: 2, mode: 'PRO_RATA', threshold: 'some' },
  { seed: 3, mode: 'USER_CENTRIC', threshold: 'zero', exit: true },
  { seed: 4, mode: 'PRO_RATA', threshold: 'zero', twoVendors: true },
  { seed: 5, mode: 'USER_CENTRIC', threshold: 'some', twoVendors: true },
  { seed: 6, mode: 'USER_CENTRIC', threshold: 'none' },
  { seed: 7, mode: 'PRO_RATA', threshold: 'none' },
  { seed: 8, mode: 'USER_CENTRIC', threshold: 'some', zeroPayments: true },
  { seed: 9, mode: 'USER_CENTRIC', threshold: 'some', exit: true },
  { seed: 10, mode: 'PRO_RATA', threshold: 'some', exit: true },
  { seed: 11, mode: 'USER_CENTRIC', threshold: 'some' },
  { seed: 12, mode: 'USER_CENTRIC', threshold: 'zero' },
];

describe('pool close: the set-based close equals distributePool (real PostgreSQL)', () => {
  let t: TestApp;
  let ds: DataSource;
  let template: { modelId: string; offerId: string };
  const seen = { clawbackNetted: 0, clawbackCarried: 0, remainder: 0, belowThreshold: 0, carried: 0, concentrated: 0, selfDealing: 0, subscribersWithoutUsage: 0, zeroPaid: 0, twoVendors: 0 };
  useLedgerInvariant(() => t?.dataSource);

  beforeAll(async () => {
    t = await startTestApp({ poolFlagSubscriberShareBps: FLAG_SHARE_BPS });
    ds = t.dataSource;
    const vendor = await signUp(t, { country: 'US' });
    const { id: modelId } = await createModel(t, vendor);
    const offer = await publishOk(t, vendor, modelId, { pricing: { poolEligible: true } });
    template = { modelId, offerId: offer.id };
    for (const [period, start, end] of [[EARLIER, '2026-02-01', '2026-03-01'], [PERIOD, '2026-03-01', '2026-04-01']]) {
      await ds.query(`INSERT INTO billing_periods (period, period_start, period_end) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [period, `${start}T00:00:00Z`, `${end}T00:00:00Z`]);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A fresh organization per id; teachers are copies of the template model and offer under their own vendor. */
  async function orgs(em: EntityManager, n: number, name: string): Promise<string[]> {
    const rows: { id: string }[] = await em.query(`INSERT INTO organizations (name, country) SELECT $2 || g, 'FR' FROM generate_series(1, $1) g RETURNING id`, [n, name]);
    return rows.map((r) => r.id);
  }
  async function teacher(em: EntityManager, vendorOrg: string, slug: string, modelId?: string): Promise<{ model: string; offer: string; vendor: string }> {
    const [{ model }] = modelId
      ? [{ model: modelId }]
      : await em.query(
          `INSERT INTO models SELECT (jsonb_populate_record(NULL::models, to_jsonb(m) || jsonb_build_object('id', gen_random_uuid(), 'organization_id', $2::uuid,
                  'slug', $3::text, 'name', $3::text))).* FROM models m WHERE m.id = $1 RETURNING id AS model`,
          [template.modelId, vendorOrg, slug],
        );
    const [{ offer }] = await em.query(
      `INSERT INTO license_offers SELECT (jsonb_populate_record(NULL::license_offers, to_jsonb(o) || jsonb_build_object('id', gen_random_uuid(), 'model_id', $2::uuid,
              'organization_id', $3::uuid, 'name', $4::text))).* FROM license_offers o WHERE o.id = $1 RETURNING id AS offer`,
      [template.offerId, model, vendorOrg, `pool-${slug}`],
    );
    return { model, offer, vendor: vendorOrg };
  }

  async function seedPool(s: Scenario): Promise<string> {
    const r = rng(s.seed);
    return ds.transaction(async (em) => {
      const nTeachers = r.int(3, 10);
      const nSubs = r.int(15, 45);
      const subs = await orgs(em, nSubs, `eq ${s.seed} distiller `);
      // Some teachers' vendors are subscribers themselves (self-dealing).
      const teachers: Array<{ model: string; offer: string; vendor: string }> = [];
      for (let i = 0; i < nTeachers; i++) {
        const vendor = i < 2 && r.chance(0.6) ? subs[r.int(0, nSubs - 1)] : (await orgs(em, 1, `eq ${s.seed} vendor ${i} `))[0];
        teachers.push(await teacher(em, vendor, `eq-${s.seed}-${i}`));
      }
      // The same model offered under another vendor organization (its usage shows two vendors).
      if (s.twoVendors) teachers.push(await teacher(em, (await orgs(em, 1, `eq ${s.seed} second vendor `))[0], `eq-${s.seed}-x`, teachers[0].model));
      const threshold = s.threshold === 'zero' ? 0 : s.threshold === 'none' ? 1_000_000_000 : r.int(2_000, 40_000);
      const [{ id: planId }] = await em.query(
        `INSERT INTO pool_plans (name, version, currency, monthly_fee_minor, token_allowance, overage, distribution, minimum_tokens_to_earn, platform_fee_bps)
         VALUES ($1, 1, 'EUR', 1999, 1000000000, 'REFUSE', $2, $3, $4) RETURNING id`,
        [`Equality ${s.seed}`, s.mode, threshold, r.chance(0.2) ? 0 : r.int(1, 9_999)],
      );
      for (const org of subs) {
        const [{ id: sub }] = await em.query(
          `INSERT INTO pool_subscriptions (plan_id, distiller_organization_id, currency, status, started_at) VALUES ($1, $2, 'EUR', 'ACTIVE', now()) RETURNING id`,
          [planId, org],
        );
        // This period: paid (sometimes 0), or unpaid; sometimes an earlier period paid and not distributed yet.
        const periods: Array<[string, boolean, number]> = [[PERIOD, r.chance(0.85), s.zeroPayments && r.chance(0.5) ? 0 : r.int(0, 3) === 0 ? 0 : r.int(1, 50_000)]];
        if (r.chance(0.15)) periods.push([EARLIER, true, r.int(1, 9_999)]);
        for (const [period, paid, total] of periods) {
          const [{ id: invoice }] = await em.query(
            `WITH inv AS (INSERT INTO invoices (number, distiller_organization_id, currency, kind, period, pool_subscription_id, total_minor)
                          VALUES ('BM-' || to_char(now(), 'YYYYMM') || '-' || lpad(nextval('invoice_number_seq')::text, 6, '0'), $1, 'EUR', 'POOL', $2, $3, $4) RETURNING id, total_minor)
             INSERT INTO invoice_lines (invoice_id, position, kind, usage_period, amount_minor, description)
             SELECT id, 1, 'POOL_FEE', $2, total_minor, 'Pool plan fee' FROM inv RETURNING invoice_id AS id`,
            [org, period, sub, total],
          );
          await em.query(`UPDATE invoices SET status = 'OPEN', issued_at = now(), due_at = now() WHERE id = $1`, [invoice]);
          if (paid) await em.query(`UPDATE invoices SET status = 'PAID', amount_paid_minor = total_minor, paid_at = now() WHERE id = $1`, [invoice]);
          await em.query(
            `INSERT INTO pool_subscription_periods (subscription_id, period, plan_id, invoice_id, fee_minor, days_covered, days_in_period) VALUES ($1, $2, $3, $4, $5, 28, 28)`,
            [sub, period, planId, invoice, total],
          );
          if (paid && total === 0) seen.zeroPaid++;
        }
        // Usage: a random subset of teachers (none for some subscribers), skewed tokens, some zero; plus a rollup of another month.
        const used = r.chance(0.2) ? [] : teachers.filter(() => r.chance(0.4));
        if (used.length === 0) seen.subscribersWithoutUsage++;
        for (const tc of used) {
          const [{ id: agreement }] = await em.query(
            `INSERT INTO license_agreements (offer_id, model_id, vendor_organization_id, distiller_organization_id, accepted_at, terms_snapshot, pricing_snapshot,
                                             terms_hash, status, status_changed_at, starts_at, pool_subscription_id)
             VALUES ($1, $2, $3, $4, $5, '{}'::jsonb, '{}'::jsonb, repeat('0', 64), 'ACTIVE', $5, $5, $6) RETURNING id`,
            [tc.offer, tc.model, tc.vendor, org, '2026-01-15T00:00:00Z', sub],
          );
          const big = r.chance(0.1);
          const input = r.chance(0.1) ? 0 : r.int(0, big ? 900_000 : 20_000);
          const output = input === 0 ? 0 : r.int(0, 5_000);
          await em.query(
            `INSERT INTO usage_period_totals (agreement_id, period_start, input_tokens, output_tokens, overage_tokens, events) VALUES ($1, $2, $3, $4, 0, 1), ($1, $5, 777, 1, 0, 1)`,
            [agreement, START.toISOString(), input, output, '2026-02-01T00:00:00Z'],
          );
        }
      }
      if (s.exit) await em.query(`INSERT INTO pool_exits (model_id, from_period, requested_at) VALUES ($1, $2, now())`, [teachers[nTeachers - 1].model, EARLIER]);
      return planId as string;
    });
  }

  it.each(SCENARIOS)('seed $seed, $mode, threshold $threshold: the stored distribution equals the reference', async (s) => {
    const planId = await seedPool(s);
    const repo = t.app.get(PoolDistributionRepository);
    // The reference: the same inputs read as the in-memory path did, distributed by distributePool and flagged by poolFlags.
    const { contributions, usage, outstanding } = await ds.transaction(async (tx) => ({
      contributions: await repo.contributions(tx, planId, PERIOD),
      usage: await repo.usage(tx, planId, PERIOD, START),
      outstanding: await repo.outstandingClawbacks(tx, planId),
    }));
    const [plan] = await ds.query(`SELECT distribution, minimum_tokens_to_earn::text AS min, platform_fee_bps FROM pool_plans WHERE id = $1`, [planId]);
    const reference = (clawbackMinor: bigint) =>
      distributePool({
        mode: plan.distribution,
        platformFeeBps: plan.platform_fee_bps,
        minimumTokensToEarn: BigInt(plan.min),
        contributions: contributions.map((c) => ({ subscriberId: c.distillerOrganizationId, amountMinor: c.amountMinor })),
        usage: usage.map((u) => ({ subscriberId: u.distillerOrganizationId, teacherId: u.modelId, tokens: u.tokens })),
        clawbackMinor,
      });
    const ref = reference(outstanding.reduce((sum, c) => sum + c.amountMinor, 0n));
    const refFlags = poolFlags(ref, usage, FLAG_SHARE_BPS);

    // Clawbacks (refunds of earlier distributions to net): the computation alone, in a transaction rolled back, against the reference with the same clawback.
    const r = rng(s.seed * 7919);
    for (const clawback of [1n + BigInt(r.int(0, 5_000)), (ref.grossMinor * 2n) / 3n, ref.grossMinor, ref.grossMinor + 1n + BigInt(r.int(0, 999))]) {
      const want = reference(clawback);
      const got = await ds
        .transaction(async (tx) => {
          const d = await t.app.get(PoolCloseComputation).compute(tx, { id: planId, distribution: plan.distribution, platformFeeBps: plan.platform_fee_bps, minimumTokensToEarn: BigInt(plan.min) }, { period: PERIOD, start: START }, contributions, clawback);
          const subs: Raw[] = await tx.query(`SELECT distiller AS id, paid::text, net::text, eligible::text FROM pool_close_subscribers ORDER BY distiller`);
          throw Object.assign(new Error('rollback'), { result: { d, subs } });
        })
        .catch((e) => e.result as { d: Awaited<ReturnType<PoolCloseComputation['compute']>>; subs: Raw[] });
      expect([got.d.feeMinor, got.d.distributedMinor, got.d.carriedMinor, got.d.clawbackMinor, got.d.clawbackCarriedMinor, got.d.remainderMinor]).toEqual(
        [want.feeMinor, want.distributedMinor, want.carriedMinor, want.clawbackMinor, want.clawbackCarriedMinor, want.remainderMinor],
      );
      expect(got.d.teachers).toEqual(want.teachers);
      expect(got.subs.map((x) => [x.id, x.paid, x.net, x.eligible])).toEqual(want.subscribers.map((x) => [x.subscriberId, String(x.paidMinor), String(x.netMinor), String(x.eligibleTokens)]));
      if (want.clawbackMinor > 0n && want.distributedMinor > 0n) seen.clawbackNetted++;
      if (want.clawbackCarriedMinor > 0n) seen.clawbackCarried++;
    }

    const out = await t.app.get(PoolCloseService).closePlan(null, planId, { period: PERIOD, start: START });
    expect(out.createdNow).toBe(true);

    const [stored] = await ds.query(`SELECT * FROM pool_distributions WHERE plan_id = $1 AND period = $2`, [planId, PERIOD]);
    expect({
      gross: stored.gross_minor, fee: stored.fee_minor, distributed: stored.distributed_minor, carried: stored.carried_minor,
      clawback: stored.clawback_minor, clawbackCarried: stored.clawback_carried_minor, remainder: stored.remainder_minor, totalEligible: stored.total_eligible_tokens,
    }).toEqual({
      gross: String(ref.grossMinor), fee: String(ref.feeMinor), distributed: String(ref.distributedMinor), carried: String(ref.carriedMinor),
      clawback: String(ref.clawbackMinor), clawbackCarried: String(ref.clawbackCarriedMinor), remainder: String(ref.remainderMinor), totalEligible: String(ref.totalEligibleTokens),
    });
    const lines: Raw[] = await ds.query(
      `SELECT model_id, tokens, eligible, amount_minor, flags, held FROM pool_distribution_lines WHERE plan_id = $1 AND period = $2 ORDER BY model_id`,
      [planId, PERIOD],
    );
    expect(lines.map((l) => [l.model_id, l.tokens, l.eligible, l.amount_minor, l.flags, l.held])).toEqual(
      ref.teachers.map((x) => {
        const f = refFlags.get(x.teacherId) ?? [];
        return [x.teacherId, String(x.tokens), x.eligible, String(x.amountMinor), f, f.length > 0 && x.amountMinor > 0n];
      }),
    );
    const subscribers: Raw[] = await ds.query(
      `SELECT distiller_organization_id AS id, paid_minor, net_minor, eligible_tokens, to_remainder FROM pool_distribution_subscribers
        WHERE plan_id = $1 AND period = $2 ORDER BY distiller_organization_id`,
      [planId, PERIOD],
    );
    expect(subscribers.map((x) => [x.id, x.paid_minor, x.net_minor, x.eligible_tokens, x.to_remainder])).toEqual(
      ref.subscribers.map((x) => [x.subscriberId, String(x.paidMinor), String(x.netMinor), String(x.eligibleTokens), x.toRemainder]),
    );

    if (ref.remainderMinor > 0n) seen.remainder++;
    if (ref.carriedMinor > 0n) seen.carried++;
    seen.belowThreshold += ref.teachers.filter((x) => !x.eligible).length;
    for (const f of refFlags.values()) {
      if (f.includes('CONCENTRATED_SUBSCRIBER')) seen.concentrated++;
      if (f.includes('SELF_DEALING')) seen.selfDealing++;
    }
    const vendors = new Map<string, Set<string>>();
    for (const u of usage) vendors.set(u.modelId, (vendors.get(u.modelId) ?? new Set()).add(u.vendorOrganizationId));
    if ([...vendors.values()].some((v) => v.size > 1)) seen.twoVendors++;
  });

  it('the seeds covered every case they are meant to', () => {
    // The seeds are fixed: this guards that the scenarios keep exercising each rule (a change of generator must keep them).
    expect(seen.remainder).toBeGreaterThan(0);
    expect(seen.carried).toBeGreaterThan(0);
    expect(seen.belowThreshold).toBeGreaterThan(0);
    expect(seen.concentrated).toBeGreaterThan(0);
    expect(seen.selfDealing).toBeGreaterThan(0);
    expect(seen.subscribersWithoutUsage).toBeGreaterThan(0);
    expect(seen.zeroPaid).toBeGreaterThan(0);
    expect(seen.twoVendors).toBeGreaterThan(0);
    expect(seen.clawbackNetted).toBeGreaterThan(0);
    expect(seen.clawbackCarried).toBeGreaterThan(0);
  });
});

type Raw = Record<string, any>;
