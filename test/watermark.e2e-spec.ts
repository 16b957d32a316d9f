/**
 * The watermark registry end to end: a vendor registers schemes for its model
 * (parameters shown, secret sealed at rest — never returned, never audited),
 * members list them, other organizations get NOT_FOUND, bad input names its
 * field and writes nothing; and publishing an offer whose terms require a
 * watermark needs a registered scheme on the model.
 */
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { isObjectType } from 'graphql';
import { SecretBox, SecretBoxError } from '../src/platform/crypto/secret-box';
import { GqlResponse, startTestApp, TestApp } from './support/app';
import { createModel, pricingInput, publishOk, termsInput } from './support/licensing';
import { signUp, TestUser } from './support/users';

const FIELDS = 'id modelId scheme parameters secretFingerprint createdAt';
const REGISTER = `mutation($i: RegisterWatermarkSchemeInput!) { registerWatermarkScheme(input: $i) { ${FIELDS} } }`;
const LIST = `query($m: ID!) { watermarkSchemes(modelId: $m) { ${FIELDS} } }`;
const PUBLISH = `mutation($i: PublishLicenseOfferInput!) { publishLicenseOffer(input: $i) { id status terms { watermarkRequired } } }`;

const SECRET_1 = 'synthid-key-material::3f9a1c77e0b24d6a9c1e5f00aa11bb22';
const SECRET_2 = 'green-list-hash-key::7a7a7a7a-0000-1111-2222-333344445555';
const PARAMS_1 = { ngramLen: 5, keys: [654, 400, 836], samplingTableSize: 65536, contextHistorySize: 1024, note: '数学' };
const PARAMS_2 = { gamma: '0.25', delta: '2.0', seedingScheme: 'selfhash', nested: { window: 4 } };

const code = (r: GqlResponse) => r.errors?.[0]?.extensions.code;
const fields = (r: GqlResponse) => ((r.errors?.[0]?.extensions.fields ?? []) as { field: string }[]).map((f) => f.field);

async function createKey(t: TestApp, u: TestUser, scopes: string[]): Promise<string> {
  const r = await t.gql(
    `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }`,
    { i: { organizationId: u.organizationId, name: scopes.join('+'), scopes } },
    u.token,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.createApiKey.secret;
}

/** Everything stored about schemes and offers, and the audit log's size: to prove a refused call wrote nothing. */
async function snapshot(t: TestApp): Promise<Record<string, string>> {
  const [row] = await t.dataSource.query(
    `SELECT (SELECT count(*) || ':' || coalesce(md5(string_agg(to_jsonb(w)::text, '|' ORDER BY w.id)), '') FROM watermark_schemes w) AS schemes,
            (SELECT count(*)::text FROM license_offers) AS offers,
            (SELECT count(*)::text FROM audit_log) AS audit`,
  );
  return row;
}

describe('watermark registry (e2e)', () => {
  let t: TestApp;
  let vendor: TestUser;
  let outsider: TestUser;
  let box: SecretBox;
  let modelId: string;

  const register = (input: Record<string, unknown>, token = vendor.token) => t.gql(REGISTER, { i: input }, token);
  const input = (over: Record<string, unknown> = {}) => ({ modelId, scheme: 'SYNTHID_TEXT', parameters: PARAMS_1, secretKeyMaterial: SECRET_1, ...over });

  beforeAll(async () => {
    t = await startTestApp();
    vendor = await signUp(t, { organizationName: 'Vendor' });
    outsider = await signUp(t, { organizationName: 'Outsider' });
    box = t.app.get(SecretBox);
    modelId = (await createModel(t, vendor)).id;
  });
  afterAll(() => t?.close());

  describe('register and list', () => {
    let first: Record<string, any>;
    let second: Record<string, any>;

    it('a vendor member registers a scheme: parameters as given, a fingerprint, never the secret', async () => {
      const r = await register(input());
      expect(r.errors).toBeUndefined();
      first = r.data!.registerWatermarkScheme;
      expect(first).toEqual({
        id: expect.any(String),
        modelId,
        scheme: 'SYNTHID_TEXT',
        parameters: PARAMS_1,
        secretFingerprint: box.fingerprint(SECRET_1),
        createdAt: expect.any(String),
      });
      expect(first.secretFingerprint).toMatch(/^sha256:[0-9a-f]{12}$/);
      expect(JSON.stringify(r)).not.toContain(SECRET_1);

      const r2 = await register(input({ scheme: 'GREEN_LIST', parameters: PARAMS_2, secretKeyMaterial: SECRET_2 }));
      second = r2.data!.registerWatermarkScheme;
      expect(second).toMatchObject({ scheme: 'GREEN_LIST', parameters: PARAMS_2, secretFingerprint: box.fingerprint(SECRET_2) });
      expect(second.secretFingerprint).not.toBe(first.secretFingerprint);
    });

    it('the WatermarkScheme type has no field that could carry the secret', () => {
      const type = t.app.get(GraphQLSchemaHost).schema.getType('WatermarkScheme');
      expect(isObjectType(type)).toBe(true);
      if (!isObjectType(type)) return;
      expect(Object.keys(type.getFields()).sort()).toEqual(FIELDS.split(' ').sort());
    });

    it('members list the schemes, newest first (a READ API key too); the secret is never in the answer', async () => {
      const readKey = await createKey(t, vendor, ['READ']);
      for (const token of [vendor.token, readKey]) {
        const r = await t.gql(LIST, { m: modelId }, token);
        expect(r.errors).toBeUndefined();
        expect(r.data!.watermarkSchemes).toEqual([second, first]);
        expect(JSON.stringify(r)).not.toContain(SECRET_1);
        expect(JSON.stringify(r)).not.toContain(SECRET_2);
      }
    });

    it('stores the secret sealed under the context watermark_scheme:<id>; SecretBox opens it only there', async () => {
      const [row] = await t.dataSource.query(`SELECT * FROM watermark_schemes WHERE id = $1`, [first.id]);
      expect(row).toMatchObject({
        model_id: modelId,
        organization_id: vendor.organizationId,
        scheme: 'SYNTHID_TEXT',
        parameters: PARAMS_1,
        secret_key_id: box.currentKeyId,
        secret_fingerprint: box.fingerprint(SECRET_1),
        registered_by_user_id: vendor.userId,
      });
      const sealed: Buffer = row.secret_sealed;
      expect(Buffer.isBuffer(sealed)).toBe(true);
      expect(sealed.includes(Buffer.from(SECRET_1))).toBe(false);
      expect(sealed.includes(Buffer.from(SECRET_1.slice(10, 26)))).toBe(false);
      expect(box.open(sealed, row.secret_key_id, `watermark_scheme:${first.id}`)).toBe(SECRET_1);
      // copied to another row (another context), it does not open
      expect(() => box.open(sealed, row.secret_key_id, `watermark_scheme:${second.id}`)).toThrow(SecretBoxError);
      expect(() => box.open(sealed, row.secret_key_id, `teacher_upstream:${modelId}`)).toThrow(SecretBoxError);
    });

    it('the audit log records the registration without the secret', async () => {
      const rows = await t.dataSource.query(`SELECT action, actor_user_id, organization_id, target_type, data FROM audit_log WHERE target_id = $1`, [first.id]);
      expect(rows).toEqual([
        {
          action: 'provenance.watermark.registered',
          actor_user_id: vendor.userId,
          organization_id: vendor.organizationId,
          target_type: 'WatermarkScheme',
          data: { modelId, scheme: 'SYNTHID_TEXT', parameters: PARAMS_1, secretFingerprint: first.secretFingerprint },
        },
      ]);
      const [{ all }] = await t.dataSource.query(`SELECT string_agg(data::text, '|') AS all FROM audit_log`);
      expect(all).not.toContain(SECRET_1);
      expect(all).not.toContain(SECRET_2);
    });

    it('a model without schemes lists none', async () => {
      const m = (await createModel(t, vendor)).id;
      expect((await t.gql(LIST, { m }, vendor.token)).data!.watermarkSchemes).toEqual([]);
    });
  });

  describe('authorization', () => {
    it("another organization's model is NOT_FOUND, exactly like an unknown one; nothing written", async () => {
      const outsiderKey = await createKey(t, outsider, ['READ', 'WRITE']);
      const before = await snapshot(t);
      const unknown = '00000000-0000-4000-8000-000000000000';
      for (const token of [outsider.token, outsiderKey]) {
        const reg = await register(input(), token);
        const regUnknown = await register(input({ modelId: unknown }), token);
        expect(code(reg)).toBe('NOT_FOUND');
        expect(reg.errors![0].message.replace(modelId, '<id>')).toBe(regUnknown.errors![0].message.replace(unknown, '<id>'));
        const list = await t.gql(LIST, { m: modelId }, token);
        expect(code(list)).toBe('NOT_FOUND');
        expect(list.data).toBeNull();
      }
      expect(await snapshot(t)).toEqual(before);
    });

    it('registering needs write access: a READ-only key of the vendor is FORBIDDEN', async () => {
      const readKey = await createKey(t, vendor, ['READ']);
      const before = await snapshot(t);
      expect(code(await register(input(), readKey))).toBe('FORBIDDEN');
      expect(await snapshot(t)).toEqual(before);
    });

    it('anonymous callers are UNAUTHENTICATED', async () => {
      expect(code(await register(input(), ''))).toBe('UNAUTHENTICATED');
      expect(code(await t.gql(LIST, { m: modelId }))).toBe('UNAUTHENTICATED');
    });
  });

  describe('bad input: BAD_USER_INPUT naming the field, nothing written', () => {
    const deep = (levels: number) => {
      let v: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < levels; i += 1) v = { n: v };
      return v;
    };
    const cases: [string, () => Record<string, unknown>, { field?: string; message?: RegExp }][] = [
      ['parameters as an array', () => input({ parameters: [1, 2] }), { field: 'parameters', message: /must be a JSON object/ }],
      ['parameters as a string', () => input({ parameters: 'gamma=0.25' }), { field: 'parameters', message: /must be a JSON object/ }],
      ['parameters as a number', () => input({ parameters: 7 }), { field: 'parameters', message: /must be a JSON object/ }],
      ['parameters over 16 KiB', () => input({ parameters: { blob: 'x'.repeat(16 * 1024) } }), { field: 'parameters', message: /at most 16384 bytes/ }],
      ['parameters nested 17 levels deep', () => input({ parameters: deep(16) }), { field: 'parameters', message: /not nest deeper than 16 levels/ }],
      // deep enough to overflow a recursive copy of the input: still bad input, not INTERNAL
      ['parameters nested 3,000 levels deep', () => input({ parameters: deep(3000) }), { field: 'parameters', message: /not nest deeper than 16 levels/ }],
      ['a NUL character in the parameters', () => input({ parameters: { name: 'a\u0000b' } }), { field: 'parameters', message: /NUL characters/ }],
      ['a NUL character in a parameter name', () => input({ parameters: { list: [{ 'a\u0000': 1 }] } }), { field: 'parameters', message: /NUL characters/ }],
      ['an empty secret', () => input({ secretKeyMaterial: '' }), { field: 'secretKeyMaterial' }],
      ['a secret over 8,192 characters', () => input({ secretKeyMaterial: 'k'.repeat(8193) }), { field: 'secretKeyMaterial' }],
      ['a malformed model id', () => input({ modelId: 'model-1' }), { field: 'modelId' }],
      // refused by GraphQL itself (no field list; the message names the variable path)
      ['null parameters', () => input({ parameters: null }), { message: /"i\.parameters"/ }],
      ['an unknown scheme', () => input({ scheme: 'INVISIBLE_INK' }), { message: /"i\.scheme"/ }],
    ];

    it.each(cases)('%s', async (_name, make, expected) => {
      const before = await snapshot(t);
      const r = await register(make());
      expect(code(r)).toBe('BAD_USER_INPUT');
      if (expected.field) expect(fields(r)).toContain(expected.field);
      if (expected.message) expect(r.errors![0].message).toMatch(expected.message);
      expect(r.data).toBeNull();
      expect(JSON.stringify(r)).not.toContain(SECRET_1);
      expect(await snapshot(t)).toEqual(before);
    });

    it('inline (literal) parameters are checked the same way', async () => {
      const before = await snapshot(t);
      const literal = (params: string) =>
        t.gql(`mutation { registerWatermarkScheme(input: { modelId: "${modelId}", scheme: OTHER, parameters: ${params}, secretKeyMaterial: "s" }) { id parameters } }`, {}, vendor.token);
      const bad = await literal('[1, 2]');
      expect(code(bad)).toBe('BAD_USER_INPUT');
      expect(fields(bad)).toEqual(['parameters']);
      expect(await snapshot(t)).toEqual(before);
      const ok = await literal('{ window: 4, keys: [1, "x"], extra: { on: true, none: null } }');
      expect(ok.errors).toBeUndefined();
      expect(ok.data!.registerWatermarkScheme.parameters).toEqual({ window: 4, keys: [1, 'x'], extra: { on: true, none: null } });
    });

    it('parameters nested exactly 16 levels are accepted', async () => {
      const m = (await createModel(t, vendor)).id;
      const r = await register(input({ modelId: m, parameters: deep(15) }));
      expect(r.errors).toBeUndefined();
      expect(r.data!.registerWatermarkScheme.parameters).toEqual(deep(15));
    });

    it('exactly 16 KiB of parameters and a secret of 8,192 characters are accepted', async () => {
      const m = (await createModel(t, vendor)).id;
      const overhead = JSON.stringify({ blob: '' }).length;
      const r = await register(input({ modelId: m, parameters: { blob: 'x'.repeat(16 * 1024 - overhead) }, secretKeyMaterial: 's'.repeat(8192) }));
      expect(r.errors).toBeUndefined();
      expect(r.data!.registerWatermarkScheme.secretFingerprint).toBe(box.fingerprint('s'.repeat(8192)));
    });

    it('watermarkSchemes with a malformed model id is BAD_USER_INPUT', async () => {
      const r = await t.gql(LIST, { m: 'nope' }, vendor.token);
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(fields(r)).toEqual(['modelId']);
    });
  });

  describe('publishing an offer whose terms require a watermark', () => {
    const publish = (m: string, watermarkRequired: boolean, name = 'wm') =>
      t.gql(PUBLISH, { i: { modelId: m, name, terms: termsInput({ watermarkRequired }), pricing: pricingInput() } }, vendor.token);

    it('is refused while the model has no scheme, naming terms.watermarkRequired and the way out; nothing written', async () => {
      const m = (await createModel(t, vendor)).id;
      const before = await snapshot(t);
      const r = await publish(m, true);
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0].extensions.fields).toEqual([
        { field: 'terms.watermarkRequired', message: expect.stringContaining('register a watermark scheme for this model first (registerWatermarkScheme)') },
      ]);
      expect(r.data).toBeNull();
      expect(await snapshot(t)).toEqual(before);
      // terms without the requirement publish as before
      const ok = await publish(m, false, 'plain');
      expect(ok.data!.publishLicenseOffer).toMatchObject({ status: 'ACTIVE', terms: { watermarkRequired: false } });
    });

    it("another model's scheme does not count", async () => {
      const m = (await createModel(t, vendor)).id;
      expect((await t.gql(LIST, { m: modelId }, vendor.token)).data!.watermarkSchemes.length).toBeGreaterThan(0);
      expect(code(await publish(m, true))).toBe('BAD_USER_INPUT');
    });

    it('is published once a scheme is registered for the model', async () => {
      const m = (await createModel(t, vendor)).id;
      expect(code(await publish(m, true))).toBe('BAD_USER_INPUT');
      await register(input({ modelId: m }));
      const r = await publish(m, true);
      expect(r.errors).toBeUndefined();
      expect(r.data!.publishLicenseOffer).toMatchObject({ status: 'ACTIVE', terms: { watermarkRequired: true } });
      // and through the shared helper, as other specs would
      const offer = await publishOk(t, vendor, m, { name: 'helper', terms: { watermarkRequired: true } });
      expect(offer.version).toBe(1);
    });

    it("a foreign organization still gets NOT_FOUND (the watermark rule reveals nothing about the model)", async () => {
      const m = (await createModel(t, vendor)).id;
      const r = await t.gql(PUBLISH, { i: { modelId: m, name: 'x', terms: termsInput({ watermarkRequired: true }), pricing: pricingInput() } }, outsider.token);
      expect(code(r)).toBe('NOT_FOUND');
    });
  });
});
