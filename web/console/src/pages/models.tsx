/** Vendor: the organization's models and their offers; publishing a new offer version with the terms form. */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link } from '../router';
import { ApiError, Empty, Field, Loading, Page, Table, when } from '../ui';
import { TERMS_FIELDS, TermsList, type Pricing, type Terms } from './terms';

const MODELS = `query MyModels($org: ID!) { myModels(organizationId: $org) {
  id name slug status listedAt certification { status } offers { id } lineage { depth } } }`;

export function ModelsPage({ orgId }: { orgId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: MODELS, variables: { org: orgId } });
  return (
    <Page title="Models & offers">
      {fetching && !data ? <Loading what="models" /> : null}
      <ApiError error={error} />
      {data ? (
        <Table
          caption="The organization's models, newest first"
          head={['Model', 'Slug', 'Status', 'Listed', 'Offers', 'Certification']}
          empty="No models yet: create one with createTeacherModel (or register a student model)."
          rows={data.myModels.map((m: any) => [
            <Link to={`/o/${orgId}/models/${m.id}`}>{m.name}</Link>,
            m.slug,
            m.status,
            when(m.listedAt),
            String(m.offers.length),
            m.certification.status,
          ])}
        />
      ) : null}
    </Page>
  );
}

const MODEL = `query VendorModel($id: ID!) { teacherModel(id: $id) { id name slug status organizationId
  offers { id name version status termsHash createdAt retiredAt ${TERMS_FIELDS} } } }`;
const OFFERS = `query Offers($id: ID!) { licenseOffers(modelId: $id) { id name version status termsHash createdAt retiredAt ${TERMS_FIELDS} } }`;

const PUBLISH = `mutation Publish($input: PublishLicenseOfferInput!) { publishLicenseOffer(input: $input) { id name version status termsHash } }`;

export function ModelPage({ orgId, modelId }: { orgId: string; modelId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: MODEL, variables: { id: modelId } });
  const [offers, refetchOffers] = useQuery({ query: OFFERS, variables: { id: modelId }, pause: !data });
  const model = data?.teacherModel;
  const foreign = model && model.organizationId !== orgId;
  return (
    <Page title={model ? `Model: ${model.name}` : 'Model'}>
      <p>
        <Link to={`/o/${orgId}/models`}>← All models</Link>
      </p>
      {fetching && !data ? <Loading what="the model" /> : null}
      <ApiError error={error} />
      {foreign ? <ApiError problem={{ code: 'NOT_FOUND', message: 'This model belongs to another organization.' }} /> : null}
      {model && !foreign ? (
        <>
          <p>
            Slug <code>{model.slug}</code> · status {model.status}
          </p>
          <h2>Offers</h2>
          <ApiError error={offers.error} />
          {offers.data?.licenseOffers.length === 0 ? <Empty>No offers yet: publish one below.</Empty> : null}
          {(offers.data?.licenseOffers ?? []).map((o: any) => (
            <details key={o.id} className="card">
              <summary>
                {o.name} v{o.version} — {o.status} — <span className="mono">{o.termsHash.slice(0, 16)}…</span>
              </summary>
              <TermsList terms={o.terms as Terms} pricing={o.pricing as Pricing} termsHash={o.termsHash} />
            </details>
          ))}
          <PublishForm modelId={modelId} onPublished={() => refetchOffers({ requestPolicy: 'network-only' })} />
        </>
      ) : null}
    </Page>
  );
}

const MINOR = /^(0|[1-9]\d*)$/;

function PublishForm({ modelId, onPublished }: { modelId: string; onPublished: () => void }) {
  const [f, setF] = useState({
    name: 'standard',
    currency: 'USD',
    inputPerMillionMinor: '100',
    outputPerMillionMinor: '300',
    upfrontFeeMinor: '0',
    minimumCommitmentMinor: '0',
    poolEligible: false,
    outputTraining: 'PERMITTED_WITH_CONDITIONS',
    distillationIsDerivative: true,
    commercialUse: true,
    researchOnly: false,
    watermarkRequired: false,
    royaltyPolicy: 'LAP',
    royaltyBps: '500',
    tokensPerPeriod: '',
    tokensPerMinute: '',
    termDays: '365',
    excludedCountries: '',
    namingRule: 'NONE',
    namingToken: '',
    attribution: '',
    copyLicence: true,
    useRestrictionsFlowDown: true,
    reciprocal: false,
    governingLaw: '',
  });
  const [result, publish] = useMutation(PUBLISH);
  const [local, setLocal] = useState<string | null>(null);
  const set = (k: keyof typeof f) => (e: { target: HTMLInputElement | HTMLSelectElement }) =>
    setF({ ...f, [k]: e.target instanceof HTMLInputElement && e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    for (const k of ['inputPerMillionMinor', 'outputPerMillionMinor', 'upfrontFeeMinor', 'minimumCommitmentMinor'] as const) {
      if (!MINOR.test(f[k])) return setLocal(`${k} must be a whole number of minor units`);
    }
    setLocal(null);
    const r = await publish({
      input: {
        modelId,
        name: f.name,
        pricing: {
          currency: f.currency.toUpperCase(),
          inputPerMillionMinor: f.inputPerMillionMinor,
          outputPerMillionMinor: f.outputPerMillionMinor,
          upfrontFeeMinor: f.upfrontFeeMinor,
          minimumCommitmentMinor: f.minimumCommitmentMinor,
          poolEligible: f.poolEligible,
        },
        terms: {
          outputTraining: f.outputTraining,
          distillationIsDerivative: f.distillationIsDerivative,
          commercialUse: f.commercialUse,
          researchOnly: f.researchOnly,
          watermarkRequired: f.watermarkRequired,
          royalty: { policy: f.royaltyPolicy, shareBps: Number(f.royaltyBps) },
          limits: { tokensPerPeriod: f.tokensPerPeriod || null, tokensPerMinute: f.tokensPerMinute || null },
          termDays: f.termDays === '' ? null : Number(f.termDays),
          territory: { excludedCountries: f.excludedCountries.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean), endUsersExempt: false },
          naming: { rule: f.namingRule, token: f.namingToken || null },
          attribution: f.attribution ? { displayString: f.attribution, placements: ['MODEL_CARD'] } : null,
          inheritance: { copyLicence: f.copyLicence, useRestrictionsFlowDown: f.useRestrictionsFlowDown, reciprocal: f.reciprocal },
          governingLaw: f.governingLaw || null,
        },
      },
    });
    if (r.data) onPublished();
  };
  const published = result.data?.publishLicenseOffer;
  return (
    <form className="form card" onSubmit={submit} aria-labelledby="publish-title">
      <h2 id="publish-title">Publish an offer version</h2>
      <p>Publishing under an existing name creates its next version and retires the previous one. Amounts are minor units.</p>
      <div className="grid">
        <Field label="Offer name">
          <input required value={f.name} onChange={set('name')} />
        </Field>
        <Field label="Currency (ISO 4217)">
          <input required pattern="[A-Za-z]{3}" value={f.currency} onChange={set('currency')} />
        </Field>
        <Field label="Input price per million tokens">
          <input required inputMode="numeric" value={f.inputPerMillionMinor} onChange={set('inputPerMillionMinor')} />
        </Field>
        <Field label="Output price per million tokens">
          <input required inputMode="numeric" value={f.outputPerMillionMinor} onChange={set('outputPerMillionMinor')} />
        </Field>
        <Field label="Upfront fee">
          <input required inputMode="numeric" value={f.upfrontFeeMinor} onChange={set('upfrontFeeMinor')} />
        </Field>
        <Field label="Minimum commitment">
          <input required inputMode="numeric" value={f.minimumCommitmentMinor} onChange={set('minimumCommitmentMinor')} />
        </Field>
        <Field label="Training on outputs">
          <select value={f.outputTraining} onChange={set('outputTraining')}>
            {['PERMITTED', 'PERMITTED_WITH_CONDITIONS', 'NON_COMPETING_ONLY', 'PRIOR_AUTHORIZATION', 'PROHIBITED'].map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </Field>
        <Field label="Royalty policy">
          <select value={f.royaltyPolicy} onChange={set('royaltyPolicy')}>
            <option>LAP</option>
            <option>LRP</option>
          </select>
        </Field>
        <Field label="Royalty share (basis points)">
          <input required inputMode="numeric" value={f.royaltyBps} onChange={set('royaltyBps')} />
        </Field>
        <Field label="Tokens per period (empty: unlimited)">
          <input inputMode="numeric" value={f.tokensPerPeriod} onChange={set('tokensPerPeriod')} />
        </Field>
        <Field label="Tokens per minute (empty: unlimited)">
          <input inputMode="numeric" value={f.tokensPerMinute} onChange={set('tokensPerMinute')} />
        </Field>
        <Field label="Term in days (empty: open-ended)">
          <input inputMode="numeric" value={f.termDays} onChange={set('termDays')} />
        </Field>
        <Field label="Excluded countries (comma-separated)">
          <input value={f.excludedCountries} onChange={set('excludedCountries')} />
        </Field>
        <Field label="Naming rule">
          <select value={f.namingRule} onChange={set('namingRule')}>
            <option>NONE</option>
            <option>PREFIX_REQUIRED</option>
            <option>NOT_PRIMARY</option>
          </select>
        </Field>
        <Field label="Naming token">
          <input value={f.namingToken} onChange={set('namingToken')} />
        </Field>
        <Field label="Attribution text (empty: none)">
          <input value={f.attribution} onChange={set('attribution')} />
        </Field>
        <Field label="Governing law">
          <input value={f.governingLaw} onChange={set('governingLaw')} />
        </Field>
      </div>
      <fieldset>
        <legend>Conditions</legend>
        {(
          [
            ['commercialUse', 'Commercial use'],
            ['researchOnly', 'Research only'],
            ['distillationIsDerivative', 'Distillation is a derivative'],
            ['watermarkRequired', 'Watermark required'],
            ['poolEligible', 'Pool eligible'],
            ['copyLicence', 'Licence copied downstream'],
            ['useRestrictionsFlowDown', 'Use restrictions flow down'],
            ['reciprocal', 'Reciprocal'],
          ] as const
        ).map(([k, label]) => (
          <label key={k} className="check">
            <input type="checkbox" checked={f[k]} onChange={set(k)} /> {label}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={result.fetching}>
        {result.fetching ? 'Publishing…' : 'Publish'}
      </button>
      {local ? <ApiError problem={{ code: 'BAD_USER_INPUT', message: local }} /> : null}
      <ApiError error={result.error} />
      {published ? (
        <p role="status" className="ok">
          Published {published.name} v{published.version}. Terms hash: <code className="mono">{published.termsHash}</code>
        </p>
      ) : null}
    </form>
  );
}
