import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { canonicalTerms, termsHash } from './canonical-terms';
import { samplePricing, sampleTerms } from '../../../test/fixtures/terms.fixtures';
import { AttributionPlacement, NamingRule, OutputTraining, RoyaltyPolicy, TermsInput, ThresholdEffect, ThresholdMetric } from './terms.types';

const SEED = 20_260_101;
const COUNTRIES = ['KP', 'CU', 'IR', 'SY', 'RU', 'BY', 'VE', 'MM', 'CN', 'US', 'FR', 'DE'];

/** Rebuilds every object with its keys in a pseudo-random order (arrays keep their order). */
function shuffleKeys<T>(value: T, seed: number): T {
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object' || typeof v === 'bigint') return v;
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i > 0; i--) {
      const j = next() % (i + 1);
      [keys[i], keys[j]] = [keys[j], keys[i]];
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = walk((v as Record<string, unknown>)[k]);
    return out;
  };
  return walk(value) as T;
}

describe('canonicalTerms / termsHash', () => {
  it('matches a fixed vector (RFC 8785 JSON of {terms, pricing}, SHA-256 hex)', () => {
    const json = canonicalize(canonicalTerms(sampleTerms(), samplePricing()));
    expect(json).toBe(
      '{"pricing":{"currency":"USD","inputPerMillionMinor":"150","minimumCommitmentMinor":"0","outputPerMillionMinor":"600","poolEligible":true,"upfrontFeeMinor":"0"},' +
        '"terms":{"acceptableUsePolicyUrl":"https://llama.example/use-policy","attribution":{"displayString":"Built with Llama","noticeText":"Llama 3.1 is licensed under the Llama 3.1 Community License.","placements":["MODEL_CARD","WEBSITE"]},' +
        '"commercialUse":true,"distillationIsDerivative":true,"governingLaw":"California, USA","inheritance":{"copyLicence":true,"reciprocal":false,"useRestrictionsFlowDown":true},' +
        '"limits":{"tokensPerMinute":"200000","tokensPerPeriod":"1000000000"},"naming":{"rule":"PREFIX_REQUIRED","token":"Llama"},"outputTraining":"PERMITTED_WITH_CONDITIONS",' +
        '"researchOnly":false,"royalty":{"policy":"LAP","shareBps":500},"termDays":365,"territory":{"endUsersExempt":false,"excludedCountries":["CU","IR","KP"]},' +
        '"thresholds":[{"effect":"SEPARATE_LICENSE_REQUIRED","metric":"MONTHLY_ACTIVE_USERS","value":"700000000"},{"effect":"NOTICE_REQUIRED","metric":"MONTHLY_REVENUE","value":"100000000"}],' +
        '"watermarkRequired":false}}',
    );
    expect(termsHash(sampleTerms(), samplePricing())).toBe('e5a8777cbcea842ce8f0e88bbca737770b239c2653b684a069b84ce432b9ae79');
  });

  it('repeating excludedCountries (in any order) never changes the hash', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...COUNTRIES), { maxLength: 30 }), (xs) => {
        const set = [...new Set(xs)].sort();
        const a = termsHash({ ...sampleTerms(), territory: { excludedCountries: xs, endUsersExempt: false } }, samplePricing());
        const b = termsHash({ ...sampleTerms(), territory: { excludedCountries: set, endUsersExempt: false } }, samplePricing());
        expect(a).toBe(b);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('excludedCountries in any order (fast-check permutation) hash equally', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...COUNTRIES), { minLength: 1 }).chain((xs) => fc.tuple(fc.constant(xs), fc.shuffledSubarray(xs, { minLength: xs.length }))),
        ([xs, perm]) => {
          const a = termsHash({ ...sampleTerms(), territory: { excludedCountries: xs } }, samplePricing());
          const b = termsHash({ ...sampleTerms(), territory: { excludedCountries: perm } }, samplePricing());
          expect(b).toBe(a);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('object key order never changes the hash', () => {
    const expected = termsHash(sampleTerms(), samplePricing());
    fc.assert(
      fc.property(fc.integer(), fc.integer(), (s1, s2) => {
        expect(termsHash(shuffleKeys(sampleTerms(), s1), shuffleKeys(samplePricing(), s2))).toBe(expected);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('placements and thresholds are sets: order and repeats do not matter', () => {
    const t = sampleTerms();
    const reordered: TermsInput = {
      ...t,
      attribution: { ...t.attribution!, placements: [AttributionPlacement.MODEL_CARD, AttributionPlacement.WEBSITE, AttributionPlacement.MODEL_CARD] },
      thresholds: [...t.thresholds!].reverse().concat([t.thresholds![0]]),
    };
    expect(termsHash(reordered, samplePricing())).toBe(termsHash(t, samplePricing()));
  });

  it('changing shareBps always changes the hash', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), (a, b) => {
        fc.pre(a !== b);
        const ha = termsHash({ ...sampleTerms(), royalty: { policy: RoyaltyPolicy.LAP, shareBps: a } }, samplePricing());
        const hb = termsHash({ ...sampleTerms(), royalty: { policy: RoyaltyPolicy.LAP, shareBps: b } }, samplePricing());
        expect(ha).not.toBe(hb);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('any change of a field changes the hash (and every variant differs from the others)', () => {
    const t = sampleTerms();
    const p = samplePricing();
    const variants: [string, TermsInput, typeof p][] = [
      ['base', t, p],
      ['outputTraining', { ...t, outputTraining: OutputTraining.PERMITTED }, p],
      ['distillationIsDerivative', { ...t, distillationIsDerivative: false }, p],
      ['commercialUse', { ...t, commercialUse: false }, p],
      ['researchOnly', { ...t, researchOnly: true, commercialUse: true }, p],
      ['attribution', { ...t, attribution: null }, p],
      ['attribution.displayString', { ...t, attribution: { ...t.attribution!, displayString: 'Built with LLaMA' } }, p],
      ['attribution.placements', { ...t, attribution: { ...t.attribution!, placements: [AttributionPlacement.WEBSITE] } }, p],
      ['attribution.noticeText', { ...t, attribution: { ...t.attribution!, noticeText: null } }, p],
      ['naming.rule', { ...t, naming: { rule: NamingRule.NOT_PRIMARY, token: 'Llama' } }, p],
      ['naming.token', { ...t, naming: { rule: NamingRule.PREFIX_REQUIRED, token: 'Llama3' } }, p],
      ['inheritance.copyLicence', { ...t, inheritance: { ...t.inheritance, copyLicence: false } }, p],
      ['inheritance.useRestrictionsFlowDown', { ...t, inheritance: { ...t.inheritance, useRestrictionsFlowDown: false } }, p],
      ['inheritance.reciprocal', { ...t, inheritance: { ...t.inheritance, reciprocal: true } }, p],
      ['thresholds.value', { ...t, thresholds: [{ ...t.thresholds![0], value: '100000001' }, t.thresholds![1]] }, p],
      ['thresholds.effect', { ...t, thresholds: [{ ...t.thresholds![0], effect: ThresholdEffect.LICENSE_TERMINATES }, t.thresholds![1]] }, p],
      ['thresholds.metric', { ...t, thresholds: [{ ...t.thresholds![0], metric: ThresholdMetric.MONTHLY_ACTIVE_USERS }, t.thresholds![1]] }, p],
      ['territory.excludedCountries', { ...t, territory: { excludedCountries: ['KP', 'CU'], endUsersExempt: false } }, p],
      ['territory.endUsersExempt', { ...t, territory: { ...t.territory, endUsersExempt: true } }, p],
      ['acceptableUsePolicyUrl', { ...t, acceptableUsePolicyUrl: 'https://llama.example/aup' }, p],
      ['termDays', { ...t, termDays: 366 }, p],
      ['termDays null', { ...t, termDays: null }, p],
      ['governingLaw', { ...t, governingLaw: 'Ireland' }, p],
      ['royalty.policy', { ...t, royalty: { policy: RoyaltyPolicy.LRP, shareBps: 500 } }, p],
      ['royalty.shareBps', { ...t, royalty: { policy: RoyaltyPolicy.LAP, shareBps: 501 } }, p],
      ['limits.tokensPerPeriod', { ...t, limits: { ...t.limits, tokensPerPeriod: '1000000001' } }, p],
      ['limits.tokensPerMinute', { ...t, limits: { ...t.limits, tokensPerMinute: null } }, p],
      ['watermarkRequired', { ...t, watermarkRequired: true }, p],
      ['pricing.currency', t, { ...p, currency: 'EUR' }],
      ['pricing.upfrontFeeMinor', t, { ...p, upfrontFeeMinor: '1' }],
      ['pricing.inputPerMillionMinor', t, { ...p, inputPerMillionMinor: '151' }],
      ['pricing.outputPerMillionMinor', t, { ...p, outputPerMillionMinor: '601' }],
      ['pricing.minimumCommitmentMinor', t, { ...p, minimumCommitmentMinor: '100' }],
      ['pricing.poolEligible', t, { ...p, poolEligible: false }],
    ];
    const hashes = new Map<string, string>();
    for (const [name, terms, pricing] of variants) {
      const h = termsHash(terms, pricing);
      expect({ name, duplicateOf: hashes.get(h) }).toEqual({ name, duplicateOf: undefined });
      hashes.set(h, name);
    }
  });

  it('normalises absent optional fields to explicit null and money to plain decimal strings', () => {
    const t = sampleTerms();
    const explicit: TermsInput = { ...t, governingLaw: null, acceptableUsePolicyUrl: null, limits: { tokensPerPeriod: null, tokensPerMinute: null }, naming: { rule: NamingRule.NONE, token: null } };
    const omitted: TermsInput = { ...t };
    delete omitted.governingLaw;
    delete omitted.acceptableUsePolicyUrl;
    delete omitted.limits;
    delete omitted.naming;
    expect(termsHash(omitted, samplePricing())).toBe(termsHash(explicit, samplePricing()));
    const c = canonicalTerms(omitted, samplePricing()).terms;
    expect(c.governingLaw).toBeNull();
    expect(c.limits).toEqual({ tokensPerPeriod: null, tokensPerMinute: null });
    expect(c.naming).toEqual({ rule: NamingRule.NONE, token: null });

    const p = samplePricing();
    expect(termsHash(t, { ...p, inputPerMillionMinor: '0150' })).toBe(termsHash(t, p));
    expect(termsHash(t, { ...p, inputPerMillionMinor: 150n })).toBe(termsHash(t, p));
    expect(canonicalTerms(t, { ...p, upfrontFeeMinor: 9_223_372_036_854_775_807n }).pricing.upfrontFeeMinor).toBe('9223372036854775807');
    // surrounding whitespace is not part of the terms
    expect(termsHash({ ...t, governingLaw: '  California, USA ' }, p)).toBe(termsHash(t, p));
  });
});
