/**
 * One canonical form of an offer's terms and pricing, so that equal terms always
 * hash equally: every field explicit (null when absent), money and large counts
 * as decimal strings of integers, strings trimmed and NFC-normalised, and the
 * lists whose order carries no meaning (excluded countries, attribution
 * placements, thresholds) sorted and de-duplicated. The hash is SHA-256 (hex)
 * of the RFC 8785 (JCS) serialisation of `{ terms, pricing }`.
 */
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { CanonicalPricing, CanonicalTerms, NamingRule, PricingInput, TermsInput } from './terms.types';

const text = (s: string): string => s.normalize('NFC').trim();
const optText = (s: string | null | undefined): string | null => {
  if (s === null || s === undefined) return null;
  const t = text(s);
  return t === '' ? null : t;
};
/** Decimal string of an integer (throws on anything else: validate first). */
const dec = (v: string | bigint): string => BigInt(typeof v === 'string' ? v.trim() : v).toString();
const optDec = (v: string | bigint | null | undefined): string | null => (v === null || v === undefined ? null : dec(v));
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const sortedSet = <T extends string>(xs: readonly T[] | null | undefined): T[] => [...new Set(xs ?? [])].sort(cmp);

export function canonicalTerms(terms: TermsInput, pricing: PricingInput): { terms: CanonicalTerms; pricing: CanonicalPricing } {
  const namingRule = terms.naming?.rule ?? NamingRule.NONE;
  const thresholds = (terms.thresholds ?? []).map((t) => ({ metric: t.metric, value: dec(t.value), effect: t.effect }));
  thresholds.sort((a, b) => {
    if (a.metric !== b.metric) return cmp(a.metric, b.metric);
    const va = BigInt(a.value);
    const vb = BigInt(b.value);
    if (va !== vb) return va < vb ? -1 : 1;
    return cmp(a.effect, b.effect);
  });
  const uniqueThresholds = thresholds.filter(
    (t, i) => i === 0 || !(t.metric === thresholds[i - 1].metric && t.value === thresholds[i - 1].value && t.effect === thresholds[i - 1].effect),
  );
  return {
    terms: {
      outputTraining: terms.outputTraining,
      distillationIsDerivative: terms.distillationIsDerivative,
      commercialUse: terms.commercialUse,
      researchOnly: terms.researchOnly,
      attribution: terms.attribution
        ? {
            displayString: text(terms.attribution.displayString),
            placements: sortedSet(terms.attribution.placements),
            noticeText: optText(terms.attribution.noticeText),
          }
        : null,
      // A token means nothing without a naming rule.
      naming: { rule: namingRule, token: namingRule === NamingRule.NONE ? null : optText(terms.naming?.token) },
      inheritance: {
        copyLicence: terms.inheritance.copyLicence,
        useRestrictionsFlowDown: terms.inheritance.useRestrictionsFlowDown,
        reciprocal: terms.inheritance.reciprocal,
      },
      thresholds: uniqueThresholds,
      territory: {
        excludedCountries: sortedSet(terms.territory?.excludedCountries),
        endUsersExempt: terms.territory?.endUsersExempt ?? false,
      },
      acceptableUsePolicyUrl: optText(terms.acceptableUsePolicyUrl),
      termDays: terms.termDays ?? null,
      governingLaw: optText(terms.governingLaw),
      royalty: { policy: terms.royalty.policy, shareBps: terms.royalty.shareBps },
      limits: { tokensPerPeriod: optDec(terms.limits?.tokensPerPeriod), tokensPerMinute: optDec(terms.limits?.tokensPerMinute) },
      watermarkRequired: terms.watermarkRequired,
    },
    pricing: {
      currency: text(pricing.currency),
      upfrontFeeMinor: dec(pricing.upfrontFeeMinor),
      inputPerMillionMinor: dec(pricing.inputPerMillionMinor),
      outputPerMillionMinor: dec(pricing.outputPerMillionMinor),
      minimumCommitmentMinor: dec(pricing.minimumCommitmentMinor),
      poolEligible: pricing.poolEligible,
    },
  };
}

/** SHA-256 (hex) of the RFC 8785 JSON of an already-canonical `{ terms, pricing }`. */
export function hashCanonical(canonical: { terms: CanonicalTerms; pricing: CanonicalPricing }): string {
  const json = canonicalize({ terms: canonical.terms, pricing: canonical.pricing });
  if (json === undefined) throw new Error('terms are not serialisable');
  return createHash('sha256').update(json, 'utf8').digest('hex');
}

/** The offer's `termsHash`: canonicalise, then hash. */
export function termsHash(terms: TermsInput, pricing: PricingInput): string {
  return hashCanonical(canonicalTerms(terms, pricing));
}
