/** Sample terms for specs (a Llama-3.1-like licence). Not used by the application. */
import {
  AttributionPlacement,
  NamingRule,
  OutputTraining,
  PricingInput,
  RoyaltyPolicy,
  TermsInput,
  ThresholdEffect,
  ThresholdMetric,
} from './terms.types';

export function sampleTerms(): TermsInput {
  return {
    outputTraining: OutputTraining.PERMITTED_WITH_CONDITIONS,
    distillationIsDerivative: true,
    commercialUse: true,
    researchOnly: false,
    attribution: {
      displayString: 'Built with Llama',
      placements: [AttributionPlacement.WEBSITE, AttributionPlacement.MODEL_CARD],
      noticeText: 'Llama 3.1 is licensed under the Llama 3.1 Community License.',
    },
    naming: { rule: NamingRule.PREFIX_REQUIRED, token: 'Llama' },
    inheritance: { copyLicence: true, useRestrictionsFlowDown: true, reciprocal: false },
    thresholds: [
      { metric: ThresholdMetric.MONTHLY_REVENUE, value: '100000000', effect: ThresholdEffect.NOTICE_REQUIRED },
      { metric: ThresholdMetric.MONTHLY_ACTIVE_USERS, value: '700000000', effect: ThresholdEffect.SEPARATE_LICENSE_REQUIRED },
    ],
    territory: { excludedCountries: ['KP', 'CU', 'IR'], endUsersExempt: false },
    acceptableUsePolicyUrl: 'https://llama.example/use-policy',
    termDays: 365,
    governingLaw: 'California, USA',
    royalty: { policy: RoyaltyPolicy.LAP, shareBps: 500 },
    limits: { tokensPerPeriod: '1000000000', tokensPerMinute: '200000' },
    watermarkRequired: false,
  };
}

export function samplePricing(): PricingInput {
  return {
    currency: 'USD',
    upfrontFeeMinor: '0',
    inputPerMillionMinor: '150',
    outputPerMillionMinor: '600',
    minimumCommitmentMinor: '0',
    poolEligible: true,
  };
}
