/**
 * Licence offers end to end: publish (canonical terms, hash, pricing as decimal
 * strings), field-level refusals, versioning, retirement, immutability in the
 * database, visibility and authorization, concurrent publishes, the
 * TeacherModel.offers field (batched) and the audit log.
 */
import { LicenseOfferService } from '../src/licensing/license-offer.service';
import { termsHash } from '../src/licensing/terms/canonical-terms';
import { samplePricing } from './fixtures/terms.fixtures';
import { GqlResponse, startTestApp, TestApp } from './support/app';
import { signUp, TestUser } from './support/users';

// ---------------------------------------------------------------- helpers (kept in this file)

function termsInput(over: Record<string, unknown> = {}): Record<string, any> {
  return {
    outputTraining: 'PERMITTED_WITH_CONDITIONS',
    distillationIsDerivative: true,
    commercialUse: true,
    researchOnly: false,
    attribution: { displayString: 'Built with Teacher', placements: ['WEBSITE', 'MODEL_CARD'], noticeText: 'Teacher is licensed under its licence.' },
    naming: { rule: 'PREFIX_REQUIRED', token: 'Teacher' },
    inheritance: { copyLicence: true, useRestrictionsFlowDown: true, reciprocal: false },
    thresholds: [{ metric: 'MONTHLY_ACTIVE_USERS', value: '700000000', effect: 'SEPARATE_LICENSE_REQUIRED' }],
    territory: { excludedCountries: ['KP', 'IR', 'CU'], endUsersExempt: false },
    acceptableUsePolicyUrl: 'https://vendor.example/aup',
    termDays: 365,
    governingLaw: 'California, USA',
    royalty: { policy: 'LAP', shareBps: 500 },
    limits: { tokensPerPeriod: '1000000000', tokensPerMinute: '200000' },
    watermarkRequired: false,
    ...over,
  };
}

function pricingInput(over: Record<string, unknown> = {}): Record<string, any> {
  return { ...samplePricing(), ...over };
}

const TERMS_FIELDS = `outputTraining distillationIsDerivative commercialUse researchOnly
  attribution { displayString placements noticeText } naming { rule token }
  inheritance { copyLicence useRestrictionsFlowDown reciprocal } thresholds { metric value effect }
  territory { excludedCountries endUsersExempt } acceptableUsePolicyUrl termDays governingLaw
  royalty { policy shareBps } limits { tokensPerPeriod tokensPerMinute } watermarkRequired`;
const PRICING_FIELDS = `currency upfrontFeeMinor inputPerMillionMinor outputPerMillionMinor minimumCommitmentMinor poolEligible`;
const OFFER_FIELDS = `id name version status termsHash createdAt retiredAt organizationId model { id name slug }
  terms { ${TERMS_FIELDS} } pricing { ${PRICING_FIELDS} }`;

const PUBLISH = `mutation($i: PublishLicenseOfferInput!) { publishLicenseOffer(input: $i) { ${OFFER_FIELDS} } }`;
const RETIRE = `mutation($id: ID!) { retireLicenseOffer(id: $id) { id status retiredAt version } }`;
const OFFER = `query($id: ID!) { licenseOffer(id: $id) { id status version termsHash } }`;
const OFFERS = `query($m: ID!, $s: LicenseOfferStatus) { licenseOffers(modelId: $m, status: $s) { id name version status } }`;

let slugCounter = 0;
async function createModel(t: TestApp, user: TestUser, opts: { list?: boolean } = {}): Promise<{ id: string; slug: string; name: string }> {
  slugCounter += 1;
  const slug = `teacher-${slugCounter}`;
  const r = await t.gql(
    `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) { __typename ... on TeacherModel { id slug name } } }`,
    { i: { organizationId: user.organizationId, slug, name: `Teacher ${slugCounter}`, card: { summary: 'A teacher model.', modalities: ['TEXT'] } } },
    user.token,
  );
  if (r.errors || r.data?.createTeacherModel.__typename !== 'TeacherModel') throw new Error(`createTeacherModel: ${JSON.stringify(r.errors ?? r.data)}`);
  const model = r.data.createTeacherModel;
  if (opts.list ?? true) {
    const l = await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id status } }`, { id: model.id }, user.token);
    if (l.errors) throw new Error(`listTeacherModel: ${JSON.stringify(l.errors)}`);
  }
  return model;
}

async function publish(t: TestApp, token: string | undefined, modelId: string, over: { name?: string; terms?: Record<string, unknown>; pricing?: Record<string, unknown> } = {}) {
  return t.gql(PUBLISH, { i: { modelId, name: over.name ?? 'standard', terms: termsInput(over.terms), pricing: pricingInput(over.pricing) } }, token);
}

async function publishOk(t: TestApp, token: string, modelId: string, over: Parameters<typeof publish>[3] = {}): Promise<Record<string, any>> {
  const r = await publish(t, token, modelId, over);
  if (r.errors) throw new Error(`publish: ${JSON.stringify(r.errors)}`);
  return r.data!.publishLicenseOffer;
}

const code = (r: GqlResponse) => r.errors?.[0]?.extensions.code;
const fields = (r: GqlResponse) => ((r.errors?.[0]?.extensions.fields ?? []) as { field: string; message: string }[]);

// ---------------------------------------------------------------- specs

describe('licence offers (e2e)', () => {
  let t: TestApp;
  let vendor: TestUser;
  let other: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    vendor = await signUp(t, { country: 'US' });
    other = await signUp(t, { country: 'FR' });
  });
  afterAll(() => t.close());

  it('publishes a canonical, hashed offer with pricing as decimal strings', async () => {
    const model = await createModel(t, vendor);
    const offer = await publishOk(t, vendor.token, model.id, { pricing: { upfrontFeeMinor: '9223372036854775807', currency: 'JPY' } });
    expect(offer).toMatchObject({ name: 'standard', version: 1, status: 'ACTIVE', retiredAt: null, organizationId: vendor.organizationId });
    expect(offer.model).toEqual({ id: model.id, name: model.name, slug: model.slug });
    // sets are sorted, optional fields explicit
    expect(offer.terms.territory.excludedCountries).toEqual(['CU', 'IR', 'KP']);
    expect(offer.terms.attribution.placements).toEqual(['MODEL_CARD', 'WEBSITE']);
    expect(offer.terms.royalty).toEqual({ policy: 'LAP', shareBps: 500 });
    expect(offer.terms.limits).toEqual({ tokensPerPeriod: '1000000000', tokensPerMinute: '200000' });
    expect(offer.pricing).toEqual({
      currency: 'JPY',
      upfrontFeeMinor: '9223372036854775807',
      inputPerMillionMinor: '150',
      outputPerMillionMinor: '600',
      minimumCommitmentMinor: '0',
      poolEligible: true,
    });
    // the hash is the canonical function's, over exactly what was sent
    expect(offer.termsHash).toBe(termsHash(termsInput() as never, pricingInput({ upfrontFeeMinor: '9223372036854775807', currency: 'JPY' }) as never));
    const [row] = await t.dataSource.query(
      `SELECT upfront_fee_minor::text AS fee, currency, version, status, terms_hash, published_by_user_id FROM license_offers WHERE id = $1`,
      [offer.id],
    );
    expect(row).toEqual({ fee: '9223372036854775807', currency: 'JPY', version: 1, status: 'ACTIVE', terms_hash: offer.termsHash, published_by_user_id: vendor.userId });
  });

  it('equal terms in another order hash equally; a changed field does not', async () => {
    const model = await createModel(t, vendor);
    const a = await publishOk(t, vendor.token, model.id, { name: 'a' });
    const b = await publishOk(t, vendor.token, model.id, {
      name: 'b',
      terms: { territory: { excludedCountries: ['IR', 'KP', 'CU', 'KP'], endUsersExempt: false }, attribution: { ...termsInput().attribution, placements: ['MODEL_CARD', 'WEBSITE'] } },
    });
    const c = await publishOk(t, vendor.token, model.id, { name: 'c', terms: { royalty: { policy: 'LAP', shareBps: 501 } } });
    expect(b.termsHash).toBe(a.termsHash);
    expect(c.termsHash).not.toBe(a.termsHash);
  });

  describe('refuses invalid terms with field paths', () => {
    let modelId: string;
    beforeAll(async () => {
      modelId = (await createModel(t, vendor)).id;
    });

    const cases: [string, Record<string, unknown>, string, string | null][] = [
      ['negative upfront fee', { pricing: { upfrontFeeMinor: '-1' } }, 'pricing.upfrontFeeMinor', 'negative'],
      ['non-integer price', { pricing: { inputPerMillionMinor: '1.5' } }, 'pricing.inputPerMillionMinor', 'integer'],
      ['price above 2^63-1', { pricing: { outputPerMillionMinor: '9223372036854775808' } }, 'pricing.outputPerMillionMinor', '9223372036854775807'],
      ['negative commitment', { pricing: { minimumCommitmentMinor: '-100' } }, 'pricing.minimumCommitmentMinor', null],
      ['lower-case currency', { pricing: { currency: 'usd' } }, 'pricing.currency', null],
      ['unknown currency', { pricing: { currency: 'ABC' } }, 'pricing.currency', null],
      ['shareBps above 10000', { terms: { royalty: { policy: 'LRP', shareBps: 10001 } } }, 'terms.royalty.shareBps', null],
      ['negative shareBps', { terms: { royalty: { policy: 'LRP', shareBps: -1 } } }, 'terms.royalty.shareBps', null],
      ['lower-case country', { terms: { territory: { excludedCountries: ['kp'] } } }, 'terms.territory.excludedCountries', null],
      ['unknown country', { terms: { territory: { excludedCountries: ['XX'] } } }, 'terms.territory.excludedCountries', null],
      ['termDays 0', { terms: { termDays: 0 } }, 'terms.termDays', null],
      ['termDays negative', { terms: { termDays: -30 } }, 'terms.termDays', null],
      ['tokensPerMinute above tokensPerPeriod', { terms: { limits: { tokensPerPeriod: '1000', tokensPerMinute: '1001' } } }, 'terms.limits.tokensPerMinute', 'tokensPerPeriod'],
      ['zero token limit', { terms: { limits: { tokensPerPeriod: '0' } } }, 'terms.limits.tokensPerPeriod', null],
      ['PREFIX_REQUIRED without token', { terms: { naming: { rule: 'PREFIX_REQUIRED' } } }, 'terms.naming.token', null],
      ['NOT_PRIMARY with a blank token', { terms: { naming: { rule: 'NOT_PRIMARY', token: '  ' } } }, 'terms.naming.token', null],
      ['researchOnly with commercialUse', { terms: { researchOnly: true, commercialUse: true } }, 'terms.commercialUse', 'research-only'],
      ['output training PROHIBITED', { terms: { outputTraining: 'PROHIBITED' } }, 'terms.outputTraining', 'cannot be sold for distillation'],
      ['http AUP URL', { terms: { acceptableUsePolicyUrl: 'http://vendor.example/aup' } }, 'terms.acceptableUsePolicyUrl', 'https'],
      ['threshold value 0', { terms: { thresholds: [{ metric: 'MONTHLY_REVENUE', value: '0', effect: 'NOTICE_REQUIRED' }] } }, 'terms.thresholds.0.value', null],
      ['empty attribution string', { terms: { attribution: { displayString: '  ' } } }, 'terms.attribution.displayString', null],
      ['empty name', { name: '   ' }, 'name', null],
    ];

    it.each(cases)('%s', async (_label, over, field, messagePart) => {
      const r = await publish(t, vendor.token, modelId, over as never);
      expect(code(r)).toBe('BAD_USER_INPUT');
      const f = fields(r);
      expect(f.map((x) => x.field)).toContain(field);
      if (messagePart) expect(f.find((x) => x.field === field)!.message).toContain(messagePart);
      expect(r.data?.publishLicenseOffer ?? null).toBeNull();
    });

    it('a number where money is expected is refused (never parsed as a float)', async () => {
      const r = await publish(t, vendor.token, modelId, { pricing: { upfrontFeeMinor: 1.5 } });
      expect(code(r)).toBe('BAD_USER_INPUT');
    });

    it('a modelId that is not a UUID is bad input', async () => {
      const r = await t.gql(PUBLISH, { i: { modelId: 'nope', name: 'x', terms: termsInput(), pricing: pricingInput() } }, vendor.token);
      expect(fields(r).map((x) => x.field)).toContain('modelId');
    });

    it('nothing was stored by the refused publishes', async () => {
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM license_offers WHERE model_id = $1`, [modelId]);
      expect(n).toBe(0);
    });
  });

  it('versions: publishing again retires the previous version in the same transaction', async () => {
    const model = await createModel(t, vendor);
    const v1 = await publishOk(t, vendor.token, model.id);
    const v2 = await publishOk(t, vendor.token, model.id, { pricing: { inputPerMillionMinor: '200' } });
    const other1 = await publishOk(t, vendor.token, model.id, { name: 'research', terms: { commercialUse: false, researchOnly: true } });
    expect(v2).toMatchObject({ version: 2, status: 'ACTIVE', name: 'standard' });
    expect(other1).toMatchObject({ version: 1, status: 'ACTIVE', name: 'research' });
    const r1 = await t.gql(OFFER, { id: v1.id }, vendor.token);
    expect(r1.data!.licenseOffer).toMatchObject({ status: 'RETIRED', version: 1 });
    const all = await t.gql(OFFERS, { m: model.id }, vendor.token);
    expect(all.data!.licenseOffers.map((o: any) => [o.name, o.version, o.status])).toEqual([
      ['research', 1, 'ACTIVE'],
      ['standard', 2, 'ACTIVE'],
      ['standard', 1, 'RETIRED'],
    ]);
    const retiredOnly = await t.gql(OFFERS, { m: model.id, s: 'RETIRED' }, vendor.token);
    expect(retiredOnly.data!.licenseOffers.map((o: any) => o.id)).toEqual([v1.id]);
    // the public sees ACTIVE offers of a LISTED model only
    const pub = await t.gql(OFFERS, { m: model.id });
    expect(pub.data!.licenseOffers.map((o: any) => o.id).sort()).toEqual([v2.id, other1.id].sort());
    expect((await t.gql(OFFER, { id: v1.id })).errors?.[0].extensions.code).toBe('NOT_FOUND');
    const audit = await t.dataSource.query(`SELECT action, data FROM audit_log WHERE target_id = $1 ORDER BY seq`, [v1.id]);
    expect(audit.map((a: any) => a.action)).toEqual(['licensing.offer.published', 'licensing.offer.retired']);
    expect(audit[1].data.reason).toBe('superseded');
  });

  it('retires an offer (idempotent) and audits it once', async () => {
    const model = await createModel(t, vendor);
    const offer = await publishOk(t, vendor.token, model.id);
    const r = await t.gql(RETIRE, { id: offer.id }, vendor.token);
    expect(r.data!.retireLicenseOffer).toMatchObject({ id: offer.id, status: 'RETIRED' });
    expect(r.data!.retireLicenseOffer.retiredAt).not.toBeNull();
    const again = await t.gql(RETIRE, { id: offer.id }, vendor.token);
    expect(again.data!.retireLicenseOffer).toMatchObject({ status: 'RETIRED', retiredAt: r.data!.retireLicenseOffer.retiredAt });
    const audit = await t.dataSource.query(`SELECT action, actor_user_id FROM audit_log WHERE target_id = $1 ORDER BY seq`, [offer.id]);
    expect(audit).toEqual([
      { action: 'licensing.offer.published', actor_user_id: vendor.userId },
      { action: 'licensing.offer.retired', actor_user_id: vendor.userId },
    ]);
    // a new version after a retirement continues the numbering
    const v2 = await publishOk(t, vendor.token, model.id);
    expect(v2.version).toBe(2);
  });

  it('published terms are immutable in the database (trigger)', async () => {
    const model = await createModel(t, vendor);
    const offer = await publishOk(t, vendor.token, model.id);
    await expect(
      t.dataSource.query(`UPDATE license_offers SET terms = jsonb_set(terms, '{royalty,shareBps}', '0') WHERE id = $1`, [offer.id]),
    ).rejects.toThrow(/immutable/);
    await expect(t.dataSource.query(`UPDATE license_offers SET upfront_fee_minor = 1 WHERE id = $1`, [offer.id])).rejects.toThrow(/immutable/);
    await expect(t.dataSource.query(`DELETE FROM license_offers WHERE id = $1`, [offer.id])).rejects.toThrow(/never deleted/);
    const [row] = await t.dataSource.query(`SELECT terms->'royalty'->>'shareBps' AS bps FROM license_offers WHERE id = $1`, [offer.id]);
    expect(row.bps).toBe('500');
  });

  describe('visibility and authorization', () => {
    it('an offer of a DRAFT model is visible to vendor members only', async () => {
      const draft = await createModel(t, vendor, { list: false });
      const offer = await publishOk(t, vendor.token, draft.id);
      expect((await t.gql(OFFER, { id: offer.id }, vendor.token)).data!.licenseOffer.id).toBe(offer.id);
      expect(code(await t.gql(OFFER, { id: offer.id }))).toBe('NOT_FOUND');
      expect(code(await t.gql(OFFER, { id: offer.id }, other.token))).toBe('NOT_FOUND');
      expect(code(await t.gql(OFFERS, { m: draft.id }, other.token))).toBe('NOT_FOUND');
      expect((await t.gql(OFFERS, { m: draft.id }, vendor.token)).data!.licenseOffers).toHaveLength(1);
    });

    it('an ACTIVE offer of a LISTED model is public', async () => {
      const model = await createModel(t, vendor);
      const offer = await publishOk(t, vendor.token, model.id);
      const r = await t.gql(OFFER, { id: offer.id });
      expect(r.data!.licenseOffer).toEqual({ id: offer.id, status: 'ACTIVE', version: 1, termsHash: offer.termsHash });
    });

    it('another organization cannot publish on or retire a foreign model / offer (NOT_FOUND)', async () => {
      const model = await createModel(t, vendor);
      const offer = await publishOk(t, vendor.token, model.id);
      const p = await publish(t, other.token, model.id);
      expect(code(p)).toBe('NOT_FOUND');
      const r = await t.gql(RETIRE, { id: offer.id }, other.token);
      expect(code(r)).toBe('NOT_FOUND');
      expect((await t.gql(OFFER, { id: offer.id })).data!.licenseOffer.status).toBe('ACTIVE');
    });

    it('unknown ids are NOT_FOUND; malformed ids are bad input', async () => {
      expect(code(await publish(t, vendor.token, '00000000-0000-4000-8000-000000000000'))).toBe('NOT_FOUND');
      expect(code(await t.gql(RETIRE, { id: '00000000-0000-4000-8000-000000000000' }, vendor.token))).toBe('NOT_FOUND');
      expect(code(await t.gql(OFFER, { id: '00000000-0000-4000-8000-000000000000' }))).toBe('NOT_FOUND');
      expect(code(await t.gql(OFFER, { id: 'not-a-uuid' }))).toBe('BAD_USER_INPUT');
    });

    it('no token → UNAUTHENTICATED', async () => {
      const model = await createModel(t, vendor);
      const offer = await publishOk(t, vendor.token, model.id);
      expect(code(await publish(t, undefined, model.id))).toBe('UNAUTHENTICATED');
      expect(code(await t.gql(RETIRE, { id: offer.id }))).toBe('UNAUTHENTICATED');
    });

    it('publishing on an UNLISTED model is refused (CONFLICT); DRAFT and LISTED are allowed', async () => {
      const model = await createModel(t, vendor);
      const u = await t.gql(`mutation($id: ID!) { unlistTeacherModel(id: $id) { __typename } }`, { id: model.id }, vendor.token);
      expect(u.errors).toBeUndefined();
      expect(code(await publish(t, vendor.token, model.id))).toBe('CONFLICT');
    });
  });

  it('concurrent publishes of the same (model, name) get consecutive versions and exactly one ACTIVE', async () => {
    const model = await createModel(t, vendor);
    const two = await Promise.all([
      publish(t, vendor.token, model.id, { pricing: { inputPerMillionMinor: '1' } }),
      publish(t, vendor.token, model.id, { pricing: { inputPerMillionMinor: '2' } }),
    ]);
    expect(two.map((r) => r.errors)).toEqual([undefined, undefined]);
    expect(two.map((r) => r.data!.publishLicenseOffer.version).sort()).toEqual([1, 2]);
    const many = await Promise.all(
      [3, 4, 5, 6, 7, 8].map((i) => publish(t, vendor.token, model.id, { pricing: { inputPerMillionMinor: String(i) } })),
    );
    expect(many.every((r) => r.errors === undefined)).toBe(true);
    const rows = await t.dataSource.query(`SELECT version, status FROM license_offers WHERE model_id = $1 ORDER BY version`, [model.id]);
    expect(rows.map((r: any) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(rows.filter((r: any) => r.status === 'ACTIVE')).toEqual([{ version: 8, status: 'ACTIVE' }]);
  });

  it('TeacherModel.offers lists the ACTIVE offers, loaded in one batch per request', async () => {
    const v = await signUp(t, { country: 'DE' });
    const m1 = await createModel(t, v);
    const m2 = await createModel(t, v);
    const m3 = await createModel(t, v);
    const a = await publishOk(t, v.token, m1.id, { name: 'a' });
    await publishOk(t, v.token, m1.id, { name: 'b' });
    await t.gql(RETIRE, { id: (await publishOk(t, v.token, m2.id, { name: 'gone' })).id }, v.token);
    const spy = jest.spyOn(t.app.get(LicenseOfferService), 'activeOffersOfModels');
    try {
      const r = await t.gql(
        `query($o: ID!) { myModels(organizationId: $o) { id offers { id name version status termsHash model { id slug } pricing { currency } } } }`,
        { o: v.organizationId },
        v.token,
      );
      expect(r.errors).toBeUndefined();
      const byId = new Map<string, any[]>(r.data!.myModels.map((m: any) => [m.id, m.offers]));
      expect(byId.get(m1.id)!.map((o) => o.name)).toEqual(['a', 'b']);
      expect(byId.get(m1.id)![0]).toMatchObject({ id: a.id, status: 'ACTIVE', model: { id: m1.id, slug: m1.slug }, termsHash: a.termsHash });
      expect(byId.get(m2.id)).toEqual([]);
      expect(byId.get(m3.id)).toEqual([]);
      expect(spy).toHaveBeenCalledTimes(1);
      expect([...(spy.mock.calls[0][0] as string[])].sort()).toEqual([m1.id, m2.id, m3.id].sort());
    } finally {
      spy.mockRestore();
    }
  });
});
