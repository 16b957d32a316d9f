/**
 * The rules an offer's terms and pricing must satisfy, as one pure function
 * returning field-level errors (`terms.royalty.shareBps`, …). The GraphQL input
 * types check the field-local rules first with the same predicates (see
 * dto/license-terms.input.ts); the service always runs `validateOffer`, which
 * also checks the rules that relate several fields.
 */
import type { FieldError } from '../../platform/errors/app-error';
import { decimalIntegerProblem } from '../../platform/validation/decimal-integer';
import { isCountryCode, isCurrencyCode } from '../../platform/validation/iso-codes';
import { MAX_SHARE_BPS, NamingRule, OutputTraining, PricingInput, TermsInput } from './terms.types';

export const MAX_TERM_DAYS = 36_500; // 100 years; longer is "perpetual" (null)
export const MAX_THRESHOLDS = 10;
export const MAX_EXCLUDED_COUNTRIES = 250;

/** An absolute https URL with a host. */
export function isHttpsUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const u = new URL(value.trim());
    return u.protocol === 'https:' && u.hostname !== '' && !u.username && !u.password;
  } catch {
    return false;
  }
}

export const PROHIBITED_MESSAGE =
  'an offer whose licence prohibits training on outputs cannot be sold for distillation; choose NON_COMPETING_ONLY, PRIOR_AUTHORIZATION, PERMITTED_WITH_CONDITIONS or PERMITTED';

export function validateOffer(terms: TermsInput, pricing: PricingInput): FieldError[] {
  const errors: FieldError[] = [];
  const bad = (field: string, message: string) => errors.push({ field, message });
  const amount = (field: string, v: unknown, min: bigint) => {
    const p = decimalIntegerProblem(v, min);
    if (p) bad(field, p);
    return p === null;
  };

  // pricing
  if (!isCurrencyCode(pricing.currency)) bad('pricing.currency', 'must be an ISO 4217 currency code, upper-case (e.g. "USD")');
  amount('pricing.upfrontFeeMinor', pricing.upfrontFeeMinor, 0n);
  amount('pricing.inputPerMillionMinor', pricing.inputPerMillionMinor, 0n);
  amount('pricing.outputPerMillionMinor', pricing.outputPerMillionMinor, 0n);
  amount('pricing.minimumCommitmentMinor', pricing.minimumCommitmentMinor, 0n);

  // what may be done with the teacher's outputs
  if (terms.outputTraining === OutputTraining.PROHIBITED) bad('terms.outputTraining', PROHIBITED_MESSAGE);
  if (terms.researchOnly && terms.commercialUse) {
    bad('terms.commercialUse', 'a research-only licence cannot allow commercial use (set commercialUse to false or researchOnly to false)');
  }

  if (terms.attribution) {
    const d = terms.attribution.displayString;
    if (typeof d !== 'string' || d.trim() === '') bad('terms.attribution.displayString', 'must not be empty');
  }

  const rule = terms.naming?.rule ?? NamingRule.NONE;
  if (rule !== NamingRule.NONE && !terms.naming?.token?.trim()) {
    bad('terms.naming.token', `a token is required when the naming rule is ${rule}`);
  }

  const thresholds = terms.thresholds ?? [];
  if (thresholds.length > MAX_THRESHOLDS) bad('terms.thresholds', `at most ${MAX_THRESHOLDS} thresholds`);
  thresholds.forEach((t, i) => amount(`terms.thresholds.${i}.value`, t.value, 1n));

  const excluded = terms.territory?.excludedCountries ?? [];
  if (excluded.length > MAX_EXCLUDED_COUNTRIES) bad('terms.territory.excludedCountries', `at most ${MAX_EXCLUDED_COUNTRIES} countries`);
  const unknown = excluded.filter((c) => !isCountryCode(c));
  if (unknown.length) {
    bad('terms.territory.excludedCountries', `must be ISO 3166-1 alpha-2 country codes, upper-case (got ${unknown.map((c) => JSON.stringify(c)).join(', ')})`);
  }

  if (terms.acceptableUsePolicyUrl !== null && terms.acceptableUsePolicyUrl !== undefined && !isHttpsUrl(terms.acceptableUsePolicyUrl)) {
    bad('terms.acceptableUsePolicyUrl', 'must be an absolute https:// URL');
  }

  if (terms.termDays !== null && terms.termDays !== undefined) {
    if (!Number.isInteger(terms.termDays) || terms.termDays <= 0) bad('terms.termDays', 'must be a positive whole number of days (or null for no end)');
    else if (terms.termDays > MAX_TERM_DAYS) bad('terms.termDays', `must be at most ${MAX_TERM_DAYS} (or null for no end)`);
  }

  const bps = terms.royalty.shareBps;
  if (!Number.isInteger(bps) || bps < 0 || bps > MAX_SHARE_BPS) {
    bad('terms.royalty.shareBps', `must be a whole number of basis points between 0 and ${MAX_SHARE_BPS}`);
  }

  const perPeriod = terms.limits?.tokensPerPeriod;
  const perMinute = terms.limits?.tokensPerMinute;
  const periodOk = perPeriod === null || perPeriod === undefined || amount('terms.limits.tokensPerPeriod', perPeriod, 1n);
  const minuteOk = perMinute === null || perMinute === undefined || amount('terms.limits.tokensPerMinute', perMinute, 1n);
  if (periodOk && minuteOk && perPeriod != null && perMinute != null && BigInt(perMinute) > BigInt(perPeriod)) {
    bad('terms.limits.tokensPerMinute', 'must not exceed tokensPerPeriod');
  }

  return errors;
}
