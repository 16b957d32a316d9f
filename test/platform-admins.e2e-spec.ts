/**
 * The platform admin role: several admins from ADMIN_EMAIL (comma-separated),
 * and grantPlatformAdmin / revokePlatformAdmin for admins — audited with the
 * acting admin, never leaving the platform without an admin (also when two
 * admins revoke each other at once), refusing to revoke a configured admin,
 * NOT_FOUND for unknown users, FORBIDDEN for everyone else.
 */
import { IdentityRepository } from '../src/identity/identity.repository';
import { loadConfig } from '../src/platform/config/app-config';
import { startTestApp, TestApp } from './support/app';
import { errorCode } from './support/payouts';
import { makeAdmin, signUp, TestUser } from './support/users';

const LOG_IN = `mutation($i: LogInInput!) { logIn(input: $i) { __typename ... on AuthPayload { accessToken user { id isAdmin } } } }`;
const GRANT = `mutation($e: String!) { grantPlatformAdmin(email: $e) { id email isAdmin } }`;
const REVOKE = `mutation($e: String!) { revokePlatformAdmin(email: $e) { id email isAdmin } }`;
const PASSWORD = 'admin password 123';

const isAdmin = async (t: TestApp, email: string) =>
  ((await t.dataSource.query(`SELECT is_admin FROM users WHERE lower(email) = lower($1)`, [email])) as { is_admin: boolean }[])[0]?.is_admin;
const audits = async (t: TestApp, action: string, targetId: string) =>
  (await t.dataSource.query(`SELECT actor_user_id, data FROM audit_log WHERE action = $1 AND target_id = $2 ORDER BY seq`, [action, targetId])) as {
    actor_user_id: string;
    data: Record<string, unknown>;
  }[];

describe('ADMIN_EMAIL configuration', () => {
  const base = { JWT_SECRET: 'x'.repeat(40), ADMIN_PASSWORD: PASSWORD };
  it('accepts one address or a comma-separated list, and refuses anything else', () => {
    expect(loadConfig({ ...base, ADMIN_EMAIL: 'a@b.io' }).adminEmails).toEqual(['a@b.io']);
    expect(loadConfig({ ...base, ADMIN_EMAIL: ' A@b.io, c@d.io ,a@B.io' }).adminEmails).toEqual(['a@b.io', 'c@d.io']);
    expect(() => loadConfig({ ...base, ADMIN_EMAIL: 'a@b.io, not-an-email' })).toThrow(/ADMIN_EMAIL must be an email address or a comma-separated list/);
    expect(() => loadConfig({ ...base, ADMIN_EMAIL: 'a@b.io,' })).toThrow(/ADMIN_EMAIL/);
    expect(() => loadConfig({ JWT_SECRET: 'x'.repeat(40), ADMIN_EMAIL: 'a@b.io,c@d.io' })).toThrow(/ADMIN_EMAIL and ADMIN_PASSWORD/);
  });
});

describe('platform admins: grant and revoke', () => {
  let t: TestApp;
  let root: TestUser;
  jest.setTimeout(60_000);

  beforeAll(async () => {
    t = await startTestApp({ adminEmail: 'root1@beiming.test, Root2@beiming.test', adminPassword: PASSWORD });
    const login = await t.gql(LOG_IN, { i: { email: 'root1@beiming.test', password: PASSWORD } });
    root = { token: login.data!.logIn.accessToken, userId: login.data!.logIn.user.id, email: 'root1@beiming.test', organizationId: '' };
  });
  afterAll(() => t.close());

  it('boots every ADMIN_EMAIL address as an admin, each able to log in with ADMIN_PASSWORD', async () => {
    for (const email of ['root1@beiming.test', 'root2@beiming.test']) {
      const login = await t.gql(LOG_IN, { i: { email, password: PASSWORD } });
      expect(login.data!.logIn).toMatchObject({ __typename: 'AuthPayload', user: { isAdmin: true } });
    }
  });

  it('an admin grants the role (audited with the actor); granting again changes and logs nothing', async () => {
    const user = await signUp(t);
    const r = await t.gql(GRANT, { e: user.email.toUpperCase() }, root.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.grantPlatformAdmin).toEqual({ id: user.userId, email: user.email, isAdmin: true });
    expect(await isAdmin(t, user.email)).toBe(true);
    // The new admin can act as one at once (the flag is read on every request).
    expect((await t.gql(`{ me { isAdmin } }`, {}, user.token)).data!.me.isAdmin).toBe(true);
    expect(await audits(t, 'identity.admin.granted', user.userId)).toEqual([{ actor_user_id: root.userId, data: { email: user.email } }]);
    await t.gql(GRANT, { e: user.email }, root.token);
    expect(await audits(t, 'identity.admin.granted', user.userId)).toHaveLength(1);

    // …and revokes it again.
    const back = await t.gql(REVOKE, { e: user.email }, root.token);
    expect(back.data!.revokePlatformAdmin.isAdmin).toBe(false);
    expect(await isAdmin(t, user.email)).toBe(false);
    expect(await audits(t, 'identity.admin.revoked', user.userId)).toEqual([{ actor_user_id: root.userId, data: { email: user.email } }]);
  });

  it('non-admins and API keys are FORBIDDEN, unknown users NOT_FOUND, bad emails BAD_USER_INPUT; nothing changes', async () => {
    const plain = await signUp(t);
    const target = await signUp(t);
    expect(errorCode(await t.gql(GRANT, { e: target.email }, plain.token))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(GRANT, { e: plain.email }, plain.token))).toBe('FORBIDDEN'); // not even oneself
    expect(errorCode(await t.gql(REVOKE, { e: 'root1@beiming.test' }, plain.token))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(GRANT, { e: target.email }))).toBe('UNAUTHENTICATED');
    const key = await t.gql(
      `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }`,
      { i: { organizationId: plain.organizationId, name: 'k', scopes: ['READ', 'WRITE'] } },
      plain.token,
    );
    expect(errorCode(await t.gql(GRANT, { e: target.email }, key.data!.createApiKey.secret))).toBe('FORBIDDEN');
    expect(errorCode(await t.gql(GRANT, { e: 'nobody@beiming.test' }, root.token))).toBe('NOT_FOUND');
    expect(errorCode(await t.gql(REVOKE, { e: 'nobody@beiming.test' }, root.token))).toBe('NOT_FOUND');
    expect(errorCode(await t.gql(GRANT, { e: 'not an email' }, root.token))).toBe('BAD_USER_INPUT');
    expect(await isAdmin(t, target.email)).toBe(false);
    expect(await isAdmin(t, plain.email)).toBe(false);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_log WHERE action IN ('identity.admin.granted', 'identity.admin.revoked') AND target_id IN ($1, $2)`, [
      plain.userId,
      target.userId,
    ]);
    expect(n).toBe(0);
  });

  it('refuses to revoke an admin listed in ADMIN_EMAIL (CONFLICT), which would come back at the next boot', async () => {
    const r = await t.gql(REVOKE, { e: 'ROOT2@beiming.test' }, root.token);
    expect(errorCode(r)).toBe('CONFLICT');
    expect(r.errors![0].extensions.reason).toBe('CONFIGURED_ADMIN');
    expect(await isAdmin(t, 'root2@beiming.test')).toBe(true);
  });
});

describe('platform admins: the last one stays', () => {
  let t: TestApp;
  jest.setTimeout(60_000);
  beforeAll(async () => {
    t = await startTestApp(); // no ADMIN_EMAIL: admins only through the API
  });
  afterAll(() => t.close());

  it('the last admin cannot be revoked, not even by themselves', async () => {
    const only = await makeAdmin(t, await signUp(t));
    const r = await t.gql(REVOKE, { e: only.email }, only.token);
    expect(errorCode(r)).toBe('CONFLICT');
    expect(r.errors![0].extensions.reason).toBe('LAST_ADMIN');
    expect(await isAdmin(t, only.email)).toBe(true);
    // With a second admin, revoking oneself is allowed.
    const second = await signUp(t);
    await t.gql(GRANT, { e: second.email }, only.token);
    expect((await t.gql(REVOKE, { e: only.email }, only.token)).data!.revokePlatformAdmin.isAdmin).toBe(false);
    expect(errorCode(await t.gql(REVOKE, { e: second.email }, second.token))).toBe('CONFLICT');
    await t.dataSource.query(`UPDATE users SET is_admin = false`); // leave no admin behind for the next test's count
  });

  it('two admins revoking each other at once (separate connections, released together): one succeeds, one admin remains', async () => {
    const a = await makeAdmin(t, await signUp(t));
    const b = await makeAdmin(t, await signUp(t));
    const repo = t.app.get(IdentityRepository);
    const original = repo.lockAdminBootstrap.bind(repo);
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const spy = jest.spyOn(repo, 'lockAdminBootstrap').mockImplementation(async (tx) => {
      if (++arrived >= 2) open();
      await gate;
      return original(tx);
    });
    let results;
    try {
      results = await Promise.all([t.gql(REVOKE, { e: b.email }, a.token), t.gql(REVOKE, { e: a.email }, b.token)]);
    } finally {
      spy.mockRestore();
    }
    expect(arrived).toBe(2);
    const codes = results.map((r) => errorCode(r)).sort();
    expect(codes).toEqual(['CONFLICT', null].sort());
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM users WHERE is_admin`);
    expect(n).toBe(1);
  });
});
