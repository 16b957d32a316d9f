/**
 * configureTeacherUpstream / teacherUpstream, and the gateway's view of an
 * upstream (TeacherUpstreamService.resolveForGateway): the credential is
 * sealed at rest, never returned, never audited; foreign models are NOT_FOUND;
 * bad input names its field and writes nothing.
 */
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { randomUUID } from 'node:crypto';
import { isObjectType } from 'graphql';
import { SecretBox, SecretBoxError } from '../src/platform/crypto/secret-box';
import { TeacherUpstreamService, UPSTREAM_CACHE_TTL_MS } from '../src/metering/upstream/teacher-upstream.service';
import { startTestApp, TestApp } from './support/app';
import { createModel } from './support/licensing';
import { signUp, TestUser } from './support/users';

const FIELDS = 'modelId baseUrl upstreamModel timeoutMs credentialFingerprint configuredAt createdAt';
const CONFIGURE = `mutation($i: ConfigureTeacherUpstreamInput!) { configureTeacherUpstream(input: $i) { ${FIELDS} } }`;
const READ = `query($m: ID!) { teacherUpstream(modelId: $m) { ${FIELDS} } }`;

const KEY_1 = 'sk-live-FIRST-0123456789abcdefghijklmnop';
const KEY_2 = 'sk-live-SECOND-zyxwvutsrqponmlkjihgfedcba';

function input(modelId: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { modelId, baseUrl: 'https://api.vendor.example/v1', apiKey: KEY_1, upstreamModel: 'teacher-70b', ...over };
}

async function createKey(t: TestApp, u: TestUser, scopes: string[]): Promise<string> {
  const r = await t.gql(
    `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }`,
    { i: { organizationId: u.organizationId, name: scopes.join('+'), scopes } },
    u.token,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.createApiKey.secret;
}

/** Everything stored about upstreams and the audit log, to prove a refused call wrote nothing. */
async function snapshot(t: TestApp): Promise<{ upstreams: string; audit: string }> {
  const [row] = await t.dataSource.query(
    `SELECT (SELECT coalesce(string_agg(to_jsonb(u)::text, '|' ORDER BY u.model_id), '') FROM teacher_upstreams u) AS upstreams,
            (SELECT count(*)::text FROM audit_log) AS audit`,
  );
  return row;
}

describe('teacher upstreams', () => {
  let t: TestApp;
  let vendor: TestUser;
  let outsider: TestUser;
  let service: TeacherUpstreamService;
  let box: SecretBox;

  beforeAll(async () => {
    t = await startTestApp();
    vendor = await signUp(t, { organizationName: 'Vendor' });
    outsider = await signUp(t, { organizationName: 'Outsider' });
    service = t.app.get(TeacherUpstreamService);
    box = t.app.get(SecretBox);
  });
  afterAll(() => t?.close());

  afterEach(() => jest.restoreAllMocks());

  describe('configure and read back', () => {
    let modelId: string;
    beforeAll(async () => {
      modelId = (await createModel(t, vendor, { list: false })).id; // a DRAFT may be set up before it is listed
    });

    it('is null before anything is configured', async () => {
      const r = await t.gql(READ, { m: modelId }, vendor.token);
      expect(r.errors).toBeUndefined();
      expect(r.data!.teacherUpstream).toBeNull();
      expect(await service.resolveForGateway(modelId)).toBeNull();
    });

    it('answers the upstream (normalised URL, default timeout, fingerprint) and never the credential', async () => {
      const r = await t.gql(CONFIGURE, { i: input(modelId, { baseUrl: 'HTTPS://API.Vendor.Example:443/v1/' }) }, vendor.token);
      expect(r.errors).toBeUndefined();
      const u = r.data!.configureTeacherUpstream;
      expect(u).toEqual({
        modelId,
        baseUrl: 'https://api.vendor.example/v1',
        upstreamModel: 'teacher-70b',
        timeoutMs: 30000,
        credentialFingerprint: box.fingerprint(KEY_1),
        configuredAt: expect.any(String),
        createdAt: expect.any(String),
      });
      expect(u.credentialFingerprint).toMatch(/^sha256:[0-9a-f]{12}$/);
      expect(u.configuredAt).toBe(u.createdAt);
      expect(JSON.stringify(r)).not.toContain(KEY_1);

      const read = await t.gql(READ, { m: modelId }, vendor.token);
      expect(read.errors).toBeUndefined();
      expect(read.data!.teacherUpstream).toEqual(u);
    });

    it('has no field in the schema that could carry the credential', () => {
      const type = t.app.get(GraphQLSchemaHost).schema.getType('TeacherUpstream');
      expect(isObjectType(type)).toBe(true);
      if (!isObjectType(type)) return;
      expect(Object.keys(type.getFields()).sort()).toEqual(FIELDS.split(' ').sort());
    });

    it('stores the credential sealed; the gateway gets it opened', async () => {
      const [row] = await t.dataSource.query(`SELECT * FROM teacher_upstreams WHERE model_id = $1`, [modelId]);
      expect(row.organization_id).toBe(vendor.organizationId);
      expect(row.configured_by_user_id).toBe(vendor.userId);
      const sealed: Buffer = row.credential_sealed;
      expect(Buffer.isBuffer(sealed)).toBe(true);
      expect(sealed.includes(Buffer.from(KEY_1))).toBe(false);
      expect(sealed.includes(Buffer.from(KEY_1.slice(8, 24)))).toBe(false);
      expect(sealed[0]).toBe(1); // format version
      expect(sealed.length).toBe(1 + 12 + 16 + KEY_1.length);
      expect(row.credential_key_id).toBe(box.currentKeyId);
      expect(row.credential_fingerprint).toBe(box.fingerprint(KEY_1));
      expect(JSON.stringify(row)).not.toContain(KEY_1);
      // Bound to this model's row: the same bytes do not open as another model's credential.
      expect(box.open(sealed, row.credential_key_id, `teacher_upstream:${modelId}`)).toBe(KEY_1);
      expect(() => box.open(sealed, row.credential_key_id, `teacher_upstream:${randomUUID()}`)).toThrow(SecretBoxError);

      expect(await service.resolveForGateway(modelId)).toEqual({
        modelId,
        baseUrl: 'https://api.vendor.example/v1',
        upstreamModel: 'teacher-70b',
        timeoutMs: 30000,
        apiKey: KEY_1,
        updatedAt: row.updated_at,
      });
    });

    it('writes an audit entry without the credential', async () => {
      const entries = await t.dataSource.query(
        `SELECT actor_user_id, organization_id, target_type, target_id, data FROM audit_log WHERE action = 'metering.upstream.configured' AND target_id = $1`,
        [modelId],
      );
      expect(entries).toEqual([
        {
          actor_user_id: vendor.userId,
          organization_id: vendor.organizationId,
          target_type: 'TeacherUpstream',
          target_id: modelId,
          data: {
            baseUrl: 'https://api.vendor.example/v1',
            upstreamModel: 'teacher-70b',
            timeoutMs: 30000,
            credentialFingerprint: box.fingerprint(KEY_1),
            replaced: false,
          },
        },
      ]);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_log WHERE position($1 in to_jsonb(audit_log)::text) > 0`, [KEY_1]);
      expect(n).toBe(0);
    });

    it('replacing keeps one row and createdAt, and the gateway sees the new credential at once', async () => {
      const before = (await t.gql(READ, { m: modelId }, vendor.token)).data!.teacherUpstream;
      expect((await service.resolveForGateway(modelId))!.apiKey).toBe(KEY_1); // cached now
      await new Promise((r) => setTimeout(r, 5));

      const r = await t.gql(
        CONFIGURE,
        { i: input(modelId, { baseUrl: 'http://127.0.0.1:8089/', apiKey: KEY_2, upstreamModel: '  teacher-8b  ', timeoutMs: 1500 }) },
        vendor.token,
      );
      expect(r.errors).toBeUndefined();
      const after = r.data!.configureTeacherUpstream;
      expect(after).toMatchObject({ modelId, baseUrl: 'http://127.0.0.1:8089', upstreamModel: 'teacher-8b', timeoutMs: 1500, createdAt: before.createdAt });
      expect(after.credentialFingerprint).toBe(box.fingerprint(KEY_2));
      expect(after.credentialFingerprint).not.toBe(before.credentialFingerprint);
      expect(new Date(after.configuredAt).getTime()).toBeGreaterThan(new Date(before.configuredAt).getTime());

      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM teacher_upstreams WHERE model_id = $1`, [modelId]);
      expect(n).toBe(1);
      expect(await service.resolveForGateway(modelId)).toMatchObject({ apiKey: KEY_2, baseUrl: 'http://127.0.0.1:8089', upstreamModel: 'teacher-8b', timeoutMs: 1500 });

      const [last] = await t.dataSource.query(
        `SELECT data FROM audit_log WHERE action = 'metering.upstream.configured' AND target_id = $1 ORDER BY seq DESC LIMIT 1`,
        [modelId],
      );
      expect(last.data).toMatchObject({ replaced: true, credentialFingerprint: box.fingerprint(KEY_2) });
      const [{ leaks }] = await t.dataSource.query(
        `SELECT count(*)::int AS leaks FROM audit_log WHERE position($1 in to_jsonb(audit_log)::text) > 0 OR position($2 in to_jsonb(audit_log)::text) > 0`,
        [KEY_1, KEY_2],
      );
      expect(leaks).toBe(0);
    });

    it('the same credential again gives the same fingerprint', async () => {
      const r = await t.gql(CONFIGURE, { i: input(modelId, { apiKey: KEY_2, timeoutMs: null }) }, vendor.token);
      expect(r.errors).toBeUndefined();
      expect(r.data!.configureTeacherUpstream).toMatchObject({ credentialFingerprint: box.fingerprint(KEY_2), timeoutMs: 30000 });
    });
  });

  describe('the gateway cache', () => {
    let modelId: string;
    beforeAll(async () => {
      modelId = (await createModel(t, vendor)).id;
      const r = await t.gql(CONFIGURE, { i: input(modelId) }, vendor.token);
      expect(r.errors).toBeUndefined();
    });

    it(`serves an opened upstream from memory for at most ${UPSTREAM_CACHE_TTL_MS} ms`, async () => {
      service.invalidate(modelId);
      const start = Date.now();
      const now = jest.spyOn(Date, 'now').mockReturnValue(start);
      expect((await service.resolveForGateway(modelId))!.upstreamModel).toBe('teacher-70b');
      // Changed behind the service's back (as another process would): not seen while cached …
      await t.dataSource.query(`UPDATE teacher_upstreams SET upstream_model = 'changed-elsewhere' WHERE model_id = $1`, [modelId]);
      now.mockReturnValue(start + UPSTREAM_CACHE_TTL_MS - 1);
      expect((await service.resolveForGateway(modelId))!.upstreamModel).toBe('teacher-70b');
      // … and seen once the entry is older than the TTL.
      now.mockReturnValue(start + UPSTREAM_CACHE_TTL_MS);
      expect((await service.resolveForGateway(modelId))!.upstreamModel).toBe('changed-elsewhere');
    });

    it('opens the credential once for concurrent misses', async () => {
      service.invalidate(modelId);
      const open = jest.spyOn(box, 'open');
      const all = await Promise.all(Array.from({ length: 20 }, () => service.resolveForGateway(modelId)));
      expect(all.every((u) => u!.apiKey === KEY_1)).toBe(true);
      expect(open).toHaveBeenCalledTimes(1);
      await service.resolveForGateway(modelId);
      expect(open).toHaveBeenCalledTimes(1); // a cache hit opens nothing
    });

    it("refuses a sealed credential copied from another model's row", async () => {
      const other = (await createModel(t, vendor)).id;
      expect((await t.gql(CONFIGURE, { i: input(other, { apiKey: KEY_2 }) }, vendor.token)).errors).toBeUndefined();
      await t.dataSource.query(
        `UPDATE teacher_upstreams SET credential_sealed = (SELECT credential_sealed FROM teacher_upstreams WHERE model_id = $1) WHERE model_id = $2`,
        [modelId, other],
      );
      service.invalidate(other);
      await expect(service.resolveForGateway(other)).rejects.toThrow(SecretBoxError);
      await expect(service.resolveForGateway(other)).rejects.not.toThrow(KEY_1);
    });
  });

  describe('bad input', () => {
    let modelId: string;
    beforeAll(async () => {
      modelId = (await createModel(t, vendor)).id;
      const r = await t.gql(CONFIGURE, { i: input(modelId) }, vendor.token);
      expect(r.errors).toBeUndefined();
    });

    const CASES: [string, Record<string, unknown>, string][] = [
      ['not a URL', { baseUrl: 'not a url' }, 'baseUrl'],
      ['empty URL', { baseUrl: '' }, 'baseUrl'],
      ['ftp URL', { baseUrl: 'ftp://files.vendor.example/v1' }, 'baseUrl'],
      ['javascript: URL', { baseUrl: 'javascript:alert(1)' }, 'baseUrl'],
      ['scheme-relative URL', { baseUrl: '//api.vendor.example/v1' }, 'baseUrl'],
      ['scheme without //', { baseUrl: 'https:api.vendor.example/v1' }, 'baseUrl'],
      ['credentials in the URL', { baseUrl: 'https://user:secret@api.vendor.example/v1' }, 'baseUrl'],
      ['empty userinfo in the URL', { baseUrl: 'https://@api.vendor.example/v1' }, 'baseUrl'],
      ['a query string', { baseUrl: 'https://api.vendor.example/v1?key=abc' }, 'baseUrl'],
      ['an empty query string', { baseUrl: 'https://api.vendor.example/v1?' }, 'baseUrl'],
      ['a fragment', { baseUrl: 'https://api.vendor.example/v1#x' }, 'baseUrl'],
      ['a space inside the URL', { baseUrl: 'https://api.vendor.example/v 1' }, 'baseUrl'],
      ['an over-long URL', { baseUrl: `https://api.vendor.example/${'a'.repeat(2100)}` }, 'baseUrl'],
      ['an empty apiKey', { apiKey: '' }, 'apiKey'],
      ['an over-long apiKey', { apiKey: 'k'.repeat(4097) }, 'apiKey'],
      ['an apiKey with a space', { apiKey: 'sk live key' }, 'apiKey'],
      ['an apiKey with a line break (header injection)', { apiKey: 'sk-abc\r\nX-Injected: 1' }, 'apiKey'],
      ['an empty upstreamModel', { upstreamModel: '' }, 'upstreamModel'],
      ['a blank upstreamModel', { upstreamModel: '   ' }, 'upstreamModel'],
      ['an over-long upstreamModel', { upstreamModel: 'm'.repeat(201) }, 'upstreamModel'],
      ['a control character in upstreamModel', { upstreamModel: 'teacher\u0000' }, 'upstreamModel'],
      ['timeoutMs below 100', { timeoutMs: 99 }, 'timeoutMs'],
      ['timeoutMs above 600000', { timeoutMs: 600_001 }, 'timeoutMs'],
      ['a negative timeoutMs', { timeoutMs: -1 }, 'timeoutMs'],
      ['a malformed modelId', { modelId: 'not-a-uuid' }, 'modelId'],
    ];

    it.each(CASES.map(([what, over, field]) => [`${what} → BAD_USER_INPUT naming ${field}`, over, field] as const))('%s', async (_name, over, field) => {
      const before = await snapshot(t);
      const r = await t.gql(CONFIGURE, { i: { ...input(modelId), apiKey: KEY_2, ...over } }, vendor.token);
      expect(r.data).toBeNull();
      expect(r.errors).toHaveLength(1);
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(r.errors![0].extensions.fields.map((f: { field: string }) => f.field)).toEqual([field]);
      // The credential never comes back, not even in an error.
      expect(JSON.stringify(r.errors)).not.toContain(KEY_2);
      if (typeof over.apiKey === 'string' && over.apiKey.length > 3) expect(JSON.stringify(r.errors)).not.toContain(over.apiKey);
      expect(await snapshot(t)).toEqual(before);
    });

    it('names every bad field at once', async () => {
      const before = await snapshot(t);
      const r = await t.gql(CONFIGURE, { i: input(modelId, { baseUrl: '', apiKey: '', timeoutMs: 5 }) }, vendor.token);
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(r.errors![0].extensions.fields.map((f: { field: string }) => f.field).sort()).toEqual(['apiKey', 'baseUrl', 'timeoutMs']);
      expect(await snapshot(t)).toEqual(before);
    });

    it('a non-integer timeoutMs is refused by GraphQL itself', async () => {
      const before = await snapshot(t);
      const r = await t.gql(CONFIGURE, { i: input(modelId, { timeoutMs: 1500.5 }) }, vendor.token);
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(r.errors![0].message).toContain('timeoutMs');
      expect(await snapshot(t)).toEqual(before);
    });

    it('a malformed modelId in the query is BAD_USER_INPUT', async () => {
      const r = await t.gql(READ, { m: 'not-a-uuid' }, vendor.token);
      expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'modelId', message: 'modelId must be a UUID' }] });
    });
  });

  describe('who may', () => {
    let modelId: string;
    beforeAll(async () => {
      modelId = (await createModel(t, vendor)).id;
      const r = await t.gql(CONFIGURE, { i: input(modelId) }, vendor.token);
      expect(r.errors).toBeUndefined();
    });

    it("another organization's model is NOT_FOUND for both operations, exactly like an unknown id, and nothing is written", async () => {
      const before = await snapshot(t);
      const unknownId = randomUUID();
      for (const [query, vars, unknownVars] of [
        [CONFIGURE, { i: input(modelId, { apiKey: KEY_2 }) }, { i: input(unknownId, { apiKey: KEY_2 }) }],
        [READ, { m: modelId }, { m: unknownId }],
      ] as const) {
        const foreign = await t.gql(query, vars, outsider.token);
        const unknown = await t.gql(query, unknownVars, outsider.token);
        // (teacherUpstream is nullable, so GraphQL answers { teacherUpstream: null } beside the error)
        expect(foreign.data === null || Object.values(foreign.data).every((v) => v === null)).toBe(true);
        expect(foreign.errors).toHaveLength(1);
        expect(foreign.errors![0].extensions).toEqual({ code: 'NOT_FOUND', entity: 'TeacherModel' });
        expect(foreign.errors![0].message).toBe(`TeacherModel ${modelId} not found`);
        expect(unknown.errors![0].message).toBe(`TeacherModel ${unknownId} not found`);
        expect(unknown.errors![0].extensions).toEqual(foreign.errors![0].extensions);
        expect(JSON.stringify(foreign)).not.toContain(vendor.organizationId);
      }
      expect(await snapshot(t)).toEqual(before);
      expect((await service.resolveForGateway(modelId))!.apiKey).toBe(KEY_1);
    });

    it("an outsider's API key (READ + WRITE) is NOT_FOUND too", async () => {
      const key = await createKey(t, outsider, ['READ', 'WRITE']);
      const before = await snapshot(t);
      const w = await t.gql(CONFIGURE, { i: input(modelId, { apiKey: KEY_2 }) }, key);
      expect(w.errors![0].extensions.code).toBe('NOT_FOUND');
      expect(w.errors![0].message).toBe(`TeacherModel ${modelId} not found`);
      const r = await t.gql(READ, { m: modelId }, key);
      expect(r.errors![0].extensions.code).toBe('NOT_FOUND');
      expect(await snapshot(t)).toEqual(before);
    });

    it("a MEMBER (not an owner) of the vendor may configure and read ('write' = any member)", async () => {
      const member = await signUp(t, { organizationName: 'Member home' });
      const add = await t.gql(
        `mutation($i: AddOrganizationMemberInput!) { addOrganizationMember(input: $i) { __typename ... on OrganizationMember { role } } }`,
        { i: { organizationId: vendor.organizationId, email: member.email, role: 'MEMBER' } },
        vendor.token,
      );
      expect(add.data!.addOrganizationMember).toEqual({ __typename: 'OrganizationMember', role: 'MEMBER' });
      const w = await t.gql(CONFIGURE, { i: input(modelId, { apiKey: KEY_2 }) }, member.token);
      expect(w.errors).toBeUndefined();
      expect(w.data!.configureTeacherUpstream.credentialFingerprint).toBe(box.fingerprint(KEY_2));
      const [row] = await t.dataSource.query(`SELECT configured_by_user_id FROM teacher_upstreams WHERE model_id = $1`, [modelId]);
      expect(row.configured_by_user_id).toBe(member.userId);
      expect((await t.gql(READ, { m: modelId }, member.token)).data!.teacherUpstream.modelId).toBe(modelId);
    });

    it("the vendor's API keys: WRITE may configure, READ may only read (FORBIDDEN, nothing written)", async () => {
      const readKey = await createKey(t, vendor, ['READ']);
      const writeKey = await createKey(t, vendor, ['WRITE']);
      const before = await snapshot(t);
      const refused = await t.gql(CONFIGURE, { i: input(modelId) }, readKey);
      expect(refused.errors![0].extensions.code).toBe('FORBIDDEN');
      expect(await snapshot(t)).toEqual(before);
      expect((await t.gql(READ, { m: modelId }, readKey)).data!.teacherUpstream.modelId).toBe(modelId);

      const ok = await t.gql(CONFIGURE, { i: input(modelId, { apiKey: KEY_1 }) }, writeKey);
      expect(ok.errors).toBeUndefined();
      const [row] = await t.dataSource.query(`SELECT configured_by_user_id FROM teacher_upstreams WHERE model_id = $1`, [modelId]);
      expect(row.configured_by_user_id).toBeNull(); // a machine did it: the audit entry names the key
      const [entry] = await t.dataSource.query(
        `SELECT actor_user_id, actor_api_key_id FROM audit_log WHERE action = 'metering.upstream.configured' AND target_id = $1 ORDER BY seq DESC LIMIT 1`,
        [modelId],
      );
      expect(entry.actor_user_id).toBeNull();
      expect(entry.actor_api_key_id).toEqual(expect.any(String));
    });

    it('anonymous callers are UNAUTHENTICATED and write nothing', async () => {
      const before = await snapshot(t);
      const w = await t.gql(CONFIGURE, { i: input(modelId, { apiKey: KEY_2 }) });
      expect(w.errors![0].extensions.code).toBe('UNAUTHENTICATED');
      const r = await t.gql(READ, { m: modelId });
      expect(r.errors![0].extensions.code).toBe('UNAUTHENTICATED');
      expect(r.data?.teacherUpstream ?? null).toBeNull();
      expect(await snapshot(t)).toEqual(before);
    });
  });
});

describe('teacher upstreams in production', () => {
  let t: TestApp;
  let vendor: TestUser;
  let modelId: string;
  beforeAll(async () => {
    t = await startTestApp({ nodeEnv: 'production' });
    vendor = await signUp(t);
    modelId = (await createModel(t, vendor)).id;
  });
  afterAll(() => t?.close());

  it('requires https', async () => {
    for (const baseUrl of ['http://api.vendor.example/v1', 'http://127.0.0.1:8089/v1']) {
      const r = await t.gql(CONFIGURE, { i: input(modelId, { baseUrl }) }, vendor.token);
      expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'baseUrl', message: 'baseUrl must use https' }] });
    }
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM teacher_upstreams`);
    expect(n).toBe(0);
    const ok = await t.gql(CONFIGURE, { i: input(modelId) }, vendor.token);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.configureTeacherUpstream.baseUrl).toBe('https://api.vendor.example/v1');
  });
});
