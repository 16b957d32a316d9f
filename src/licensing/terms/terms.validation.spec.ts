import { PROHIBITED_MESSAGE, validateOffer } from './terms.validation';
import { samplePricing, sampleTerms } from '../../../test/fixtures/terms.fixtures';
import { NamingRule, OutputTraining, PricingInput, RoyaltyPolicy, TermsInput } from './terms.types';

const fieldsOf = (terms: TermsInput, pricing: PricingInput = samplePricing()) => validateOffer(terms, pricing).map((e) => e.field);

describe('validateOffer', () => {
  it('accepts the sample licence', () => {
    expect(validateOffer(sampleTerms(), samplePricing())).toEqual([]);
  });

  it.each([
    ['-1', 'must not be negative'],
    ['1.5', 'must be an integer'],
    ['1e3', 'must be an integer'],
    ['', 'must be an integer'],
    ['9223372036854775808', 'must be at most 9223372036854775807'],
    ['99999999999999999999999999999999999', 'must be at most'],
  ])('refuses amount %j', (value, message) => {
    const errors = validateOffer(sampleTerms(), { ...samplePricing(), upfrontFeeMinor: value });
    expect(errors).toEqual([{ field: 'pricing.upfrontFeeMinor', message: expect.stringContaining(message) }]);
  });

  it('accepts 2^63-1 and 0', () => {
    expect(validateOffer(sampleTerms(), { ...samplePricing(), upfrontFeeMinor: '9223372036854775807', outputPerMillionMinor: '0' })).toEqual([]);
  });

  it('refuses unknown or lower-case currencies', () => {
    expect(fieldsOf(sampleTerms(), { ...samplePricing(), currency: 'usd' })).toEqual(['pricing.currency']);
    expect(fieldsOf(sampleTerms(), { ...samplePricing(), currency: 'ABC' })).toEqual(['pricing.currency']);
  });

  it.each([-1, 10_001, 1.5])('refuses shareBps %p', (shareBps) => {
    expect(fieldsOf({ ...sampleTerms(), royalty: { policy: RoyaltyPolicy.LRP, shareBps } })).toEqual(['terms.royalty.shareBps']);
  });

  it('accepts shareBps 0 and 10000', () => {
    expect(fieldsOf({ ...sampleTerms(), royalty: { policy: RoyaltyPolicy.LRP, shareBps: 0 } })).toEqual([]);
    expect(fieldsOf({ ...sampleTerms(), royalty: { policy: RoyaltyPolicy.LRP, shareBps: 10_000 } })).toEqual([]);
  });

  it('refuses unknown and lower-case country codes', () => {
    const errors = validateOffer({ ...sampleTerms(), territory: { excludedCountries: ['KP', 'kp', 'XX'] } }, samplePricing());
    expect(errors).toEqual([{ field: 'terms.territory.excludedCountries', message: expect.stringContaining('"kp", "XX"') }]);
  });

  it.each([0, -5, 2.5])('refuses termDays %p', (termDays) => {
    expect(fieldsOf({ ...sampleTerms(), termDays })).toEqual(['terms.termDays']);
  });

  it('allows termDays null (no end)', () => {
    expect(fieldsOf({ ...sampleTerms(), termDays: null })).toEqual([]);
  });

  it('refuses tokensPerMinute above tokensPerPeriod', () => {
    expect(validateOffer({ ...sampleTerms(), limits: { tokensPerPeriod: '1000', tokensPerMinute: '1001' } }, samplePricing())).toEqual([
      { field: 'terms.limits.tokensPerMinute', message: 'must not exceed tokensPerPeriod' },
    ]);
    expect(fieldsOf({ ...sampleTerms(), limits: { tokensPerPeriod: '1000', tokensPerMinute: '1000' } })).toEqual([]);
    expect(fieldsOf({ ...sampleTerms(), limits: { tokensPerPeriod: '0', tokensPerMinute: null } })).toEqual(['terms.limits.tokensPerPeriod']);
  });

  it.each([NamingRule.PREFIX_REQUIRED, NamingRule.NOT_PRIMARY])('requires a token for %s', (rule) => {
    expect(fieldsOf({ ...sampleTerms(), naming: { rule, token: null } })).toEqual(['terms.naming.token']);
    expect(fieldsOf({ ...sampleTerms(), naming: { rule, token: '   ' } })).toEqual(['terms.naming.token']);
    expect(fieldsOf({ ...sampleTerms(), naming: { rule: NamingRule.NONE, token: null } })).toEqual([]);
  });

  it('refuses researchOnly together with commercialUse', () => {
    expect(fieldsOf({ ...sampleTerms(), researchOnly: true, commercialUse: true })).toEqual(['terms.commercialUse']);
    expect(fieldsOf({ ...sampleTerms(), researchOnly: true, commercialUse: false })).toEqual([]);
  });

  it('refuses an offer whose licence prohibits output training', () => {
    expect(validateOffer({ ...sampleTerms(), outputTraining: OutputTraining.PROHIBITED }, samplePricing())).toEqual([
      { field: 'terms.outputTraining', message: PROHIBITED_MESSAGE },
    ]);
  });

  it.each(['http://example.com/aup', 'ftp://example.com', 'not a url', 'https://user:pw@example.com/'])('refuses AUP URL %p', (url) => {
    expect(fieldsOf({ ...sampleTerms(), acceptableUsePolicyUrl: url })).toEqual(['terms.acceptableUsePolicyUrl']);
  });

  it('refuses non-positive threshold values with their index', () => {
    const t = sampleTerms();
    expect(fieldsOf({ ...t, thresholds: [t.thresholds![0], { ...t.thresholds![1], value: '0' }] })).toEqual(['terms.thresholds.1.value']);
  });

  it('reports every problem at once', () => {
    const fields = fieldsOf(
      { ...sampleTerms(), outputTraining: OutputTraining.PROHIBITED, termDays: 0, royalty: { policy: RoyaltyPolicy.LAP, shareBps: 20_000 } },
      { ...samplePricing(), inputPerMillionMinor: '-3' },
    );
    expect(fields.sort()).toEqual(['pricing.inputPerMillionMinor', 'terms.outputTraining', 'terms.royalty.shareBps', 'terms.termDays']);
  });
});
