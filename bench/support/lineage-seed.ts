/**
 * Data of the lineage benchmark (bench/lineage.bench.ts): a generated DAG of
 * models with licensed lineage edges, written with a handful of SQL statements
 * (arrays passed to `unnest`), deterministic for a seed.
 *
 * Shape of one lineage (the measured one, and `noise` unrelated ones so the
 * tables are not only the measured rows):
 * - a root model (layer 0) and exactly `ancestors` models above it in layers
 *   1…L whose sizes grow, then narrow, towards the top (4, 8, 14, 24, 40, 64,
 *   96, 128, 160, 180, 160, 146 for 1,024): every node has 1–4 parents (mean
 *   about 2.3), mostly in the layer just above it, sometimes two or three
 *   layers up; the root has 4. Every node is the parent of at least one node
 *   below it, so all are ancestors of the root; many are reached by several
 *   paths (diamonds).
 * - relations DISTILLED (≈ 60 %, with a method), FINETUNED, MERGED, QUANTIZED.
 * Licences, as the application stores them:
 * - 64 organizations own the models (the root's is its own "student" lab);
 * - every model with children has one ACTIVE offer ("standard", version 1)
 *   whose canonical terms come from a licence family (Llama-like, Gemma-like,
 *   Qwen-like, permissive, OpenRAIL-like, research-only, reciprocal,
 *   proprietary with the vendor's own attribution) and a royalty variant
 *   (LAP 0/2/5/10/20 bps or LRP 100/250 bps), with one of six pricings; the
 *   terms hash is the real one (`hashCanonical`);
 * - one ACTIVE agreement per (parent model, child's organization), with the
 *   offer's terms and pricing as snapshots;
 * - each edge references the agreement of its child's organization on its
 *   parent, with its terms hash, royalty policy and share copied, as
 *   registerStudentModel writes them.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { canonicalTerms, hashCanonical } from '../../src/licensing/terms/canonical-terms';
import {
  AttributionPlacement,
  CanonicalPricing,
  CanonicalTerms,
  NamingRule,
  OutputTraining,
  PricingInput,
  RoyaltyPolicy,
  TermsInput,
  ThresholdEffect,
  ThresholdMetric,
} from '../../src/licensing/terms/terms.types';
import { neutralTerms, prng } from '../../test/fixtures/lineage.fixtures';

export interface SeededLineage {
  rootId: string;
  rootName: string;
  ancestors: number;
  /** Edges of the measured lineage (child is the root or one of its ancestors). */
  edges: number;
  /** Edges into the root. */
  rootParents: number;
  /** Distinct agreements / distinct terms hashes referenced by the measured lineage. */
  agreements: number;
  termsHashes: number;
  /** Longest chain of edges above the root. */
  depth: number;
  /** What the royalty stack must total (computed here independently, from the generated edges). */
  expectedTotalBps: number;
  /** Whole database, for the log. */
  totalModels: number;
  totalEdges: number;
  totalAgreements: number;
  /** Mean size of a terms snapshot as stored (JSON text, bytes). */
  meanTermsBytes: number;
}

const ORGS = 64;
const FAMILIES = ['llama', 'gemma', 'qwen', 'permissive', 'openrail', 'research', 'reciprocal', 'proprietary'] as const;
type Family = (typeof FAMILIES)[number];
/** Relative frequency of each licence family among offers. */
const FAMILY_WEIGHTS: Record<Family, number> = { llama: 18, gemma: 10, qwen: 8, permissive: 22, openrail: 12, research: 6, reciprocal: 6, proprietary: 18 };
const ROYALTIES: Array<{ policy: RoyaltyPolicy; shareBps: number; weight: number }> = [
  { policy: RoyaltyPolicy.LAP, shareBps: 0, weight: 45 },
  { policy: RoyaltyPolicy.LAP, shareBps: 2, weight: 15 },
  { policy: RoyaltyPolicy.LAP, shareBps: 5, weight: 12 },
  { policy: RoyaltyPolicy.LAP, shareBps: 10, weight: 8 },
  { policy: RoyaltyPolicy.LAP, shareBps: 20, weight: 4 },
  { policy: RoyaltyPolicy.LRP, shareBps: 100, weight: 10 },
  { policy: RoyaltyPolicy.LRP, shareBps: 250, weight: 6 },
];
const PRICINGS: PricingInput[] = [
  { currency: 'USD', upfrontFeeMinor: '0', inputPerMillionMinor: '150', outputPerMillionMinor: '600', minimumCommitmentMinor: '0', poolEligible: true },
  { currency: 'USD', upfrontFeeMinor: '500000', inputPerMillionMinor: '300', outputPerMillionMinor: '1200', minimumCommitmentMinor: '1000000', poolEligible: false },
  { currency: 'EUR', upfrontFeeMinor: '0', inputPerMillionMinor: '90', outputPerMillionMinor: '360', minimumCommitmentMinor: '0', poolEligible: true },
  { currency: 'EUR', upfrontFeeMinor: '2500000', inputPerMillionMinor: '500', outputPerMillionMinor: '2000', minimumCommitmentMinor: '5000000', poolEligible: false },
  { currency: 'GBP', upfrontFeeMinor: '100000', inputPerMillionMinor: '120', outputPerMillionMinor: '480', minimumCommitmentMinor: '0', poolEligible: true },
  { currency: 'JPY', upfrontFeeMinor: '0', inputPerMillionMinor: '20000', outputPerMillionMinor: '80000', minimumCommitmentMinor: '0', poolEligible: true },
];

const LLAMA_NOTICE =
  'Llama 3.1 is licensed under the Llama 3.1 Community License, Copyright © Meta Platforms, Inc. All Rights Reserved.\n' +
  'If you distribute or make available the Llama Materials (or any derivative works thereof), or a product or service that uses any of them, ' +
  'you shall provide a copy of this Agreement with any such Llama Materials and prominently display "Built with Llama".';
const GEMMA_NOTICE =
  'Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms.\n' +
  'Use restrictions of the Gemma Prohibited Use Policy apply to all derivatives and must be passed on to downstream users.';

function familyTerms(family: Family, vendorName: string): Omit<TermsInput, 'royalty'> {
  // The fixtures' neutral terms (permissive, nothing flows down), without the royalty each offer sets.
  const { royalty: _royalty, ...base } = neutralTerms();
  switch (family) {
    case 'llama':
      return {
        ...base,
        outputTraining: OutputTraining.PERMITTED_WITH_CONDITIONS,
        attribution: { displayString: 'Built with Llama', placements: [AttributionPlacement.MODEL_CARD, AttributionPlacement.PRODUCT_UI, AttributionPlacement.WEBSITE], noticeText: LLAMA_NOTICE },
        naming: { rule: NamingRule.PREFIX_REQUIRED, token: 'Llama' },
        inheritance: { copyLicence: true, useRestrictionsFlowDown: true, reciprocal: false },
        thresholds: [{ metric: ThresholdMetric.MONTHLY_ACTIVE_USERS, value: '700000000', effect: ThresholdEffect.SEPARATE_LICENSE_REQUIRED }],
        acceptableUsePolicyUrl: 'https://llama.example/use-policy',
        governingLaw: 'California, USA',
        termDays: 365,
      };
    case 'gemma':
      return {
        ...base,
        outputTraining: OutputTraining.PERMITTED_WITH_CONDITIONS,
        attribution: { displayString: 'Gemma is provided under and subject to the Gemma Terms of Use', placements: [AttributionPlacement.NOTICE_FILE, AttributionPlacement.MODEL_CARD], noticeText: GEMMA_NOTICE },
        naming: { rule: NamingRule.NOT_PRIMARY, token: 'Gemma' },
        inheritance: { copyLicence: true, useRestrictionsFlowDown: true, reciprocal: false },
        acceptableUsePolicyUrl: 'https://gemma.example/prohibited-use-policy',
        governingLaw: 'California, USA',
      };
    case 'qwen':
      return {
        ...base,
        outputTraining: OutputTraining.PERMITTED_WITH_CONDITIONS,
        attribution: { displayString: 'Built with Qwen', placements: [AttributionPlacement.MODEL_CARD, AttributionPlacement.DOCUMENTATION], noticeText: 'Qwen is licensed under the Qwen LICENSE AGREEMENT, Copyright (c) Alibaba Cloud.' },
        naming: { rule: NamingRule.PREFIX_REQUIRED, token: 'Qwen' },
        inheritance: { copyLicence: true, useRestrictionsFlowDown: false, reciprocal: false },
        thresholds: [{ metric: ThresholdMetric.MONTHLY_ACTIVE_USERS, value: '100000000', effect: ThresholdEffect.SEPARATE_LICENSE_REQUIRED }],
        governingLaw: 'People’s Republic of China',
      };
    case 'permissive':
      return { ...base, governingLaw: null, termDays: null };
    case 'openrail':
      return {
        ...base,
        outputTraining: OutputTraining.NON_COMPETING_ONLY,
        inheritance: { copyLicence: true, useRestrictionsFlowDown: true, reciprocal: false },
        territory: { excludedCountries: ['KP', 'IR', 'SY', 'CU'], endUsersExempt: false },
        acceptableUsePolicyUrl: 'https://openrail.example/use-restrictions-attachment-a',
        limits: { tokensPerPeriod: '5000000000', tokensPerMinute: '400000' },
      };
    case 'research':
      return {
        ...base,
        outputTraining: OutputTraining.PRIOR_AUTHORIZATION,
        commercialUse: false,
        researchOnly: true,
        attribution: { displayString: `© ${vendorName}, research licence (non-commercial)`, placements: [AttributionPlacement.MODEL_CARD], noticeText: `Licensed by ${vendorName} for non-commercial research only.` },
        inheritance: { copyLicence: false, useRestrictionsFlowDown: true, reciprocal: false },
        termDays: 180,
        governingLaw: 'England and Wales',
      };
    case 'reciprocal':
      return {
        ...base,
        attribution: { displayString: `Open weights by ${vendorName}`, placements: [AttributionPlacement.MODEL_CARD], noticeText: null },
        inheritance: { copyLicence: true, useRestrictionsFlowDown: false, reciprocal: true },
        governingLaw: 'Germany',
      };
    case 'proprietary':
      return {
        ...base,
        outputTraining: OutputTraining.PRIOR_AUTHORIZATION,
        attribution: { displayString: `Distilled from ${vendorName} models`, placements: [AttributionPlacement.MODEL_CARD, AttributionPlacement.DOCUMENTATION], noticeText: `${vendorName} models are used under licence. All rights reserved.` },
        inheritance: { copyLicence: false, useRestrictionsFlowDown: false, reciprocal: false },
        territory: { excludedCountries: ['CU', 'IR', 'KP', 'RU', 'SY'], endUsersExempt: false },
        thresholds: [{ metric: ThresholdMetric.MONTHLY_REVENUE, value: '100000000', effect: ThresholdEffect.NOTICE_REQUIRED }],
        termDays: 365,
        governingLaw: 'Delaware, USA',
        limits: { tokensPerPeriod: '1000000000', tokensPerMinute: '200000' },
      };
  }
}

function weighted<T extends { weight: number }>(items: readonly T[], r: number): T {
  const total = items.reduce((s, x) => s + x.weight, 0);
  let x = r * total;
  for (const it of items) {
    if ((x -= it.weight) < 0) return it;
  }
  return items[items.length - 1];
}

/** Layer sizes (root excluded) for `n` ancestors: the 1,024 shape, scaled. */
function layerSizes(n: number): number[] {
  const shape = [4, 8, 14, 24, 40, 64, 96, 128, 160, 180, 160, 146];
  const total = shape.reduce((a, b) => a + b, 0);
  const sizes = shape.map((s) => Math.max(1, Math.floor((s * n) / total)));
  let sum = sizes.reduce((a, b) => a + b, 0);
  for (let i = sizes.length - 1; sum !== n; i = (i - 1 + sizes.length) % sizes.length) {
    if (sum < n) (sizes[i]++, sum++);
    else if (sizes[i] > 1) (sizes[i]--, sum--);
  }
  return sizes;
}

interface GenModel {
  id: string;
  org: number;
  layer: number;
  name: string;
  slug: string;
}
interface GenEdge {
  child: number;
  parent: number;
}

/** One lineage: models[0] is the root; returns indices into `models` (offset added by the caller). */
function generateDag(ancestors: number, rand: () => number): { layers: number[][]; edges: GenEdge[] } {
  const sizes = layerSizes(ancestors);
  const layers: number[][] = [[0]];
  let next = 1;
  for (const s of sizes) {
    layers.push(Array.from({ length: s }, () => next++));
  }
  const parentsOf = new Map<number, Set<number>>();
  const add = (child: number, parent: number) => {
    let s = parentsOf.get(child);
    if (!s) parentsOf.set(child, (s = new Set()));
    if (s.has(parent)) return false;
    s.add(parent);
    return true;
  };
  const count = (child: number) => parentsOf.get(child)?.size ?? 0;
  // Every node above the root gets one child below it (usually the layer just below, sometimes two down),
  // preferring children with few parents: all nodes are ancestors of the root.
  for (let l = 1; l < layers.length; l++) {
    for (const p of layers[l]) {
      const down = l >= 2 && rand() < 0.12 ? 2 : 1;
      const candidates = layers[l - down];
      let best = candidates[Math.floor(rand() * candidates.length)];
      for (let k = 0; k < 3; k++) {
        const c = candidates[Math.floor(rand() * candidates.length)];
        if (count(c) < count(best)) best = c;
      }
      if (count(best) >= 4) {
        const free = candidates.find((c) => count(c) < 4);
        if (free !== undefined) best = free;
      }
      add(best, p);
    }
  }
  // Top every node below the top layer up to its target number of parents (1–4; the root 4).
  const top = layers.length - 1;
  for (let l = 0; l < top; l++) {
    for (const c of layers[l]) {
      const r = rand();
      const target = c === 0 ? 4 : r < 0.25 ? 1 : r < 0.6 ? 2 : r < 0.85 ? 3 : 4;
      for (let tries = 0; count(c) < target && tries < 20; tries++) {
        const u = rand();
        const up = Math.min(top - l, u < 0.8 ? 1 : u < 0.95 ? 2 : 3);
        const layer = layers[l + up];
        add(c, layer[Math.floor(rand() * layer.length)]);
      }
    }
  }
  const edges: GenEdge[] = [];
  for (const [child, ps] of parentsOf) for (const parent of ps) edges.push({ child, parent });
  return { layers, edges };
}

const ADJECTIVES = ['Swift', 'Tiny', 'Deep', 'Bright', 'Silent', 'Nimble', 'Keen', 'Lucid', 'Brisk', 'Clever', 'Vivid', 'Steady'];
const NOUNS = ['Falcon', 'Otter', 'Heron', 'Lynx', 'Marten', 'Ibis', 'Wren', 'Orca', 'Puma', 'Kestrel', 'Tern', 'Vole'];

export async function seedLineage(url: string, options: { ancestors: number; noise: number; seed: number }): Promise<SeededLineage> {
  const rand = prng(options.seed);
  const orgIds = Array.from({ length: ORGS + 1 }, () => randomUUID());
  const orgName = (o: number) => (o === ORGS ? 'Student Lab' : `${ADJECTIVES[o % ADJECTIVES.length]} ${NOUNS[Math.floor(o / ADJECTIVES.length) % NOUNS.length]} AI`);

  const models: GenModel[] = [];
  const edges: GenEdge[] = [];
  let rootIndex = -1;
  let measured: { layers: number[][]; edges: GenEdge[]; offset: number } | null = null;
  for (let g = 0; g <= options.noise; g++) {
    const dag = generateDag(options.ancestors, rand);
    const offset = models.length;
    dag.layers.forEach((layer, l) => {
      for (const i of layer) {
        const k = offset + i;
        const isRoot = g === 0 && i === 0;
        const word = `${ADJECTIVES[Math.floor(rand() * ADJECTIVES.length)]}${NOUNS[Math.floor(rand() * NOUNS.length)]}`;
        models.push({
          id: randomUUID(),
          org: isRoot ? ORGS : Math.floor(rand() * ORGS),
          layer: l,
          name: isRoot ? 'Llama-Swift-Student-8B' : `${word}-${k}-${[1, 3, 7, 8, 13, 34, 70][Math.floor(rand() * 7)]}B`,
          slug: `m-${k}`,
        });
      }
    });
    for (const e of dag.edges) edges.push({ child: offset + e.child, parent: offset + e.parent });
    if (g === 0) {
      rootIndex = offset;
      measured = { ...dag, offset };
    }
  }

  // One offer per model with children; canonical terms and the real hash.
  const hasChildren = new Set(edges.map((e) => e.parent));
  interface Offer {
    id: string;
    model: number;
    terms: CanonicalTerms;
    pricing: CanonicalPricing;
    hash: string;
    json: string;
    pricingJson: string;
  }
  const offers = new Map<number, Offer>();
  const familyItems = FAMILIES.map((f) => ({ f, weight: FAMILY_WEIGHTS[f] }));
  for (const m of hasChildren) {
    const family = weighted(familyItems, rand()).f;
    const royalty = weighted(ROYALTIES, rand());
    const canonical = canonicalTerms(
      { ...familyTerms(family, orgName(models[m].org)), royalty: { policy: royalty.policy, shareBps: royalty.shareBps } },
      PRICINGS[Math.floor(rand() * PRICINGS.length)],
    );
    offers.set(m, {
      id: randomUUID(),
      model: m,
      terms: canonical.terms,
      pricing: canonical.pricing,
      hash: hashCanonical(canonical),
      json: JSON.stringify(canonical.terms),
      pricingJson: JSON.stringify(canonical.pricing),
    });
  }
  // One agreement per (parent model, child's organization).
  const agreements = new Map<string, { id: string; offer: Offer; distillerOrg: number }>();
  const edgeAgreement: string[] = [];
  for (const e of edges) {
    const key = `${e.parent}:${models[e.child].org}`;
    let a = agreements.get(key);
    if (!a) agreements.set(key, (a = { id: randomUUID(), offer: offers.get(e.parent)!, distillerOrg: models[e.child].org }));
    edgeAgreement.push(a.id);
  }

  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(`INSERT INTO organizations (id, name, country) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])`, [
      orgIds,
      orgIds.map((_, o) => orgName(o)),
      orgIds.map((_, o) => ['US', 'FR', 'DE', 'GB', 'JP', 'CN', 'CA', 'KR'][o % 8]),
    ]);
    const card = (m: GenModel, i: number) =>
      JSON.stringify({
        summary: `${m.name}: a ${m.layer === 0 ? 'student' : 'teacher'} model of generation ${m.layer}, distilled and fine-tuned for general assistance.`,
        parameterCount: String(1_000_000_000 * (1 + (i % 70))),
        modalities: ['TEXT'],
        contextLength: [8192, 32768, 131072][i % 3],
        languages: ['en', 'fr', 'de', 'zh'].slice(0, 1 + (i % 4)),
        trainingDataSummary: 'Licensed teacher outputs and public web text, deduplicated and filtered.',
        evaluations: [
          { benchmark: 'MMLU', metric: 'accuracy', value: 0.5 + (i % 40) / 100 },
          { benchmark: 'GSM8K', metric: 'accuracy', value: 0.3 + (i % 50) / 100 },
        ],
        intendedUses: ['chat assistants', 'summarisation'],
        limitations: ['may produce incorrect answers'],
        baseModels: [],
      });
    await c.query(
      `INSERT INTO models (id, organization_id, slug, name, card, parameter_count, modalities, status, listed_at, weights_digest, commercial_use)
       SELECT id, org, slug, name, card::jsonb, ((card::jsonb)->>'parameterCount')::bigint, ARRAY['TEXT'], 'LISTED', now(),
              'sha256:' || encode(sha256(convert_to(id::text, 'UTF8')), 'hex'), commercial
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::boolean[]) AS t(id, org, slug, name, card, commercial)`,
      [
        models.map((m) => m.id),
        models.map((m) => orgIds[m.org]),
        models.map((m) => m.slug),
        models.map((m) => m.name),
        models.map((m, i) => card(m, i)),
        models.map((_, i) => i === rootIndex || rand() < 0.9),
      ],
    );
    const offerList = [...offers.values()];
    await c.query(
      `INSERT INTO license_offers (id, model_id, organization_id, name, version, terms, pricing, terms_hash, currency, upfront_fee_minor,
                                   input_per_million_minor, output_per_million_minor, minimum_commitment_minor, pool_eligible, status)
       SELECT id, model_id, org, 'standard', 1, terms::jsonb, pricing::jsonb, hash, (pricing::jsonb)->>'currency',
              ((pricing::jsonb)->>'upfrontFeeMinor')::bigint, ((pricing::jsonb)->>'inputPerMillionMinor')::bigint,
              ((pricing::jsonb)->>'outputPerMillionMinor')::bigint, ((pricing::jsonb)->>'minimumCommitmentMinor')::bigint,
              ((pricing::jsonb)->>'poolEligible')::boolean, 'ACTIVE'
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[]) AS t(id, model_id, org, terms, pricing, hash)`,
      [
        offerList.map((o) => o.id),
        offerList.map((o) => models[o.model].id),
        offerList.map((o) => orgIds[models[o.model].org]),
        offerList.map((o) => o.json),
        offerList.map((o) => o.pricingJson),
        offerList.map((o) => o.hash),
      ],
    );
    const agreementList = [...agreements.values()];
    await c.query(
      `INSERT INTO license_agreements (id, offer_id, model_id, vendor_organization_id, distiller_organization_id, accepted_at, terms_snapshot,
                                       pricing_snapshot, terms_hash, status, status_changed_at, starts_at, ends_at)
       SELECT t.id, o.id, o.model_id, o.organization_id, t.distiller, now() - interval '30 days', o.terms, o.pricing, o.terms_hash,
              'ACTIVE', now() - interval '30 days', now() - interval '30 days', now() + interval '335 days'
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS t(id, offer_id, distiller)
         JOIN license_offers o ON o.id = t.offer_id`,
      [agreementList.map((a) => a.id), agreementList.map((a) => a.offer.id), agreementList.map((a) => orgIds[a.distillerOrg])],
    );
    // Edges as registerStudentModel writes them: the agreement's terms hash and royalty copied.
    const relations = edges.map(() => {
      const r = rand();
      return r < 0.6 ? 'DISTILLED' : r < 0.8 ? 'FINETUNED' : r < 0.9 ? 'MERGED' : 'QUANTIZED';
    });
    await c.query(
      `INSERT INTO model_lineage_edges (child_model_id, parent_model_id, agreement_id, relation, method, data_share_bps, terms_hash, royalty_policy, royalty_share_bps)
       SELECT t.child, t.parent, a.id, t.relation, t.method, t.data_share, a.terms_hash, a.terms_snapshot->'royalty'->>'policy',
              (a.terms_snapshot->'royalty'->>'shareBps')::int
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[]) AS t(child, parent, agreement, relation, method, data_share)
         JOIN license_agreements a ON a.id = t.agreement`,
      [
        edges.map((e) => models[e.child].id),
        edges.map((e) => models[e.parent].id),
        edgeAgreement,
        relations,
        relations.map((r) => (r === 'DISTILLED' ? ['LOGITS', 'SEQUENCES', 'SYNTHETIC_DATA'][Math.floor(rand() * 3)] : null)),
        relations.map((r) => (r === 'MERGED' ? 2500 + Math.floor(rand() * 5000) : null)),
      ],
    );
    await c.query('COMMIT');
    await c.query('ANALYZE');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await c.end();
  }

  // Independent expectations for the measured lineage.
  const m = measured!;
  const inLineage = new Set<number>();
  for (const layer of m.layers) for (const i of layer) inLineage.add(m.offset + i);
  const lineageEdges = edges.map((e, k) => ({ ...e, agreement: edgeAgreement[k] })).filter((e) => inLineage.has(e.child));
  const lap = new Map<number, number>();
  const lrp = new Map<number, number>();
  for (const e of lineageEdges) {
    const { policy, shareBps } = offers.get(e.parent)!.terms.royalty;
    if (policy === RoyaltyPolicy.LAP) lap.set(e.parent, Math.max(lap.get(e.parent) ?? 0, shareBps));
    else if (e.child === rootIndex) lrp.set(e.parent, Math.max(lrp.get(e.parent) ?? 0, shareBps));
  }
  const sum = (x: Map<number, number>) => [...x.values()].reduce((a, b) => a + b, 0);
  const distinctAgreements = new Set(lineageEdges.map((e) => e.agreement));
  const distinctHashes = new Set(lineageEdges.map((e) => offers.get(e.parent)!.hash));
  // Longest chain above the root.
  const longest = new Map<number, number>();
  const parents = new Map<number, number[]>();
  for (const e of lineageEdges) parents.set(e.child, [...(parents.get(e.child) ?? []), e.parent]);
  for (let l = m.layers.length - 1; l >= 0; l--) {
    for (const i of m.layers[l]) {
      const k = m.offset + i;
      longest.set(k, Math.max(0, ...(parents.get(k) ?? []).map((p) => longest.get(p)! + 1)));
    }
  }
  const termsBytes = lineageEdges.map((e) => Buffer.byteLength(offers.get(e.parent)!.json));
  return {
    rootId: models[rootIndex].id,
    rootName: models[rootIndex].name,
    ancestors: inLineage.size - 1,
    edges: lineageEdges.length,
    rootParents: lineageEdges.filter((e) => e.child === rootIndex).length,
    agreements: distinctAgreements.size,
    termsHashes: distinctHashes.size,
    depth: longest.get(rootIndex)!,
    expectedTotalBps: sum(lap) + sum(lrp),
    totalModels: models.length,
    totalEdges: edges.length,
    totalAgreements: agreements.size,
    meanTermsBytes: Math.round(termsBytes.reduce((a, b) => a + b, 0) / termsBytes.length),
  };
}
