import { startTestApp, TestApp } from './support/app';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('health', async () => {
    const r = await t.request({ method: 'GET', url: '/health' });
    expect(r.status).toBe(200);
    expect(r.body.info.database.status).toBe('up');
  });

  it('signUp + me', async () => {
    const r = await t.gql(
      `mutation($i: SignUpInput!) { signUp(input: $i) { __typename ... on AuthPayload { accessToken user { email } } } }`,
      { i: { email: 'A@x.io', password: 'correct horse battery', organizationName: 'Acme' } },
    );
    expect(r.errors).toBeUndefined();
    const token = r.data!.signUp.accessToken;
    const me = await t.gql(`{ me { email memberships { role organization { name } } } }`, {}, token);
    expect(me.data).toEqual({ me: { email: 'A@x.io', memberships: [{ role: 'OWNER', organization: { name: 'Acme' } }] } });
  });
});
