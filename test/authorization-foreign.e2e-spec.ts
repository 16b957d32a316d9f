/**
 * Authorization matrix, part 2: another organization's ids behave exactly as
 * ids that do not exist (NOT_FOUND), and nothing is written.
 *
 * Two organizations with real objects — A (vendor: a DRAFT model, a LISTED
 * model with an ACTIVE and a RETIRED offer, an UNLISTED model, an API key; and
 * a distiller holding an agreement on B's offer) and B (vendor of a LISTED
 * model + offer; distiller holding an agreement on A's offer) — and an outsider
 * C (a user and a READ+WRITE API key). C calls every operation that takes an id
 * with A's and B's ids, once with its user token and once with its API key.
 *
 * Complete by construction: the schema is introspected and every Query /
 * Mutation argument named `id` or `…Id` (top level or nested in an input
 * object) must be probed by at least one case of CASES below, so a new
 * operation (or a new id field in an input) without a foreign-id case fails
 * this file. Each NOT_FOUND answer must moreover be indistinguishable from the
 * answer for a random unknown id in the same place (same code, same message
 * modulo the id, same extensions), and the checksum of every business table is
 * compared before and after each case.
 *
 * Public operations on public objects (a LISTED model, the ACTIVE offer of a
 * LISTED model, the catalog) are visible to C: for those the case asserts what
 * C sees, and the non-public objects (DRAFT / UNLISTED models, RETIRED offers,
 * offers of unlisted models) are cases expecting NOT_FOUND.
 */
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { getNamedType, GraphQLArgument, GraphQLInputField, GraphQLInputType, isInputObjectType } from 'graphql';
import { createHash, randomUUID } from 'node:crypto';
import { SandboxPaymentsAdapter } from '../src/payments/sandbox/sandbox-payments.adapter';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { GqlResponse, startTestApp, TestApp } from './support/app';
import { appTables, databaseChecksum } from './support/db-checksum';
import { sentPayout } from './support/payout-sent-fixtures';
import { signUp, TestUser } from './support/users';

// ---------------------------------------------------------------- schema introspection

/** An argument that names an object or an organization: `id`, `organizationId`, `modelId`, `offerId`, `agreementId`, `vendorId`, … */
const isIdName = (name: string): boolean => name === 'id' || /Id$/.test(name);

/**
 * Every argument path holding an id, e.g. `id`, `organizationId`,
 * `input.offerId`, `filter.vendorId`. Lists are transparent (their element's
 * fields keep the list's path). Recursive input types are visited once per path.
 */
function idPaths(args: readonly (GraphQLArgument | GraphQLInputField)[], prefix = '', seen = new Set<string>()): string[] {
  const out: string[] = [];
  for (const a of args) {
    const path = prefix ? `${prefix}.${a.name}` : a.name;
    if (isIdName(a.name)) out.push(path);
    const named = getNamedType(a.type as GraphQLInputType);
    if (isInputObjectType(named) && !seen.has(named.name)) {
      out.push(...idPaths(Object.values(named.getFields()), path, new Set([...seen, named.name])));
    }
  }
  return out;
}

// ---------------------------------------------------------------- fixture

interface Offer {
  id: string;
  termsHash: string;
}

interface Fixture {
  a: TestUser;
  b: TestUser;
  c: TestUser;
  /** C's READ+WRITE API key (secret) and its id */
  cKey: string;
  cKeyId: string;
  aKeyId: string;
  aDraftModel: string;
  aListedModel: string;
  aUnlistedModel: string;
  /** Listed after one of its offers was superseded while it was still a DRAFT */
  aLateModel: string;
  /** ACTIVE offer of A's DRAFT model (never public) */
  aDraftOffer: Offer;
  /** ACTIVE offer of A's LISTED model (public) */
  aOffer: Offer;
  /** A's RETIRED offer on the LISTED model (public while it was ACTIVE) */
  aRetiredOffer: Offer;
  /** ACTIVE offer of A's UNLISTED model */
  aUnlistedOffer: Offer;
  /** Superseded while its model was a DRAFT: never public, although the model is LISTED now */
  aNeverPublicOffer: Offer;
  /** The ACTIVE successor of aNeverPublicOffer (public) */
  aLateOffer: Offer;
  bModel: string;
  bOffer: Offer;
  /** A (distiller) on B's offer */
  aAgreement: string;
  /** B (distiller) on A's offer */
  bAgreement: string;
  /** Anomaly flag on bAgreement (A is its vendor) */
  aFlag: string;
  /** Anomaly flag on aAgreement (B is its vendor) */
  bFlag: string;
  /** Certification of A's LISTED model (seeded: only platform admins certify) */
  aCertification: string;
  /** C's own DRAFT model (to probe lineage ids on a model C may write) */
  cModel: string;
  /** A's (distiller) OPEN upfront invoice, on B's paid offer */
  aInvoice: string;
  /** B's (distiller) upfront invoice on A's paid offer, PAID in the sandbox */
  bInvoice: string;
  /** The sandbox PaymentIntent that paid bInvoice */
  bPaymentIntent: string;
  /** A's sandbox SetupIntent (createPaymentSetup) */
  aSetupIntent: string;
  /** A sandbox dispute on bPaymentIntent (opened by the platform) */
  bDispute: string;
  /** The id of a usage event on aAgreement (seeded) */
  aUsageEvent: string;
  /** A payout batch in review holding a payout to A (seeded: only platform admins create batches) */
  aPayoutBatch: string;
  /** A's payout in aPayoutBatch */
  aPayout: string;
  /** A SENT payout to A, with its transfer (seeded) */
  aSentPayout: string;
  /** The platform's ACTIVE pool plan (seeded: only platform admins create plans) */
  poolPlan: string;
  /** A RETIRED pool plan (public; subscribing answers PoolPlanNotAvailableError) */
  retiredPoolPlan: string;
  /** A's (distiller) pool subscription */
  aPoolSubscription: string;
}

function termsInput(): Record<string, unknown> {
  return {
    outputTraining: 'PERMITTED_WITH_CONDITIONS',
    distillationIsDerivative: true,
    commercialUse: true,
    researchOnly: false,
    attribution: { displayString: 'Built with Teacher', placements: ['MODEL_CARD'], noticeText: null },
    naming: { rule: 'PREFIX_REQUIRED', token: 'Teacher' },
    inheritance: { copyLicence: true, useRestrictionsFlowDown: true, reciprocal: false },
    thresholds: [],
    territory: { excludedCountries: ['KP'], endUsersExempt: false },
    termDays: 365,
    royalty: { policy: 'LAP', shareBps: 500 },
    limits: { tokensPerPeriod: '1000000000', tokensPerMinute: '200000' },
    watermarkRequired: true,
  };
}

function pricingInput(): Record<string, unknown> {
  return { currency: 'EUR', upfrontFeeMinor: '0', inputPerMillionMinor: '150', outputPerMillionMinor: '600', minimumCommitmentMinor: '0', poolEligible: false };
}

const CARD = { summary: 'A teacher model.', modalities: ['TEXT'] };

async function must<T = Record<string, any>>(p: Promise<GqlResponse<T>>, what: string): Promise<T> {
  const r = await p;
  if (r.errors || !r.data) throw new Error(`${what}: ${JSON.stringify(r.errors ?? r.data)}`);
  return r.data;
}

let slugs = 0;
async function createModel(t: TestApp, u: TestUser): Promise<string> {
  slugs += 1;
  const d = await must(
    t.gql(
      `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) { __typename ... on TeacherModel { id } } }`,
      { i: { organizationId: u.organizationId, slug: `m-${slugs}`, name: `Model ${slugs}`, card: CARD } },
      u.token,
    ),
    'createTeacherModel',
  );
  return d.createTeacherModel.id;
}

const listModel = (t: TestApp, u: TestUser, id: string) =>
  must(t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id }, u.token), 'listTeacherModel');

const unlistModel = (t: TestApp, u: TestUser, id: string) =>
  must(t.gql(`mutation($id: ID!) { unlistTeacherModel(id: $id) { __typename } }`, { id }, u.token), 'unlistTeacherModel');

/** Models given a watermark scheme: termsInput() requires a watermark, which needs one registered before publishing. */
const watermarked = new Set<string>();

async function publish(t: TestApp, u: TestUser, modelId: string, name: string, pricing: Record<string, unknown> = {}): Promise<Offer> {
  if (!watermarked.has(modelId)) {
    await must(
      t.gql(
        `mutation($i: RegisterWatermarkSchemeInput!) { registerWatermarkScheme(input: $i) { id } }`,
        { i: { modelId, scheme: 'GREEN_LIST', parameters: { gamma: '0.25' }, secretKeyMaterial: `key-${modelId}` } },
        u.token,
      ),
      'registerWatermarkScheme',
    );
    watermarked.add(modelId);
  }
  const d = await must(
    t.gql(
      `mutation($i: PublishLicenseOfferInput!) { publishLicenseOffer(input: $i) { id termsHash } }`,
      { i: { modelId, name, terms: termsInput(), pricing: { ...pricingInput(), ...pricing } } },
      u.token,
    ),
    'publishLicenseOffer',
  );
  return d.publishLicenseOffer;
}

async function acceptOk(t: TestApp, u: TestUser, offer: Offer): Promise<string> {
  const d = await must(
    t.gql(
      `mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { __typename ... on LicenseAgreement { id } } }`,
      { i: { offerId: offer.id, organizationId: u.organizationId, acceptedTermsHash: offer.termsHash } },
      u.token,
    ),
    'acceptLicenseOffer',
  );
  if (d.acceptLicenseOffer.__typename !== 'LicenseAgreement') throw new Error(`accept: ${JSON.stringify(d)}`);
  return d.acceptLicenseOffer.id;
}

async function createKey(t: TestApp, u: TestUser, scopes: string[]): Promise<{ id: string; secret: string }> {
  const d = await must(
    t.gql(
      `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id } } }`,
      { i: { organizationId: u.organizationId, name: 'key', scopes } },
      u.token,
    ),
    'createApiKey',
  );
  return { id: d.createApiKey.apiKey.id, secret: d.createApiKey.secret };
}

async function buildFixture(t: TestApp): Promise<Fixture> {
  const a = await signUp(t, { organizationName: 'A', country: 'US' });
  const b = await signUp(t, { organizationName: 'B', country: 'FR' });
  const c = await signUp(t, { organizationName: 'C (outsider)', country: 'DE' });

  const aDraftModel = await createModel(t, a);
  const aDraftOffer = await publish(t, a, aDraftModel, 'standard');

  const aListedModel = await createModel(t, a);
  await listModel(t, a, aListedModel);
  const aOffer = await publish(t, a, aListedModel, 'standard');
  const aRetiredOffer = await publish(t, a, aListedModel, 'legacy');
  await must(t.gql(`mutation($id: ID!) { retireLicenseOffer(id: $id) { id } }`, { id: aRetiredOffer.id }, a.token), 'retireLicenseOffer');

  const aUnlistedModel = await createModel(t, a);
  await listModel(t, a, aUnlistedModel);
  const aUnlistedOffer = await publish(t, a, aUnlistedModel, 'standard');
  await unlistModel(t, a, aUnlistedModel);

  const aLateModel = await createModel(t, a);
  const aNeverPublicOffer = await publish(t, a, aLateModel, 'early');
  const aLateOffer = await publish(t, a, aLateModel, 'early'); // supersedes v1 while the model is a DRAFT
  await listModel(t, a, aLateModel);

  const bModel = await createModel(t, b);
  await listModel(t, b, bModel);
  const bOffer = await publish(t, b, bModel, 'standard');

  const aAgreement = await acceptOk(t, a, bOffer);
  const bAgreement = await acceptOk(t, b, aOffer);

  const aKey = await createKey(t, a, ['READ', 'WRITE']);
  const cKey = await createKey(t, c, ['WRITE', 'READ']);

  // Anomaly flags are raised by the detectors, never through the API: one per vendor, seeded directly.
  const flag = async (agreementId: string): Promise<string> =>
    (
      await t.dataSource.query(
        `INSERT INTO anomaly_flags (agreement_id, vendor_organization_id, distiller_organization_id, kind, window_start, observed_tokens)
         SELECT id, vendor_organization_id, distiller_organization_id, 'BURST', date_trunc('minute', now()), 50000
           FROM license_agreements WHERE id = $1 RETURNING id`,
        [agreementId],
      )
    )[0].id;
  const aFlag = await flag(bAgreement);
  const bFlag = await flag(aAgreement);
  // Certifications are recorded by platform admins only: one seeded directly, on A's LISTED model.
  const [{ id: aCertification }] = await t.dataSource.query(
    `INSERT INTO model_certifications (model_id, evidence, safety_review, expires_at)
     VALUES ($1, '[]', '{"summary": "s", "reviewer": "r", "passed": true, "reportUrl": null}', now() + interval '1 year') RETURNING id`,
    [aListedModel],
  );
  const cModel = await createModel(t, c);

  // Money: paid offers both ways, A's invoice left OPEN, B's paid through the sandbox.
  const bPaidOffer = await publish(t, b, bModel, 'paid', { upfrontFeeMinor: '1000' });
  const aPaidOffer = await publish(t, a, aListedModel, 'paid', { upfrontFeeMinor: '1000' });
  await acceptOk(t, a, bPaidOffer);
  await acceptOk(t, b, aPaidOffer);
  // Retired once accepted: the public offer lists stay what the cases above expect.
  await must(t.gql(`mutation($id: ID!) { retireLicenseOffer(id: $id) { id } }`, { id: bPaidOffer.id }, b.token), 'retireLicenseOffer');
  await must(t.gql(`mutation($id: ID!) { retireLicenseOffer(id: $id) { id } }`, { id: aPaidOffer.id }, a.token), 'retireLicenseOffer');
  const invoiceOf = async (u: TestUser): Promise<string> =>
    (await must(t.gql(`query($o: ID!) { invoices(organizationId: $o) { edges { node { id } } } }`, { o: u.organizationId }, u.token), 'invoices')).invoices.edges[0].node
      .id;
  const aInvoice = await invoiceOf(a);
  const bInvoice = await invoiceOf(b);
  const setup = async (u: TestUser): Promise<string> =>
    (await must(t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: u.organizationId }, u.token), 'createPaymentSetup'))
      .createPaymentSetup.setupIntentId;
  const aSetupIntent = await setup(a);
  const bSetupIntent = await setup(b);
  await must(
    t.gql(
      `mutation($o: ID!, $s: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: "pm_sandbox_visa") { organizationId } }`,
      { o: b.organizationId, s: bSetupIntent },
      b.token,
    ),
    'confirmSandboxPaymentSetup',
  );
  await t.app.get(WebhookInboxService).drain();
  const paid = await must(t.gql(`mutation($id: ID!) { payInvoice(id: $id) { outcome } }`, { id: bInvoice }, b.token), 'payInvoice');
  if (paid.payInvoice.outcome !== 'PAID') throw new Error(`payInvoice: ${JSON.stringify(paid)}`);
  await t.app.get(WebhookInboxService).drain();
  const [{ payment_intent_id: bPaymentIntent }] = await t.dataSource.query(`SELECT payment_intent_id FROM invoice_collections WHERE invoice_id = $1`, [bInvoice]);
  const bDispute = (await t.app.get(SandboxPaymentsAdapter).simulateDispute({ paymentIntentId: bPaymentIntent, amountMinor: 100n })).id;
  await t.app.get(WebhookInboxService).drain();
  // A usage event on A's agreement (seeded with SQL: only its id matters here).
  const aUsageEvent = 'a-usage-event-1';
  await t.dataSource.query(
    `INSERT INTO usage_events (agreement_id, event_id, source, occurred_at, input_tokens, output_tokens, payload_hash)
     VALUES ($1, $2, 'REPORTED', now(), 1, 1, '\\x00'::bytea)`,
    [aAgreement, aUsageEvent],
  );

  // A payout batch in review with a payout to A (seeded with SQL: only platform admins create batches).
  const [{ id: aPayoutBatch }] = await t.dataSource.query(
    `INSERT INTO payout_batches (currency, minimum_minor, as_of, holdback_days, total_minor, payout_count, snapshot_hash, created_by, created_at)
     VALUES ('USD', 2500, now(), 7, 3000, 1, repeat('a', 64), $1, now()) RETURNING id`,
    [a.userId],
  );
  const [{ id: aPayout }] = await t.dataSource.query(
    `INSERT INTO payouts (batch_id, organization_id, currency, amount_minor, account_id, idempotency_key, created_at)
     VALUES ($1, $2, 'USD', 3000, 'acct_foreignfixture', 'payout:fixture-a', now()) RETURNING id`,
    [aPayoutBatch, a.organizationId],
  );
  const aSentPayout = (await sentPayout(t, { vendor: a, admin: a, amountMinor: 1000n })).payoutId;

  // Pool plans are the platform's (seeded); A subscribes to one.
  const [{ id: poolPlan }] = await t.dataSource.query(
    `INSERT INTO pool_plans (name, version, currency, monthly_fee_minor, token_allowance, overage, distribution, minimum_tokens_to_earn, platform_fee_bps)
     VALUES ('Pool', 1, 'EUR', 1000, 1000000, 'REFUSE', 'PRO_RATA', 0, 2000) RETURNING id`,
  );
  const [{ id: retiredPoolPlan }] = await t.dataSource.query(
    `INSERT INTO pool_plans (name, version, currency, monthly_fee_minor, token_allowance, overage, distribution, minimum_tokens_to_earn, platform_fee_bps, status, retired_at)
     VALUES ('Old pool', 1, 'EUR', 1000, 1000000, 'REFUSE', 'PRO_RATA', 0, 2000, 'RETIRED', now()) RETURNING id`,
  );
  const aPoolSubscription = (
    await must(t.gql(`mutation($p: ID!, $o: ID!) { subscribeToPool(planId: $p, organizationId: $o) { ... on PoolSubscription { id } } }`, { p: poolPlan, o: a.organizationId }, a.token), 'subscribeToPool')
  ).subscribeToPool.id;

  return {
    aSentPayout,
    poolPlan,
    retiredPoolPlan,
    aPoolSubscription,
    aUsageEvent,
    aPayoutBatch,
    aPayout,
    a,
    b,
    c,
    cKey: cKey.secret,
    cKeyId: cKey.id,
    aKeyId: aKey.id,
    aDraftModel,
    aListedModel,
    aUnlistedModel,
    aLateModel,
    aDraftOffer,
    aOffer,
    aRetiredOffer,
    aUnlistedOffer,
    aNeverPublicOffer,
    aLateOffer,
    bModel,
    bOffer,
    aAgreement,
    bAgreement,
    aFlag,
    bFlag,
    aCertification,
    cModel,
    aInvoice,
    bInvoice,
    bPaymentIntent,
    aSetupIntent,
    bDispute,
  };
}

// ---------------------------------------------------------------- operations

const Q = {
  agreement: `query($id: ID!) { agreement(id: $id) { id status distillerOrganizationId } }`,
  agreements: `query($organizationId: ID!, $role: AgreementRole!) {
    agreements(organizationId: $organizationId, role: $role) { totalCount edges { node { id } } } }`,
  apiKeys: `query($organizationId: ID!) { apiKeys(organizationId: $organizationId) { id prefix } }`,
  auditLog: `query($filter: AuditLogFilter) { auditLog(filter: $filter) { entries { seq action } } }`,
  catalog: `query($filter: CatalogFilterInput) { catalog(filter: $filter, first: 100) {
    totalCount edges { node { id status organizationId offers { id status } } } } }`,
  licenseOffer: `query($id: ID!) { licenseOffer(id: $id) { id status organizationId termsHash model { id } } }`,
  licenseOffers: `query($modelId: ID!, $status: LicenseOfferStatus) { licenseOffers(modelId: $modelId, status: $status) { id status } }`,
  myModels: `query($organizationId: ID!) { myModels(organizationId: $organizationId) { id } }`,
  teacherModel: `query($id: ID!) { teacherModel(id: $id) { id status organizationId offers { id status } } }`,
  teacherUpstream: `query($modelId: ID!) { teacherUpstream(modelId: $modelId) { modelId baseUrl credentialFingerprint } }`,
  teacherUpstreamErrors: `query($agreementId: ID!) { teacherUpstreamErrors(agreementId: $agreementId) { requestId detail } }`,
  configureTeacherUpstream: `mutation($input: ConfigureTeacherUpstreamInput!) { configureTeacherUpstream(input: $input) { modelId credentialFingerprint } }`,
  acceptLicenseOffer: `mutation($input: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $input) {
    __typename
    ... on BusinessError { code }
    ... on LicenseAgreement { id }
    ... on AgreementAlreadyExistsError { agreement { id } }
    ... on OfferNotAvailableError { offerId reason currentOfferId }
    ... on TermsChangedError { offerId currentTermsHash } } }`,
  createApiKey: `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id organizationId agreementId } } }`,
  createTeacherModel: `mutation($input: CreateTeacherModelInput!) { createTeacherModel(input: $input) { __typename ... on TeacherModel { id } } }`,
  listTeacherModel: `mutation($id: ID!) { listTeacherModel(id: $id) { id status } }`,
  publishLicenseOffer: `mutation($input: PublishLicenseOfferInput!) { publishLicenseOffer(input: $input) { id } }`,
  retireLicenseOffer: `mutation($id: ID!) { retireLicenseOffer(id: $id) { id status } }`,
  revokeApiKey: `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`,
  unlistTeacherModel: `mutation($id: ID!) { unlistTeacherModel(id: $id) { __typename ... on TeacherModel { id status } } }`,
  updateTeacherModel: `mutation($input: UpdateTeacherModelInput!) { updateTeacherModel(input: $input) { id name } }`,
  updateOrganization: `mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { id name } }`,
  organizationMembers: `query($organizationId: ID!) { organizationMembers(organizationId: $organizationId) { role user { id } } }`,
  addOrganizationMember: `mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { __typename } }`,
  changeMemberRole: `mutation($input: ChangeMemberRoleInput!) { changeMemberRole(input: $input) { role } }`,
  removeOrganizationMember: `mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) }`,
  suspendAgreement: transition('suspendAgreement'),
  terminateAgreement: transition('terminateAgreement'),
  reinstateAgreement: transition('reinstateAgreement'),
  usageSummary: `query($agreementId: ID!, $from: DateTime!, $to: DateTime!, $granularity: UsageGranularity!) {
    usageSummary(agreementId: $agreementId, from: $from, to: $to, granularity: $granularity) { agreementId totals { totalTokens } } }`,
  usageEvents: `query($agreementId: ID!) { usageEvents(agreementId: $agreementId) { edges { node { eventId } } } }`,
  usageInclusionProof: `query($agreementId: ID!, $period: String!, $eventId: String!) {
    usageInclusionProof(agreementId: $agreementId, period: $period, eventId: $eventId) { leafIndex treeSize merkleRoot } }`,
  anomalyFlags: `query($filter: AnomalyFlagFilter) { anomalyFlags(filter: $filter) { edges { node { id kind } } } }`,
  acknowledgeAnomalyFlag: `mutation($input: AcknowledgeAnomalyFlagInput!) { acknowledgeAnomalyFlag(input: $input) { id acknowledgedAt } }`,
  certifyModel: `mutation($input: CertifyModelInput!) { certifyModel(input: $input) { id } }`,
  revokeCertification: `mutation($input: RevokeCertificationInput!) { revokeCertification(input: $input) { __typename } }`,
  registerWatermarkScheme: `mutation($input: RegisterWatermarkSchemeInput!) { registerWatermarkScheme(input: $input) { id secretFingerprint } }`,
  registerStudentModel: `mutation($input: RegisterStudentModelInput!) { registerStudentModel(input: $input) {
    __typename ... on TeacherModel { id } ... on LicenceMissingError { edges { parentModelId agreementId reason status } } } }`,
  declareLineage: `mutation($input: DeclareLineageInput!) { declareLineage(input: $input) {
    __typename ... on TeacherModel { id } ... on LicenceMissingError { edges { parentModelId agreementId reason status } } } }`,
  issueAttestation: `mutation($modelId: ID!) { issueAttestation(modelId: $modelId) { id } }`,
  watermarkSchemes: `query($modelId: ID!) { watermarkSchemes(modelId: $modelId) { id } }`,
  invoices: `query($organizationId: ID!) { invoices(organizationId: $organizationId) { totalCount edges { node { id } } } }`,
  invoice: `query($id: ID!) { invoice(id: $id) { id status total { amountMinor } } }`,
  invoiceAllocation: `query($invoiceId: ID!) { invoiceAllocation(invoiceId: $invoiceId) { invoiceId parts { kind } } }`,
  payInvoice: `mutation($id: ID!) { payInvoice(id: $id) { outcome invoice { id status } } }`,
  refundInvoice: `mutation($id: ID!, $reason: String!) { refundInvoice(id: $id, reason: $reason) { __typename } }`,
  voidInvoice: `mutation($id: ID!, $reason: String!) { voidInvoice(id: $id, reason: $reason) { id status } }`,
  balances: `query($organizationId: ID!) { balances(organizationId: $organizationId) { currency payable { amountMinor } } }`,
  earnings: `query($organizationId: ID!) { earnings(organizationId: $organizationId) { currency available { amountMinor } } }`,
  earningsStatement: `query($organizationId: ID!) { earningsStatement(organizationId: $organizationId, period: "2026-01", currency: "USD") { __typename } }`,
  usageStatement: `query($organizationId: ID!) { usageStatement(organizationId: $organizationId, period: "2026-01") { __typename } }`,
  reportModelRevenue: `mutation($input: ReportModelRevenueInput!) { reportModelRevenue(input: $input) { id revision } }`,
  licenseNotices: `query($organizationId: ID) { licenseNotices(organizationId: $organizationId) { edges { node { id } } } }`,
  missingRevenueReports: `query($organizationId: ID) { missingRevenueReports(period: "2026-01", organizationId: $organizationId) { edges { node { modelId } } } }`,
  setVendorFeeOverride: `mutation($vendorOrganizationId: ID!, $feeBps: Int) { setVendorFeeOverride(vendorOrganizationId: $vendorOrganizationId, feeBps: $feeBps) { feeBps } }`,
  createPaymentSetup: `mutation($organizationId: ID!) { createPaymentSetup(organizationId: $organizationId) { customerId setupIntentId } }`,
  paymentSetup: `query($organizationId: ID!) { paymentSetup(organizationId: $organizationId) { customerId defaultPaymentMethodId } }`,
  startPayoutOnboarding: `mutation($organizationId: ID!) { startPayoutOnboarding(organizationId: $organizationId) { url account { accountId } } }`,
  payoutAccount: `query($organizationId: ID!) { payoutAccount(organizationId: $organizationId) { accountId canReceiveTransfers } }`,
  payoutDashboardLink: `mutation($organizationId: ID!) { payoutDashboardLink(organizationId: $organizationId) { url } }`,
  payouts: `query($organizationId: ID!) { payouts(organizationId: $organizationId) { edges { node { id status } } } }`,
  payoutBatch: `query($id: ID!) { payoutBatch(id: $id) { id status } }`,
  approvePayoutBatch: `mutation($id: ID!, $snapshotHash: String!) { approvePayoutBatch(id: $id, snapshotHash: $snapshotHash) { id status } }`,
  rejectPayoutBatch: `mutation($id: ID!, $reason: String!) { rejectPayoutBatch(id: $id, reason: $reason) { id status } }`,
  holdPayout: `mutation($payoutId: ID!, $reason: String!) { holdPayout(payoutId: $payoutId, reason: $reason) { id status } }`,
  releasePayout: `mutation($payoutId: ID!) { releasePayout(payoutId: $payoutId) { id status } }`,
  holdVendorPayouts: `mutation($organizationId: ID!, $reason: String!) { holdVendorPayouts(organizationId: $organizationId, reason: $reason) { organizationId } }`,
  releaseVendorPayouts: `mutation($organizationId: ID!) { releaseVendorPayouts(organizationId: $organizationId) { organizationId } }`,
  reverseTransfer: `mutation($payoutId: ID!, $amountMinor: String!, $reason: String!) { reverseTransfer(payoutId: $payoutId, amountMinor: $amountMinor, reason: $reason) { reversalId } }`,
  confirmSandboxPaymentSetup: `mutation($organizationId: ID!, $setupIntentId: ID!, $paymentMethod: String!) {
    confirmSandboxPaymentSetup(organizationId: $organizationId, setupIntentId: $setupIntentId, paymentMethod: $paymentMethod) { defaultPaymentMethodId } }`,
  simulateSandboxDispute: `mutation($paymentIntentId: ID!) { simulateSandboxDispute(paymentIntentId: $paymentIntentId) { id } }`,
  closeSandboxDispute: `mutation($disputeId: ID!) { closeSandboxDispute(disputeId: $disputeId, outcome: LOST) { id } }`,
  retirePoolPlan: `mutation($planId: ID!) { retirePoolPlan(planId: $planId) { id status } }`,
  subscribeToPool: `mutation($planId: ID!, $organizationId: ID!) { subscribeToPool(planId: $planId, organizationId: $organizationId) {
    __typename ... on PoolSubscription { id } ... on BusinessError { code } } }`,
  cancelPoolSubscription: `mutation($subscriptionId: ID!) { cancelPoolSubscription(subscriptionId: $subscriptionId) { id status } }`,
  poolSubscription: `query($id: ID!) { poolSubscription(id: $id) { id status } }`,
  poolSubscriptions: `query($organizationId: ID!) { poolSubscriptions(organizationId: $organizationId) { id } }`,
  leavePool: `mutation($modelId: ID!) { leavePool(modelId: $modelId) { modelId fromPeriod } }`,
  releasePoolEarnings: `mutation($planId: ID!, $modelId: ID!) { releasePoolEarnings(planId: $planId, period: "2026-01", modelId: $modelId) }`,
  poolStatement: `query($planId: ID!, $organizationId: ID) { poolStatement(planId: $planId, period: "2026-01", organizationId: $organizationId) { complete } }`,
};

function transition(op: string): string {
  return `mutation($input: AgreementStatusChangeInput!) { ${op}(input: $input) {
    __typename ... on LicenseAgreement { id status } ... on InvalidAgreementTransitionError { currentStatus } } }`;
}

// ---------------------------------------------------------------- the case table

type As = 'user' | 'key';
type Vars = Record<string, unknown>;

interface Case {
  /** The Query / Mutation field. */
  op: keyof typeof Q;
  /** The argument path (in the variables: variables are named after the arguments) holding the foreign id. */
  probe: string;
  /** Whose object, in words. */
  what: string;
  vars: (f: Fixture) => Vars;
  /**
   * The expected error code, or — for public operations on public objects and
   * designed business results — an assertion on what C sees.
   */
  expect: 'NOT_FOUND' | 'FORBIDDEN' | ((data: Record<string, any>, f: Fixture) => void);
  /** Default: both C's user token and C's API key. */
  as?: As[];
}

const ids = (list: { id: string }[]) => list.map((x) => x.id).sort();

const CASES: Case[] = [
  // ---- Money: invoices and balances are the organization's; payment setup acts for it
  { op: 'invoices', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'invoices', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  { op: 'invoice', probe: 'id', what: "A's OPEN invoice", vars: (f) => ({ id: f.aInvoice }), expect: 'NOT_FOUND' },
  { op: 'invoice', probe: 'id', what: "B's PAID invoice", vars: (f) => ({ id: f.bInvoice }), expect: 'NOT_FOUND' },
  { op: 'invoiceAllocation', probe: 'invoiceId', what: "B's PAID invoice", vars: (f) => ({ invoiceId: f.bInvoice }), expect: 'NOT_FOUND' },
  { op: 'invoiceAllocation', probe: 'invoiceId', what: "A's OPEN invoice", vars: (f) => ({ invoiceId: f.aInvoice }), expect: 'NOT_FOUND' },
  { op: 'payInvoice', probe: 'id', what: "A's OPEN invoice", vars: (f) => ({ id: f.aInvoice }), expect: 'NOT_FOUND' },
  { op: 'payInvoice', probe: 'id', what: "B's PAID invoice", vars: (f) => ({ id: f.bInvoice }), expect: 'NOT_FOUND' },
  { op: 'balances', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'balances', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  { op: 'earnings', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'earnings', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  { op: 'earningsStatement', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  { op: 'usageStatement', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  // Downstream revenue: reports on the owner's models, notices of a vendor, reminders of a distiller.
  {
    op: 'reportModelRevenue',
    probe: 'input.modelId',
    what: "A's LISTED model",
    vars: (f) => ({ input: { modelId: f.aListedModel, period: '2026-01', grossMinor: '100', currency: 'EUR' } }),
    expect: 'NOT_FOUND',
  },
  {
    op: 'reportModelRevenue',
    probe: 'input.modelId',
    what: "B's model",
    vars: (f) => ({ input: { modelId: f.bModel, period: '2026-01', grossMinor: '100', currency: 'EUR' } }),
    expect: 'NOT_FOUND',
  },
  { op: 'licenseNotices', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'licenseNotices', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  { op: 'missingRevenueReports', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'missingRevenueReports', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  { op: 'createPaymentSetup', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'createPaymentSetup', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  { op: 'paymentSetup', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'paymentSetup', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  { op: 'startPayoutOnboarding', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'startPayoutOnboarding', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  { op: 'payoutAccount', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'payoutAccount', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  { op: 'payoutDashboardLink', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'payoutDashboardLink', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  // Payouts: a vendor's payouts are its members'; batches and their review are platform admins' only (C is refused whatever the id).
  { op: 'payouts', probe: 'organizationId', what: "A's organization (paid in aPayoutBatch)", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'payouts', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },
  { op: 'payoutBatch', probe: 'id', what: 'the payout batch paying A', vars: (f) => ({ id: f.aPayoutBatch }), expect: 'FORBIDDEN' },
  { op: 'approvePayoutBatch', probe: 'id', what: 'the payout batch paying A', vars: (f) => ({ id: f.aPayoutBatch, snapshotHash: 'a'.repeat(64) }), expect: 'FORBIDDEN' },
  { op: 'rejectPayoutBatch', probe: 'id', what: 'the payout batch paying A', vars: (f) => ({ id: f.aPayoutBatch, reason: 'intruder' }), expect: 'FORBIDDEN' },
  { op: 'holdPayout', probe: 'payoutId', what: "A's payout", vars: (f) => ({ payoutId: f.aPayout, reason: 'intruder' }), expect: 'FORBIDDEN' },
  { op: 'releasePayout', probe: 'payoutId', what: "A's payout", vars: (f) => ({ payoutId: f.aPayout }), expect: 'FORBIDDEN' },
  { op: 'holdVendorPayouts', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId, reason: 'intruder' }), expect: 'FORBIDDEN' },
  { op: 'releaseVendorPayouts', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'FORBIDDEN' },
  {
    op: 'confirmSandboxPaymentSetup',
    probe: 'organizationId',
    what: "A's organization with A's SetupIntent",
    vars: (f) => ({ organizationId: f.a.organizationId, setupIntentId: f.aSetupIntent, paymentMethod: 'pm_sandbox_visa' }),
    expect: 'NOT_FOUND',
  },
  {
    op: 'confirmSandboxPaymentSetup',
    probe: 'setupIntentId',
    what: "A's SetupIntent, for C's organization",
    vars: (f) => ({ organizationId: f.c.organizationId, setupIntentId: f.aSetupIntent, paymentMethod: 'pm_sandbox_visa' }),
    expect: 'NOT_FOUND',
  },
  // Platform admins only: C is refused whatever the id (the same FORBIDDEN as for an unknown id).
  { op: 'refundInvoice', probe: 'id', what: "B's PAID invoice", vars: (f) => ({ id: f.bInvoice, reason: 'intruder' }), expect: 'FORBIDDEN' },
  { op: 'voidInvoice', probe: 'id', what: "A's OPEN invoice", vars: (f) => ({ id: f.aInvoice, reason: 'intruder' }), expect: 'FORBIDDEN' },
  { op: 'setVendorFeeOverride', probe: 'vendorOrganizationId', what: "A's organization", vars: (f) => ({ vendorOrganizationId: f.a.organizationId, feeBps: 0 }), expect: 'FORBIDDEN' },
  { op: 'simulateSandboxDispute', probe: 'paymentIntentId', what: "B's sandbox payment", vars: (f) => ({ paymentIntentId: f.bPaymentIntent }), expect: 'FORBIDDEN' },
  { op: 'closeSandboxDispute', probe: 'disputeId', what: "the dispute on B's payment", vars: (f) => ({ disputeId: f.bDispute }), expect: 'FORBIDDEN' },
  { op: 'reverseTransfer', probe: 'payoutId', what: "A's SENT payout", vars: (f) => ({ payoutId: f.aSentPayout, amountMinor: '100', reason: 'intruder' }), expect: 'FORBIDDEN' },
  { op: 'retirePoolPlan', probe: 'planId', what: 'the ACTIVE pool plan', vars: (f) => ({ planId: f.poolPlan }), expect: 'FORBIDDEN' },
  { op: 'releasePoolEarnings', probe: 'planId', what: 'the pool plan', vars: (f) => ({ planId: f.poolPlan, modelId: f.aListedModel }), expect: 'FORBIDDEN' },
  { op: 'releasePoolEarnings', probe: 'modelId', what: "A's LISTED model", vars: (f) => ({ planId: f.poolPlan, modelId: f.aListedModel }), expect: 'FORBIDDEN' },

  // ---- Pool: plans are public; subscriptions and statements are their organizations'.
  { op: 'subscribeToPool', probe: 'organizationId', what: "A's organization", vars: (f) => ({ planId: f.poolPlan, organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  {
    op: 'subscribeToPool',
    probe: 'planId',
    what: 'a RETIRED plan (public), for C itself',
    vars: (f) => ({ planId: f.retiredPoolPlan, organizationId: f.c.organizationId }),
    expect: (d) => expect(d.subscribeToPool).toEqual({ __typename: 'PoolPlanNotAvailableError', code: 'POOL_PLAN_NOT_AVAILABLE' }),
  },
  { op: 'cancelPoolSubscription', probe: 'subscriptionId', what: "A's subscription", vars: (f) => ({ subscriptionId: f.aPoolSubscription }), expect: 'NOT_FOUND' },
  { op: 'poolSubscription', probe: 'id', what: "A's subscription", vars: (f) => ({ id: f.aPoolSubscription }), expect: 'NOT_FOUND' },
  { op: 'poolSubscriptions', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'leavePool', probe: 'modelId', what: "A's LISTED model", vars: (f) => ({ modelId: f.aListedModel }), expect: 'NOT_FOUND' },
  { op: 'poolStatement', probe: 'organizationId', what: "A's organization", vars: (f) => ({ planId: f.poolPlan, organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'poolStatement', probe: 'planId', what: 'the pool plan, for C itself', vars: (f) => ({ planId: f.poolPlan, organizationId: f.c.organizationId }), expect: 'NOT_FOUND' },

  // ---- Query.agreement
  { op: 'agreement', probe: 'id', what: "A's agreement (A distiller, B vendor)", vars: (f) => ({ id: f.aAgreement }), expect: 'NOT_FOUND' },
  { op: 'agreement', probe: 'id', what: "B's agreement (B distiller, A vendor)", vars: (f) => ({ id: f.bAgreement }), expect: 'NOT_FOUND' },

  // ---- Query.agreements
  ...(['DISTILLER', 'VENDOR'] as const).flatMap((role): Case[] => [
    { op: 'agreements', probe: 'organizationId', what: `A's organization as ${role}`, vars: (f) => ({ organizationId: f.a.organizationId, role }), expect: 'NOT_FOUND' },
    { op: 'agreements', probe: 'organizationId', what: `B's organization as ${role}`, vars: (f) => ({ organizationId: f.b.organizationId, role }), expect: 'NOT_FOUND' },
  ]),

  // ---- Query.apiKeys
  { op: 'apiKeys', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'apiKeys', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },

  // ---- Query.auditLog: platform admins only. C is refused whatever the filter
  // says (the same FORBIDDEN as for an unknown id, checked below), so the
  // answer reveals nothing about A's ids.
  { op: 'auditLog', probe: 'filter.organizationId', what: "A's organization", vars: (f) => ({ filter: { organizationId: f.a.organizationId } }), expect: 'FORBIDDEN' },
  { op: 'auditLog', probe: 'filter.targetId', what: "A's agreement", vars: (f) => ({ filter: { targetId: f.aAgreement } }), expect: 'FORBIDDEN' },

  // ---- Query.catalog (public): A's LISTED models only — no DRAFT, no UNLISTED, no RETIRED offer
  {
    op: 'catalog',
    probe: 'filter.vendorId',
    what: "A's organization",
    vars: (f) => ({ filter: { vendorId: f.a.organizationId } }),
    expect: (d, f) => {
      const nodes = d.catalog.edges.map((e: any) => e.node);
      expect(ids(nodes)).toEqual([f.aListedModel, f.aLateModel].sort());
      expect(d.catalog.totalCount).toBe(2);
      expect(nodes.every((n: any) => n.status === 'LISTED' && n.organizationId === f.a.organizationId)).toBe(true);
      const offers = nodes.flatMap((n: any) => n.offers);
      expect(ids(offers)).toEqual([f.aOffer.id, f.aLateOffer.id].sort());
    },
  },
  {
    op: 'catalog',
    probe: 'filter.vendorId',
    what: "B's organization",
    vars: (f) => ({ filter: { vendorId: f.b.organizationId } }),
    expect: (d, f) => {
      expect(d.catalog.edges.map((e: any) => e.node.id)).toEqual([f.bModel]);
      expect(d.catalog.totalCount).toBe(1);
    },
  },

  // ---- Query.licenseOffer (public for ACTIVE offers of LISTED models)
  {
    op: 'licenseOffer',
    probe: 'id',
    what: "A's ACTIVE offer of a LISTED model (public)",
    vars: (f) => ({ id: f.aOffer.id }),
    expect: (d, f) => expect(d.licenseOffer).toEqual({ id: f.aOffer.id, status: 'ACTIVE', organizationId: f.a.organizationId, termsHash: f.aOffer.termsHash, model: { id: f.aListedModel } }),
  },
  {
    op: 'licenseOffer',
    probe: 'id',
    what: "B's ACTIVE offer of a LISTED model (public)",
    vars: (f) => ({ id: f.bOffer.id }),
    expect: (d, f) => expect(d.licenseOffer).toMatchObject({ id: f.bOffer.id, status: 'ACTIVE', model: { id: f.bModel } }),
  },
  { op: 'licenseOffer', probe: 'id', what: "A's RETIRED offer", vars: (f) => ({ id: f.aRetiredOffer.id }), expect: 'NOT_FOUND' },
  { op: 'licenseOffer', probe: 'id', what: "A's offer of a DRAFT model", vars: (f) => ({ id: f.aDraftOffer.id }), expect: 'NOT_FOUND' },
  { op: 'licenseOffer', probe: 'id', what: "A's ACTIVE offer of an UNLISTED model", vars: (f) => ({ id: f.aUnlistedOffer.id }), expect: 'NOT_FOUND' },
  { op: 'licenseOffer', probe: 'id', what: "A's never-public RETIRED offer", vars: (f) => ({ id: f.aNeverPublicOffer.id }), expect: 'NOT_FOUND' },

  // ---- Query.licenseOffers (public: the ACTIVE offers of a LISTED model)
  { op: 'licenseOffers', probe: 'modelId', what: "A's DRAFT model", vars: (f) => ({ modelId: f.aDraftModel }), expect: 'NOT_FOUND' },
  { op: 'licenseOffers', probe: 'modelId', what: "A's UNLISTED model", vars: (f) => ({ modelId: f.aUnlistedModel }), expect: 'NOT_FOUND' },
  {
    op: 'licenseOffers',
    probe: 'modelId',
    what: "A's LISTED model (ACTIVE offers only)",
    vars: (f) => ({ modelId: f.aListedModel }),
    expect: (d, f) => expect(d.licenseOffers).toEqual([{ id: f.aOffer.id, status: 'ACTIVE' }]),
  },
  {
    op: 'licenseOffers',
    probe: 'modelId',
    what: "A's LISTED model, asking for RETIRED offers (vendor members only)",
    vars: (f) => ({ modelId: f.aListedModel, status: 'RETIRED' }),
    expect: (d) => expect(d.licenseOffers).toEqual([]),
  },
  {
    op: 'licenseOffers',
    probe: 'modelId',
    what: "A's listed model whose first version was superseded while a DRAFT",
    vars: (f) => ({ modelId: f.aLateModel }),
    expect: (d, f) => expect(d.licenseOffers).toEqual([{ id: f.aLateOffer.id, status: 'ACTIVE' }]),
  },
  {
    op: 'licenseOffers',
    probe: 'modelId',
    what: "B's LISTED model",
    vars: (f) => ({ modelId: f.bModel }),
    expect: (d, f) => expect(d.licenseOffers).toEqual([{ id: f.bOffer.id, status: 'ACTIVE' }]),
  },

  // ---- Query.myModels
  { op: 'myModels', probe: 'organizationId', what: "A's organization", vars: (f) => ({ organizationId: f.a.organizationId }), expect: 'NOT_FOUND' },
  { op: 'myModels', probe: 'organizationId', what: "B's organization", vars: (f) => ({ organizationId: f.b.organizationId }), expect: 'NOT_FOUND' },

  // ---- Query.teacherModel (public for LISTED models)
  { op: 'teacherModel', probe: 'id', what: "A's DRAFT model", vars: (f) => ({ id: f.aDraftModel }), expect: 'NOT_FOUND' },
  { op: 'teacherModel', probe: 'id', what: "A's UNLISTED model", vars: (f) => ({ id: f.aUnlistedModel }), expect: 'NOT_FOUND' },
  {
    op: 'teacherModel',
    probe: 'id',
    what: "A's LISTED model (public; ACTIVE offers only)",
    vars: (f) => ({ id: f.aListedModel }),
    expect: (d, f) =>
      expect(d.teacherModel).toEqual({ id: f.aListedModel, status: 'LISTED', organizationId: f.a.organizationId, offers: [{ id: f.aOffer.id, status: 'ACTIVE' }] }),
  },
  {
    op: 'teacherModel',
    probe: 'id',
    what: "B's LISTED model (public)",
    vars: (f) => ({ id: f.bModel }),
    expect: (d, f) => expect(d.teacherModel).toMatchObject({ id: f.bModel, status: 'LISTED', offers: [{ id: f.bOffer.id }] }),
  },

  // ---- Query.teacherUpstream / Mutation.configureTeacherUpstream: vendor members only, whatever the model's status
  ...(
    [
      ["A's DRAFT model", (f: Fixture) => f.aDraftModel],
      ["A's LISTED model", (f: Fixture) => f.aListedModel],
      ["A's UNLISTED model", (f: Fixture) => f.aUnlistedModel],
      ["B's LISTED model", (f: Fixture) => f.bModel],
    ] as const
  ).flatMap(([what, model]): Case[] => [
    { op: 'teacherUpstream', probe: 'modelId', what, vars: (f) => ({ modelId: model(f) }), expect: 'NOT_FOUND' },
    {
      op: 'configureTeacherUpstream',
      probe: 'input.modelId',
      what,
      vars: (f) => ({ input: { modelId: model(f), baseUrl: 'https://intruder.example/v1', apiKey: 'sk-intruder', upstreamModel: 'hijack' } }),
      expect: 'NOT_FOUND',
    },
  ]),

  // ---- Mutation.acceptLicenseOffer: acting for a foreign organization
  {
    op: 'acceptLicenseOffer',
    probe: 'input.organizationId',
    what: "A's organization (on B's public offer)",
    vars: (f) => ({ input: { offerId: f.bOffer.id, organizationId: f.a.organizationId, acceptedTermsHash: f.bOffer.termsHash } }),
    expect: 'NOT_FOUND',
  },
  {
    op: 'acceptLicenseOffer',
    probe: 'input.organizationId',
    what: "A's organization (on A's own offer)",
    vars: (f) => ({ input: { offerId: f.aOffer.id, organizationId: f.a.organizationId, acceptedTermsHash: f.aOffer.termsHash } }),
    expect: 'NOT_FOUND',
  },
  {
    op: 'acceptLicenseOffer',
    probe: 'input.organizationId',
    what: "B's organization (on A's public offer)",
    vars: (f) => ({ input: { offerId: f.aOffer.id, organizationId: f.b.organizationId, acceptedTermsHash: f.aOffer.termsHash } }),
    expect: 'NOT_FOUND',
  },
  // ---- Mutation.acceptLicenseOffer: for C itself, on A's / B's offers
  {
    op: 'acceptLicenseOffer',
    probe: 'input.offerId',
    what: "A's offer of a DRAFT model (never public)",
    vars: (f) => ({ input: { offerId: f.aDraftOffer.id, organizationId: f.c.organizationId, acceptedTermsHash: f.aDraftOffer.termsHash } }),
    expect: 'NOT_FOUND',
  },
  {
    op: 'acceptLicenseOffer',
    probe: 'input.offerId',
    what: "A's offer superseded while its model was a DRAFT (never public; the model is LISTED now)",
    vars: (f) => ({ input: { offerId: f.aNeverPublicOffer.id, organizationId: f.c.organizationId, acceptedTermsHash: f.aNeverPublicOffer.termsHash } }),
    expect: 'NOT_FOUND',
  },
  // Designed business results (schema: OfferNotAvailableError, reason OFFER_RETIRED / MODEL_NOT_LISTED):
  // the offer was public once, a distiller who reviewed it learns why it cannot be accepted;
  // only ids that were public are revealed.
  {
    op: 'acceptLicenseOffer',
    probe: 'input.offerId',
    what: "A's RETIRED offer (public while ACTIVE) → OfferNotAvailableError",
    vars: (f) => ({ input: { offerId: f.aRetiredOffer.id, organizationId: f.c.organizationId, acceptedTermsHash: f.aRetiredOffer.termsHash } }),
    expect: (d, f) =>
      expect(d.acceptLicenseOffer).toEqual({ __typename: 'OfferNotAvailableError', code: 'OFFER_NOT_AVAILABLE', offerId: f.aRetiredOffer.id, reason: 'OFFER_RETIRED', currentOfferId: null }),
  },
  {
    op: 'acceptLicenseOffer',
    probe: 'input.offerId',
    what: "A's offer of an UNLISTED model (public while LISTED) → OfferNotAvailableError",
    vars: (f) => ({ input: { offerId: f.aUnlistedOffer.id, organizationId: f.c.organizationId, acceptedTermsHash: f.aUnlistedOffer.termsHash } }),
    expect: (d, f) =>
      expect(d.acceptLicenseOffer).toEqual({
        __typename: 'OfferNotAvailableError',
        code: 'OFFER_NOT_AVAILABLE',
        offerId: f.aUnlistedOffer.id,
        reason: 'MODEL_NOT_LISTED',
        currentOfferId: f.aUnlistedOffer.id,
      }),
  },
  {
    op: 'acceptLicenseOffer',
    probe: 'input.offerId',
    what: "B's public offer with a stale hash → TermsChangedError (the public hash)",
    vars: (f) => ({ input: { offerId: f.bOffer.id, organizationId: f.c.organizationId, acceptedTermsHash: '0'.repeat(64) } }),
    expect: (d, f) =>
      expect(d.acceptLicenseOffer).toEqual({ __typename: 'TermsChangedError', code: 'TERMS_CHANGED', offerId: f.bOffer.id, currentTermsHash: f.bOffer.termsHash }),
  },

  // ---- Mutation.createApiKey
  {
    op: 'createApiKey',
    probe: 'input.organizationId',
    what: "A's organization",
    vars: (f) => ({ input: { organizationId: f.a.organizationId, name: 'intruder', scopes: ['READ', 'WRITE'] } }),
    expect: 'NOT_FOUND',
  },
  {
    op: 'createApiKey',
    probe: 'input.organizationId',
    what: "B's organization (GATEWAY on B's own agreement)",
    vars: (f) => ({ input: { organizationId: f.b.organizationId, name: 'intruder', scopes: ['GATEWAY'], agreementId: f.bAgreement } }),
    expect: 'NOT_FOUND',
  },
  // Binding C's key to A's / B's agreements. User only: an API key may never create keys (FORBIDDEN before any lookup).
  {
    op: 'createApiKey',
    probe: 'input.agreementId',
    what: "A's agreement (A distiller), for C's organization",
    vars: (f) => ({ input: { organizationId: f.c.organizationId, name: 'gw', scopes: ['GATEWAY'], agreementId: f.aAgreement } }),
    expect: 'NOT_FOUND',
    as: ['user'],
  },
  {
    op: 'createApiKey',
    probe: 'input.agreementId',
    what: "B's agreement (on A's offer), for C's organization",
    vars: (f) => ({ input: { organizationId: f.c.organizationId, name: 'gw', scopes: ['GATEWAY'], agreementId: f.bAgreement } }),
    expect: 'NOT_FOUND',
    as: ['user'],
  },

  // ---- Mutation.createTeacherModel
  {
    op: 'createTeacherModel',
    probe: 'input.organizationId',
    what: "A's organization",
    vars: (f) => ({ input: { organizationId: f.a.organizationId, slug: 'intruder', name: 'Intruder', card: CARD } }),
    expect: 'NOT_FOUND',
  },
  {
    op: 'createTeacherModel',
    probe: 'input.organizationId',
    what: "B's organization",
    vars: (f) => ({ input: { organizationId: f.b.organizationId, slug: 'intruder', name: 'Intruder', card: CARD } }),
    expect: 'NOT_FOUND',
  },

  // ---- Mutation.listTeacherModel / unlistTeacherModel / updateTeacherModel
  ...(['listTeacherModel', 'unlistTeacherModel'] as const).flatMap((op): Case[] => [
    { op, probe: 'id', what: "A's DRAFT model", vars: (f) => ({ id: f.aDraftModel }), expect: 'NOT_FOUND' },
    { op, probe: 'id', what: "A's LISTED model", vars: (f) => ({ id: f.aListedModel }), expect: 'NOT_FOUND' },
    { op, probe: 'id', what: "A's UNLISTED model", vars: (f) => ({ id: f.aUnlistedModel }), expect: 'NOT_FOUND' },
    { op, probe: 'id', what: "B's LISTED model", vars: (f) => ({ id: f.bModel }), expect: 'NOT_FOUND' },
  ]),
  { op: 'updateTeacherModel', probe: 'input.id', what: "A's DRAFT model", vars: (f) => ({ input: { id: f.aDraftModel, name: 'Hijacked' } }), expect: 'NOT_FOUND' },
  { op: 'updateTeacherModel', probe: 'input.id', what: "A's LISTED model", vars: (f) => ({ input: { id: f.aListedModel, name: 'Hijacked', card: CARD } }), expect: 'NOT_FOUND' },
  { op: 'updateTeacherModel', probe: 'input.id', what: "B's LISTED model", vars: (f) => ({ input: { id: f.bModel, name: 'Hijacked' } }), expect: 'NOT_FOUND' },

  // ---- Mutation.publishLicenseOffer
  ...(
    [
      ["A's DRAFT model", (f: Fixture) => f.aDraftModel],
      ["A's LISTED model", (f: Fixture) => f.aListedModel],
      ["A's UNLISTED model", (f: Fixture) => f.aUnlistedModel],
      ["B's LISTED model", (f: Fixture) => f.bModel],
    ] as const
  ).map(
    ([what, model]): Case => ({
      op: 'publishLicenseOffer',
      probe: 'input.modelId',
      what,
      vars: (f) => ({ input: { modelId: model(f), name: 'standard', terms: termsInput(), pricing: pricingInput() } }),
      expect: 'NOT_FOUND',
    }),
  ),

  // ---- Mutation.retireLicenseOffer
  { op: 'retireLicenseOffer', probe: 'id', what: "A's ACTIVE offer", vars: (f) => ({ id: f.aOffer.id }), expect: 'NOT_FOUND' },
  { op: 'retireLicenseOffer', probe: 'id', what: "A's RETIRED offer", vars: (f) => ({ id: f.aRetiredOffer.id }), expect: 'NOT_FOUND' },
  { op: 'retireLicenseOffer', probe: 'id', what: "A's offer of a DRAFT model", vars: (f) => ({ id: f.aDraftOffer.id }), expect: 'NOT_FOUND' },
  { op: 'retireLicenseOffer', probe: 'id', what: "B's ACTIVE offer", vars: (f) => ({ id: f.bOffer.id }), expect: 'NOT_FOUND' },

  // ---- Mutation.revokeApiKey
  { op: 'revokeApiKey', probe: 'id', what: "A's API key", vars: (f) => ({ id: f.aKeyId }), expect: 'NOT_FOUND' },

  // ---- organization members: A's / B's organizations, and A's user inside C's own organization
  ...(['a', 'b'] as const).flatMap((who): Case[] => [
    { op: 'updateOrganization', probe: 'input.id', what: `${who.toUpperCase()}'s organization`, vars: (f) => ({ input: { id: f[who].organizationId, name: 'Taken over' } }), expect: 'NOT_FOUND' },
    { op: 'organizationMembers', probe: 'organizationId', what: `${who.toUpperCase()}'s organization`, vars: (f) => ({ organizationId: f[who].organizationId }), expect: 'NOT_FOUND' },
    {
      op: 'addOrganizationMember',
      probe: 'input.organizationId',
      what: `${who.toUpperCase()}'s organization (adding C's user)`,
      vars: (f) => ({ input: { organizationId: f[who].organizationId, email: f.c.email, role: 'OWNER' } }),
      expect: 'NOT_FOUND',
    },
    {
      op: 'changeMemberRole',
      probe: 'input.organizationId',
      what: `${who.toUpperCase()}'s organization (demoting its owner)`,
      vars: (f) => ({ input: { organizationId: f[who].organizationId, userId: f[who].userId, role: 'MEMBER' } }),
      expect: 'NOT_FOUND',
    },
    {
      op: 'removeOrganizationMember',
      probe: 'input.organizationId',
      what: `${who.toUpperCase()}'s organization (removing its owner)`,
      vars: (f) => ({ input: { organizationId: f[who].organizationId, userId: f[who].userId } }),
      expect: 'NOT_FOUND',
    },
  ]),
  // (an API key cannot manage members at all: user sessions only)
  {
    op: 'changeMemberRole',
    probe: 'input.userId',
    what: "A's owner, inside C's own organization",
    vars: (f) => ({ input: { organizationId: f.c.organizationId, userId: f.a.userId, role: 'MEMBER' } }),
    expect: 'NOT_FOUND',
    as: ['user'],
  },
  {
    op: 'removeOrganizationMember',
    probe: 'input.userId',
    what: "A's owner, inside C's own organization",
    vars: (f) => ({ input: { organizationId: f.c.organizationId, userId: f.a.userId } }),
    expect: 'NOT_FOUND',
    as: ['user'],
  },

  // ---- Mutation.suspendAgreement / terminateAgreement / reinstateAgreement
  ...(['suspendAgreement', 'terminateAgreement', 'reinstateAgreement'] as const).flatMap((op): Case[] => [
    { op, probe: 'input.id', what: "A's agreement (A distiller, B vendor)", vars: (f) => ({ input: { id: f.aAgreement, reason: 'outsider' } }), expect: 'NOT_FOUND' },
    { op, probe: 'input.id', what: "B's agreement (B distiller, A vendor)", vars: (f) => ({ input: { id: f.bAgreement, reason: 'outsider' } }), expect: 'NOT_FOUND' },
  ]),

  // ---- Query.teacherUpstreamErrors: the agreement's vendor organization (and admins) only
  { op: 'teacherUpstreamErrors', probe: 'agreementId', what: "A's agreement (A distiller, B vendor)", vars: (f) => ({ agreementId: f.aAgreement }), expect: 'NOT_FOUND' },
  { op: 'teacherUpstreamErrors', probe: 'agreementId', what: "B's agreement (B distiller, A vendor)", vars: (f) => ({ agreementId: f.bAgreement }), expect: 'NOT_FOUND' },

  // ---- Query.usageSummary / usageEvents: the agreement's two parties (and admins) only
  ...(['usageSummary', 'usageEvents'] as const).flatMap((op): Case[] =>
    (
      [
        ["A's agreement (A distiller, B vendor)", (f: Fixture) => f.aAgreement],
        ["B's agreement (B distiller, A vendor)", (f: Fixture) => f.bAgreement],
      ] as const
    ).map(([what, agreement]) => ({
      op,
      probe: 'agreementId',
      what,
      vars: (f: Fixture) =>
        op === 'usageSummary'
          ? { agreementId: agreement(f), from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', granularity: 'HOUR' }
          : { agreementId: agreement(f) },
      expect: 'NOT_FOUND' as const,
    })),
  ),

  // ---- Query.usageInclusionProof: the agreement's two parties (and admins) only, whatever the event id
  { op: 'usageInclusionProof', probe: 'agreementId', what: "A's agreement (A distiller, B vendor)", vars: (f) => ({ agreementId: f.aAgreement, period: '2026-01', eventId: 'evt-1' }), expect: 'NOT_FOUND' },
  { op: 'usageInclusionProof', probe: 'agreementId', what: "B's agreement (B distiller, A vendor)", vars: (f) => ({ agreementId: f.bAgreement, period: '2026-01', eventId: 'evt-1' }), expect: 'NOT_FOUND' },
  { op: 'usageInclusionProof', probe: 'eventId', what: "A's usage event", vars: (f) => ({ agreementId: f.aAgreement, period: '2026-01', eventId: f.aUsageEvent }), expect: 'NOT_FOUND' },

  // ---- Query.anomalyFlags: the vendor organization's members (and admins) only
  { op: 'anomalyFlags', probe: 'filter.organizationId', what: "A's organization", vars: (f) => ({ filter: { organizationId: f.a.organizationId } }), expect: 'NOT_FOUND' },
  { op: 'anomalyFlags', probe: 'filter.organizationId', what: "B's organization", vars: (f) => ({ filter: { organizationId: f.b.organizationId } }), expect: 'NOT_FOUND' },
  {
    op: 'anomalyFlags',
    probe: 'filter.agreementId',
    what: "A's agreement (B vendor), within C's own organization",
    vars: (f) => ({ filter: { organizationId: f.c.organizationId, agreementId: f.aAgreement } }),
    expect: 'NOT_FOUND',
  },
  {
    op: 'anomalyFlags',
    probe: 'filter.agreementId',
    what: "B's agreement (A vendor), within C's own organization",
    vars: (f) => ({ filter: { organizationId: f.c.organizationId, agreementId: f.bAgreement } }),
    expect: 'NOT_FOUND',
  },

  // ---- Mutation.acknowledgeAnomalyFlag
  { op: 'acknowledgeAnomalyFlag', probe: 'input.id', what: "A's flag (on B's agreement)", vars: (f) => ({ input: { id: f.aFlag, note: 'outsider' } }), expect: 'NOT_FOUND' },
  { op: 'acknowledgeAnomalyFlag', probe: 'input.id', what: "B's flag (on A's agreement)", vars: (f) => ({ input: { id: f.bFlag, note: 'outsider' } }), expect: 'NOT_FOUND' },

  // ---- Mutation.certifyModel / revokeCertification: platform admins only. C is refused
  // whatever the id (the same FORBIDDEN as for an unknown id), so nothing is revealed.
  ...(
    [
      ["A's LISTED model", (f: Fixture) => f.aListedModel],
      ["A's DRAFT model", (f: Fixture) => f.aDraftModel],
      ["B's LISTED model", (f: Fixture) => f.bModel],
    ] as const
  ).map(
    ([what, model]): Case => ({
      op: 'certifyModel',
      probe: 'input.modelId',
      what,
      vars: (f) => ({
        input: {
          modelId: model(f),
          evidence: [{ benchmark: 'MMLU', metric: 'accuracy', value: '99.9', datasetDigest: `sha256:${'0'.repeat(64)}` }],
          safetyReview: { summary: 'self-certified', reviewer: 'C', passed: true },
          expiresAt: '2099-01-01T00:00:00Z',
        },
      }),
      expect: 'FORBIDDEN',
    }),
  ),
  { op: 'revokeCertification', probe: 'input.id', what: "A's model's certification", vars: (f) => ({ input: { id: f.aCertification, reason: 'outsider' } }), expect: 'FORBIDDEN' },

  // ---- Mutation.registerWatermarkScheme / Query.watermarkSchemes: the model's organization only
  ...(
    [
      ["A's DRAFT model", (f: Fixture) => f.aDraftModel],
      ["A's LISTED model", (f: Fixture) => f.aListedModel],
      ["B's LISTED model", (f: Fixture) => f.bModel],
    ] as const
  ).flatMap(([what, model]): Case[] => [
    {
      op: 'registerWatermarkScheme',
      probe: 'input.modelId',
      what,
      vars: (f) => ({ input: { modelId: model(f), scheme: 'OTHER', parameters: { gamma: '0.5' }, secretKeyMaterial: 'outsider-key' } }),
      expect: 'NOT_FOUND',
    },
    { op: 'watermarkSchemes', probe: 'modelId', what, vars: (f) => ({ modelId: model(f) }), expect: 'NOT_FOUND' },
  ]),

  // ---- Mutation.registerStudentModel / declareLineage: lineage must be backed by C's own agreements.
  // Another organization's agreement (or its model) is refused exactly as an unknown agreement is —
  // LicenceMissingError with reason NO_AGREEMENT — before anything about the parent is looked at.
  {
    op: 'registerStudentModel',
    probe: 'input.organizationId',
    what: "A's organization",
    vars: (f) => ({ input: studentOf(f.a.organizationId, f.bModel, f.aAgreement) }),
    expect: 'NOT_FOUND',
  },
  ...(
    [
      ["A's agreement (A distiller, B vendor)", (f: Fixture) => [f.bModel, f.aAgreement] as const],
      ["B's agreement (B distiller, A vendor)", (f: Fixture) => [f.aListedModel, f.bAgreement] as const],
    ] as const
  ).flatMap(([what, edge]): Case[] => [
    {
      op: 'registerStudentModel',
      probe: 'input.lineage.agreementId',
      what,
      vars: (f) => ({ input: studentOf(f.c.organizationId, ...edge(f)) }),
      expect: (d) => expect(d.registerStudentModel).toMatchObject({ __typename: 'LicenceMissingError', edges: [{ reason: 'NO_AGREEMENT', status: null }] }),
    },
    {
      op: 'declareLineage',
      probe: 'input.lineage.agreementId',
      what,
      vars: (f) => ({ input: { modelId: f.cModel, lineage: [{ parentModelId: edge(f)[0], agreementId: edge(f)[1], relation: 'FINETUNED' }] } }),
      expect: (d) => expect(d.declareLineage).toMatchObject({ __typename: 'LicenceMissingError', edges: [{ reason: 'NO_AGREEMENT', status: null }] }),
    },
  ]),
  ...(
    [
      ["A's DRAFT model", (f: Fixture) => f.aDraftModel],
      ["B's LISTED model", (f: Fixture) => f.bModel],
    ] as const
  ).flatMap(([what, model]): Case[] => [
    {
      op: 'registerStudentModel',
      probe: 'input.lineage.parentModelId',
      what,
      vars: (f) => ({ input: studentOf(f.c.organizationId, model(f), f.aAgreement) }),
      expect: (d) => expect(d.registerStudentModel).toMatchObject({ __typename: 'LicenceMissingError', edges: [{ reason: 'NO_AGREEMENT' }] }),
    },
    {
      op: 'declareLineage',
      probe: 'input.lineage.parentModelId',
      what,
      vars: (f) => ({ input: { modelId: f.cModel, lineage: [{ parentModelId: model(f), agreementId: f.aAgreement, relation: 'FINETUNED' }] } }),
      expect: (d) => expect(d.declareLineage).toMatchObject({ __typename: 'LicenceMissingError', edges: [{ reason: 'NO_AGREEMENT' }] }),
    },
  ]),
  ...(
    [
      ["A's DRAFT model", (f: Fixture) => f.aDraftModel],
      ["A's LISTED model", (f: Fixture) => f.aListedModel],
      ["B's LISTED model", (f: Fixture) => f.bModel],
    ] as const
  ).flatMap(([what, model]): Case[] => [
    {
      op: 'declareLineage',
      probe: 'input.modelId',
      what,
      vars: (f) => ({ input: { modelId: model(f), lineage: [{ parentModelId: f.cModel, agreementId: randomUUID(), relation: 'FINETUNED' }] } }),
      expect: 'NOT_FOUND',
    },
    // ---- Mutation.issueAttestation: the model's organization (or an admin) only
    { op: 'issueAttestation', probe: 'modelId', what, vars: (f) => ({ modelId: model(f) }), expect: 'NOT_FOUND' },
  ]),
];

/** A registerStudentModel input in `organizationId` with one DISTILLED edge (fresh slug and weights digest). */
function studentOf(organizationId: string, parentModelId: string, agreementId: string): Record<string, unknown> {
  const n = randomUUID().slice(0, 8);
  return {
    organizationId,
    slug: `student-${n}`,
    name: `Student ${n}`,
    card: CARD,
    weightsDigest: `sha256:${createHash('sha256').update(n).digest('hex')}`,
    lineage: [{ parentModelId, agreementId, relation: 'DISTILLED', method: 'LOGITS' }],
  };
}

// ---------------------------------------------------------------- helpers

/** A copy of `vars` with the value at `path` (dotted) replaced. */
function withValueAt(vars: Vars, path: string, value: unknown): Vars {
  const copy = structuredClone(vars);
  const keys = path.split('.');
  let node: any = copy;
  // A list on the way (e.g. input.lineage) is probed in its first item.
  for (const k of keys.slice(0, -1)) node = Array.isArray(node[k]) ? node[k][0] : node[k];
  node[keys[keys.length - 1]] = value;
  return copy;
}

function valueAt(vars: Vars, path: string): unknown {
  return path.split('.').reduce<any>((node, k) => (Array.isArray(node?.[k]) ? node[k][0] : node?.[k]), vars);
}

/** The errors as a client sees them, with the probed id written as <id>. */
function normalized(r: GqlResponse, id: string) {
  return (r.errors ?? []).map((e) => ({
    message: e.message.split(id).join('<id>'),
    path: e.path,
    extensions: JSON.parse(JSON.stringify(e.extensions).split(id).join('<id>')),
  }));
}

/**
 * Every table of the app (test/support/db-checksum.ts). C's own key is used to
 * authenticate, which stamps its last_used_at — that one column is left out.
 */
function checksum(t: TestApp, tables: string[], cKeyId: string): Promise<Record<string, string>> {
  return databaseChecksum(t, tables, { 'public.api_keys': { column: 'last_used_at', where: 'x.id = $1' } }, [cKeyId]);
}

// ---------------------------------------------------------------- specs

describe('authorization: foreign organizations', () => {
  let t: TestApp;
  let f: Fixture;
  let schemaPaths: Map<string, string[]>;
  let initial: Record<string, string>;
  let tables: string[];

  beforeAll(async () => {
    t = await startTestApp();
    const schema = t.app.get(GraphQLSchemaHost).schema;
    schemaPaths = new Map();
    for (const type of [schema.getQueryType()!, schema.getMutationType()!]) {
      for (const field of Object.values(type.getFields())) {
        const paths = idPaths(field.args);
        if (paths.length) schemaPaths.set(field.name, paths);
      }
    }
    f = await buildFixture(t);
    tables = await appTables(t);
    initial = await checksum(t, tables, f.cKeyId);
  }, 60_000);
  afterAll(() => t?.close());

  it('the checksum covers every table of the app, money and usage included', async () => {
    // A floor and named witnesses, so a catalog query that went wrong cannot make the checksum vacuous.
    expect(tables.length).toBeGreaterThanOrEqual(35);
    expect(tables).toEqual(
      expect.arrayContaining(
        ['invoices', 'invoice_refunds', 'invoice_payment_attempts', 'ledger_entries', 'ledger_transactions', 'payment_customers',
          'sandbox_payment_objects', 'teacher_upstreams', 'usage_events', 'vendor_fee_overrides', 'api_keys', 'models', 'users'].map((n) => `public.${n}`),
      ),
    );
    // And the fixture put rows where the money cases look: an unchanged checksum there means something.
    for (const n of ['invoices', 'ledger_entries', 'sandbox_payment_objects']) expect(initial[`public.${n}`]).not.toMatch(/^0:/);
  });

  describe('the case table is complete by construction', () => {
    it('finds the id-taking operations in the schema', () => {
      // A floor, so an introspection bug cannot make the completeness check vacuous.
      expect(schemaPaths.size).toBeGreaterThanOrEqual(20);
      expect(schemaPaths.get('acceptLicenseOffer')).toEqual(expect.arrayContaining(['input.offerId', 'input.organizationId']));
      expect(schemaPaths.get('createApiKey')).toEqual(expect.arrayContaining(['input.organizationId', 'input.agreementId']));
    });

    it('has a foreign-id case for every id argument of every Query / Mutation field', () => {
      const missing: string[] = [];
      for (const [op, paths] of schemaPaths) {
        for (const path of paths) if (!CASES.some((c) => c.op === op && c.probe === path)) missing.push(`${op}(${path})`);
      }
      expect(missing).toEqual([]);
    });

    it('has no stale case (every case names an id argument that exists, and calls its operation)', () => {
      const stale = CASES.filter((c) => !schemaPaths.get(c.op)?.includes(c.probe) || !new RegExp(`\\b${c.op}\\s*\\(`).test(Q[c.op])).map(
        (c) => `${c.op}(${c.probe}): ${c.what}`,
      );
      expect(stale).toEqual([]);
    });

    it("every case probes one of A's or B's objects", () => {
      const theirs = new Set<string>([
        f.a.organizationId,
        f.b.organizationId,
        f.a.userId,
        f.b.userId,
        f.aKeyId,
        f.aDraftModel,
        f.aListedModel,
        f.aUnlistedModel,
        f.aLateModel,
        f.bModel,
        f.aAgreement,
        f.bAgreement,
        f.aFlag,
        f.bFlag,
        f.aCertification,
        f.aInvoice,
        f.bInvoice,
        f.bPaymentIntent,
        f.bDispute,
        f.aSetupIntent,
        f.aUsageEvent,
        f.aPayoutBatch,
        f.aPayout,
        f.aSentPayout,
        f.poolPlan,
        f.retiredPoolPlan,
        f.aPoolSubscription,
        ...[f.aDraftOffer, f.aOffer, f.aRetiredOffer, f.aUnlistedOffer, f.aNeverPublicOffer, f.aLateOffer, f.bOffer].map((o) => o.id),
      ]);
      const notForeign = CASES.filter((c) => !theirs.has(valueAt(c.vars(f), c.probe) as string)).map((c) => `${c.op}(${c.probe}): ${c.what}`);
      expect(notForeign).toEqual([]);
    });
  });

  const rows = CASES.flatMap((c) => (c.as ?? (['user', 'key'] as As[])).map((as) => ({ c, as })));

  it.each(rows.map((r) => [`${r.c.op}(${r.c.probe} = ${r.c.what}) as C's ${r.as === 'user' ? 'user' : 'API key'}`, r] as const))(
    '%s',
    async (_name, { c, as }) => {
      const token = as === 'user' ? f.c.token : f.cKey;
      const vars = c.vars(f);
      const before = await checksum(t, tables, f.cKeyId);
      const r = await t.gql(Q[c.op], vars, token);

      if (typeof c.expect === 'function') {
        expect(r.errors).toBeUndefined();
        c.expect(r.data!, f);
      } else {
        // A nullable field answers { field: null } beside its error: nothing else may come back.
        const data = r.data !== null && Object.values(r.data).every((v) => v === null) ? null : r.data;
        expect({ code: r.errors?.[0]?.extensions.code, data }).toEqual({ code: c.expect, data: null });
        expect(r.errors).toHaveLength(1);
        // Indistinguishable from an id that does not exist.
        const foreignId = valueAt(vars, c.probe) as string;
        const unknownId = randomUUID();
        const unknown = await t.gql(Q[c.op], withValueAt(vars, c.probe, unknownId), token);
        expect(normalized(r, foreignId)).toEqual(normalized(unknown, unknownId));
      }

      expect(await checksum(t, tables, f.cKeyId)).toEqual(before);
    },
  );

  it('nothing was written by the whole matrix', async () => {
    expect(await checksum(t, tables, f.cKeyId)).toEqual(initial);
  });

  it("A's and B's objects are untouched and still work for their owners", async () => {
    const mine = await t.gql(Q.myModels, { organizationId: f.a.organizationId }, f.a.token);
    expect(ids(mine.data!.myModels)).toEqual([f.aDraftModel, f.aListedModel, f.aUnlistedModel, f.aLateModel].sort());
    const keys = await t.gql(Q.apiKeys, { organizationId: f.a.organizationId }, f.a.token);
    expect(keys.data!.apiKeys.map((k: { id: string }) => k.id)).toEqual([f.aKeyId]);
    for (const [id, user] of [
      [f.aAgreement, f.a],
      [f.bAgreement, f.b],
    ] as const) {
      const ag = await t.gql(Q.agreement, { id }, user.token);
      expect(ag.data!.agreement).toMatchObject({ id, status: 'ACTIVE' });
    }
    const offer = await t.gql(Q.licenseOffer, { id: f.aRetiredOffer.id }, f.a.token);
    expect(offer.data!.licenseOffer).toMatchObject({ id: f.aRetiredOffer.id, status: 'RETIRED' });
  });
});
