/** Platform admins: anomaly flags, the certification queue and the audit log with its chain check. */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { useNow } from '../time';
import { ApiError, Field, Loading, Page, Pager, Table, when } from '../ui';

const FLAGS = `query Flags($acknowledged: Boolean, $after: String) { anomalyFlags(first: 50, after: $after, filter: { acknowledged: $acknowledged }) {
  pageInfo { hasNextPage endCursor }
  edges { node { id kind agreementId vendorOrganizationId distillerOrganizationId occurrences observedTokens baselineTokens windowStart createdAt acknowledgedAt acknowledgementNote } } } }`;
const ACK = `mutation Ack($input: AcknowledgeAnomalyFlagInput!) { acknowledgeAnomalyFlag(input: $input) { id acknowledgedAt acknowledgementNote } }`;

export function AnomalyFlagsPage() {
  const [show, setShow] = useState<'open' | 'all'>('open');
  const [{ data, fetching, error }, refetch] = useQuery({ query: FLAGS, variables: { acknowledged: show === 'open' ? false : null } });
  const [acked, ack] = useMutation(ACK);
  const acknowledge = async (id: string) => {
    const note = window.prompt('Note for the acknowledgement (optional)') ?? undefined;
    const r = await ack({ input: { id, note: note || null } });
    if (r.data) refetch({ requestPolicy: 'network-only' });
  };
  return (
    <Page title="Anomaly flags">
      <div className="controls">
        <Field label="Show">
          <select value={show} onChange={(e) => setShow(e.target.value as 'open' | 'all')}>
            <option value="open">Not acknowledged</option>
            <option value="all">All</option>
          </select>
        </Field>
      </div>
      {fetching && !data ? <Loading what="flags" /> : null}
      <ApiError error={error ?? acked.error} />
      {data ? (
        <Table
          caption="Flags, newest first"
          head={['Kind', 'Agreement', 'Occurrences', 'Observed / baseline tokens', 'Window', 'Acknowledged', '']}
          empty="No anomaly flags."
          rows={data.anomalyFlags.edges.map(({ node: f }: any) => [
            f.kind,
            <code className="mono">{f.agreementId.slice(0, 8)}</code>,
            String(f.occurrences),
            `${f.observedTokens ?? '—'} / ${f.baselineTokens ?? '—'}`,
            when(f.windowStart),
            f.acknowledgedAt ? `${when(f.acknowledgedAt)}${f.acknowledgementNote ? ` — ${f.acknowledgementNote}` : ''}` : 'no',
            f.acknowledgedAt ? '' : (
              <button type="button" aria-label={`Acknowledge the ${f.kind} flag on agreement ${f.agreementId.slice(0, 8)}`} onClick={() => void acknowledge(f.id)}>
                Acknowledge
              </button>
            ),
          ])}
        />
      ) : null}
    </Page>
  );
}

// Lineage selections are costly: a page of 20 stays well under the API's query cost limit.
const QUEUE = `query CertificationQueue($after: String) { certificationQueue(first: 20, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { status waitingSince parentCount
    model { id name slug status weightsDigest createdAt vendor { id name }
      card { summary evaluations { benchmark metric value } }
      lineage { ancestors { id name depth } }
      royaltyStack { totalBps } }
    latestCertification { id certifiedAt expiresAt revokedAt revocationReason safetyReview { reviewer passed } } } } } }`;
const CERTIFY = `mutation Certify($input: CertifyModelInput!) { certifyModel(input: $input) { id modelId expiresAt } }`;

/** Basis points as a percentage, in integers (1234 → "12.34 %"). */
const bps = (n: number): string => `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')} %`;

/** Why an entry waits, in words. */
function waitingFor(e: any): string {
  if (e.status === 'NONE') return `never certified (registered ${when(e.model.createdAt)})`;
  const c = e.latestCertification;
  if (e.status === 'REVOKED') return `revoked ${when(c.revokedAt)}${c.revocationReason ? `: ${c.revocationReason}` : ''}`;
  return `expired ${when(c.expiresAt)} (certified ${when(c.certifiedAt)} by review of ${c.safetyReview.reviewer})`;
}

/**
 * Student models awaiting certification (never certified, revoked or
 * expired), oldest wait first, as the server keeps the queue.
 */
export function CertificationQueuePage() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [{ data, fetching, error }, refetch] = useQuery({ query: QUEUE, variables: { after: cursors[cursors.length - 1] }, requestPolicy: 'cache-and-network' });
  const [chosen, setChosen] = useState<{ id: string; name: string } | null>(null);
  const page = data?.certificationQueue;
  const queue = (page?.edges ?? []).map((e: any) => e.node);
  return (
    <Page title="Certification queue">
      {fetching && !data ? <Loading what="the queue" /> : null}
      <ApiError error={error} />
      {page ? (
        <Table
          caption="Student models awaiting certification, longest waiting first"
          head={['Model', 'Organization', 'Waiting since', 'Why', 'Lineage', 'Royalty stack', 'Weights digest', '']}
          empty="No student model is waiting for certification."
          rows={queue.map((e: any) => [
            <>
              {e.model.name}
              <div className="hint">{e.model.card.summary}</div>
            </>,
            e.model.vendor.name,
            when(e.waitingSince),
            <>
              <strong>{e.status}</strong> — {waitingFor(e)}
            </>,
            `${e.parentCount} ${e.parentCount === 1 ? 'parent' : 'parents'}: ${e.model.lineage.ancestors
              .filter((a: any) => a.depth === 1)
              .map((a: any) => a.name)
              .join(', ')}`,
            bps(e.model.royaltyStack.totalBps),
            <code className="mono">{e.model.weightsDigest ? `${e.model.weightsDigest.slice(0, 19)}…` : '—'}</code>,
            <button type="button" aria-label={`Certify ${e.model.name}`} onClick={() => setChosen({ id: e.model.id, name: e.model.name })}>
              Certify…
            </button>,
          ])}
        />
      ) : null}
      <div className="controls">
        {cursors.length > 1 ? (
          <button type="button" onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous page
          </button>
        ) : null}
        {page?.pageInfo.hasNextPage ? (
          <button type="button" onClick={() => setCursors([...cursors, page.pageInfo.endCursor])}>
            Next page
          </button>
        ) : null}
      </div>
      {chosen ? (
        <CertifyForm
          model={chosen}
          onDone={() => {
            setChosen(null);
            refetch({ requestPolicy: 'network-only' });
          }}
        />
      ) : null}
    </Page>
  );
}

function CertifyForm({ model, onDone }: { model: { id: string; name: string }; onDone: () => void }) {
  const inAYear = new Date(useNow().getTime() + 365 * 86_400_000).toISOString().slice(0, 10);
  const [f, setF] = useState({ benchmark: '', metric: '', value: '', datasetDigest: '', reviewer: '', summary: '', passed: true, expires: inAYear });
  const [result, certify] = useMutation(CERTIFY);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await certify({
      input: {
        modelId: model.id,
        evidence: [{ benchmark: f.benchmark, metric: f.metric, value: f.value, datasetDigest: f.datasetDigest }],
        safetyReview: { passed: f.passed, reviewer: f.reviewer, summary: f.summary },
        expiresAt: new Date(`${f.expires}T00:00:00Z`).toISOString(),
      },
    });
    if (r.data) onDone();
  };
  const text = (k: keyof typeof f, label: string, hint?: string) => (
    <Field label={label} hint={hint}>
      <input required value={String(f[k])} onChange={(e) => setF({ ...f, [k]: e.target.value })} />
    </Field>
  );
  return (
    <form className="form card" onSubmit={submit} aria-labelledby="certify-title">
      <h2 id="certify-title">Certify {model.name}</h2>
      <div className="grid">
        {text('benchmark', 'Benchmark')}
        {text('metric', 'Metric')}
        {text('value', 'Score', 'a decimal number, e.g. 71.3')}
        {text('datasetDigest', 'Dataset digest', 'sha256: and 64 hex digits')}
        {text('reviewer', 'Safety reviewer')}
        {text('summary', 'Safety review summary')}
        <Field label="Expires (UTC date)">
          <input type="date" required value={f.expires} onChange={(e) => setF({ ...f, expires: e.target.value })} />
        </Field>
      </div>
      <label className="check">
        <input type="checkbox" checked={f.passed} onChange={(e) => setF({ ...f, passed: e.target.checked })} /> Safety review passed
      </label>
      <button type="submit" disabled={result.fetching}>
        Certify
      </button>
      <ApiError error={result.error} />
    </form>
  );
}

const AUDIT = `query Audit($after: String, $filter: AuditLogFilter) { auditLog(first: 50, after: $after, filter: $filter) {
  nextCursor entries { seq action occurredAt actorUserId actorApiKeyId organizationId targetType targetId hash } } }`;
const VERIFY = `query VerifyAudit { verifyAuditLog { valid checkedRows headHash firstInvalidSeq reason } }`;

export function AuditLogPage() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [action, setAction] = useState('');
  const [filter, setFilter] = useState<{ action?: string }>({});
  const [{ data, fetching, error }] = useQuery({ query: AUDIT, variables: { after: cursors[cursors.length - 1], filter } });
  const [verify, runVerify] = useQuery({ query: VERIFY, pause: true, requestPolicy: 'network-only' });
  const v = verify.data?.verifyAuditLog;
  return (
    <Page title="Audit log">
      <div className="controls">
        <button type="button" onClick={() => runVerify()} disabled={verify.fetching}>
          {verify.fetching ? 'Verifying…' : 'Verify the hash chain'}
        </button>
        {v ? (
          <span role="status" className={v.valid ? 'ok' : 'bad'}>
            {v.valid
              ? `Chain valid: ${v.checkedRows} rows, head ${v.headHash.slice(0, 16)}…`
              : `Chain BROKEN at seq ${v.firstInvalidSeq}: ${v.reason} (${v.checkedRows} rows checked)`}
          </span>
        ) : null}
      </div>
      <ApiError error={verify.error} />
      <form
        className="controls"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([null]);
          setFilter(action ? { action } : {});
        }}
      >
        <Field label="Action">
          <input value={action} onChange={(e) => setAction(e.target.value)} placeholder="e.g. model.certified" />
        </Field>
        <button type="submit">Filter</button>
      </form>
      {fetching && !data ? <Loading what="the audit log" /> : null}
      <ApiError error={error} />
      {data ? (
        <>
          <Table
            caption="Entries, newest first"
            head={['Seq', 'When', 'Action', 'Actor', 'Organization', 'Target', 'Hash']}
            empty="No audit entries."
            rows={data.auditLog.entries.map((e: any) => [
              e.seq,
              when(e.occurredAt),
              e.action,
              e.actorUserId ? `user ${e.actorUserId.slice(0, 8)}` : e.actorApiKeyId ? `key ${e.actorApiKeyId.slice(0, 8)}` : 'system',
              e.organizationId ? e.organizationId.slice(0, 8) : '—',
              `${e.targetType}${e.targetId ? ` ${e.targetId.slice(0, 12)}` : ''}`,
              <code className="mono">{e.hash.slice(0, 12)}…</code>,
            ])}
          />
          <Pager
            onNewer={cursors.length > 1 ? () => setCursors(cursors.slice(0, -1)) : null}
            onOlder={data.auditLog.nextCursor ? () => setCursors([...cursors, data.auditLog.nextCursor]) : null}
          />
        </>
      ) : null}
    </Page>
  );
}
