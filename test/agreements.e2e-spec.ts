/**
 * Agreements end to end: accepting an offer (every union outcome), reads by
 * both parties, pagination, status changes and their authorization, expiry,
 * concurrency (accept vs accept, retire vs accept), GATEWAY API keys bound to
 * an agreement, and the audit log.
 */
import { Client } from 'pg';
import { LicenseAgreementService } from '../src/licensing/license-agreement.service';
import { GqlResponse, startTestApp, TestApp } from './support/app';
import { createModel, publishOk } from './support/licensing';
import { makeAdmin, signUp, TestUser } from './support/users';

// ---------------------------------------------------------------- helpers

const AGREEMENT_FIELDS = `id offer { id name version } modelId vendorOrganizationId distillerOrganizationId acceptedByUserId acceptedAt
  termsHash status statusReason statusChangedAt startsAt endsAt
  terms { termDays watermarkRequired territory { excludedCountries } royalty { policy shareBps } }
  pricing { currency upfrontFeeMinor inputPerMillionMinor }`;

const ACCEPT = `mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) {
  __typename
  ... on BusinessError { code message }
  ... on LicenseAgreement { ${AGREEMENT_FIELDS} }
  ... on TermsChangedError { offerId currentTermsHash }
  ... on OfferNotAvailableError { offerId reason currentOfferId }
  ... on TerritoryNotAllowedError { country }
  ... on AgreementAlreadyExistsError { agreement { id status } }
} }`;
const AGREEMENT = `query($id: ID!) { agreement(id: $id) { ${AGREEMENT_FIELDS} } }`;
const AGREEMENTS = `query($o: ID!, $r: AgreementRole!, $s: LicenseAgreementStatus, $first: Int, $after: String) {
  agreements(organizationId: $o, role: $r, status: $s, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id status offer { name } distillerOrganizationId } } } }`;
const transition = (name: string) => `mutation($i: AgreementStatusChangeInput!) { ${name}(input: $i) {
  __typename
  ... on LicenseAgreement { id status statusReason }
  ... on InvalidAgreementTransitionError { code message currentStatus requestedStatus } } }`;
const SUSPEND = transition('suspendAgreement');
const TERMINATE = transition('terminateAgreement');
const REINSTATE = transition('reinstateAgreement');

const accept = (t: TestApp, user: TestUser, offer: { id: string; termsHash: string }, organizationId = user.organizationId) =>
  t.gql(ACCEPT, { i: { offerId: offer.id, organizationId, acceptedTermsHash: offer.termsHash } }, user.token);

async function acceptOk(t: TestApp, user: TestUser, offer: { id: string; termsHash: string }): Promise<Record<string, any>> {
  const r = await accept(t, user, offer);
  if (r.errors || r.data?.acceptLicenseOffer.__typename !== 'LicenseAgreement') throw new Error(`accept: ${JSON.stringify(r.errors ?? r.data)}`);
  return r.data.acceptLicenseOffer;
}

const code = (r: GqlResponse) => r.errors?.[0]?.extensions.code;
const fields = (r: GqlResponse) => ((r.errors?.[0]?.extensions.fields ?? []) as { field: string }[]).map((f) => f.field);
const auditOf = async (t: TestApp, targetId: string) =>
  (await t.dataSource.query(`SELECT action, actor_user_id, data FROM audit_log WHERE target_id = $1 ORDER BY seq`, [targetId])) as {
    action: string;
    actor_user_id: string | null;
    data: Record<string, any>;
  }[];

// ---------------------------------------------------------------- specs

describe('licence agreements (e2e)', () => {
  let t: TestApp;
  let vendor: TestUser;
  let distiller: TestUser;
  let stranger: TestUser;
  let modelId: string;
  let offer: { id: string; termsHash: string; version: number };

  beforeAll(async () => {
    t = await startTestApp();
    vendor = await signUp(t, { country: 'US' });
    distiller = await signUp(t, { country: 'FR' });
    stranger = await signUp(t, { country: 'DE' });
    modelId = (await createModel(t, vendor)).id;
    offer = await publishOk(t, vendor, modelId);
  });
  afterAll(() => t.close());

  describe('the whole flow', () => {
    let agreement: Record<string, any>;

    it('a distiller reads the public offer, accepts its hash and gets an ACTIVE agreement with a snapshot', async () => {
      const pub = await t.gql(`query($id: ID!) { licenseOffer(id: $id) { termsHash } }`, { id: offer.id });
      expect(pub.data!.licenseOffer.termsHash).toBe(offer.termsHash);
      const before = Date.now();
      const r = await accept(t, distiller, { id: offer.id, termsHash: pub.data!.licenseOffer.termsHash });
      agreement = r.data!.acceptLicenseOffer;
      expect(agreement).toMatchObject({
        __typename: 'LicenseAgreement',
        offer: { id: offer.id, name: 'standard', version: 1 },
        modelId,
        vendorOrganizationId: vendor.organizationId,
        distillerOrganizationId: distiller.organizationId,
        acceptedByUserId: distiller.userId,
        termsHash: offer.termsHash,
        status: 'ACTIVE',
        statusReason: null,
        terms: { termDays: 365, watermarkRequired: false, territory: { excludedCountries: ['IR', 'KP'] }, royalty: { policy: 'LAP', shareBps: 500 } },
        pricing: { currency: 'EUR', upfrontFeeMinor: '0', inputPerMillionMinor: '150' },
      });
      const starts = Date.parse(agreement.startsAt);
      expect(starts).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(agreement.endsAt) - starts).toBe(365 * 86_400_000);
      const [row] = await t.dataSource.query(`SELECT status, terms_hash, terms_snapshot->'royalty'->>'shareBps' AS bps FROM license_agreements WHERE id = $1`, [agreement.id]);
      expect(row).toEqual({ status: 'ACTIVE', terms_hash: offer.termsHash, bps: '500' });
    });

    it('both parties see it; nobody else does', async () => {
      for (const u of [distiller, vendor]) {
        const r = await t.gql(AGREEMENT, { id: agreement.id }, u.token);
        expect(r.data!.agreement).toMatchObject({ id: agreement.id, status: 'ACTIVE', termsHash: offer.termsHash });
      }
      expect(code(await t.gql(AGREEMENT, { id: agreement.id }, stranger.token))).toBe('NOT_FOUND');
      expect(code(await t.gql(AGREEMENT, { id: agreement.id }))).toBe('UNAUTHENTICATED');
      const d = await t.gql(AGREEMENTS, { o: distiller.organizationId, r: 'DISTILLER' }, distiller.token);
      expect(d.data!.agreements.totalCount).toBe(1);
      expect(d.data!.agreements.edges[0].node).toMatchObject({ id: agreement.id, offer: { name: 'standard' } });
      const v = await t.gql(AGREEMENTS, { o: vendor.organizationId, r: 'VENDOR' }, vendor.token);
      expect(v.data!.agreements.edges.map((e: any) => e.node.id)).toEqual([agreement.id]);
      // the vendor organization is no distiller here, and a stranger's organization is not ours
      expect((await t.gql(AGREEMENTS, { o: vendor.organizationId, r: 'DISTILLER' }, vendor.token)).data!.agreements.totalCount).toBe(0);
      expect(code(await t.gql(AGREEMENTS, { o: distiller.organizationId, r: 'DISTILLER' }, stranger.token))).toBe('NOT_FOUND');
      expect(code(await t.gql(AGREEMENTS, { o: distiller.organizationId, r: 'DISTILLER' }))).toBe('UNAUTHENTICATED');
    });

    it('accepting again → AgreementAlreadyExistsError with the live agreement', async () => {
      const r = await accept(t, distiller, offer);
      expect(r.data!.acceptLicenseOffer).toMatchObject({
        __typename: 'AgreementAlreadyExistsError',
        code: 'AGREEMENT_ALREADY_EXISTS',
        agreement: { id: agreement.id, status: 'ACTIVE' },
      });
    });

    it('a GATEWAY key can be bound to the agreement; a foreign agreement is NOT_FOUND', async () => {
      const CREATE_KEY = `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id scopes agreementId } } }`;
      const ok = await t.gql(CREATE_KEY, { i: { organizationId: distiller.organizationId, name: 'gw', scopes: ['GATEWAY'], agreementId: agreement.id } }, distiller.token);
      expect(ok.errors).toBeUndefined();
      expect(ok.data!.createApiKey.apiKey).toMatchObject({ scopes: ['GATEWAY'], agreementId: agreement.id });
      const foreign = await t.gql(CREATE_KEY, { i: { organizationId: stranger.organizationId, name: 'gw', scopes: ['GATEWAY'], agreementId: agreement.id } }, stranger.token);
      expect(code(foreign)).toBe('NOT_FOUND');
      // the vendor is a party, but not the distiller: cannot bind its keys to the agreement either
      const vendorKey = await t.gql(CREATE_KEY, { i: { organizationId: vendor.organizationId, name: 'gw', scopes: ['GATEWAY'], agreementId: agreement.id } }, vendor.token);
      expect(code(vendorKey)).toBe('NOT_FOUND');
      const unknown = await t.gql(
        CREATE_KEY,
        { i: { organizationId: distiller.organizationId, name: 'gw', scopes: ['GATEWAY'], agreementId: '00000000-0000-4000-8000-000000000000' } },
        distiller.token,
      );
      expect(code(unknown)).toBe('NOT_FOUND');
    });

    it('the acceptance is audited', async () => {
      const audit = await auditOf(t, agreement.id);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ action: 'licensing.agreement.accepted', actor_user_id: distiller.userId, data: { offerId: offer.id, termsHash: offer.termsHash } });
    });
  });

  describe('union errors', () => {
    it('TermsChangedError when the accepted hash is not the current one', async () => {
      const r = await accept(t, stranger, { id: offer.id, termsHash: 'f'.repeat(64) });
      expect(r.data!.acceptLicenseOffer).toEqual({
        __typename: 'TermsChangedError',
        code: 'TERMS_CHANGED',
        message: expect.any(String),
        offerId: offer.id,
        currentTermsHash: offer.termsHash,
      });
    });

    it('OfferNotAvailableError for a retired version, pointing to the current one', async () => {
      const m = await createModel(t, vendor);
      const v1 = await publishOk(t, vendor, m.id);
      const v2 = await publishOk(t, vendor, m.id, { pricing: { inputPerMillionMinor: '999' } });
      expect(v2.version).toBe(2);
      const r = await accept(t, distiller, v1);
      expect(r.data!.acceptLicenseOffer).toMatchObject({ __typename: 'OfferNotAvailableError', code: 'OFFER_NOT_AVAILABLE', reason: 'OFFER_RETIRED', offerId: v1.id, currentOfferId: v2.id });
      // retired without a successor
      await t.gql(`mutation($id: ID!) { retireLicenseOffer(id: $id) { id } }`, { id: v2.id }, vendor.token);
      const r2 = await accept(t, distiller, v2);
      expect(r2.data!.acceptLicenseOffer).toMatchObject({ __typename: 'OfferNotAvailableError', currentOfferId: null });
    });

    it('OfferNotAvailableError when the model is no longer listed', async () => {
      const m = await createModel(t, vendor);
      const o = await publishOk(t, vendor, m.id);
      await t.gql(`mutation($id: ID!) { unlistTeacherModel(id: $id) { __typename } }`, { id: m.id }, vendor.token);
      const r = await accept(t, distiller, o);
      expect(r.data!.acceptLicenseOffer).toMatchObject({ __typename: 'OfferNotAvailableError', reason: 'MODEL_NOT_LISTED', currentOfferId: o.id });
    });

    it('TerritoryNotAllowedError for an excluded country, and for an organization without a country', async () => {
      const kp = await signUp(t, { country: 'KP' });
      const r = await accept(t, kp, offer);
      expect(r.data!.acceptLicenseOffer).toMatchObject({ __typename: 'TerritoryNotAllowedError', code: 'TERRITORY_NOT_ALLOWED', country: 'KP' });
      const nowhere = await signUp(t);
      const r2 = await accept(t, nowhere, offer);
      expect(r2.data!.acceptLicenseOffer).toMatchObject({ __typename: 'TerritoryNotAllowedError', country: null });
      expect(r2.data!.acceptLicenseOffer.message).toMatch(/updateOrganization/);
      // an offer without excluded countries does not need one
      const open = await publishOk(t, vendor, modelId, { name: 'worldwide', terms: { territory: null } });
      expect((await accept(t, nowhere, open)).data!.acceptLicenseOffer.__typename).toBe('LicenseAgreement');
      // following the advice: set the country, accept again
      await t.gql(`mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { id } }`, { i: { id: nowhere.organizationId, country: 'DE' } }, nowhere.token);
      expect((await accept(t, nowhere, offer)).data!.acceptLicenseOffer.__typename).toBe('LicenseAgreement');
    });

    it('SelfDealingError when the vendor accepts its own offer', async () => {
      const r = await accept(t, vendor, offer);
      expect(r.data!.acceptLicenseOffer).toMatchObject({ __typename: 'SelfDealingError', code: 'SELF_DEALING' });
    });

    it('PENDING_PAYMENT when an upfront fee is due', async () => {
      const paid = await publishOk(t, vendor, modelId, { name: 'paid', pricing: { upfrontFeeMinor: '250000' } });
      const a = await acceptOk(t, distiller, paid);
      expect(a).toMatchObject({ status: 'PENDING_PAYMENT', pricing: { upfrontFeeMinor: '250000' } });
    });
  });

  describe('refusals', () => {
    it('bad input has field paths', async () => {
      const r = await t.gql(ACCEPT, { i: { offerId: offer.id, organizationId: distiller.organizationId, acceptedTermsHash: 'abc' } }, distiller.token);
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(fields(r)).toEqual(['acceptedTermsHash']);
      const r2 = await t.gql(ACCEPT, { i: { offerId: 'x', organizationId: distiller.organizationId, acceptedTermsHash: offer.termsHash } }, distiller.token);
      expect(fields(r2)).toEqual(['offerId']);
    });

    it('an unknown offer, a foreign organization or a never-listed model → NOT_FOUND; no token → UNAUTHENTICATED', async () => {
      expect(code(await accept(t, distiller, { id: '00000000-0000-4000-8000-000000000000', termsHash: offer.termsHash }))).toBe('NOT_FOUND');
      expect(code(await accept(t, distiller, offer, stranger.organizationId))).toBe('NOT_FOUND');
      const draft = await createModel(t, vendor, { list: false });
      const draftOffer = await publishOk(t, vendor, draft.id);
      expect(code(await accept(t, stranger, draftOffer))).toBe('NOT_FOUND');
      expect(code(await t.gql(ACCEPT, { i: { offerId: offer.id, organizationId: stranger.organizationId, acceptedTermsHash: offer.termsHash } }))).toBe(
        'UNAUTHENTICATED',
      );
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM license_agreements WHERE distiller_organization_id = $1`, [stranger.organizationId]);
      expect(n).toBe(0);
    });
  });

  describe('status changes', () => {
    let agreementId: string;
    let admin: TestUser;
    beforeAll(async () => {
      const m = await createModel(t, vendor);
      agreementId = (await acceptOk(t, distiller, await publishOk(t, vendor, m.id))).id;
      admin = await makeAdmin(t, await signUp(t));
    });

    it('the distiller cannot suspend or terminate (FORBIDDEN); strangers get NOT_FOUND', async () => {
      expect(code(await t.gql(SUSPEND, { i: { id: agreementId, reason: 'mine' } }, distiller.token))).toBe('FORBIDDEN');
      expect(code(await t.gql(TERMINATE, { i: { id: agreementId, reason: 'mine' } }, distiller.token))).toBe('FORBIDDEN');
      expect(code(await t.gql(SUSPEND, { i: { id: agreementId, reason: 'x' } }, stranger.token))).toBe('NOT_FOUND');
      expect(code(await t.gql(TERMINATE, { i: { id: agreementId, reason: 'x' } }, stranger.token))).toBe('NOT_FOUND');
      expect(code(await t.gql(SUSPEND, { i: { id: '00000000-0000-4000-8000-000000000000', reason: 'x' } }, vendor.token))).toBe('NOT_FOUND');
      expect(code(await t.gql(SUSPEND, { i: { id: agreementId, reason: 'x' } }))).toBe('UNAUTHENTICATED');
      expect((await t.gql(AGREEMENT, { id: agreementId }, distiller.token)).data!.agreement.status).toBe('ACTIVE');
    });

    it('a reason of 1..1000 characters is mandatory', async () => {
      const empty = await t.gql(SUSPEND, { i: { id: agreementId, reason: '   ' } }, vendor.token);
      expect(fields(empty)).toEqual(['reason']);
      const long = await t.gql(SUSPEND, { i: { id: agreementId, reason: 'x'.repeat(1001) } }, vendor.token);
      expect(fields(long)).toEqual(['reason']);
    });

    it('vendor: suspend → (suspend again refused) → reinstate → terminate (final)', async () => {
      const s = await t.gql(SUSPEND, { i: { id: agreementId, reason: 'unpaid usage' } }, vendor.token);
      expect(s.data!.suspendAgreement).toEqual({ __typename: 'LicenseAgreement', id: agreementId, status: 'SUSPENDED', statusReason: 'unpaid usage' });
      const again = await t.gql(SUSPEND, { i: { id: agreementId, reason: 'again' } }, vendor.token);
      expect(again.data!.suspendAgreement).toMatchObject({
        __typename: 'InvalidAgreementTransitionError',
        code: 'INVALID_AGREEMENT_TRANSITION',
        currentStatus: 'SUSPENDED',
        requestedStatus: 'SUSPENDED',
      });
      const back = await t.gql(REINSTATE, { i: { id: agreementId, reason: 'paid' } }, vendor.token);
      expect(back.data!.reinstateAgreement).toMatchObject({ status: 'ACTIVE', statusReason: 'paid' });
      const end = await t.gql(TERMINATE, { i: { id: agreementId, reason: 'breach of AUP' } }, vendor.token);
      expect(end.data!.terminateAgreement).toMatchObject({ status: 'TERMINATED', statusReason: 'breach of AUP' });
      for (const [m, name] of [[TERMINATE, 'terminateAgreement'], [SUSPEND, 'suspendAgreement'], [REINSTATE, 'reinstateAgreement']] as const) {
        const r = await t.gql(m, { i: { id: agreementId, reason: 'no' } }, vendor.token);
        expect(r.data![name]).toMatchObject({ __typename: 'InvalidAgreementTransitionError', currentStatus: 'TERMINATED' });
      }
      const audit = await auditOf(t, agreementId);
      expect(audit.map((a) => a.action)).toEqual([
        'licensing.agreement.accepted',
        'licensing.agreement.suspended',
        'licensing.agreement.reinstated',
        'licensing.agreement.terminated',
      ]);
      expect(audit[1]).toMatchObject({ actor_user_id: vendor.userId, data: { from: 'ACTIVE', to: 'SUSPENDED', reason: 'unpaid usage' } });
    });

    it('a platform admin may suspend and terminate any agreement; a terminated agreement frees the slot for a new one', async () => {
      const m = await createModel(t, vendor);
      const o = await publishOk(t, vendor, m.id);
      const a = await acceptOk(t, distiller, o);
      const s = await t.gql(SUSPEND, { i: { id: a.id, reason: 'investigation' } }, admin.token);
      expect(s.data!.suspendAgreement).toMatchObject({ status: 'SUSPENDED' });
      const x = await t.gql(TERMINATE, { i: { id: a.id, reason: 'fraud' } }, admin.token);
      expect(x.data!.terminateAgreement).toMatchObject({ status: 'TERMINATED' });
      expect((await auditOf(t, a.id)).map((e) => e.actor_user_id)).toEqual([distiller.userId, admin.userId, admin.userId]);
      const again = await acceptOk(t, distiller, o);
      expect(again.id).not.toBe(a.id);
    });

    it('PENDING_PAYMENT can be suspended, and is reinstated to PENDING_PAYMENT (payment not recorded yet)', async () => {
      const m = await createModel(t, vendor);
      const a = await acceptOk(t, distiller, await publishOk(t, vendor, m.id, { pricing: { upfrontFeeMinor: '100' } }));
      expect(a.status).toBe('PENDING_PAYMENT');
      expect((await t.gql(SUSPEND, { i: { id: a.id, reason: 'r' } }, vendor.token)).data!.suspendAgreement.status).toBe('SUSPENDED');
      expect((await t.gql(REINSTATE, { i: { id: a.id, reason: 'r' } }, vendor.token)).data!.reinstateAgreement.status).toBe('PENDING_PAYMENT');
    });
  });

  describe('expiry', () => {
    it('reads report EXPIRED once endsAt has passed; the sweep stores it; no transition after', async () => {
      const m = await createModel(t, vendor);
      const o = await publishOk(t, vendor, m.id, { terms: { termDays: 30 } });
      const a = await acceptOk(t, distiller, o);
      await t.dataSource.query(`UPDATE license_agreements SET starts_at = now() - interval '31 days', ends_at = now() - interval '1 day' WHERE id = $1`, [a.id]);
      expect((await t.gql(AGREEMENT, { id: a.id }, distiller.token)).data!.agreement.status).toBe('EXPIRED');
      const expired = await t.gql(AGREEMENTS, { o: distiller.organizationId, r: 'DISTILLER', s: 'EXPIRED' }, distiller.token);
      expect(expired.data!.agreements.edges.map((e: any) => e.node.id)).toContain(a.id);
      const active = await t.gql(AGREEMENTS, { o: distiller.organizationId, r: 'DISTILLER', s: 'ACTIVE', first: 100 }, distiller.token);
      expect(active.data!.agreements.edges.map((e: any) => e.node.id)).not.toContain(a.id);
      const [before] = await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [a.id]);
      expect(before.status).toBe('ACTIVE');

      const n = await t.app.get(LicenseAgreementService).expireDueAgreements();
      expect(n).toBe(1);
      const [after] = await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [a.id]);
      expect(after.status).toBe('EXPIRED');
      expect((await auditOf(t, a.id)).map((e) => e.action)).toEqual(['licensing.agreement.accepted', 'licensing.agreement.expired']);
      expect(await t.app.get(LicenseAgreementService).expireDueAgreements()).toBe(0);

      const s = await t.gql(SUSPEND, { i: { id: a.id, reason: 'late' } }, vendor.token);
      expect(s.data!.suspendAgreement).toMatchObject({ __typename: 'InvalidAgreementTransitionError', currentStatus: 'EXPIRED' });
      // an expired agreement no longer blocks a new acceptance
      expect((await accept(t, distiller, o)).data!.acceptLicenseOffer.__typename).toBe('LicenseAgreement');
    });

    it('a status change on an agreement past its term (sweep not run) is refused and stores EXPIRED', async () => {
      const m = await createModel(t, vendor);
      const a = await acceptOk(t, distiller, await publishOk(t, vendor, m.id, { terms: { termDays: 7 } }));
      await t.dataSource.query(`UPDATE license_agreements SET starts_at = now() - interval '8 days', ends_at = now() - interval '1 day' WHERE id = $1`, [a.id]);
      const r = await t.gql(TERMINATE, { i: { id: a.id, reason: 'too late' } }, vendor.token);
      expect(r.data!.terminateAgreement).toMatchObject({ __typename: 'InvalidAgreementTransitionError', currentStatus: 'EXPIRED', requestedStatus: 'TERMINATED' });
      const [row] = await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [a.id]);
      expect(row.status).toBe('EXPIRED');
    });

    it('accepting again after the term ended (sweep not run) expires the old agreement and creates a new one', async () => {
      const m = await createModel(t, vendor);
      const o = await publishOk(t, vendor, m.id, { terms: { termDays: 1 } });
      const a = await acceptOk(t, distiller, o);
      await t.dataSource.query(`UPDATE license_agreements SET starts_at = now() - interval '2 days', ends_at = now() - interval '1 day' WHERE id = $1`, [a.id]);
      const b = await acceptOk(t, distiller, o);
      expect(b.id).not.toBe(a.id);
      const [old] = await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [a.id]);
      expect(old.status).toBe('EXPIRED');
    });
  });

  it('pages through agreements with a cursor and a total count', async () => {
    const d = await signUp(t, { country: 'JP' });
    const m = await createModel(t, vendor);
    const ids: string[] = [];
    for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) ids.push((await acceptOk(t, d, await publishOk(t, vendor, m.id, { name }))).id);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 3; page++) {
      const r: GqlResponse = await t.gql(AGREEMENTS, { o: d.organizationId, r: 'DISTILLER', first: 2, after }, d.token);
      expect(r.errors).toBeUndefined();
      expect(r.data!.agreements.totalCount).toBe(5);
      seen.push(...r.data!.agreements.edges.map((e: any) => e.node.id));
      expect(r.data!.agreements.pageInfo.hasNextPage).toBe(page < 2);
      after = r.data!.agreements.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    expect(fields(await t.gql(AGREEMENTS, { o: d.organizationId, r: 'DISTILLER', after: 'garbage' }, d.token))).toEqual(['after']);
    expect(fields(await t.gql(AGREEMENTS, { o: d.organizationId, r: 'DISTILLER', first: 0 }, d.token))).toEqual(['first']);
  });

  describe('concurrency', () => {
    it('10 concurrent accepts → exactly one agreement and 9 AgreementAlreadyExistsError', async () => {
      const m = await createModel(t, vendor);
      const o = await publishOk(t, vendor, m.id);
      const results = await Promise.all(Array.from({ length: 10 }, () => accept(t, distiller, o)));
      expect(results.map((r) => r.errors)).toEqual(Array(10).fill(undefined));
      const types = results.map((r) => r.data!.acceptLicenseOffer.__typename);
      expect(types.filter((x) => x === 'LicenseAgreement')).toHaveLength(1);
      expect(types.filter((x) => x === 'AgreementAlreadyExistsError')).toHaveLength(9);
      const winner = results.find((r) => r.data!.acceptLicenseOffer.__typename === 'LicenseAgreement')!.data!.acceptLicenseOffer.id;
      for (const r of results) {
        if (r.data!.acceptLicenseOffer.__typename === 'AgreementAlreadyExistsError') expect(r.data!.acceptLicenseOffer.agreement.id).toBe(winner);
      }
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM license_agreements WHERE offer_id = $1`, [o.id]);
      expect(n).toBe(1);
    });

    it('an accept waiting behind a retire never lands on the retired offer', async () => {
      const m = await createModel(t, vendor);
      const o = await publishOk(t, vendor, m.id);
      // Hold what retire holds (the offer row, FOR UPDATE, status already changed) in a separate session.
      const c = new Client({ connectionString: t.db.url });
      await c.connect();
      try {
        await c.query('BEGIN');
        await c.query(`UPDATE license_offers SET status = 'RETIRED', retired_at = now() WHERE id = $1`, [o.id]);
        const pending = accept(t, distiller, o);
        // wait until the accept is blocked on the row lock
        for (let i = 0; i < 100; i++) {
          const [{ n }] = (await t.dataSource.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )) as { n: number }[];
          if (n > 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await c.query('COMMIT');
        const r = await pending;
        expect(r.data!.acceptLicenseOffer).toMatchObject({ __typename: 'OfferNotAvailableError', reason: 'OFFER_RETIRED' });
      } finally {
        await c.end();
      }
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM license_agreements WHERE offer_id = $1`, [o.id]);
      expect(n).toBe(0);
    });

    it('retire and accept racing: either the agreement predates the retirement or there is none', async () => {
      for (let i = 0; i < 5; i++) {
        const m = await createModel(t, vendor);
        const o = await publishOk(t, vendor, m.id);
        const [acc, ret] = await Promise.all([
          accept(t, distiller, o),
          t.gql(`mutation($id: ID!) { retireLicenseOffer(id: $id) { status } }`, { id: o.id }, vendor.token),
        ]);
        expect(ret.data!.retireLicenseOffer.status).toBe('RETIRED');
        const kind = acc.data!.acceptLicenseOffer.__typename;
        expect(['LicenseAgreement', 'OfferNotAvailableError']).toContain(kind);
        const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM license_agreements WHERE offer_id = $1`, [o.id]);
        expect(n).toBe(kind === 'LicenseAgreement' ? 1 : 0);
      }
    });
  });
});
