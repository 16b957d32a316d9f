/** Vendor: the connected payout account's status and the onboarding link. */
import { useMutation, useQuery } from 'urql';
import { ApiError, Empty, Facts, Loading, Page, when } from '../ui';

const ACCOUNT = `query PayoutAccount($org: ID!) { payoutAccount(organizationId: $org) {
  accountId mode detailsSubmitted chargesEnabled payoutsEnabled canReceiveTransfers disabledReason currentlyDue pastDue syncedAt } }`;
const START = `mutation StartOnboarding($org: ID!) { startPayoutOnboarding(organizationId: $org) { url expiresAt account { accountId } } }`;

export function PayoutAccountPage({ orgId }: { orgId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: ACCOUNT, variables: { org: orgId } });
  const [started, start] = useMutation(START);
  const a = data?.payoutAccount;
  const onboard = async () => {
    const r = await start({ org: orgId });
    const url = r.data?.startPayoutOnboarding.url as string | undefined;
    if (url) window.location.assign(url);
  };
  return (
    <Page title="Payout account">
      {fetching && !data ? <Loading what="the payout account" /> : null}
      <ApiError error={error} />
      {data && !a ? <Empty>No payout account yet. Onboarding creates one (owners only).</Empty> : null}
      {a ? (
        <Facts
          rows={[
            ['Account', a.accountId],
            ['Mode', a.mode],
            ['Details submitted', a.detailsSubmitted ? 'yes' : 'no'],
            ['Can receive transfers', a.canReceiveTransfers ? 'yes' : 'no'],
            ['Payouts enabled', a.payoutsEnabled ? 'yes' : 'no'],
            ['Disabled reason', a.disabledReason ?? '—'],
            ['Currently due', a.currentlyDue.join(', ') || 'nothing'],
            ['Past due', a.pastDue.join(', ') || 'nothing'],
            ['Synced', when(a.syncedAt)],
          ]}
        />
      ) : null}
      {data ? (
        <button type="button" onClick={() => void onboard()} disabled={started.fetching}>
          {a?.detailsSubmitted ? 'Update payout details' : 'Start payout onboarding'}
        </button>
      ) : null}
      <ApiError error={started.error} />
    </Page>
  );
}
