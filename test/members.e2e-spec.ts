/** Organization members: owners add, re-role and remove; an organization always keeps an owner. */
import { startTestApp, TestApp } from './support/app';
import { signUp, TestUser } from './support/users';

const ADD = `mutation($i: AddOrganizationMemberInput!) { addOrganizationMember(input: $i) {
  __typename ... on OrganizationMember { role user { id email } } ... on BusinessError { code message } } }`;
const CHANGE = `mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { role user { id } } }`;
const REMOVE = `mutation($i: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $i) }`;
const LIST = `query($o: ID!) { organizationMembers(organizationId: $o) { role user { id email } } }`;

describe('organization members', () => {
  let t: TestApp;
  let owner: TestUser;
  let alice: TestUser;
  beforeAll(async () => {
    t = await startTestApp();
    owner = await signUp(t, { organizationName: 'Acme' });
    alice = await signUp(t);
  });
  afterAll(() => t.close());

  it('adds an existing user as MEMBER by email (any case), who can then write but not administer', async () => {
    const r = await t.gql(ADD, { i: { organizationId: owner.organizationId, email: alice.email.toUpperCase() } }, owner.token);
    expect(r.data!.addOrganizationMember).toMatchObject({ __typename: 'OrganizationMember', role: 'MEMBER', user: { id: alice.userId } });
    const list = await t.gql(LIST, { o: owner.organizationId }, alice.token);
    expect(list.data!.organizationMembers.map((m: { role: string }) => m.role)).toEqual(['OWNER', 'MEMBER']);
    const model = await t.gql(
      `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) { __typename } }`,
      { i: { organizationId: owner.organizationId, slug: 'by-member', name: 'By member', card: { summary: 'x', modalities: ['TEXT'] } } },
      alice.token,
    );
    expect(model.data!.createTeacherModel.__typename).toBe('TeacherModel');
    const key = await t.gql(
      `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }`,
      { i: { organizationId: owner.organizationId, name: 'k', scopes: ['READ'] } },
      alice.token,
    );
    expect(key.errors![0].extensions.code).toBe('FORBIDDEN');
    const bob = await signUp(t);
    const byMember = await t.gql(ADD, { i: { organizationId: owner.organizationId, email: bob.email } }, alice.token);
    expect(byMember.errors![0].extensions.code).toBe('FORBIDDEN');
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'identity.member.added' AND target_id = $1`, [alice.userId]);
    expect(n).toBe(1);
  });

  it('answers AlreadyMemberError, NOT_FOUND for an unknown email, and BAD_USER_INPUT for bad input', async () => {
    const again = await t.gql(ADD, { i: { organizationId: owner.organizationId, email: alice.email, role: 'OWNER' } }, owner.token);
    expect(again.data!.addOrganizationMember).toMatchObject({ __typename: 'AlreadyMemberError', code: 'ALREADY_MEMBER' });
    const unknown = await t.gql(ADD, { i: { organizationId: owner.organizationId, email: 'nobody@example.test' } }, owner.token);
    expect(unknown.errors![0].extensions.code).toBe('NOT_FOUND');
    const bad = await t.gql(ADD, { i: { organizationId: owner.organizationId, email: 'not-an-email' } }, owner.token);
    expect(bad.errors![0].extensions.fields[0].field).toBe('email');
    const badRole = await t.gql(CHANGE, { i: { organizationId: owner.organizationId, userId: 'x', role: 'OWNER' } }, owner.token);
    expect(badRole.errors![0].extensions.fields[0].field).toBe('userId');
  });

  it("treats another organization's members as not found", async () => {
    const other = await signUp(t);
    for (const [q, i] of [
      [ADD, { organizationId: other.organizationId, email: alice.email }],
      [CHANGE, { organizationId: other.organizationId, userId: other.userId, role: 'MEMBER' }],
      [REMOVE, { organizationId: other.organizationId, userId: other.userId }],
    ] as const) {
      const r = await t.gql(q, { i }, owner.token);
      expect(r.errors![0].extensions.code).toBe('NOT_FOUND');
    }
    expect((await t.gql(LIST, { o: other.organizationId }, owner.token)).errors![0].extensions.code).toBe('NOT_FOUND');
    const stillOwner = await t.dataSource.query(`SELECT role FROM memberships WHERE organization_id = $1`, [other.organizationId]);
    expect(stillOwner).toEqual([{ role: 'OWNER' }]);
  });

  it('keeps at least one owner', async () => {
    const solo = await signUp(t);
    const demote = await t.gql(CHANGE, { i: { organizationId: solo.organizationId, userId: solo.userId, role: 'MEMBER' } }, solo.token);
    expect(demote.errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'LAST_OWNER' });
    const remove = await t.gql(REMOVE, { i: { organizationId: solo.organizationId, userId: solo.userId } }, solo.token);
    expect(remove.errors![0].extensions.code).toBe('CONFLICT');
  });

  it('two owners demoting each other at once: exactly one succeeds', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    await t.gql(ADD, { i: { organizationId: a.organizationId, email: b.email, role: 'OWNER' } }, a.token);
    const [x, y] = await Promise.all([
      t.gql(CHANGE, { i: { organizationId: a.organizationId, userId: b.userId, role: 'MEMBER' } }, a.token),
      t.gql(CHANGE, { i: { organizationId: a.organizationId, userId: a.userId, role: 'MEMBER' } }, b.token),
    ]);
    expect([x, y].filter((r) => !r.errors)).toHaveLength(1);
    const owners = await t.dataSource.query(`SELECT count(*)::int AS n FROM memberships WHERE organization_id = $1 AND role = 'OWNER'`, [a.organizationId]);
    expect(owners[0].n).toBe(1);
  });

  it('removing a member takes their access away', async () => {
    const carol = await signUp(t);
    await t.gql(ADD, { i: { organizationId: owner.organizationId, email: carol.email } }, owner.token);
    expect((await t.gql(LIST, { o: owner.organizationId }, carol.token)).errors).toBeUndefined();
    const r = await t.gql(REMOVE, { i: { organizationId: owner.organizationId, userId: carol.userId } }, owner.token);
    expect(r.data!.removeOrganizationMember).toBe(true);
    expect((await t.gql(LIST, { o: owner.organizationId }, carol.token)).errors![0].extensions.code).toBe('NOT_FOUND');
    const again = await t.gql(REMOVE, { i: { organizationId: owner.organizationId, userId: carol.userId } }, owner.token);
    expect(again.errors![0].extensions.code).toBe('NOT_FOUND');
  });
});
