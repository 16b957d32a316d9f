/** Usage per agreement per day (the distiller's or the vendor's side), as a chart and a table. */
import { useState } from 'react';
import { useQuery } from 'urql';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useNow } from '../time';
import { ApiError, Empty, Field, Loading, Page, Table } from '../ui';

const AGREEMENTS = `query UsageAgreements($org: ID!, $role: AgreementRole!) { agreements(organizationId: $org, role: $role, first: 100) {
  edges { node { id status model { id name } distiller { id name } vendor { id name } offer { id name version } } } } }`;

const SUMMARY = `query UsageSummary($id: ID!, $from: DateTime!, $to: DateTime!) {
  usageSummary(agreementId: $id, from: $from, to: $to, granularity: DAY) {
    buckets { start inputTokens outputTokens totalTokens events }
    totals { inputTokens outputTokens totalTokens events }
    limits { tokensPerPeriod tokensPerMinute }
  } }`;

export function UsagePage({ orgId, role }: { orgId: string; role: 'VENDOR' | 'DISTILLER' }) {
  const [{ data, fetching, error }] = useQuery({ query: AGREEMENTS, variables: { org: orgId, role } });
  const [chosen, setChosen] = useState<string | null>(null);
  const [days, setDays] = useState(60);
  const list = (data?.agreements.edges ?? []).map((e: any) => e.node);
  const agreementId = chosen ?? list[0]?.id ?? null;
  return (
    <Page title={role === 'VENDOR' ? 'Usage by agreement' : 'Usage'}>
      {fetching && !data ? <Loading what="agreements" /> : null}
      <ApiError error={error} />
      {data && list.length === 0 ? <Empty>No agreements yet, so no usage.</Empty> : null}
      {list.length > 0 ? (
        <div className="controls">
          <Field label="Agreement">
            <select value={agreementId ?? ''} onChange={(e) => setChosen(e.target.value)}>
              {list.map((a: any) => (
                <option key={a.id} value={a.id}>
                  {a.model.name} · {a.offer.name} v{a.offer.version} · {role === 'VENDOR' ? a.distiller.name : a.vendor.name} ({a.status.toLowerCase()})
                </option>
              ))}
            </select>
          </Field>
          <Field label="Days">
            <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
              <option value={30}>30</option>
              <option value={60}>60</option>
              <option value={90}>90</option>
            </select>
          </Field>
        </div>
      ) : null}
      {agreementId ? <UsageChart agreementId={agreementId} days={days} /> : null}
    </Page>
  );
}

function UsageChart({ agreementId, days }: { agreementId: string; days: number }) {
  const today = useNow();
  const to = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1)).toISOString();
  const from = new Date(Date.parse(to) - days * 86_400_000).toISOString();
  const [{ data, fetching, error }] = useQuery({ query: SUMMARY, variables: { id: agreementId, from, to } });
  if (fetching && !data) return <Loading what="usage" />;
  if (error) return <ApiError error={error} />;
  const s = data?.usageSummary;
  if (!s) return null;
  // Token counts are exact decimal strings; the chart draws them as numbers, the table shows them as sent.
  const points = s.buckets.map((b: any) => ({ day: b.start.slice(0, 10), input: Number(b.inputTokens), output: Number(b.outputTokens) }));
  const used = s.buckets.filter((b: any) => b.totalTokens !== '0');
  return (
    <>
      <p>
        Totals over {days} days: {s.totals.totalTokens} tokens ({s.totals.inputTokens} in, {s.totals.outputTokens} out) in {s.totals.events} events.
      </p>
      <figure className="chart" aria-label="Tokens per day">
        <figcaption>Tokens per day (UTC), input and output</figcaption>
        <ResponsiveContainer width="100%" height={280}>
          <BarChart data={points}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="day" minTickGap={24} />
            <YAxis />
            <Tooltip />
            <Legend />
            <Bar dataKey="input" name="Input tokens" stackId="t" fill="#3461c1" isAnimationActive={false} />
            <Bar dataKey="output" name="Output tokens" stackId="t" fill="#c2571a" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </figure>
      <Table
        caption="Days with usage"
        head={['Day', 'Input tokens', 'Output tokens', 'Events']}
        empty="No usage in this range."
        rows={used.map((b: any) => [b.start.slice(0, 10), b.inputTokens, b.outputTokens, b.events])}
      />
    </>
  );
}
