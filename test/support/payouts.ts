/** GraphQL helpers for payout onboarding specs. */
import type { TestApp } from './app';
import type { TestUser } from './users';

export const START_ONBOARDING = `mutation($o: ID!) { startPayoutOnboarding(organizationId: $o) { url expiresAt account { accountId mode canReceiveTransfers currentlyDue } } }`;
export const PAYOUT_ACCOUNT = `query($o: ID!) { payoutAccount(organizationId: $o) {
  organizationId mode accountId chargesEnabled payoutsEnabled detailsSubmitted currentlyDue pastDue disabledReason canReceiveTransfers syncedAt
  lastPayout { payoutId status failureCode createdAt } } }`;
export const DASHBOARD_LINK = `mutation($o: ID!) { payoutDashboardLink(organizationId: $o) { url } }`;

/** Adds `member` to `owner`'s organization with the role (through the API, as an owner would). */
export async function addMember(t: TestApp, owner: TestUser, member: TestUser, role: 'OWNER' | 'MEMBER'): Promise<void> {
  const r = await t.gql(
    `mutation($i: AddOrganizationMemberInput!) { addOrganizationMember(input: $i) { __typename } }`,
    { i: { organizationId: owner.organizationId, email: member.email, role } },
    owner.token,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
}

export const errorCode = (r: { errors?: { extensions: { code: string } }[] }) => r.errors?.[0]?.extensions.code ?? null;
