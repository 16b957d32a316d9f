/**
 * Benchmark set-up through the running app's public GraphQL API over HTTP, as
 * vendors and distillers would do it (the same steps as test/support/metering.ts):
 * sign up, create and list a teacher model, publish an offer, accept it,
 * create API keys, connect the teacher's upstream.
 */
import { randomBytes } from 'node:crypto';

export interface User {
  token: string;
  organizationId: string;
}

export class GraphqlClient {
  constructor(private readonly url: string) {}

  async call<T = any>(query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: unknown };
    if (res.status !== 200 || body.errors || !body.data) {
      throw new Error(`GraphQL ${query.slice(0, 60)}…: ${res.status} ${JSON.stringify(body.errors ?? body).slice(0, 1000)}`);
    }
    return body.data;
  }
}

let counter = 0;
const unique = () => `${++counter}-${randomBytes(3).toString('hex')}`;

export async function signUp(gql: GraphqlClient, organizationName: string, country: string): Promise<User> {
  const d = await gql.call(
    `mutation($i: SignUpInput!) { signUp(input: $i) { __typename ... on AuthPayload { accessToken memberships { organization { id } } } } }`,
    { i: { email: `bench-${unique()}@example.test`, password: 'correct horse battery staple', organizationName, country } },
  );
  if (d.signUp.__typename !== 'AuthPayload') throw new Error(`signUp: ${JSON.stringify(d.signUp)}`);
  return { token: d.signUp.accessToken, organizationId: d.signUp.memberships[0].organization.id };
}

/**
 * A LISTED teacher model with one published offer; returns the model and the offer.
 * `limits` default to a quota and a per-minute limit far above what a benchmark uses,
 * so pre-authorisation runs (as for a real licence) but never refuses.
 */
export async function teacherWithOffer(
  gql: GraphqlClient,
  vendor: User,
  limits: { tokensPerPeriod: string | null; tokensPerMinute: string | null } = { tokensPerPeriod: '1000000000000000', tokensPerMinute: '1000000000000000' },
): Promise<{ modelId: string; offerId: string; termsHash: string }> {
  const n = unique();
  const created = await gql.call(
    `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) { __typename ... on TeacherModel { id } } }`,
    { i: { organizationId: vendor.organizationId, slug: `bench-${n}`, name: `Bench teacher ${n}`, card: { summary: 'A teacher model for the metering benchmarks.', modalities: ['TEXT'] } } },
    vendor.token,
  );
  if (created.createTeacherModel.__typename !== 'TeacherModel') throw new Error(`createTeacherModel: ${JSON.stringify(created)}`);
  const modelId = created.createTeacherModel.id as string;
  await gql.call(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: modelId }, vendor.token);
  const offer = await gql.call(
    `mutation($i: PublishLicenseOfferInput!) { publishLicenseOffer(input: $i) { id termsHash } }`,
    {
      i: {
        modelId,
        name: 'standard',
        terms: {
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
          limits,
          watermarkRequired: false,
        },
        pricing: { currency: 'EUR', upfrontFeeMinor: '0', inputPerMillionMinor: '150', outputPerMillionMinor: '600', minimumCommitmentMinor: '0', poolEligible: false },
      },
    },
    vendor.token,
  );
  return { modelId, offerId: offer.publishLicenseOffer.id, termsHash: offer.publishLicenseOffer.termsHash };
}

export async function acceptOffer(gql: GraphqlClient, distiller: User, offer: { offerId: string; termsHash: string }): Promise<string> {
  const d = await gql.call(
    `mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { __typename ... on LicenseAgreement { id status } } }`,
    { i: { offerId: offer.offerId, organizationId: distiller.organizationId, acceptedTermsHash: offer.termsHash } },
    distiller.token,
  );
  if (d.acceptLicenseOffer.__typename !== 'LicenseAgreement') throw new Error(`acceptLicenseOffer: ${JSON.stringify(d)}`);
  if (d.acceptLicenseOffer.status !== 'ACTIVE') throw new Error(`agreement is ${d.acceptLicenseOffer.status}, not ACTIVE`);
  return d.acceptLicenseOffer.id;
}

export async function createApiKey(gql: GraphqlClient, user: User, scopes: string[], agreementId?: string): Promise<{ secret: string; id: string }> {
  const d = await gql.call(
    `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id } } }`,
    { i: { organizationId: user.organizationId, name: `bench ${scopes.join('+')}`, scopes, agreementId } },
    user.token,
  );
  return { secret: d.createApiKey.secret, id: d.createApiKey.apiKey.id };
}

export async function configureUpstream(gql: GraphqlClient, vendor: User, modelId: string, baseUrl: string, apiKey: string): Promise<void> {
  await gql.call(
    `mutation($i: ConfigureTeacherUpstreamInput!) { configureTeacherUpstream(input: $i) { modelId } }`,
    { i: { modelId, baseUrl, apiKey, upstreamModel: 'demo-teacher', timeoutMs: 30_000 } },
    vendor.token,
  );
}
