/**
 * Licensing test data and steps shared by e2e specs: realistic terms and
 * pricing inputs, and a model created (and listed) / an offer published through
 * the GraphQL API, as a vendor would.
 */
import type { TestApp } from './app';
import type { TestUser } from './users';

export function termsInput(over: Record<string, unknown> = {}): Record<string, any> {
  return {
    outputTraining: 'PERMITTED_WITH_CONDITIONS',
    distillationIsDerivative: true,
    commercialUse: true,
    researchOnly: false,
    attribution: { displayString: 'Built with Teacher', placements: ['MODEL_CARD'], noticeText: null },
    naming: { rule: 'PREFIX_REQUIRED', token: 'Teacher' },
    inheritance: { copyLicence: true, useRestrictionsFlowDown: true, reciprocal: false },
    thresholds: [],
    territory: { excludedCountries: ['KP', 'IR'], endUsersExempt: false },
    acceptableUsePolicyUrl: 'https://vendor.example/aup',
    termDays: 365,
    governingLaw: 'California, USA',
    royalty: { policy: 'LAP', shareBps: 500 },
    limits: { tokensPerPeriod: '1000000000', tokensPerMinute: '200000' },
    watermarkRequired: false, // true needs a watermark scheme registered for the model first (registerWatermarkScheme)
    ...over,
  };
}

export function pricingInput(over: Record<string, unknown> = {}): Record<string, any> {
  return { currency: 'EUR', upfrontFeeMinor: '0', inputPerMillionMinor: '150', outputPerMillionMinor: '600', minimumCommitmentMinor: '0', poolEligible: false, ...over };
}

let slugCounter = 0;
export async function createModel(t: TestApp, user: TestUser, opts: { list?: boolean } = {}): Promise<{ id: string }> {
  slugCounter += 1;
  const r = await t.gql(
    `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) { __typename ... on TeacherModel { id } } }`,
    { i: { organizationId: user.organizationId, slug: `t-${slugCounter}`, name: `Teacher ${slugCounter}`, card: { summary: 'A teacher.', modalities: ['TEXT'] } } },
    user.token,
  );
  if (r.errors || r.data?.createTeacherModel.__typename !== 'TeacherModel') throw new Error(`createTeacherModel: ${JSON.stringify(r.errors ?? r.data)}`);
  const id = r.data.createTeacherModel.id as string;
  if (opts.list ?? true) {
    const l = await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id }, user.token);
    if (l.errors) throw new Error(`listTeacherModel: ${JSON.stringify(l.errors)}`);
  }
  return { id };
}

export async function publishOk(
  t: TestApp,
  user: TestUser,
  modelId: string,
  over: { name?: string; terms?: Record<string, unknown>; pricing?: Record<string, unknown> } = {},
): Promise<{ id: string; termsHash: string; version: number }> {
  const r = await t.gql(
    `mutation($i: PublishLicenseOfferInput!) { publishLicenseOffer(input: $i) { id termsHash version } }`,
    { i: { modelId, name: over.name ?? 'standard', terms: termsInput(over.terms), pricing: pricingInput(over.pricing) } },
    user.token,
  );
  if (r.errors) throw new Error(`publish: ${JSON.stringify(r.errors)}`);
  return r.data!.publishLicenseOffer;
}
