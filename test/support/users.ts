/** Test helpers that act as real clients: sign up, log in, create organizations. */
import { randomBytes } from 'node:crypto';
import type { TestApp } from './app';

export interface TestUser {
  token: string;
  userId: string;
  email: string;
  organizationId: string;
}

let counter = 0;

export async function signUp(t: TestApp, opts: { email?: string; organizationName?: string; country?: string } = {}): Promise<TestUser> {
  counter += 1;
  const email = opts.email ?? `user${counter}-${randomBytes(3).toString('hex')}@example.test`;
  const r = await t.gql(
    `mutation($i: SignUpInput!) { signUp(input: $i) { __typename ... on AuthPayload { accessToken user { id } memberships { organization { id } } } } }`,
    { i: { email, password: 'correct horse battery staple', organizationName: opts.organizationName ?? `Org ${counter}`, country: opts.country } },
  );
  if (r.errors || r.data?.signUp.__typename !== 'AuthPayload') throw new Error(`signUp failed: ${JSON.stringify(r.errors ?? r.data)}`);
  const token = r.data.signUp.accessToken as string;
  return { token, userId: r.data.signUp.user.id, email, organizationId: r.data.signUp.memberships[0].organization.id };
}

/** Makes an existing user a platform admin (as ADMIN_EMAIL would at boot) and logs in again. */
export async function makeAdmin(t: TestApp, user: TestUser): Promise<TestUser> {
  await t.dataSource.query(`UPDATE users SET is_admin = true WHERE id = $1`, [user.userId]);
  return user; // tokens resolve the user's admin flag on every request
}
