/** Distiller: the public catalog with filters, a model's offers with their exact terms, and accepting one. */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link, navigate } from '../router';
import { ApiError, businessProblem, Empty, Field, Loading, Page, Table, when } from '../ui';
import { TERMS_FIELDS, TermsList, type Pricing, type Terms } from './terms';

const CATALOG = `query Catalog($filter: CatalogFilterInput, $after: String) { catalog(first: 20, after: $after, filter: $filter) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { id name slug listedAt modalities parameterCount vendor { id name } certification { status } offers { id } } } } }`;

export function CatalogPage({ orgId }: { orgId: string }) {
  const [form, setForm] = useState({ search: '', modality: '', hasActiveOffer: true });
  const [filter, setFilter] = useState<Record<string, unknown>>({ hasActiveOffer: true });
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, fetching, error }] = useQuery({ query: CATALOG, variables: { filter, after } });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setAfter(null);
    setFilter({ search: form.search || undefined, modality: form.modality || undefined, hasActiveOffer: form.hasActiveOffer || undefined });
  };
  const c = data?.catalog;
  return (
    <Page title="Catalog">
      <form className="controls" onSubmit={apply} role="search" aria-label="Catalog filters">
        <Field label="Search">
          <input type="search" value={form.search} onChange={(e) => setForm({ ...form, search: e.target.value })} />
        </Field>
        <Field label="Modality">
          <select value={form.modality} onChange={(e) => setForm({ ...form, modality: e.target.value })}>
            <option value="">Any</option>
            {['TEXT', 'CODE', 'IMAGE', 'AUDIO', 'VIDEO', 'EMBEDDING'].map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </Field>
        <label className="check">
          <input type="checkbox" checked={form.hasActiveOffer} onChange={(e) => setForm({ ...form, hasActiveOffer: e.target.checked })} /> With an active offer
        </label>
        <button type="submit">Filter</button>
      </form>
      {fetching && !data ? <Loading what="the catalog" /> : null}
      <ApiError error={error} />
      {c ? (
        <>
          <p>{c.totalCount} models</p>
          <Table
            caption="Listed models, most recently listed first"
            head={['Model', 'Vendor', 'Modalities', 'Parameters', 'Offers', 'Certification', 'Listed']}
            empty="No model matches these filters."
            rows={c.edges.map(({ node: m }: any) => [
              <Link to={`/o/${orgId}/catalog/${m.id}`}>{m.name}</Link>,
              m.vendor.name,
              m.modalities.join(', '),
              m.parameterCount ?? '—',
              String(m.offers.length),
              m.certification.status,
              when(m.listedAt),
            ])}
          />
          {c.pageInfo.hasNextPage ? (
            <button type="button" onClick={() => setAfter(c.pageInfo.endCursor)}>
              Next page
            </button>
          ) : null}
        </>
      ) : null}
    </Page>
  );
}

const MODEL = `query CatalogModel($id: ID!) { teacherModel(id: $id) { id name slug status vendor { id name }
  card { summary intendedUses limitations } certification { status expiresAt }
  offers { id name version status termsHash ${TERMS_FIELDS} } } }`;

const ACCEPT = `mutation Accept($input: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $input) {
  __typename
  ... on LicenseAgreement { id status }
  ... on BusinessError { code message }
} }`;

export function CatalogModelPage({ orgId, modelId }: { orgId: string; modelId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: MODEL, variables: { id: modelId } });
  const [accepted, accept] = useMutation(ACCEPT);
  const m = data?.teacherModel;
  const onAccept = async (offer: { id: string; termsHash: string }) => {
    const r = await accept({ input: { offerId: offer.id, organizationId: orgId, acceptedTermsHash: offer.termsHash } });
    if (r.data?.acceptLicenseOffer.__typename === 'LicenseAgreement') navigate(`/o/${orgId}/agreements`);
  };
  return (
    <Page title={m ? m.name : 'Model'}>
      <p>
        <Link to={`/o/${orgId}/catalog`}>← Catalog</Link>
      </p>
      {fetching && !data ? <Loading what="the model" /> : null}
      <ApiError error={error} />
      {m ? (
        <>
          <p>
            By {m.vendor.name} · certification {m.certification.status}
          </p>
          <p>{m.card.summary}</p>
          <h2>Offers</h2>
          {m.offers.length === 0 ? <Empty>This model has no active offer.</Empty> : null}
          {m.offers.map((o: any) => (
            <article key={o.id} className="card" aria-labelledby={`offer-${o.id}`}>
              <h3 id={`offer-${o.id}`}>
                {o.name} v{o.version}
              </h3>
              <TermsList terms={o.terms as Terms} pricing={o.pricing as Pricing} termsHash={o.termsHash} />
              <button type="button" disabled={accepted.fetching} onClick={() => void onAccept(o)}>
                Accept these terms
              </button>
            </article>
          ))}
          <ApiError error={accepted.error} problem={businessProblem(accepted.data?.acceptLicenseOffer)} />
        </>
      ) : null}
    </Page>
  );
}
