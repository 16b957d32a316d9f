/** Agreements the organization accepted (distiller) or that were accepted on its models (vendor). */
import { useState } from 'react';
import { useQuery } from 'urql';
import { ApiError, Field, Loading, Page, Table, when } from '../ui';

const AGREEMENTS = `query Agreements($org: ID!, $role: AgreementRole!) { agreements(organizationId: $org, role: $role, first: 100) {
  totalCount edges { node { id status acceptedAt startsAt endsAt termsHash model { id name } offer { id name version }
  distiller { id name } vendor { id name } } } } }`;

export function AgreementsPage({ orgId }: { orgId: string }) {
  const [role, setRole] = useState<'DISTILLER' | 'VENDOR'>('DISTILLER');
  const [{ data, fetching, error }] = useQuery({ query: AGREEMENTS, variables: { org: orgId, role } });
  return (
    <Page title="Agreements">
      <div className="controls">
        <Field label="Side">
          <select value={role} onChange={(e) => setRole(e.target.value as 'DISTILLER' | 'VENDOR')}>
            <option value="DISTILLER">Accepted by this organization</option>
            <option value="VENDOR">On this organization's models</option>
          </select>
        </Field>
      </div>
      {fetching && !data ? <Loading what="agreements" /> : null}
      <ApiError error={error} />
      {data ? (
        <Table
          caption={`${data.agreements.totalCount} agreements, newest first`}
          head={['Model', 'Offer', role === 'DISTILLER' ? 'Vendor' : 'Distiller', 'Status', 'Accepted', 'Ends', 'Terms hash']}
          empty="No agreements yet."
          rows={data.agreements.edges.map(({ node: a }: any) => [
            a.model.name,
            `${a.offer.name} v${a.offer.version}`,
            role === 'DISTILLER' ? a.vendor.name : a.distiller.name,
            a.status,
            when(a.acceptedAt),
            when(a.endsAt),
            <code className="mono" title={a.termsHash}>
              {a.termsHash.slice(0, 12)}…
            </code>,
          ])}
        />
      ) : null}
    </Page>
  );
}
