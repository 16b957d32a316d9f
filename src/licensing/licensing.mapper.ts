/** Entities (and canonical jsonb) → GraphQL outputs. Union members are class instances so unions resolve. */
import { AgreementStatus, LicenseAgreementEntity } from './license-agreement.entity';
import { LicenseOfferEntity } from './license-offer.entity';
import { LicenseAgreementOutput } from './dto/agreement.output';
import { LicenseOfferOutput } from './dto/license-offer.output';
import { LicensePricingOutput, LicenseTermsOutput } from './dto/license-terms.output';
import type { CanonicalPricing, CanonicalTerms } from './terms/terms.types';
import type { AcceptOutcome, TransitionOutcome } from './license-agreement.service';
import {
  AcceptLicenseOfferResult,
  AgreementAlreadyExistsError,
  AgreementTransitionResult,
  InvalidAgreementTransitionError,
  OfferNotAvailableError,
  SelfDealingError,
  PoolAgreementNotAllowedError,
  TermsChangedError,
  TerritoryNotAllowedError,
} from './licensing.errors';
import { assertUnreachable } from '../platform/errors/app-error';

export interface ModelSummary {
  id: string;
  name: string;
  slug: string;
}

export interface OfferSummary {
  id: string;
  name: string;
  version: number;
}

const LIVE: ReadonlySet<AgreementStatus> = new Set([AgreementStatus.PENDING_PAYMENT, AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED]);

export const isLive = (s: AgreementStatus): boolean => LIVE.has(s);

/** A live agreement whose term has ended is EXPIRED, whether or not the sweep has run. */
export function effectiveStatus(a: Pick<LicenseAgreementEntity, 'status' | 'endsAt'>, now: Date): AgreementStatus {
  return isLive(a.status) && a.endsAt !== null && a.endsAt.getTime() <= now.getTime() ? AgreementStatus.EXPIRED : a.status;
}

export function toTermsOutput(raw: Record<string, unknown>): LicenseTermsOutput {
  const t = raw as unknown as CanonicalTerms;
  return {
    outputTraining: t.outputTraining,
    distillationIsDerivative: t.distillationIsDerivative,
    commercialUse: t.commercialUse,
    researchOnly: t.researchOnly,
    attribution: t.attribution
      ? { displayString: t.attribution.displayString, placements: [...t.attribution.placements], noticeText: t.attribution.noticeText }
      : null,
    naming: { rule: t.naming.rule, token: t.naming.token },
    inheritance: { ...t.inheritance },
    thresholds: t.thresholds.map((x) => ({ metric: x.metric, value: x.value, effect: x.effect })),
    territory: { excludedCountries: [...t.territory.excludedCountries], endUsersExempt: t.territory.endUsersExempt },
    acceptableUsePolicyUrl: t.acceptableUsePolicyUrl,
    termDays: t.termDays,
    governingLaw: t.governingLaw,
    royalty: { policy: t.royalty.policy, shareBps: t.royalty.shareBps },
    limits: { tokensPerPeriod: t.limits.tokensPerPeriod, tokensPerMinute: t.limits.tokensPerMinute },
    watermarkRequired: t.watermarkRequired,
  };
}

export function toPricingOutput(raw: Record<string, unknown>): LicensePricingOutput {
  const p = raw as unknown as CanonicalPricing;
  return {
    currency: p.currency,
    upfrontFeeMinor: p.upfrontFeeMinor,
    inputPerMillionMinor: p.inputPerMillionMinor,
    outputPerMillionMinor: p.outputPerMillionMinor,
    minimumCommitmentMinor: p.minimumCommitmentMinor,
    poolEligible: p.poolEligible,
  };
}

export function toOfferOutput(o: LicenseOfferEntity, model: ModelSummary): LicenseOfferOutput {
  return Object.assign(new LicenseOfferOutput(), {
    id: o.id,
    model: { id: model.id, name: model.name, slug: model.slug },
    organizationId: o.organizationId,
    name: o.name,
    version: o.version,
    status: o.status,
    terms: toTermsOutput(o.terms),
    pricing: toPricingOutput(o.pricing),
    termsHash: o.termsHash,
    createdAt: o.createdAt,
    retiredAt: o.retiredAt,
  });
}

export function toAgreementOutput(a: LicenseAgreementEntity, offer: OfferSummary, now: Date): LicenseAgreementOutput {
  return Object.assign(new LicenseAgreementOutput(), {
    id: a.id,
    offer: { id: offer.id, name: offer.name, version: offer.version },
    modelId: a.modelId,
    vendorOrganizationId: a.vendorOrganizationId,
    distillerOrganizationId: a.distillerOrganizationId,
    acceptedByUserId: a.acceptedByUserId,
    acceptedAt: a.acceptedAt,
    termsHash: a.termsHash,
    terms: toTermsOutput(a.termsSnapshot),
    pricing: toPricingOutput(a.pricingSnapshot),
    status: effectiveStatus(a, now),
    statusReason: a.statusReason,
    statusChangedAt: a.statusChangedAt,
    startsAt: a.startsAt,
    endsAt: a.endsAt,
    poolSubscriptionId: a.poolSubscriptionId ?? null,
  });
}

/** Service outcomes → union members. */
/** `now`: business time (the platform Clock), for the effective status (EXPIRED once endsAt passed). */
export function toAcceptResult(o: AcceptOutcome, now: Date): typeof AcceptLicenseOfferResult {
  switch (o.kind) {
    case 'accepted':
      return toAgreementOutput(o.view.agreement, o.view.offer, now);
    case 'exists':
      return new AgreementAlreadyExistsError(toAgreementOutput(o.view.agreement, o.view.offer, now));
    case 'terms-changed':
      return new TermsChangedError(o.offerId, o.currentTermsHash);
    case 'not-available':
      return new OfferNotAvailableError(o.offerId, o.reason, o.currentOfferId);
    case 'territory':
      return new TerritoryNotAllowedError(o.country);
    case 'self-dealing':
      return new SelfDealingError();
    case 'pool-not-allowed':
      return new PoolAgreementNotAllowedError(o.reason, o.currency);
    default:
      return assertUnreachable(o);
  }
}

export function toTransitionResult(o: TransitionOutcome, now: Date): typeof AgreementTransitionResult {
  return o.kind === 'changed'
    ? toAgreementOutput(o.view.agreement, o.view.offer, now)
    : new InvalidAgreementTransitionError(o.current, o.requested);
}
