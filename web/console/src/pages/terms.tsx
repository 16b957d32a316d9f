/** The exact terms of an offer or agreement, field by field, with the hash they are accepted by. */
export interface Terms {
  outputTraining: string;
  distillationIsDerivative: boolean;
  commercialUse: boolean;
  researchOnly: boolean;
  watermarkRequired: boolean;
  termDays: number | null;
  governingLaw: string | null;
  acceptableUsePolicyUrl: string | null;
  royalty: { policy: string; shareBps: number };
  limits: { tokensPerPeriod: string | null; tokensPerMinute: string | null };
  territory: { excludedCountries: string[]; endUsersExempt: boolean };
  naming: { rule: string; token: string | null };
  attribution: { displayString: string; noticeText: string | null; placements: string[] } | null;
  inheritance: { copyLicence: boolean; useRestrictionsFlowDown: boolean; reciprocal: boolean };
}

export interface Pricing {
  currency: string;
  inputPerMillionMinor: string;
  outputPerMillionMinor: string;
  upfrontFeeMinor: string;
  minimumCommitmentMinor: string;
  poolEligible: boolean;
}

export const TERMS_FIELDS = `terms { outputTraining distillationIsDerivative commercialUse researchOnly watermarkRequired termDays governingLaw acceptableUsePolicyUrl
  royalty { policy shareBps } limits { tokensPerPeriod tokensPerMinute } territory { excludedCountries endUsersExempt }
  naming { rule token } attribution { displayString noticeText placements } inheritance { copyLicence useRestrictionsFlowDown reciprocal } }
  pricing { currency inputPerMillionMinor outputPerMillionMinor upfrontFeeMinor minimumCommitmentMinor poolEligible }`;

const yes = (b: boolean) => (b ? 'yes' : 'no');
const bps = (n: number) => `${(n / 100).toFixed(2)} %`;

export function TermsList({ terms, pricing, termsHash }: { terms: Terms; pricing: Pricing; termsHash: string }) {
  const rows: [string, string][] = [
    ['Terms hash (SHA-256)', termsHash],
    ['Currency', pricing.currency],
    ['Input tokens, per million (minor units)', pricing.inputPerMillionMinor],
    ['Output tokens, per million (minor units)', pricing.outputPerMillionMinor],
    ['Upfront fee (minor units)', pricing.upfrontFeeMinor],
    ['Minimum commitment (minor units)', pricing.minimumCommitmentMinor],
    ['Pool eligible', yes(pricing.poolEligible)],
    ['Training on outputs', terms.outputTraining],
    ['Distillation is a derivative', yes(terms.distillationIsDerivative)],
    ['Commercial use', yes(terms.commercialUse)],
    ['Research only', yes(terms.researchOnly)],
    ['Watermark required', yes(terms.watermarkRequired)],
    ['Royalty', `${terms.royalty.policy} ${bps(terms.royalty.shareBps)}`],
    ['Tokens per period', terms.limits.tokensPerPeriod ?? 'unlimited'],
    ['Tokens per minute', terms.limits.tokensPerMinute ?? 'unlimited'],
    ['Term', terms.termDays === null ? 'open-ended' : `${terms.termDays} days`],
    ['Excluded countries', terms.territory.excludedCountries.join(', ') || 'none'],
    ['Naming', terms.naming.rule + (terms.naming.token ? ` “${terms.naming.token}”` : '')],
    ['Attribution', terms.attribution ? `${terms.attribution.displayString} (${terms.attribution.placements.join(', ')})` : 'none'],
    ['Licence copied downstream', yes(terms.inheritance.copyLicence)],
    ['Use restrictions flow down', yes(terms.inheritance.useRestrictionsFlowDown)],
    ['Reciprocal', yes(terms.inheritance.reciprocal)],
    ['Governing law', terms.governingLaw ?? '—'],
    ['Acceptable-use policy', terms.acceptableUsePolicyUrl ?? '—'],
  ];
  return (
    <dl className="terms">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd className={k.startsWith('Terms hash') ? 'mono' : undefined}>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
