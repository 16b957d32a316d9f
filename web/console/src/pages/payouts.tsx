/**
 * Payouts. Admins: payout batches (create one per currency), a batch's review
 * (vendors with amount, account state now and the ledger lines behind each
 * amount; skipped vendors with the reason; approve by a second admin, reject,
 * hold/release a payout; execution progress, polled while it runs) and the
 * reconciliation of a day; vendor-level holds; reversing part of a sent
 * payout's transfer. Vendors: their payouts beside the payout account.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import type { MeData } from '../app';
import { Link } from '../router';
import { useNow } from '../time';
import { ApiError, Empty, Facts, Field, Loading, Page, Pager, Table, when } from '../ui';

const MONEY = 'amountMinor currency formatted';
const ME = `query Me { me { id email isAdmin memberships { role organization { id name country } } } }`;

const BATCHES = `query PayoutBatches($status: PayoutBatchStatus, $after: String) { payoutBatches(first: 50, status: $status, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id currency status payoutCount total { ${MONEY} } createdAt createdBy { userId email } approvedBy { userId email } } } } }`;
const CREATE = `mutation CreatePayoutBatch($input: CreatePayoutBatchInput!) { createPayoutBatch(input: $input) { id currency status } }`;

const STATUSES = ['IN_REVIEW', 'APPROVED', 'EXECUTING', 'COMPLETED', 'PARTIALLY_FAILED', 'REJECTED'];

/** Admins: the batches, newest first, and a form to snapshot a new one. */
export function PayoutBatchesPage() {
  const [status, setStatus] = useState('');
  const [after, setAfter] = useState<(string | null)[]>([null]);
  const [{ data, fetching, error }, refetch] = useQuery({ query: BATCHES, variables: { status: status || null, after: after[after.length - 1] } });
  const [currency, setCurrency] = useState('USD');
  const [created, create] = useMutation(CREATE);
  const [notice, setNotice] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setNotice(null);
    const r = await create({ input: { currency: currency.trim().toUpperCase() } });
    if (r.data) {
      setNotice(`Created a ${r.data.createPayoutBatch.currency} batch, in review.`);
      refetch({ requestPolicy: 'network-only' });
    }
  };
  return (
    <Page title="Payout batches">
      <form className="controls" onSubmit={submit} aria-label="Create a payout batch">
        <Field label="Currency" hint="ISO 4217, one batch per currency">
          <input required value={currency} onChange={(e) => setCurrency(e.target.value)} maxLength={3} size={6} />
        </Field>
        <button type="submit" disabled={created.fetching}>
          {created.fetching ? 'Creating…' : 'Create batch'}
        </button>
        {notice ? (
          <span role="status" className="ok">
            {notice}
          </span>
        ) : null}
      </form>
      <ApiError error={created.error} />
      <div className="controls">
        <Field label="Status">
          <select
            value={status}
            onChange={(e) => {
              setAfter([null]);
              setStatus(e.target.value);
            }}
          >
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
      </div>
      {fetching && !data ? <Loading what="payout batches" /> : null}
      <ApiError error={error} />
      {data ? (
        <Table
          caption="Payout batches, newest first"
          head={['Batch', 'Status', 'Currency', 'Payouts', 'Total', 'Created by', 'Created', 'Approved by']}
          empty="No payout batches."
          rows={data.payoutBatches.edges.map(({ node: b }: any) => [
            <Link to={`/admin/payouts/${b.id}`} aria-label={`Batch ${b.id.slice(0, 8)} (${b.currency}, ${b.status})`}>
              <code className="mono">{b.id.slice(0, 8)}</code>
            </Link>,
            <StatusText status={b.status} />,
            b.currency,
            String(b.payoutCount),
            b.total.formatted,
            b.createdBy.email ?? b.createdBy.userId.slice(0, 8),
            when(b.createdAt),
            b.approvedBy ? (b.approvedBy.email ?? b.approvedBy.userId.slice(0, 8)) : '—',
          ])}
        />
      ) : null}
      <Pager
        onNewer={after.length > 1 ? () => setAfter(after.slice(0, -1)) : null}
        onOlder={data?.payoutBatches.pageInfo.hasNextPage ? () => setAfter([...after, data.payoutBatches.pageInfo.endCursor]) : null}
      />
    </Page>
  );
}

function StatusText({ status }: { status: string }) {
  const cls = status === 'FAILED' || status === 'PARTIALLY_FAILED' || status === 'REJECTED' ? 'bad' : status === 'SENT' || status === 'COMPLETED' ? 'ok' : undefined;
  return <span className={cls}>{status}</span>;
}

// Page sizes keep the document under the API's query cost limit (a connection's `first` multiplies what it selects).
const BATCH = `query PayoutBatch($id: ID!, $after: String) { payoutBatch(id: $id) {
  id currency status snapshotHash payoutCount asOf holdbackDays createdAt completedAt approvedAt rejectedAt rejectReason
  total { ${MONEY} } minimum { ${MONEY} }
  createdBy { userId email } approvedBy { userId email }
  skipCounts { reason count }
  progress { byStatus { status count amount { ${MONEY} } } sent { ${MONEY} } toSend { ${MONEY} } reversed { ${MONEY} } }
  payouts(first: 25, after: $after) { pageInfo { hasNextPage endCursor } edges { node {
    id organizationId organizationName status amount { ${MONEY} } accountId transferId sentAt failedAt failureCode failureMessage failureAdvice
    reversed { ${MONEY} } hold { reason heldAt heldBy }
    accountNow { accountId canReceiveTransfers payoutsEnabled disabledReason currentlyDue pastDue }
    lines { entryId transactionReference transactionKind occurredAt memo amount { ${MONEY} } } } } }
  skipped(first: 50) { pageInfo { hasNextPage endCursor } edges { node { organizationId organizationName reason detail available { ${MONEY} } } } } } }`;
const APPROVE = `mutation ApprovePayoutBatch($id: ID!, $hash: String!) { approvePayoutBatch(id: $id, snapshotHash: $hash) { id status snapshotHash approvedAt approvedBy { userId email } } }`;
const REJECT = `mutation RejectPayoutBatch($id: ID!, $reason: String!) { rejectPayoutBatch(id: $id, reason: $reason) { id status rejectReason rejectedAt } }`;
const HOLD = `mutation HoldPayout($id: ID!, $reason: String!) { holdPayout(payoutId: $id, reason: $reason) { id status hold { reason heldAt heldBy } } }`;
const RELEASE = `mutation ReleasePayout($id: ID!) { releasePayout(payoutId: $id) { id status hold { reason heldAt heldBy } } }`;
const REVERSE = `mutation ReverseTransfer($id: ID!, $amount: String!, $reason: String!, $currency: String, $key: String) {
  reverseTransfer(payoutId: $id, amountMinor: $amount, reason: $reason, currency: $currency, requestKey: $key) {
    payoutId reversalId created amount { ${MONEY} } payoutReversed { ${MONEY} } payoutAmount { ${MONEY} } } }`;

/** While money is moving the page asks again every few seconds. */
const POLL_MS = 3000;

/** Admins: one batch under review or being executed. */
export function PayoutBatchPage({ batchId }: { batchId: string }) {
  const [after, setAfter] = useState<(string | null)[]>([null]);
  const [{ data, fetching, error }, refetch] = useQuery({ query: BATCH, variables: { id: batchId, after: after[after.length - 1] }, requestPolicy: 'cache-and-network' });
  const [me] = useQuery<MeData>({ query: ME });
  const [approved, approve] = useMutation(APPROVE);
  const [rejected, reject] = useMutation(REJECT);
  const [held, hold] = useMutation(HOLD);
  const [released, release] = useMutation(RELEASE);
  const [rejectReason, setRejectReason] = useState('');
  const [holding, setHolding] = useState<{ id: string; name: string } | null>(null);
  const [holdReason, setHoldReason] = useState('');
  const [reversing, setReversing] = useState<any | null>(null);
  const b = data?.payoutBatch;
  const moving = b?.status === 'APPROVED' || b?.status === 'EXECUTING';
  const reload = () => refetch({ requestPolicy: 'network-only' });
  useEffect(() => {
    if (!moving) return;
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), POLL_MS);
    return () => clearInterval(timer);
  }, [moving, refetch]);

  const title = b ? `Payout batch ${b.id.slice(0, 8)} (${b.currency})` : 'Payout batch';
  if (!b) {
    return (
      <Page title={title}>
        {fetching ? <Loading what="the batch" /> : null}
        <ApiError error={error} />
      </Page>
    );
  }
  const myId = me.data?.me.id;
  const isCreator = myId === b.createdBy.userId;
  const inReview = b.status === 'IN_REVIEW';
  const payouts = b.payouts.edges.map((e: any) => e.node);
  const skipped = b.skipped.edges.map((e: any) => e.node);
  const onApprove = async () => {
    const r = await approve({ id: b.id, hash: b.snapshotHash });
    if (r.data) reload();
  };
  const onReject = async (e: FormEvent) => {
    e.preventDefault();
    const r = await reject({ id: b.id, reason: rejectReason.trim() });
    if (r.data) {
      setRejectReason('');
      reload();
    }
  };
  const onHold = async (e: FormEvent) => {
    e.preventDefault();
    if (!holding) return;
    const r = await hold({ id: holding.id, reason: holdReason.trim() });
    if (r.data) {
      setHolding(null);
      setHoldReason('');
      reload();
    }
  };
  const onRelease = async (id: string) => {
    const r = await release({ id });
    if (r.data) reload();
  };
  const approveHint = isCreator
    ? 'You created this batch: another platform admin must approve it (four eyes).'
    : inReview
      ? `Approves the batch exactly as shown (snapshot ${b.snapshotHash.slice(0, 12)}…): its pending payouts are then sent, held ones are not.`
      : `The batch is ${b.status}: only a batch in review can be approved.`;

  return (
    <Page
      title={title}
      actions={
        <button type="button" onClick={reload} disabled={fetching}>
          {fetching ? 'Refreshing…' : 'Refresh'}
        </button>
      }
    >
      <p>
        <Link to="/admin/payouts">All payout batches</Link>
      </p>
      <Facts
        rows={[
          ['Status', <StatusText status={b.status} />],
          ['Total', b.total.formatted],
          ['Payouts', String(b.payoutCount)],
          ['Minimum', b.minimum.formatted],
          ['Earnings as of', `${when(b.asOf)} (holdback ${b.holdbackDays} days)`],
          ['Created', `${when(b.createdAt)} by ${b.createdBy.email ?? b.createdBy.userId}`],
          ['Approved', b.approvedBy ? `${when(b.approvedAt)} by ${b.approvedBy.email ?? b.approvedBy.userId}` : '—'],
          ['Rejected', b.rejectedAt ? `${when(b.rejectedAt)}: ${b.rejectReason}` : '—'],
          ['Completed', when(b.completedAt)],
          ['Snapshot hash', <code className="mono">{b.snapshotHash}</code>],
        ]}
      />

      <section className="card" aria-labelledby="review-title">
        <h2 id="review-title">Review</h2>
        <div className="controls">
          <button type="button" onClick={() => void onApprove()} disabled={isCreator || !inReview || approved.fetching} aria-describedby="approve-hint">
            {approved.fetching ? 'Approving…' : 'Approve batch'}
          </button>
          <span id="approve-hint" className="hint">
            {approveHint}
          </span>
        </div>
        <ApiError error={approved.error} />
        {inReview ? (
          <form className="controls" onSubmit={onReject} aria-label="Reject the batch">
            <Field label="Rejection reason">
              <input required value={rejectReason} onChange={(e) => setRejectReason(e.target.value)} />
            </Field>
            <button type="submit" disabled={rejected.fetching}>
              Reject batch
            </button>
          </form>
        ) : null}
        <ApiError error={rejected.error} />
      </section>

      <section aria-labelledby="progress-title">
        <h2 id="progress-title">Execution progress</h2>
        <p role="status" aria-live="polite">
          Sent {b.progress.sent.formatted} of {b.progress.toSend.formatted}
          {b.progress.reversed.amountMinor !== '0' ? `; reversed ${b.progress.reversed.formatted}` : ''}
          {moving ? ' — updating every few seconds' : ''}
        </p>
        <Table
          caption="Payouts by status"
          head={['Status', 'Payouts', 'Amount']}
          empty="No payouts."
          rows={b.progress.byStatus.map((s: any) => [<StatusText status={s.status} />, String(s.count), s.amount.formatted])}
        />
      </section>

      <section aria-labelledby="payouts-title">
        <h2 id="payouts-title">Vendors</h2>
        <Table
          caption="Payouts in this batch, by vendor"
          head={['Vendor', 'Amount', 'Status', 'Account now', 'Ledger lines', '']}
          empty="No payouts in this batch."
          rows={payouts.map((p: any) => {
            const name = p.organizationName ?? p.organizationId.slice(0, 8);
            return [
              <>
                {name}
                <br />
                <code className="mono">{p.accountId}</code>
              </>,
              p.amount.formatted,
              <>
                <StatusText status={p.status} />
                {p.hold ? <div>Held: {p.hold.reason}</div> : null}
                {p.transferId ? <div className="mono">{p.transferId}</div> : null}
                {p.failureCode ? (
                  <div className="bad">
                    {p.failureCode}: {p.failureMessage}
                    {p.failureAdvice ? ` — ${p.failureAdvice}` : ''}
                  </div>
                ) : null}
                {p.reversed.amountMinor !== '0' ? <div>Reversed {p.reversed.formatted}</div> : null}
              </>,
              <AccountNow account={p.accountNow} />,
              <PayoutLines lines={p.lines} label={`Ledger lines behind ${name}'s payout`} />,
              p.status === 'PENDING' || p.status === 'APPROVED' ? (
                <button type="button" aria-label={`Hold the payout to ${name}`} onClick={() => setHolding({ id: p.id, name })}>
                  Hold…
                </button>
              ) : p.status === 'HELD' && inReview ? (
                <button type="button" aria-label={`Release the payout to ${name}`} onClick={() => void onRelease(p.id)} disabled={released.fetching}>
                  Release
                </button>
              ) : p.status === 'SENT' && BigInt(p.reversed.amountMinor) < BigInt(p.amount.amountMinor) ? (
                <button type="button" aria-label={`Reverse part of the transfer to ${name}`} onClick={() => setReversing({ ...p, name })}>
                  Reverse…
                </button>
              ) : (
                ''
              ),
            ];
          })}
        />
        <div className="controls">
          {after.length > 1 ? (
            <button type="button" onClick={() => setAfter(after.slice(0, -1))}>
              Previous payouts
            </button>
          ) : null}
          {b.payouts.pageInfo.hasNextPage ? (
            <button type="button" onClick={() => setAfter([...after, b.payouts.pageInfo.endCursor])}>
              More payouts
            </button>
          ) : null}
        </div>
        <ApiError error={released.error} />
        {holding ? (
          <form className="form card" onSubmit={onHold} aria-labelledby="hold-title">
            <h3 id="hold-title">Hold the payout to {holding.name}</h3>
            <Field label="Hold reason" hint="kept in the audit log; a held payout is not sent">
              <input required value={holdReason} onChange={(e) => setHoldReason(e.target.value)} />
            </Field>
            <div className="actions">
              <button type="submit" disabled={held.fetching}>
                Hold payout
              </button>
              <button type="button" onClick={() => setHolding(null)}>
                Cancel
              </button>
            </div>
            <ApiError error={held.error} />
          </form>
        ) : null}
        {reversing ? (
          <ReverseTransferForm
            key={reversing.id}
            payout={reversing}
            onClose={() => setReversing(null)}
            onDone={() => reload()}
          />
        ) : null}
      </section>

      <section aria-labelledby="skipped-title">
        <h2 id="skipped-title">Skipped vendors</h2>
        <p>{b.skipCounts.map((s: any) => `${s.reason}: ${s.count}`).join(' · ') || 'Nobody owed money was left out.'}</p>
        <Table
          caption="Vendors owed something who were left out, and why"
          head={['Vendor', 'Reason', 'Available', 'Detail']}
          empty="No vendor was skipped."
          rows={skipped.map((s: any) => [s.organizationName ?? s.organizationId.slice(0, 8), s.reason, s.available.formatted, s.detail ?? '—'])}
        />
      </section>
    </Page>
  );
}

const MINOR = /^[1-9][0-9]{0,18}$/;

/**
 * Reversing part (or the rest) of a SENT payout's transfer: an amount in
 * minor units of the transfer's currency (at most what is not reversed yet)
 * and a reason, then a confirmation naming both. The API's refusal is shown
 * as it states it. One request key per form, so confirming twice after an
 * unknown outcome cannot reverse twice.
 */
function ReverseTransferForm({ payout, onClose, onDone }: { payout: any; onClose: () => void; onDone: () => void }) {
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [local, setLocal] = useState<string | null>(null);
  // getRandomValues works on plain http too (randomUUID needs a secure context).
  const [requestKey] = useState(() => `console:${payout.id}:${Array.from(crypto.getRandomValues(new Uint8Array(12)), (x) => x.toString(16).padStart(2, '0')).join('')}`);
  const [result, reverse] = useMutation(REVERSE);
  const left = BigInt(payout.amount.amountMinor) - BigInt(payout.reversed.amountMinor);
  const done = result.data?.reverseTransfer;
  const review = (e: FormEvent) => {
    e.preventDefault();
    setLocal(null);
    const a = amount.trim();
    if (!MINOR.test(a)) return setLocal('The amount must be a whole number of minor units, greater than zero.');
    if (BigInt(a) > left) return setLocal(`At most ${left} minor units are left to reverse on this payout.`);
    if (!reason.trim()) return setLocal('A reason is required.');
    setConfirming(true);
  };
  const submit = async () => {
    const r = await reverse({ id: payout.id, amount: amount.trim(), reason: reason.trim(), currency: payout.amount.currency, key: requestKey });
    setConfirming(false);
    if (r.data) onDone();
  };
  return (
    <form className="form card" onSubmit={review} aria-labelledby="reverse-title">
      <h3 id="reverse-title">Reverse the transfer to {payout.name}</h3>
      <p>
        Sent {payout.amount.formatted}
        {payout.reversed.amountMinor !== '0' ? `, already reversed ${payout.reversed.formatted}` : ''}; up to {left.toString()} minor units of{' '}
        {payout.amount.currency} can be reversed. The vendor is owed the reversed amount again.
      </p>
      <div className="grid">
        <Field label="Amount to reverse (minor units)" hint={`e.g. 1250 is 12.50 in a two-decimal currency; currency ${payout.amount.currency}`}>
          <input required inputMode="numeric" value={amount} onChange={(e) => { setAmount(e.target.value); setConfirming(false); }} disabled={Boolean(done)} />
        </Field>
        <Field label="Reversal reason" hint="kept with the reversal and in the audit log">
          <input required value={reason} onChange={(e) => { setReason(e.target.value); setConfirming(false); }} disabled={Boolean(done)} />
        </Field>
      </div>
      {local ? (
        <p role="alert" className="bad">
          {local}
        </p>
      ) : null}
      {done ? (
        <p role="status" className="ok">
          Reversed {done.amount.formatted} ({done.reversalId}); {done.payoutReversed.formatted} of {done.payoutAmount.formatted} reversed in all.
        </p>
      ) : confirming ? (
        <div className="actions" role="group" aria-label="Confirm the reversal">
          <strong>
            Reverse {amount.trim()} minor units of {payout.amount.currency} from {payout.name}: “{reason.trim()}”?
          </strong>
          <button type="button" onClick={() => void submit()} disabled={result.fetching}>
            {result.fetching ? 'Reversing…' : 'Confirm reversal'}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Back
          </button>
        </div>
      ) : (
        <div className="actions">
          <button type="submit">Review the reversal</button>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      )}
      {done ? (
        <button type="button" onClick={onClose}>
          Close
        </button>
      ) : null}
      <ApiError error={result.error} />
    </form>
  );
}

function AccountNow({ account }: { account: any }) {
  if (!account) return <span className="bad">No payout account</span>;
  const due = [...account.pastDue, ...account.currentlyDue];
  return (
    <>
      <span className={account.canReceiveTransfers ? 'ok' : 'bad'}>{account.canReceiveTransfers ? 'Can receive transfers' : 'Cannot receive transfers'}</span>
      {account.disabledReason ? <div>Disabled: {account.disabledReason}</div> : null}
      {due.length ? <div>Due: {due.join(', ')}</div> : null}
    </>
  );
}

function PayoutLines({ lines, label }: { lines: any[]; label: string }) {
  if (lines.length === 0) return <>none</>;
  return (
    <details>
      <summary>
        {lines.length} {lines.length === 1 ? 'line' : 'lines'}
      </summary>
      <table aria-label={label}>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Kind</th>
            <th scope="col">Reference</th>
            <th scope="col">Amount</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((l) => (
            <tr key={l.entryId}>
              <td>{when(l.occurredAt)}</td>
              <td>{l.transactionKind}</td>
              <td>
                <code className="mono">{l.transactionReference}</code>
                {l.memo ? <div>{l.memo}</div> : null}
              </td>
              <td>{l.amount.formatted}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

const RECONCILIATION = `query Reconciliation($date: String!) { reconciliation(date: $date) {
  id date mode ranAt trigger matchedCount differenceCount timingCount
  categories { category matchedCount matched { ${MONEY} } }
  unmatched { side status category reference sourceId at note amount { ${MONEY} } } } }`;
const RUNS = `query ReconciliationRuns($date: String!) { reconciliationRuns(date: $date, first: 10) { id ranAt trigger matchedCount differenceCount timingCount } }`;
const RUN = `mutation RunReconciliation($date: String!) { runReconciliation(date: $date) { id date ranAt differenceCount timingCount matchedCount } }`;

/** Admins: the reconciliation of a UTC day, unmatched items first and differences highlighted. */
export function ReconciliationPage() {
  const today = useNow().toISOString().slice(0, 10);
  const [input, setInput] = useState(today);
  const [date, setDate] = useState(today);
  const [{ data, fetching, error }, refetch] = useQuery({ query: RECONCILIATION, variables: { date }, requestPolicy: 'cache-and-network' });
  const r = data?.reconciliation;
  // The runs are read once the day's reconciliation is there (asking for it stores the first run).
  const [runs, refetchRuns] = useQuery({ query: RUNS, variables: { date }, pause: !r, requestPolicy: 'network-only' });
  const [ran, run] = useMutation(RUN);
  const again = async () => {
    const res = await run({ date });
    if (res.data) {
      refetch({ requestPolicy: 'network-only' });
    }
  };
  const runId = r?.id;
  useEffect(() => {
    if (runId) refetchRuns({ requestPolicy: 'network-only' });
  }, [runId, refetchRuns]);
  const unmatched = r ? [...r.unmatched].sort((a: any, b: any) => (a.status === b.status ? 0 : a.status === 'DIFFERENCE' ? -1 : 1)) : [];
  return (
    <Page title="Reconciliation">
      <form
        className="controls"
        onSubmit={(e) => {
          e.preventDefault();
          setDate(input);
        }}
      >
        <Field label="Day (UTC)">
          <input type="date" required value={input} onChange={(e) => setInput(e.target.value)} />
        </Field>
        <button type="submit">Show</button>
        <button type="button" onClick={() => void again()} disabled={ran.fetching}>
          {ran.fetching ? 'Running…' : 'Run again now'}
        </button>
      </form>
      <ApiError error={ran.error} />
      {fetching && !data ? <Loading what="the reconciliation" /> : null}
      <ApiError error={error} />
      {r ? (
        <>
          <p role="status" className={r.differenceCount === 0 ? 'ok' : 'bad'}>
            {r.differenceCount === 0
              ? `${r.date} reconciles: ${r.matchedCount} items matched, ${r.timingCount} timing items.`
              : `${r.date}: ${r.differenceCount} ${r.differenceCount === 1 ? 'difference' : 'differences'}, ${r.timingCount} timing items, ${r.matchedCount} matched.`}{' '}
            Ran {when(r.ranAt)} ({r.trigger.toLowerCase()}, {r.mode.toLowerCase()}).
          </p>
          <h2>Unmatched items</h2>
          {unmatched.length === 0 ? (
            <Empty>Every cash movement of the day has its counterpart.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <caption>Unmatched items (differences first)</caption>
                <thead>
                  <tr>
                    {['Status', 'Side', 'Category', 'Amount', 'Reference', 'Processor object', 'At', 'Note'].map((h) => (
                      <th key={h} scope="col">
                        {h}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {unmatched.map((i: any, n: number) => (
                    <tr key={n} className={i.status === 'DIFFERENCE' ? 'unmatched-difference' : 'unmatched-timing'}>
                      <td>
                        <strong>{i.status === 'DIFFERENCE' ? '⚠ DIFFERENCE' : 'TIMING'}</strong>
                      </td>
                      <td>{i.side === 'LEDGER' ? 'ledger only' : 'processor only'}</td>
                      <td>{i.category}</td>
                      <td>{i.amount.formatted}</td>
                      <td>
                        <code className="mono">{i.reference}</code>
                      </td>
                      <td>{i.sourceId ? <code className="mono">{i.sourceId}</code> : '—'}</td>
                      <td>{when(i.at)}</td>
                      <td>{i.note}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h2>Matched by category</h2>
          <Table
            caption="Matched items by category"
            head={['Category', 'Items', 'Sum']}
            empty="Nothing matched on this day."
            rows={r.categories.map((c: any) => [c.category, String(c.matchedCount), c.matched.formatted])}
          />
        </>
      ) : null}
      <h2>Runs of the day</h2>
      <ApiError error={runs.error} />
      {runs.data ? (
        <Table
          caption="Stored runs, newest first"
          head={['Ran', 'Trigger', 'Matched', 'Differences', 'Timing']}
          empty="No runs."
          rows={runs.data.reconciliationRuns.map((x: any) => [when(x.ranAt), x.trigger, String(x.matchedCount), String(x.differenceCount), String(x.timingCount)])}
        />
      ) : null}
    </Page>
  );
}

const VENDOR_PAYOUTS = `query VendorPayouts($org: ID!, $after: String) { payouts(organizationId: $org, first: 20, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id batchId status currency amount { ${MONEY} } batchCreatedAt sentAt failedAt transferId failureCode failureMessage failureAdvice reversed { ${MONEY} }
    lines { entryId transactionReference transactionKind occurredAt memo amount { ${MONEY} } } } } } }`;
const ACCOUNT = `query PayoutAccountSummary($org: ID!) { payoutAccount(organizationId: $org) { accountId canReceiveTransfers payoutsEnabled disabledReason currentlyDue pastDue } }`;

/** Vendor: the organization's payouts, newest first, beside the payout account's state. */
export function VendorPayoutsPage({ orgId }: { orgId: string }) {
  const [after, setAfter] = useState<(string | null)[]>([null]);
  const [{ data, fetching, error }] = useQuery({ query: VENDOR_PAYOUTS, variables: { org: orgId, after: after[after.length - 1] }, requestPolicy: 'cache-and-network' });
  const [account] = useQuery({ query: ACCOUNT, variables: { org: orgId } });
  const a = account.data?.payoutAccount;
  return (
    <Page title="Payouts">
      <aside className="card" aria-labelledby="account-title">
        <h2 id="account-title">Payout account</h2>
        <ApiError error={account.error} />
        {account.data && !a ? <Empty>No payout account yet: payouts need one.</Empty> : null}
        {a ? (
          <p>
            <code className="mono">{a.accountId}</code> — <AccountNow account={a} />
          </p>
        ) : null}
        <Link to={`/o/${orgId}/payout-account`}>Payout account details and onboarding</Link>
      </aside>
      {fetching && !data ? <Loading what="payouts" /> : null}
      <ApiError error={error} />
      {data ? (
        <Table
          caption="Payouts, newest first"
          head={['Batch created', 'Status', 'Amount', 'Statement lines covered', 'Transfer', 'Failure and what to do', 'Reversed']}
          empty="No payouts yet."
          rows={data.payouts.edges.map(({ node: p }: any) => [
            when(p.batchCreatedAt),
            <>
              <StatusText status={p.status} />
              {p.sentAt ? <div>{when(p.sentAt)}</div> : null}
            </>,
            p.amount.formatted,
            <PayoutLines lines={p.lines} label={`Statement lines covered by the payout of ${when(p.batchCreatedAt)}`} />,
            p.transferId ? <code className="mono">{p.transferId}</code> : '—',
            p.failureCode ? (
              <div className="bad">
                {p.failureCode}: {p.failureMessage}
                {p.failureAdvice ? <div>What to do: {p.failureAdvice}</div> : null}
              </div>
            ) : (
              '—'
            ),
            p.reversed.amountMinor !== '0' ? p.reversed.formatted : '—',
          ])}
        />
      ) : null}
      <Pager
        onNewer={after.length > 1 ? () => setAfter(after.slice(0, -1)) : null}
        onOlder={data?.payouts.pageInfo.hasNextPage ? () => setAfter([...after, data.payouts.pageInfo.endCursor]) : null}
      />
    </Page>
  );
}

const HOLDS = `query VendorPayoutHolds { vendorPayoutHolds { organizationId organizationName reason heldBy heldAt } }`;
const HOLD_VENDOR = `mutation HoldVendorPayouts($org: ID!, $reason: String!) { holdVendorPayouts(organizationId: $org, reason: $reason) { organizationId organizationName reason heldBy heldAt } }`;
const RELEASE_VENDOR = `mutation ReleaseVendorPayouts($org: ID!) { releaseVendorPayouts(organizationId: $org) { organizationId reason } }`;

/** Admins: vendors kept out of new payout batches; hold one with a reason, release after a confirmation. */
export function VendorHoldsPage() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: HOLDS, requestPolicy: 'cache-and-network' });
  const [held, hold] = useMutation(HOLD_VENDOR);
  const [released, release] = useMutation(RELEASE_VENDOR);
  const [org, setOrg] = useState('');
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState<any | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const onHold = async (e: FormEvent) => {
    e.preventDefault();
    setNotice(null);
    const r = await hold({ org: org.trim(), reason: reason.trim() });
    if (r.data) {
      setNotice(`${r.data.holdVendorPayouts.organizationName} is kept out of new payout batches.`);
      setOrg('');
      setReason('');
      reload();
    }
  };
  const onRelease = async () => {
    if (!confirming) return;
    setNotice(null);
    const r = await release({ org: confirming.organizationId });
    if (r.data) {
      setNotice(`${confirming.organizationName} is batched again from the next payout batch on.`);
      setConfirming(null);
      reload();
    }
  };
  return (
    <Page title="Vendor payout holds">
      <p className="hint">
        A vendor on hold is left out of new payout batches (skipped as VENDOR_HOLD). Payouts already in a batch are held one by one on the batch's page.
      </p>
      {notice ? (
        <p role="status" className="ok">
          {notice}
        </p>
      ) : null}
      {fetching && !data ? <Loading what="the holds" /> : null}
      <ApiError error={error} />
      {data ? (
        <Table
          caption="Vendors on hold, longest held first"
          head={['Vendor', 'Reason', 'Held since', 'Held by', '']}
          empty="No vendor is on hold."
          rows={data.vendorPayoutHolds.map((h: any) => [
            <>
              {h.organizationName}
              <div>
                <code className="mono">{h.organizationId}</code>
              </div>
            </>,
            h.reason,
            when(h.heldAt),
            <code className="mono">{h.heldBy.slice(0, 8)}</code>,
            <button type="button" aria-label={`Release the hold on ${h.organizationName}`} onClick={() => setConfirming(h)}>
              Release…
            </button>,
          ])}
        />
      ) : null}
      {confirming ? (
        <div className="card actions" role="group" aria-label="Confirm the release">
          <span>
            Release {confirming.organizationName} (held for “{confirming.reason}”)? It is batched again from the next batch on.
          </span>
          <button type="button" onClick={() => void onRelease()} disabled={released.fetching}>
            Confirm release
          </button>
          <button type="button" onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      ) : null}
      <ApiError error={released.error} />
      {error ? null : (
        <form className="form card" onSubmit={onHold} aria-labelledby="hold-vendor-title">
          <h2 id="hold-vendor-title">Hold a vendor</h2>
          <div className="grid">
            <Field label="Vendor organization id" hint="the vendor organization's id (a UUID)">
              <input required value={org} onChange={(e) => setOrg(e.target.value)} />
            </Field>
            <Field label="Reason" hint="kept in the audit log">
              <input required value={reason} onChange={(e) => setReason(e.target.value)} />
            </Field>
          </div>
          <button type="submit" disabled={held.fetching}>
            Hold vendor payouts
          </button>
          <ApiError error={held.error} />
        </form>
      )}
    </Page>
  );
}
