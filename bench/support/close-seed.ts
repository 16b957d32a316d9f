/**
 * Seeding for the period-close benchmark (bench/close.bench.ts).
 *
 * Vendors, their listed teachers and priced offers go through the running
 * app's GraphQL API (so offers carry real canonical terms, pricing and hash);
 * everything at volume is set-based SQL: distiller organizations, agreements
 * (copying each offer's snapshot, as an acceptance does), the raw usage
 * events (generate_series) and their period rollups (one GROUP BY over the
 * events, the same totals metering maintains).
 */
import { Client } from 'pg';
import { GraphqlClient, signUp, User } from './parties';
import { sampleTerms } from '../../test/fixtures/terms.fixtures';

export interface CloseSeedOptions {
  vendors: number;
  distillers: number;
  agreementsPerDistiller: number;
  events: number;
  /** The month the usage belongs to (and agreements start at its first instant). */
  periodStart: Date;
  periodEnd: Date;
}

export interface SeedResult {
  agreements: number;
  events: number;
  /** (distiller, currency) pairs: the invoices a close must write. */
  expectedInvoices: number;
  offers: number;
}

/** The sample licence, without territory exclusions or a term (every seeded distiller may accept; agreements stay live all month). */
const TERMS = { ...sampleTerms(), territory: { excludedCountries: [], endUsersExempt: false }, termDays: null };

/**
 * Offer i: EUR for the first half of the offers, USD for the rest (so most
 * distillers get two invoices); prices vary so amounts round differently;
 * every third offer has a minimum commitment; every fifth a period quota
 * (its agreements carry overage).
 */
function pricingOf(i: number, offers: number) {
  return {
    currency: i < offers / 2 ? 'EUR' : 'USD',
    upfrontFeeMinor: '0',
    inputPerMillionMinor: String(100 + 37 * i),
    outputPerMillionMinor: String(400 + 113 * i),
    minimumCommitmentMinor: i % 3 === 0 ? '50000' : '0',
    poolEligible: false,
  };
}

async function offerOf(gql: GraphqlClient, vendor: User, i: number, offers: number): Promise<string> {
  const created = await gql.call(
    `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) { __typename ... on TeacherModel { id } } }`,
    { i: { organizationId: vendor.organizationId, slug: `close-bench-${i}`, name: `Close bench teacher ${i}`, card: { summary: 'A teacher model for the close benchmark.', modalities: ['TEXT'] } } },
    vendor.token,
  );
  const modelId = created.createTeacherModel.id as string;
  await gql.call(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: modelId }, vendor.token);
  const d = await gql.call(
    `mutation($i: PublishLicenseOfferInput!) { publishLicenseOffer(input: $i) { id } }`,
    {
      i: {
        modelId,
        name: 'standard',
        terms: { ...TERMS, limits: { tokensPerPeriod: i % 5 === 0 ? '200000' : null, tokensPerMinute: null } },
        pricing: pricingOf(i, offers),
      },
    },
    vendor.token,
  );
  return d.publishLicenseOffer.id as string;
}

export async function seedForClose(gql: GraphqlClient, databaseUrl: string, o: CloseSeedOptions, log: (m: string) => void): Promise<SeedResult> {
  // One offer per vendor; agreements of a distiller use distinct offers.
  const offers = o.vendors;
  if (o.agreementsPerDistiller > offers) throw new Error('agreementsPerDistiller must be at most the number of vendors');
  let t0 = Date.now();
  const offerIds: string[] = [];
  for (let i = 0; i < offers; i++) {
    const vendor = await signUp(gql, `Close bench vendor ${i}`, 'US');
    offerIds.push(await offerOf(gql, vendor, i, offers));
  }
  log(`${offers} vendors with a listed teacher and a priced offer each, through GraphQL, in ${Date.now() - t0} ms`);

  const c = new Client({ connectionString: databaseUrl, application_name: 'bench-seed' });
  await c.connect();
  try {
    t0 = Date.now();
    await c.query(`CREATE TEMP TABLE seed_distillers AS
      WITH ins AS (
        INSERT INTO organizations (name, country) SELECT 'Close bench distiller ' || g, 'FR' FROM generate_series(1, $1) g RETURNING id
      ) SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS n FROM ins`, [o.distillers]);
    // Distiller n takes offers (n + k·step) mod offers, k = 0 … agreementsPerDistiller−1: distinct offers, mixed currencies.
    const step = Math.max(1, Math.floor(offers / o.agreementsPerDistiller));
    await c.query(
      `WITH offers AS (SELECT o.*, (array_position($1::uuid[], o.id) - 1) AS idx FROM license_offers o WHERE o.id = ANY($1::uuid[]))
       INSERT INTO license_agreements (offer_id, model_id, vendor_organization_id, distiller_organization_id, accepted_at, terms_snapshot,
                                       pricing_snapshot, terms_hash, status, status_changed_at, starts_at, ends_at)
       SELECT f.id, f.model_id, f.organization_id, d.id, $2, f.terms, f.pricing, f.terms_hash, 'ACTIVE', $2, $2, NULL
         FROM seed_distillers d
         CROSS JOIN generate_series(0, $3 - 1) k
         JOIN offers f ON f.idx = (d.n + k * $4) % $5`,
      [offerIds, o.periodStart.toISOString(), o.agreementsPerDistiller, step, offers],
    );
    const agreements = Number((await c.query(`SELECT count(*) AS n FROM license_agreements`)).rows[0].n);
    log(`${o.distillers} distiller organizations and ${agreements} agreements (SQL) in ${Date.now() - t0} ms`);

    // Events: spread evenly over the agreements and over the month; tokens vary per event.
    t0 = Date.now();
    const perAgreement = Math.ceil(o.events / agreements);
    const spanMs = o.periodEnd.getTime() - o.periodStart.getTime() - 1000;
    await c.query(`CREATE TEMP TABLE seed_agreements AS
      SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS n,
             CASE WHEN terms_snapshot #>> '{limits,tokensPerPeriod}' IS NULL THEN NULL ELSE (terms_snapshot #>> '{limits,tokensPerPeriod}')::bigint END AS quota
        FROM license_agreements`);
    const BATCH = 1000; // agreements per INSERT statement (≈ perAgreement × 1000 rows)
    for (let from = 0; from < agreements; from += BATCH) {
      // Overage as metering counts it: the part of each event beyond the quota, in event order.
      await c.query(
        `INSERT INTO usage_events (agreement_id, event_id, source, occurred_at, received_at, input_tokens, output_tokens,
                                   overage_tokens, estimated, payload_hash)
         SELECT x.id, 'seed-' || x.g, 'REPORTED', x.occurred_at, $1::timestamptz, x.i, x.o,
                CASE WHEN x.quota IS NULL THEN 0 ELSE least(x.i + x.o, greatest(0, x.used - x.quota)) END, false, '\\x00'::bytea
           FROM (SELECT a.id, a.quota, g,
                        $1::timestamptz + make_interval(secs => ((a.n::bigint * 7919 + g * 104729) % $2::bigint) / 1000.0) AS occurred_at,
                        500 + (g * 37 + a.n) % 4000 AS i, 50 + (g * 13 + a.n) % 1200 AS o,
                        sum(550 + (g * 37 + a.n) % 4000 + (g * 13 + a.n) % 1200) OVER (PARTITION BY a.id ORDER BY g) AS used
                   FROM seed_agreements a CROSS JOIN generate_series(1, $3) g
                  WHERE a.n >= $4 AND a.n < $5 AND (a.n::bigint * $3 + g) <= $6) x`,
        [o.periodStart.toISOString(), spanMs, perAgreement, from, from + BATCH, o.events],
      );
    }
    const events = Number((await c.query(`SELECT count(*) AS n FROM usage_events`)).rows[0].n);
    log(`${events} usage events (set-based INSERT … generate_series) in ${Date.now() - t0} ms`);

    // Rollups as metering keeps them (one row per agreement and month): one GROUP BY over the events.
    t0 = Date.now();
    await c.query(
      `INSERT INTO usage_period_totals (agreement_id, period_start, input_tokens, output_tokens, overage_tokens, events)
       SELECT agreement_id, date_trunc('month', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
              sum(input_tokens), sum(output_tokens), sum(overage_tokens), count(*)
         FROM usage_events GROUP BY 1, 2`,
    );
    const expectedInvoices = Number(
      (
        await c.query(
          `SELECT count(*) AS n FROM (SELECT DISTINCT distiller_organization_id, pricing_snapshot ->> 'currency' FROM license_agreements) x`,
        )
      ).rows[0].n,
    );
    log(`period rollups (one GROUP BY over the events) in ${Date.now() - t0} ms`);

    t0 = Date.now();
    await c.query(`VACUUM (ANALYZE)`);
    await c.query('CHECKPOINT').catch((e: Error) => log(`CHECKPOINT not possible (${e.message}); continuing`));
    log(`VACUUM ANALYZE + CHECKPOINT in ${Date.now() - t0} ms`);
    return { agreements, events, expectedInvoices, offers };
  } finally {
    await c.end();
  }
}
