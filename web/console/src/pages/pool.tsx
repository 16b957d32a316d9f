/**
 * The pool plan. Admins: a plan's distribution of a period explained
 * (poolStatement without an organization: every teacher's line and every
 * subscriber), the teachers' earnings held for review (flags
 * CONCENTRATED_SUBSCRIBER / SELF_DEALING) and their release. Distillers: the
 * plans on offer, subscribing the organization, its subscriptions with their
 * periods, cancelling at the period's end, and under USER_CENTRIC where its
 * fee went.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { useNow } from '../time';
import { ApiError, businessProblem, Empty, Facts, Field, Loading, Page, recentMonths, Table, when } from '../ui';

const MONEY = 'amountMinor currency formatted';
const PLAN_FIELDS = `id name version status currency distribution monthlyFee { ${MONEY} } tokenAllowance overage overagePerMillion { ${MONEY} }
  minimumTokensToEarn platformFeeBps createdAt retiredAt`;
const PERIODS = 12;

/** Basis points as a percentage, in integers (1500 → "15.00 %"). */
const bps = (n: number): string => `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')} %`;
/** A decimal token count with thousands separators (a string: counts may exceed 2^53). */
const tokens = (s: string): string => s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function planLabel(p: any): string {
  return `${p.name} v${p.version} — ${p.currency}, ${p.distribution}${p.status !== 'ACTIVE' ? ` (${p.status})` : ''}`;
}

/** A model's name, read by id (the statement names the teachers by id only on a distiller's breakdown). */
function ModelName({ id }: { id: string }) {
  const [{ data }] = useQuery({ query: `query PoolModelName($id: ID!) { teacherModel(id: $id) { id name } }`, variables: { id } });
  return <>{data?.teacherModel.name ?? <code className="mono">{id.slice(0, 8)}</code>}</>;
}

const STATEMENT = `query PoolStatement($plan: ID!, $period: String!, $org: ID) { poolStatement(planId: $plan, period: $period, organizationId: $org) {
  complete planName planVersion
  distribution { period distribution closedAt gross { ${MONEY} } platformFee { ${MONEY} } platformFeeBps distributed { ${MONEY} } carried { ${MONEY} }
    remainder { ${MONEY} } totalEligibleTokens minimumTokensToEarn }
  lines { modelId modelName vendorOrganizationId tokens aboveThreshold tokenShareBps amount { ${MONEY} } flags held releasedAt }
  subscribers { organizationId paid { ${MONEY} } net { ${MONEY} } eligibleTokens toRemainder }
  feeBreakdown { modelId vendorOrganizationId tokens amount { ${MONEY} } } } }`;
const ADMIN_PLANS = `query PoolPlansAll { poolPlans(includeInactive: true) { ${PLAN_FIELDS} } }`;
const RELEASE = `mutation ReleasePoolEarnings($plan: ID!, $period: String!, $model: ID!) { releasePoolEarnings(planId: $plan, period: $period, modelId: $model) }`;

function DistributionTerms({ d }: { d: any }) {
  const rows: [string, ReactNode][] = [
    ['Mode', d.distribution],
    ['Closed', when(d.closedAt)],
    ['Paid into the pool (gross)', d.gross.formatted],
    ['Platform fee', `${d.platformFee.formatted} (${bps(d.platformFeeBps)})`],
    ['Distributed to teachers', d.distributed.formatted],
    ['Carried to the next period', d.carried.formatted],
    ...(d.distribution === 'USER_CENTRIC' ? ([['Remainder (split pro rata)', d.remainder.formatted]] as [string, ReactNode][]) : []),
    ['Eligible tokens', tokens(d.totalEligibleTokens)],
    ['Minimum tokens to earn', tokens(d.minimumTokensToEarn)],
  ];
  return <Facts rows={rows} />;
}

/** Admins: a plan's period, the held earnings first, each released after review. */
export function PoolReviewPage() {
  const now = useNow();
  const months = recentMonths(PERIODS, now);
  const [plans] = useQuery({ query: ADMIN_PLANS });
  const [plan, setPlan] = useState('');
  // The last closed month by default: the current one is distributed after it ends.
  const [period, setPeriod] = useState(months[1]);
  const planId = plan || plans.data?.poolPlans[0]?.id || '';
  const [{ data, fetching, error }, refetch] = useQuery({ query: STATEMENT, variables: { plan: planId, period, org: null }, pause: !planId, requestPolicy: 'cache-and-network' });
  const [released, release] = useMutation(RELEASE);
  const [confirming, setConfirming] = useState<any | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const st = data?.poolStatement;
  // A released line stays `held` (it was held) and gets its releasedAt.
  const held = (st?.lines ?? []).filter((l: any) => l.held && !l.releasedAt);
  const onRelease = async () => {
    if (!confirming) return;
    const r = await release({ plan: planId, period, model: confirming.modelId });
    if (r.data) {
      setNotice(`Released ${confirming.amount.formatted} of ${confirming.modelName} (${period}) to its vendor, down its royalty stack.`);
      setConfirming(null);
      refetch({ requestPolicy: 'network-only' });
    }
  };
  return (
    <Page title="Pool earnings review">
      <div className="controls">
        <Field label="Plan">
          <select value={planId} onChange={(e) => setPlan(e.target.value)}>
            {(plans.data?.poolPlans ?? []).map((p: any) => (
              <option key={p.id} value={p.id}>
                {planLabel(p)}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Period">
          <select value={period} onChange={(e) => setPeriod(e.target.value)}>
            {months.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <ApiError error={plans.error} />
      {plans.data && plans.data.poolPlans.length === 0 ? <Empty>No pool plans yet (createPoolPlan).</Empty> : null}
      {fetching && !data ? <Loading what="the pool statement" /> : null}
      <ApiError error={error} />
      {notice ? (
        <p role="status" className="ok">
          {notice}
        </p>
      ) : null}
      {st ? (
        <>
          <h2>
            {st.planName} v{st.planVersion}, {period}
          </h2>
          <DistributionTerms d={st.distribution} />
          <section aria-labelledby="held-title">
            <h2 id="held-title">Held for review</h2>
            <Table
              caption="Teachers' pool earnings held for review"
              head={['Teacher', 'Vendor', 'Flags', 'Tokens', 'Share', 'Held amount', '']}
              empty="Nothing held in this period."
              rows={held.map((l: any) => [
                l.modelName,
                <code className="mono">{l.vendorOrganizationId.slice(0, 8)}</code>,
                <span className="bad">{l.flags.join(', ')}</span>,
                tokens(l.tokens),
                bps(l.tokenShareBps),
                l.amount.formatted,
                <button type="button" aria-label={`Release ${l.modelName}'s held earnings`} onClick={() => setConfirming(l)}>
                  Release…
                </button>,
              ])}
            />
            {confirming ? (
              <div className="card" role="group" aria-labelledby="release-title">
                <h3 id="release-title">Release {confirming.modelName}'s earnings?</h3>
                <p>
                  {confirming.amount.formatted} flagged {confirming.flags.join(', ')} moves from the vendor's held account to what it is owed (and to the
                  teachers of its royalty stack). This is audited and cannot be undone.
                </p>
                <div className="actions">
                  <button type="button" onClick={() => void onRelease()} disabled={released.fetching}>
                    Confirm release
                  </button>
                  <button type="button" onClick={() => setConfirming(null)}>
                    Cancel
                  </button>
                </div>
              </div>
            ) : null}
            <ApiError error={released.error} />
          </section>
          <section aria-labelledby="lines-title">
            <h2 id="lines-title">Every teacher</h2>
            <Table
              caption="Teachers' lines of the distribution"
              head={['Teacher', 'Tokens', 'Above threshold', 'Share', 'Amount', 'Flags', 'Held / released']}
              empty="No pool usage in this period."
              rows={st.lines.map((l: any) => [
                l.modelName,
                tokens(l.tokens),
                l.aboveThreshold ? 'yes' : 'no',
                bps(l.tokenShareBps),
                l.amount.formatted,
                l.flags.length ? l.flags.join(', ') : '—',
                l.releasedAt ? `released ${when(l.releasedAt)}` : l.held ? <span className="bad">held</span> : '—',
              ])}
            />
          </section>
          <section aria-labelledby="subscribers-title">
            <h2 id="subscribers-title">Subscribers</h2>
            <Table
              caption="What each subscriber paid into this distribution"
              head={['Organization', 'Paid', 'Net (after the fee)', 'Eligible tokens', 'To the remainder']}
              empty="No paid subscriber in this distribution."
              rows={st.subscribers.map((s: any) => [
                <code className="mono">{s.organizationId.slice(0, 8)}</code>,
                s.paid.formatted,
                s.net.formatted,
                tokens(s.eligibleTokens),
                s.toRemainder ? 'yes' : 'no',
              ])}
            />
          </section>
        </>
      ) : null}
    </Page>
  );
}

const PLANS = `query PoolPlans { poolPlans { ${PLAN_FIELDS} } }`;
const SUB_FIELDS = 'id planId organizationId currency status startedAt endedAt cancelAtPeriodEnd suspensionCause';
const SUBSCRIPTIONS = `query PoolSubscriptions($org: ID!) { poolSubscriptions(organizationId: $org) { ${SUB_FIELDS} } }`;
// The invoiced periods come with one subscription read.
const SUBSCRIPTION = `query PoolSubscription($id: ID!) { poolSubscription(id: $id) { ${SUB_FIELDS}
  periods { period planId fee { ${MONEY} } invoiceId invoiceStatus overage { ${MONEY} } overageTokens }
  allowanceUse { period allowanceTokens usedTokens remainingTokens overageTokens usedBps } } }`;
const SUBSCRIBE = `mutation SubscribeToPool($plan: ID!, $org: ID!) { subscribeToPool(planId: $plan, organizationId: $org) { __typename
  ... on PoolSubscription { id status planId firstInvoiceId }
  ... on BusinessError { code message }
  ... on PoolSubscriptionExistsError { subscription { id } } } }`;
const CANCEL = `mutation CancelPoolSubscription($id: ID!) { cancelPoolSubscription(subscriptionId: $id) { id status cancelAtPeriodEnd endedAt } }`;

/** "12,000 of 50,000,000 tokens (0.02 %) in 2026-12", plus what is beyond the allowance. */
function allowanceText(u: { period: string; allowanceTokens: string; usedTokens: string; overageTokens: string; usedBps: number } | null | undefined): ReactNode {
  if (!u) return '—';
  const pct = `${Math.floor(u.usedBps / 100)}.${String(u.usedBps % 100).padStart(2, '0')} %`;
  const over = u.overageTokens !== '0' ? `; ${tokens(u.overageTokens)} beyond it` : '';
  return (
    <>
      <meter min={0} max={10000} value={u.usedBps} aria-label={`Allowance used in ${u.period}`} /> {tokens(u.usedTokens)} of {tokens(u.allowanceTokens)} tokens ({pct}) in {u.period}
      {over}
    </>
  );
}

/** Distiller: the pool plans, the organization's subscription, and where its fee went. */
export function PoolSubscriptionPage({ orgId }: { orgId: string }) {
  const [plans] = useQuery({ query: PLANS });
  const [{ data, fetching, error }, refetch] = useQuery({ query: SUBSCRIPTIONS, variables: { org: orgId }, requestPolicy: 'cache-and-network' });
  const [subscribed, subscribe] = useMutation(SUBSCRIBE);
  const [cancelled, cancel] = useMutation(CANCEL);
  const [choice, setChoice] = useState('');
  const [confirmCancel, setConfirmCancel] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const active = plans.data?.poolPlans ?? [];
  const byId = new Map<string, any>(active.map((p: any) => [p.id, p]));
  const subs = data?.poolSubscriptions ?? [];
  const planChoice = choice || active[0]?.id || '';
  const refusal = businessProblem(subscribed.data?.subscribeToPool);
  const onSubscribe = async (e: FormEvent) => {
    e.preventDefault();
    setNotice(null);
    const r = await subscribe({ plan: planChoice, org: orgId });
    if (r.data?.subscribeToPool.__typename === 'PoolSubscription') {
      setNotice('Subscribed: the first period, prorated by the days left, is invoiced now (Invoices & payment).');
      refetch({ requestPolicy: 'network-only' });
    }
  };
  const onCancel = async (id: string) => {
    const r = await cancel({ id });
    if (r.data) {
      setConfirmCancel(null);
      setNotice('Cancelled: the subscription and its pool agreements end at the end of the current period.');
      refetch({ requestPolicy: 'network-only' });
    }
  };
  return (
    <Page title="Pool subscription">
      <section aria-labelledby="plans-title">
        <h2 id="plans-title">Plans</h2>
        <ApiError error={plans.error} />
        {plans.data ? (
          <Table
            caption="Pool plans on offer"
            head={['Plan', 'Monthly price', 'Token allowance a month', 'Beyond the allowance', 'Distribution']}
            empty="No pool plan is on offer."
            rows={active.map((p: any) => [
              `${p.name} v${p.version}`,
              p.monthlyFee.formatted,
              tokens(p.tokenAllowance),
              p.overage === 'BILL' ? `billed, ${p.overagePerMillion?.formatted ?? '—'} per million tokens` : 'refused (429)',
              p.distribution === 'USER_CENTRIC' ? 'user-centric: your fee goes to the teachers you use' : 'pro rata over all subscribers',
            ])}
          />
        ) : null}
        {active.length > 0 ? (
          <form className="controls" onSubmit={onSubscribe} aria-label="Subscribe to a pool plan">
            <Field label="Plan to subscribe to" hint="this organization subscribes; one live subscription per currency">
              <select value={planChoice} onChange={(e) => setChoice(e.target.value)}>
                {active.map((p: any) => (
                  <option key={p.id} value={p.id}>
                    {planLabel(p)}
                  </option>
                ))}
              </select>
            </Field>
            <button type="submit" disabled={subscribed.fetching || !planChoice}>
              {subscribed.fetching ? 'Subscribing…' : 'Subscribe'}
            </button>
          </form>
        ) : null}
        <ApiError error={subscribed.error} problem={refusal} />
      </section>
      {notice ? (
        <p role="status" className="ok">
          {notice}
        </p>
      ) : null}
      <section aria-labelledby="subs-title">
        <h2 id="subs-title">This organization's subscriptions</h2>
        {fetching && !data ? <Loading what="subscriptions" /> : null}
        <ApiError error={error} />
        {data && subs.length === 0 ? <Empty>Not subscribed to a pool plan.</Empty> : null}
        {subs.map((s: any) => (
          <SubscriptionCard
            key={s.id}
            orgId={orgId}
            id={s.id}
            plan={byId.get(s.planId)}
            confirming={confirmCancel === s.id}
            onConfirm={setConfirmCancel}
            onCancel={(id) => void onCancel(id)}
            cancelling={cancelled.fetching}
          />
        ))}
        <ApiError error={cancelled.error} />
      </section>
    </Page>
  );
}

/** One subscription, read with its invoiced periods. */
function SubscriptionCard(props: {
  orgId: string;
  id: string;
  plan: any;
  confirming: boolean;
  onConfirm: (id: string | null) => void;
  onCancel: (id: string) => void;
  cancelling: boolean;
}) {
  const { orgId, plan: p, confirming } = props;
  const [{ data, error }] = useQuery({ query: SUBSCRIPTION, variables: { id: props.id }, requestPolicy: 'cache-and-network' });
  const s = data?.poolSubscription;
  if (!s) return <ApiError error={error} />;
  const periods: any[] = s.periods ?? [];
  // Where the fee went is known for the periods paid (and distributed once closed): the newest first.
  const paid = periods.filter((x) => x.invoiceStatus === 'PAID');
  return (
    <div className="card">
      <h3>
        {p ? `${p.name} v${p.version}` : 'Pool plan'} ({s.currency}) — <span className={s.status === 'ACTIVE' ? 'ok' : s.status === 'SUSPENDED' ? 'bad' : undefined}>{s.status}</span>
      </h3>
      <Facts
        rows={[
          ['Started', when(s.startedAt)],
          ['Ends', s.endedAt ? when(s.endedAt) : s.cancelAtPeriodEnd ? 'at the end of the current period (cancelled)' : 'renews monthly'],
          ['Token allowance a month', p ? `${tokens(p.tokenAllowance)} (shared by all its pool agreements)` : '—'],
          ['Allowance used', allowanceText(s.allowanceUse)],
          ...(s.suspensionCause ? ([['Suspended', s.suspensionCause]] as [string, ReactNode][]) : []),
        ]}
      />
      <Table
        caption={`Invoiced periods of the ${s.currency} subscription`}
        head={['Period', 'Fee', 'Overage', 'Invoice']}
        empty="No period invoiced yet."
        rows={periods.map((x: any) => [
          x.period,
          x.fee.formatted,
          x.overageTokens !== '0' ? `${x.overage.formatted} (${tokens(x.overageTokens)} tokens)` : '—',
          x.invoiceStatus,
        ])}
      />
      {s.status !== 'ENDED' && !s.cancelAtPeriodEnd ? (
        confirming ? (
          <div className="actions" role="group" aria-label="Confirm the cancellation">
            <span>The subscription and its pool agreements end at the end of the current period.</span>
            <button type="button" onClick={() => props.onCancel(s.id)} disabled={props.cancelling}>
              Confirm cancellation
            </button>
            <button type="button" onClick={() => props.onConfirm(null)}>
              Keep it
            </button>
          </div>
        ) : (
          <button type="button" onClick={() => props.onConfirm(s.id)}>
            Cancel at period end…
          </button>
        )
      ) : null}
      {/* A retired plan version is not listed: its statement still says where the fee went. */}
      {(!p || p.distribution === 'USER_CENTRIC') && paid.length > 0 ? (
        <WhereMyFeeWent orgId={orgId} paid={paid.map((x) => ({ period: x.period, planId: x.planId }))} />
      ) : null}
    </div>
  );
}

/** USER_CENTRIC: the distiller's own statement of a closed period — its payment, its net, and the teachers it went to. */
function WhereMyFeeWent({ orgId, paid }: { orgId: string; paid: { period: string; planId: string }[] }) {
  const newestFirst = [...paid].sort((x, y) => (x.period < y.period ? 1 : -1));
  const [period, setPeriod] = useState(newestFirst[0].period);
  // Each period was distributed under the plan version it was invoiced on.
  const plan = newestFirst.find((x) => x.period === period)?.planId ?? newestFirst[0].planId;
  const [{ data, fetching, error }] = useQuery({ query: STATEMENT, variables: { plan, period, org: orgId } });
  const st = data?.poolStatement;
  const mine = st?.subscribers.find((s: any) => s.organizationId === orgId);
  return (
    <section aria-label="Where the fee went">
      <h4>Where the fee went</h4>
      <div className="controls">
        <Field label="Paid period">
          <select value={period} onChange={(e) => setPeriod(e.target.value)}>
            {newestFirst.map((x) => (
              <option key={x.period} value={x.period}>
                {x.period}
              </option>
            ))}
          </select>
        </Field>
      </div>
      {fetching && !data ? <Loading what="the statement" /> : null}
      {error ? (
        <p className="hint">
          No distribution to show for {period} yet (it is distributed after the period is closed):{' '}
          {error.graphQLErrors.map((e) => e.message).join('; ') || error.message}
        </p>
      ) : null}
      {mine ? (
        <p>
          Paid {mine.paid.formatted}; after the platform fee {mine.net.formatted} went to teachers
          {mine.toRemainder ? ' — with no eligible use it joined the pro-rata remainder' : `, split by your ${tokens(mine.eligibleTokens)} eligible tokens`}.
        </p>
      ) : null}
      {st ? (
        <Table
          caption={`Where your ${period} fee went, by teacher`}
          head={['Teacher', 'Your tokens', 'Amount']}
          empty="None of your fee went to a teacher in this period."
          rows={st.feeBreakdown.map((b: any) => [<ModelName id={b.modelId} />, tokens(b.tokens), b.amount.formatted])}
        />
      ) : null}
    </section>
  );
}
