import { startTestApp, TestApp } from './support/app';
import { signUp } from './support/users';

const SIGN_UP = `mutation($i: SignUpInput!) { signUp(input: $i) { __typename
  ... on AuthPayload { accessToken expiresAt user { id email isAdmin } memberships { role organization { id name } } }
  ... on BusinessError { code message } } }`;
const LOG_IN = `mutation($i: LogInInput!) { logIn(input: $i) { __typename
  ... on AuthPayload { accessToken user { email } memberships { role organization { name } } }
  ... on TooManyAttemptsError { retryAfterSeconds }
  ... on BusinessError { code message } } }`;
const CREATE_KEY = `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id prefix scopes name lastUsedAt revokedAt } } }`;
const PASSWORD = 'correct horse battery staple';

describe('identity', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ loginMaxFailures: 3, loginWindowSeconds: 60 });
  });
  afterAll(() => t.close());

  describe('signUp', () => {
    it('creates the user and an organization they own, and returns a working token', async () => {
      const r = await t.gql(SIGN_UP, { i: { email: 'Vendor@Example.test', password: PASSWORD, organizationName: 'Vendor Co', country: 'DE' } });
      expect(r.data!.signUp.__typename).toBe('AuthPayload');
      expect(r.data!.signUp.user).toMatchObject({ email: 'Vendor@Example.test', isAdmin: false });
      expect(r.data!.signUp.memberships).toEqual([{ role: 'OWNER', organization: { id: expect.any(String), name: 'Vendor Co' } }]);
      const expiresIn = new Date(r.data!.signUp.expiresAt).getTime() - Date.now();
      expect(expiresIn).toBeGreaterThan(800_000);
      expect(expiresIn).toBeLessThanOrEqual(900_000);
      const me = await t.gql(`{ me { email memberships { role organization { name country } } } }`, {}, r.data!.signUp.accessToken);
      expect(me.data!.me.memberships).toEqual([{ role: 'OWNER', organization: { name: 'Vendor Co', country: 'DE' } }]);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'identity.user.signed_up'`);
      expect(n).toBe(1);
    });

    it('treats emails case-insensitively and refuses a second account', async () => {
      const r = await t.gql(SIGN_UP, { i: { email: 'vendor@EXAMPLE.test', password: PASSWORD, organizationName: 'Other' } });
      expect(r.data!.signUp).toMatchObject({ __typename: 'EmailAlreadyRegisteredError', code: 'EMAIL_ALREADY_REGISTERED' });
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM organizations WHERE name = 'Other'`);
      expect(n).toBe(0); // nothing written
    });

    it('stores argon2id hashes, never the password', async () => {
      const [row] = await t.dataSource.query(`SELECT password_hash FROM users WHERE lower(email) = 'vendor@example.test'`);
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
      expect(row.password_hash).not.toContain(PASSWORD);
    });

    it.each([
      [{ email: 'not-an-email', password: PASSWORD, organizationName: 'X' }, 'email'],
      [{ email: 'short@example.test', password: 'elevenchars', organizationName: 'X' }, 'password'],
      [{ email: 'blank@example.test', password: PASSWORD, organizationName: '   ' }, 'organizationName'],
      [{ email: 'cc@example.test', password: PASSWORD, organizationName: 'X', country: 'XX' }, 'country'],
      [{ email: 'lc@example.test', password: PASSWORD, organizationName: 'X', country: 'de' }, 'country'],
    ])('refuses bad input %j with a field-level message', async (input, field) => {
      const before = await t.dataSource.query(`SELECT count(*)::int AS n FROM users`);
      const r = await t.gql(SIGN_UP, { i: input });
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(r.errors![0].extensions.fields.map((f: { field: string }) => f.field)).toContain(field);
      const after = await t.dataSource.query(`SELECT count(*)::int AS n FROM users`);
      expect(after[0].n).toBe(before[0].n);
    });

    it('concurrent sign-ups with one email create exactly one user', async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => t.gql(SIGN_UP, { i: { email: 'race@example.test', password: PASSWORD, organizationName: 'Race' } })),
      );
      const kinds = results.map((r) => r.data!.signUp.__typename).sort();
      expect(kinds.filter((k) => k === 'AuthPayload')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'EmailAlreadyRegisteredError')).toHaveLength(4);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM organizations WHERE name = 'Race'`);
      expect(n).toBe(1);
    });
  });

  describe('logIn', () => {
    it('logs in with any email case and returns a usable token', async () => {
      const r = await t.gql(LOG_IN, { i: { email: 'VENDOR@example.test', password: PASSWORD } });
      expect(r.data!.logIn.__typename).toBe('AuthPayload');
      expect(r.data!.logIn.memberships).toEqual([{ role: 'OWNER', organization: { name: 'Vendor Co' } }]);
      const me = await t.gql(`{ me { email } }`, {}, r.data!.logIn.accessToken);
      expect(me.data!.me.email).toBe('Vendor@Example.test');
    });

    it('answers a wrong password and an unknown email identically', async () => {
      const wrong = await t.gql(LOG_IN, { i: { email: 'vendor@example.test', password: 'wrong password 123' } });
      const unknown = await t.gql(LOG_IN, { i: { email: 'nobody@example.test', password: 'wrong password 123' } });
      expect(wrong.data).toEqual(unknown.data);
      expect(wrong.data!.logIn).toEqual({ __typename: 'InvalidCredentialsError', code: 'INVALID_CREDENTIALS', message: 'Invalid email or password' });
    });

    it('throttles repeated failures for an email, even with the right password', async () => {
      await signUp(t, { email: 'throttled@example.test' });
      for (let i = 0; i < 3; i++) {
        const r = await t.gql(LOG_IN, { i: { email: 'throttled@example.test', password: 'wrong password 123' } });
        expect(r.data!.logIn.__typename).toBe('InvalidCredentialsError');
      }
      const blocked = await t.gql(LOG_IN, { i: { email: 'throttled@example.test', password: PASSWORD } });
      expect(blocked.data!.logIn.__typename).toBe('TooManyAttemptsError');
      expect(blocked.data!.logIn.retryAfterSeconds).toBeGreaterThan(0);
      expect(blocked.data!.logIn.retryAfterSeconds).toBeLessThanOrEqual(60);
      // Once the window has passed, the right password works again.
      await t.dataSource.query(`UPDATE login_failures SET failed_at = failed_at - interval '2 minutes'`);
      const ok = await t.gql(LOG_IN, { i: { email: 'throttled@example.test', password: PASSWORD } });
      expect(ok.data!.logIn.__typename).toBe('AuthPayload');
    });
  });

  describe('createOrganization', () => {
    const CREATE_ORG = `mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id name country } }`;

    it('creates another organization owned by the caller, audit-logged', async () => {
      const u = await signUp(t);
      const r = await t.gql(CREATE_ORG, { i: { name: 'Second Co', country: 'FR' } }, u.token);
      expect(r.data!.createOrganization).toMatchObject({ name: 'Second Co', country: 'FR' });
      const me = await t.gql(`{ me { memberships { role organization { name } } } }`, {}, u.token);
      expect(me.data!.me.memberships.map((m: { organization: { name: string } }) => m.organization.name)).toContain('Second Co');
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'identity.organization.created' AND target_id = $1`, [
        r.data!.createOrganization.id,
      ]);
      expect(n).toBe(1);
    });

    it('refuses bad input, API keys and anonymous callers, writing nothing', async () => {
      const u = await signUp(t);
      const count = async () => (await t.dataSource.query(`SELECT count(*)::int AS n FROM organizations`))[0].n;
      const before = await count();
      for (const [input, field] of [
        [{ name: '' }, 'name'],
        [{ name: 'x'.repeat(201) }, 'name'],
        [{ name: 'Ok', country: 'ZZ' }, 'country'],
      ] as const) {
        const r = await t.gql(CREATE_ORG, { i: input }, u.token);
        expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
        expect(r.errors![0].extensions.fields[0].field).toBe(field);
      }
      const key = await t.gql(CREATE_KEY, { i: { organizationId: u.organizationId, name: 'w', scopes: ['WRITE'] } }, u.token);
      const byKey = await t.gql(CREATE_ORG, { i: { name: 'Via key' } }, key.data!.createApiKey.secret);
      expect(byKey.errors![0].extensions.code).toBe('FORBIDDEN');
      expect((await t.gql(CREATE_ORG, { i: { name: 'Anon' } })).errors![0].extensions.code).toBe('UNAUTHENTICATED');
      expect(await count()).toBe(before);
    });
  });

  describe('updateOrganization', () => {
    const UPDATE = `mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { id name country } }`;

    it('lets an owner rename the organization and set its country, audit-logged', async () => {
      const u = await signUp(t, { organizationName: 'No Country' });
      const r = await t.gql(UPDATE, { i: { id: u.organizationId, country: 'JP', name: 'Renamed' } }, u.token);
      expect(r.data!.updateOrganization).toEqual({ id: u.organizationId, name: 'Renamed', country: 'JP' });
      const [row] = await t.dataSource.query(`SELECT data FROM audit_log WHERE action = 'identity.organization.updated' AND target_id = $1`, [u.organizationId]);
      expect(row.data).toEqual({ from: { name: 'No Country', country: null }, to: { name: 'Renamed', country: 'JP' } });
      const same = await t.gql(UPDATE, { i: { id: u.organizationId, country: 'JP' } }, u.token);
      expect(same.data!.updateOrganization.country).toBe('JP');
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'identity.organization.updated' AND target_id = $1`, [u.organizationId]);
      expect(n).toBe(1); // no change, no entry
    });

    it('refuses members, API keys, foreign organizations and bad input', async () => {
      const u = await signUp(t);
      const other = await signUp(t);
      const member = await signUp(t);
      await t.gql(
        `mutation($i: AddOrganizationMemberInput!) { addOrganizationMember(input: $i) { __typename } }`,
        { i: { organizationId: u.organizationId, email: member.email } },
        u.token,
      );
      expect((await t.gql(UPDATE, { i: { id: u.organizationId, name: 'x' } }, member.token)).errors![0].extensions.code).toBe('FORBIDDEN');
      expect((await t.gql(UPDATE, { i: { id: other.organizationId, name: 'x' } }, u.token)).errors![0].extensions.code).toBe('NOT_FOUND');
      for (const [input, field] of [
        [{ id: u.organizationId, country: 'XX' }, 'country'],
        [{ id: u.organizationId, name: '' }, 'name'],
        [{ id: 'nope', name: 'x' }, 'id'],
      ] as const) {
        const r = await t.gql(UPDATE, { i: input }, u.token);
        expect(r.errors![0].extensions.fields[0].field).toBe(field);
      }
      const [row] = await t.dataSource.query(`SELECT name, country FROM organizations WHERE id = $1`, [other.organizationId]);
      expect(row.country).toBeNull();
    });
  });

  describe('logIn input', () => {
    it('refuses oversized or missing fields as BAD_USER_INPUT', async () => {
      const long = await t.gql(LOG_IN, { i: { email: `${'a'.repeat(250)}@example.test`, password: PASSWORD } });
      expect(long.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      const missing = await t.gql(LOG_IN, { i: { email: 'a@example.test' } });
      expect(missing.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('tokens', () => {
    it('refuses a tampered, expired or malformed token with UNAUTHENTICATED', async () => {
      const u = await signUp(t);
      const tampered = u.token.slice(0, -2) + (u.token.endsWith('AA') ? 'BB' : 'AA');
      for (const token of [tampered, 'garbage', 'bm_notarealkey']) {
        const r = await t.gql(`{ me { id } }`, {}, token);
        expect(r.errors![0].extensions.code).toBe('UNAUTHENTICATED');
      }
      const { JwtService } = await import('@nestjs/jwt');
      const expired = t.app.get(JwtService).sign({ sub: u.userId, typ: 'access' }, { expiresIn: -10 });
      const exp = await t.gql(`{ me { id } }`, {}, expired);
      expect(exp.errors![0].extensions.code).toBe('UNAUTHENTICATED');
      const raw = await t.request({ method: 'POST', url: '/graphql', body: { query: '{ me { id } }' }, headers: { authorization: 'Basic abc' } });
      expect(raw.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    });

    it('refuses a correctly signed token without exp, or expiring beyond the configured TTL, with UNAUTHENTICATED', async () => {
      const u = await signUp(t);
      const { JwtService } = await import('@nestjs/jwt');
      const jwt = t.app.get(JwtService); // the app's own secret and issuer
      const ttl = t.config.jwtTtlSeconds;
      const noExp = jwt.sign({ sub: u.userId, typ: 'access' });
      expect(JSON.parse(Buffer.from(noExp.split('.')[1], 'base64url').toString())).not.toHaveProperty('exp');
      const tenYears = jwt.sign({ sub: u.userId, typ: 'access' }, { expiresIn: 10 * 365 * 86400 });
      const twiceTtl = jwt.sign({ sub: u.userId, typ: 'access' }, { expiresIn: 2 * ttl + 120 });
      for (const token of [noExp, tenYears, twiceTtl]) {
        const r = await t.gql(`{ me { id } }`, {}, token);
        expect({ code: r.errors?.[0].extensions.code, data: r.data }).toEqual({ code: 'UNAUTHENTICATED', data: null });
      }
      // The same claims within the TTL are accepted: the refusal is about exp.
      const ok = await t.gql(`{ me { id } }`, {}, jwt.sign({ sub: u.userId, typ: 'access' }, { expiresIn: ttl }));
      expect(ok.data!.me.id).toBe(u.userId);
    });

    it('requires a token for me', async () => {
      const r = await t.gql(`{ me { id } }`);
      expect(r.errors![0].extensions.code).toBe('UNAUTHENTICATED');
      expect(r.data).toBeNull();
    });
  });

  describe('API keys', () => {
    it('shows the secret once, stores only a hash, authenticates, records last use, and can be revoked', async () => {
      const u = await signUp(t);
      const r = await t.gql(CREATE_KEY, { i: { organizationId: u.organizationId, name: 'ci', scopes: ['READ'] } }, u.token);
      const { secret, apiKey } = r.data!.createApiKey;
      expect(secret.startsWith(`${apiKey.prefix}_`)).toBe(true);
      const [row] = await t.dataSource.query(`SELECT secret_hash FROM api_keys WHERE id = $1`, [apiKey.id]);
      expect(row.secret_hash).not.toContain(secret.slice(apiKey.prefix.length + 1));

      const list = await t.gql(`query($o: ID!) { apiKeys(organizationId: $o) { id prefix scopes lastUsedAt } }`, { o: u.organizationId }, secret);
      expect(list.data!.apiKeys).toHaveLength(1);
      expect(JSON.stringify(list.data)).not.toContain(secret);
      const [{ last_used_at }] = await t.dataSource.query(`SELECT last_used_at FROM api_keys WHERE id = $1`, [apiKey.id]);
      expect(last_used_at).not.toBeNull();

      const revoked = await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, { id: apiKey.id }, u.token);
      expect(revoked.data!.revokeApiKey.revokedAt).not.toBeNull();
      const after = await t.gql(`query($o: ID!) { apiKeys(organizationId: $o) { id } }`, { o: u.organizationId }, secret);
      expect(after.errors![0].extensions.code).toBe('UNAUTHENTICATED');
    });

    it('enforces scopes: a READ key cannot write, a key cannot create keys or act for another organization', async () => {
      const u = await signUp(t);
      const other = await signUp(t);
      const r = await t.gql(CREATE_KEY, { i: { organizationId: u.organizationId, name: 'ro', scopes: ['READ'] } }, u.token);
      const secret = r.data!.createApiKey.secret;
      const create = await t.gql(CREATE_KEY, { i: { organizationId: u.organizationId, name: 'x', scopes: ['READ'] } }, secret);
      expect(create.errors![0].extensions.code).toBe('FORBIDDEN');
      const foreign = await t.gql(`query($o: ID!) { apiKeys(organizationId: $o) { id } }`, { o: other.organizationId }, secret);
      expect(foreign.errors![0].extensions.code).toBe('NOT_FOUND');
      const me = await t.gql(`{ me { id } }`, {}, secret);
      expect(me.errors![0].extensions.code).toBe('FORBIDDEN');
    });

    it('refuses bad key input and keys for a foreign organization', async () => {
      const u = await signUp(t);
      const other = await signUp(t);
      const cases: [Record<string, unknown>, string][] = [
        [{ organizationId: u.organizationId, name: '', scopes: ['READ'] }, 'name'],
        [{ organizationId: u.organizationId, name: 'k', scopes: [] }, 'scopes'],
        [{ organizationId: 'not-a-uuid', name: 'k', scopes: ['READ'] }, 'organizationId'],
        [{ organizationId: u.organizationId, name: 'k', scopes: ['GATEWAY'] }, 'agreementId'],
      ];
      for (const [input, field] of cases) {
        const r = await t.gql(CREATE_KEY, { i: input }, u.token);
        expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
        expect(r.errors![0].extensions.fields.map((f: { field: string }) => f.field)).toContain(field);
      }
      const foreign = await t.gql(CREATE_KEY, { i: { organizationId: other.organizationId, name: 'k', scopes: ['READ'] } }, u.token);
      expect(foreign.errors![0].extensions.code).toBe('NOT_FOUND');
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM api_keys WHERE organization_id = $1`, [other.organizationId]);
      expect(n).toBe(0);
    });

    it("revoking another organization's key is NOT_FOUND", async () => {
      const u = await signUp(t);
      const other = await signUp(t);
      const r = await t.gql(CREATE_KEY, { i: { organizationId: other.organizationId, name: 'k', scopes: ['READ'] } }, other.token);
      const res = await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: r.data!.createApiKey.apiKey.id }, u.token);
      expect(res.errors![0].extensions.code).toBe('NOT_FOUND');
      const [{ revoked_at }] = await t.dataSource.query(`SELECT revoked_at FROM api_keys WHERE id = $1`, [r.data!.createApiKey.apiKey.id]);
      expect(revoked_at).toBeNull();
    });
  });
});

describe('admin bootstrap', () => {
  it('ensures one platform admin from ADMIN_EMAIL / ADMIN_PASSWORD, idempotently across boots', async () => {
    const t = await startTestApp({ adminEmail: 'root@beiming.test', adminPassword: 'admin password 123' });
    try {
      const { AuthService } = await import('../src/identity/auth.service');
      await t.app.get(AuthService).ensureAdmin('ROOT@beiming.test', 'admin password 123'); // a second boot
      const rows = await t.dataSource.query(`SELECT is_admin FROM users WHERE lower(email) = 'root@beiming.test'`);
      expect(rows).toEqual([{ is_admin: true }]);
      const login = await t.gql(LOG_IN, { i: { email: 'root@beiming.test', password: 'admin password 123' } });
      const me = await t.gql(`{ me { isAdmin } }`, {}, login.data!.logIn.accessToken);
      expect(me.data!.me.isAdmin).toBe(true);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'identity.admin.ensured'`);
      expect(n).toBe(1);
    } finally {
      await t.close();
    }
  });
});
