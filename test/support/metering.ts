/**
 * Metering test setup: a vendor with a listed teacher and an offer, a
 * distiller with an accepted agreement, the vendor's USAGE_REPORT key and the
 * distiller's GATEWAY key — every step through the public API.
 */
import type { TestApp } from './app';
import { createModel, publishOk } from './licensing';
import { signUp, TestUser } from './users';

export interface MeteringParties {
  vendor: TestUser;
  distiller: TestUser;
  modelId: string;
  agreementId: string;
  /** Vendor key, scope USAGE_REPORT. */
  reportKey: string;
  /** Distiller key, scope GATEWAY, bound to the agreement. */
  gatewayKey: string;
}

const ACCEPT = `mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { __typename ... on LicenseAgreement { id } } }`;
const CREATE_KEY = `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id } } }`;

export async function createApiKey(
  t: TestApp,
  user: TestUser,
  scopes: string[],
  agreementId?: string,
): Promise<{ secret: string; id: string }> {
  const r = await t.gql(CREATE_KEY, { i: { organizationId: user.organizationId, name: `key ${scopes.join('+')}`, scopes, agreementId } }, user.token);
  if (r.errors) throw new Error(`createApiKey: ${JSON.stringify(r.errors)}`);
  return { secret: r.data!.createApiKey.secret, id: r.data!.createApiKey.apiKey.id };
}

export async function acceptAgreement(t: TestApp, distiller: TestUser, offer: { id: string; termsHash: string }): Promise<string> {
  const r = await t.gql(ACCEPT, { i: { offerId: offer.id, organizationId: distiller.organizationId, acceptedTermsHash: offer.termsHash } }, distiller.token);
  if (r.errors || r.data?.acceptLicenseOffer.__typename !== 'LicenseAgreement') throw new Error(`accept: ${JSON.stringify(r.errors ?? r.data)}`);
  return r.data.acceptLicenseOffer.id as string;
}

export async function meteringParties(
  t: TestApp,
  opts: { limits?: { tokensPerPeriod: string | null; tokensPerMinute: string | null }; vendor?: TestUser } = {},
): Promise<MeteringParties> {
  const vendor = opts.vendor ?? (await signUp(t, { country: 'US' }));
  const distiller = await signUp(t, { country: 'FR' });
  const { id: modelId } = await createModel(t, vendor);
  const offer = await publishOk(t, vendor, modelId, {
    terms: { limits: opts.limits ?? { tokensPerPeriod: null, tokensPerMinute: null } },
  });
  const agreementId = await acceptAgreement(t, distiller, offer);
  const reportKey = (await createApiKey(t, vendor, ['USAGE_REPORT'])).secret;
  const gatewayKey = (await createApiKey(t, distiller, ['GATEWAY'], agreementId)).secret;
  return { vendor, distiller, modelId, agreementId, reportKey, gatewayKey };
}

/** POST /v1/usage/events with a key. */
export function reportUsage(t: TestApp, key: string | null, body: unknown) {
  return t.request({
    method: 'POST',
    url: '/v1/usage/events',
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
    body: body as object,
  });
}

export const usageEvent = (agreementId: string, id: string, over: Record<string, unknown> = {}) => ({
  id,
  agreementId,
  occurredAt: new Date(Date.now() - 60_000).toISOString(),
  inputTokens: 100,
  outputTokens: 50,
  ...over,
});

/** The vendor points the teacher at an upstream (the credential is a dummy unless the upstream checks it). */
export async function configureUpstream(t: TestApp, p: MeteringParties, baseUrl: string, over: Record<string, unknown> = {}): Promise<void> {
  const r = await t.gql(
    `mutation($i: ConfigureTeacherUpstreamInput!) { configureTeacherUpstream(input: $i) { modelId } }`,
    { i: { modelId: p.modelId, baseUrl, apiKey: 'sk-upstream-test-key', upstreamModel: 'demo-teacher', timeoutMs: 5000, ...over } },
    p.vendor.token,
  );
  if (r.errors) throw new Error(`configureTeacherUpstream: ${JSON.stringify(r.errors)}`);
}
