/**
 * UUIDs are case-insensitive on input (RFC 9562): an id in upper case names the
 * same object as its lower-case form, for users and API keys alike.
 */
import { startTestApp, TestApp } from './support/app';
import { createApiKey } from './support/metering';
import { signUp, TestUser } from './support/users';

const INVOICES = `query($org: ID!) { invoices(organizationId: $org) { totalCount } }`;

describe('UUIDs in upper case', () => {
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await startTestApp();
    user = await signUp(t);
  });
  afterAll(() => t.close());

  it('name the same organization as their lower-case form, for a user and for an API key', async () => {
    const upper = user.organizationId.toUpperCase();
    const key = await createApiKey(t, user, ['READ']);
    for (const token of [user.token, key.secret]) {
      const r = await t.gql(INVOICES, { org: upper }, token);
      expect({ errors: r.errors, data: r.data }).toEqual({ errors: undefined, data: { invoices: { totalCount: 0 } } });
    }
  });

  it('a malformed id is still BAD_USER_INPUT on its field', async () => {
    const r = await t.gql(INVOICES, { org: 'not-a-uuid' }, user.token);
    expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'organizationId', message: 'organizationId must be a UUID' }] });
  });
});
