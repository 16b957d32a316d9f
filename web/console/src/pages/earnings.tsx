/**
 * Vendor earnings: balances per currency, then for the closed months the
 * signed statement's totals by source (chart + table), each statement
 * downloadable (JSON, CSV) and verifiable against the published keys.
 */
import { useState } from 'react';
import { useQuery } from 'urql';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { authorizedFetch } from '../session';
import { ApiError, Empty, Field, Loading, Page, recentMonths, problems, saveFile, Table } from '../ui';
import { useNow } from '../time';
import { verifySignedDocument, type Verification } from '../verify';

const BALANCES = `query Earnings($org: ID!) { earnings(organizationId: $org) {
  currency holdbackDays availableAt
  payable { amountMinor formatted } pending { formatted } available { formatted } held { formatted }
  paidOut { formatted } negativeCarryForward { formatted } } }`;

const STATEMENT = `query EarningsStatement($org: ID!, $period: String!, $currency: String!) {
  earningsStatement(organizationId: $org, period: $period, currency: $currency) {
    id period currency keyId issuedAt lineCount totals { source amount { amountMinor currency formatted } } net { amountMinor formatted } } }`;

const PERIODS = 6;
const COLORS = ['#3461c1', '#c2571a', '#2f7d32', '#8e24aa', '#b71c1c', '#00838f', '#6d4c41', '#455a64', '#ad1457', '#827717', '#1a237e', '#004d40', '#5d4037'];

export function EarningsPage({ orgId }: { orgId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: BALANCES, variables: { org: orgId } });
  const currencies: string[] = (data?.earnings ?? []).map((b: any) => b.currency);
  const [chosen, setChosen] = useState<string | null>(null);
  const currency = chosen ?? currencies[0] ?? 'USD';
  return (
    <Page title="Earnings & statements">
      {fetching && !data ? <Loading what="earnings" /> : null}
      <ApiError error={error} />
      {data ? (
        <Table
          caption="Balances per currency"
          head={['Currency', 'Payable', 'Pending (holdback)', 'Available', 'Held', 'Paid out', 'Negative carry-forward']}
          empty="No earnings yet."
          rows={data.earnings.map((b: any) => [
            b.currency,
            b.payable.formatted,
            b.pending.formatted,
            b.available.formatted,
            b.held.formatted,
            b.paidOut.formatted,
            b.negativeCarryForward.formatted,
          ])}
        />
      ) : null}
      {data ? (
        <>
          <h2>Earnings by source per month</h2>
          <div className="controls">
            <Field label="Currency">
              <select value={currency} onChange={(e) => setChosen(e.target.value)}>
                {(currencies.length ? currencies : ['USD']).map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            </Field>
          </div>
          <Statements orgId={orgId} currency={currency} />
        </>
      ) : null}
    </Page>
  );
}

function Statements({ orgId, currency }: { orgId: string; currency: string }) {
  const periods = recentMonths(PERIODS, useNow()).reverse();
  const results = periods.map((period) => {
    // One query per month, always PERIODS of them (so the hooks keep their order); an open month
    // answers CONFLICT (PERIOD_NOT_CLOSED) and is left out.
    const [r] = useQuery({ query: STATEMENT, variables: { org: orgId, period, currency } });
    return { period, ...r };
  });
  if (results.some((r) => r.fetching && !r.data && !r.error)) return <Loading what="statements" />;
  const closed = results.filter((r) => r.data?.earningsStatement);
  const failures = results.filter((r) => r.error && !problems(r.error).every((p) => p.code === 'CONFLICT'));
  // Sources with an amount in at least one month (the statement lists every source, zeros included).
  const sources = [
    ...new Set(closed.flatMap((r) => r.data.earningsStatement.totals.filter((t: any) => t.amount.amountMinor !== '0').map((t: any) => t.source as string))),
  ];
  const digits = fractionDigits(currency);
  const chartData = closed.map((r) => {
    const row: Record<string, string | number> = { period: r.period };
    for (const t of r.data.earningsStatement.totals) row[t.source] = Number(t.amount.amountMinor) / 10 ** digits;
    return row;
  });
  return (
    <>
      {failures.map((r) => (
        <ApiError key={r.period} error={r.error} />
      ))}
      {closed.length === 0 ? (
        <Empty>No closed month with a statement in {currency} among the last {PERIODS} months (a month shows once it is closed).</Empty>
      ) : (
        <>
          <figure className="chart" aria-label={`Earnings by source per month, ${currency}`}>
            <figcaption>Earnings by source per month ({currency}, major units; the table below is exact)</figcaption>
            <ResponsiveContainer width="100%" height={300}>
              <BarChart data={chartData} stackOffset="sign">
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="period" />
                <YAxis />
                <Tooltip />
                <Legend />
                {sources.map((s, i) => (
                  <Bar key={s} dataKey={s} name={s} stackId="e" fill={COLORS[i % COLORS.length]} isAnimationActive={false} />
                ))}
              </BarChart>
            </ResponsiveContainer>
          </figure>
          <Table
            caption={`Statement totals by source (${currency})`}
            head={['Month', ...sources, 'Net', 'Statement']}
            empty=""
            rows={closed.map((r) => {
              const s = r.data.earningsStatement;
              const by = new Map<string, string>(s.totals.map((t: any) => [t.source, t.amount.formatted]));
              return [r.period, ...sources.map((x) => by.get(x) ?? '—'), s.net.formatted, <StatementActions orgId={orgId} period={r.period} currency={currency} />];
            })}
          />
        </>
      )}
    </>
  );
}

function fractionDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

function StatementActions({ orgId, period, currency }: { orgId: string; period: string; currency: string }) {
  const [problem, setProblem] = useState<{ code: string; message: string } | null>(null);
  const [verdict, setVerdict] = useState<Verification | null>(null);
  const url = (ext: string) => `/v1/statements/${encodeURIComponent(orgId)}/earnings/${period}.${ext}?currency=${encodeURIComponent(currency)}`;
  const fetchText = async (ext: string): Promise<string | null> => {
    const res = await authorizedFetch(url(ext));
    const text = await res.text();
    if (!res.ok) {
      try {
        setProblem((JSON.parse(text) as { error: { code: string; message: string } }).error);
      } catch {
        setProblem({ code: `HTTP_${res.status}`, message: text.slice(0, 200) });
      }
      return null;
    }
    setProblem(null);
    return text;
  };
  const download = async (ext: 'json' | 'csv') => {
    const text = await fetchText(ext);
    if (text !== null) saveFile(`beiming-earnings-${orgId}-${period}-${currency}.${ext}`, text, ext === 'json' ? 'application/json' : 'text/csv');
  };
  const verify = async () => {
    setVerdict(null);
    const text = await fetchText('json');
    if (text === null) return;
    const keys = await (await fetch('/.well-known/beiming-keys.json')).json();
    setVerdict(await verifySignedDocument(JSON.parse(text), keys));
  };
  return (
    <div className="actions">
      <button type="button" onClick={() => void download('json')} aria-label={`Download the ${period} statement as JSON`}>
        JSON
      </button>
      <button type="button" onClick={() => void download('csv')} aria-label={`Download the ${period} statement as CSV`}>
        CSV
      </button>
      <button type="button" onClick={() => void verify()} aria-label={`Verify the ${period} statement's signature`}>
        Verify
      </button>
      {verdict ? (
        <span role="status" className={verdict.valid ? 'ok' : 'bad'}>
          {verdict.valid ? 'Signature valid' : 'Invalid'}: {verdict.reason}
        </span>
      ) : null}
      <ApiError problem={problem} />
    </div>
  );
}
