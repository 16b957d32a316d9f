/**
 * The licence-terms vocabulary, grounded in the licences teacher models ship
 * under today (Llama community licences, Gemma terms, Qwen licence, DeepSeek
 * licence, OpenRAIL-M). Pure types: the GraphQL inputs/outputs mirror them.
 */

/** What the licence says about training another model on the teacher's outputs. */
export enum OutputTraining {
  /** e.g. Llama 2 §1.b.v: no improving other LLMs with outputs. Cannot be sold for distillation. */
  PROHIBITED = 'PROHIBITED',
  /** Outputs may train models that do not compete with the teacher. */
  NON_COMPETING_ONLY = 'NON_COMPETING_ONLY',
  /** Needs the vendor's prior written authorization (the agreement is that authorization). */
  PRIOR_AUTHORIZATION = 'PRIOR_AUTHORIZATION',
  /** e.g. Llama 3.1+: allowed with attribution / naming / flow-down conditions. */
  PERMITTED_WITH_CONDITIONS = 'PERMITTED_WITH_CONDITIONS',
  /** e.g. DeepSeek, Apache-style: no restriction. */
  PERMITTED = 'PERMITTED',
}

/** Where the attribution string must appear. */
export enum AttributionPlacement {
  MODEL_CARD = 'MODEL_CARD',
  NOTICE_FILE = 'NOTICE_FILE',
  PRODUCT_UI = 'PRODUCT_UI',
  DOCUMENTATION = 'DOCUMENTATION',
  WEBSITE = 'WEBSITE',
}

/** How a derived model must be named (Llama 3: "Llama" at the beginning of the name). */
export enum NamingRule {
  /** The derived model's name must start with `token`. */
  PREFIX_REQUIRED = 'PREFIX_REQUIRED',
  /** `token` may appear in the name but not as its primary (leading) element. */
  NOT_PRIMARY = 'NOT_PRIMARY',
  NONE = 'NONE',
}

export enum ThresholdMetric {
  MONTHLY_ACTIVE_USERS = 'MONTHLY_ACTIVE_USERS',
  /** In minor units of the offer's currency. */
  MONTHLY_REVENUE = 'MONTHLY_REVENUE',
}

/** What happens above a threshold (Llama: > 700 M MAU needs a separate licence). */
export enum ThresholdEffect {
  SEPARATE_LICENSE_REQUIRED = 'SEPARATE_LICENSE_REQUIRED',
  LICENSE_TERMINATES = 'LICENSE_TERMINATES',
  NOTICE_REQUIRED = 'NOTICE_REQUIRED',
}

/** Royalty on downstream revenue: absolute at every depth (LAP) or relative to the direct child (LRP). */
export enum RoyaltyPolicy {
  LAP = 'LAP',
  LRP = 'LRP',
}

/**
 * Terms as a caller may give them (optional parts may be missing or null,
 * counts may be decimal strings or bigints). `canonicalTerms` turns this into
 * `CanonicalTerms`, the one form that is stored and hashed.
 */
export interface TermsInput {
  outputTraining: OutputTraining;
  distillationIsDerivative: boolean;
  commercialUse: boolean;
  researchOnly: boolean;
  attribution?: { displayString: string; placements?: AttributionPlacement[] | null; noticeText?: string | null } | null;
  naming?: { rule: NamingRule; token?: string | null } | null;
  inheritance: { copyLicence: boolean; useRestrictionsFlowDown: boolean; reciprocal: boolean };
  thresholds?: { metric: ThresholdMetric; value: string | bigint; effect: ThresholdEffect }[] | null;
  territory?: { excludedCountries?: string[] | null; endUsersExempt?: boolean | null } | null;
  acceptableUsePolicyUrl?: string | null;
  termDays?: number | null;
  governingLaw?: string | null;
  royalty: { policy: RoyaltyPolicy; shareBps: number };
  limits?: { tokensPerPeriod?: string | bigint | null; tokensPerMinute?: string | bigint | null } | null;
  watermarkRequired: boolean;
}

export interface PricingInput {
  currency: string;
  upfrontFeeMinor: string | bigint;
  inputPerMillionMinor: string | bigint;
  outputPerMillionMinor: string | bigint;
  minimumCommitmentMinor: string | bigint;
  poolEligible: boolean;
}

/** Stored and hashed form: every field present (null when absent), counts and money as decimal strings, sets sorted. */
export interface CanonicalTerms {
  outputTraining: OutputTraining;
  distillationIsDerivative: boolean;
  commercialUse: boolean;
  researchOnly: boolean;
  attribution: { displayString: string; placements: AttributionPlacement[]; noticeText: string | null } | null;
  naming: { rule: NamingRule; token: string | null };
  inheritance: { copyLicence: boolean; useRestrictionsFlowDown: boolean; reciprocal: boolean };
  thresholds: { metric: ThresholdMetric; value: string; effect: ThresholdEffect }[];
  territory: { excludedCountries: string[]; endUsersExempt: boolean };
  acceptableUsePolicyUrl: string | null;
  termDays: number | null;
  governingLaw: string | null;
  royalty: { policy: RoyaltyPolicy; shareBps: number };
  limits: { tokensPerPeriod: string | null; tokensPerMinute: string | null };
  watermarkRequired: boolean;
}

export interface CanonicalPricing {
  currency: string;
  upfrontFeeMinor: string;
  inputPerMillionMinor: string;
  outputPerMillionMinor: string;
  minimumCommitmentMinor: string;
  poolEligible: boolean;
}

export { MAX_INT64 } from '../../platform/validation/decimal-integer';
export const MAX_SHARE_BPS = 10_000;
