/** API keys: the secret is shown once, when created; keys can be revoked. */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { ApiError, Field, Loading, Page, Table, when } from '../ui';

const KEYS = `query ApiKeys($org: ID!) { apiKeys(organizationId: $org) { id name prefix scopes agreementId createdAt lastUsedAt revokedAt } }`;
const AGREEMENTS = `query KeyAgreements($org: ID!) { agreements(organizationId: $org, role: DISTILLER, first: 100) {
  edges { node { id status model { id name } offer { id name version } } } } }`;
const CREATE = `mutation CreateKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id name prefix scopes agreementId createdAt lastUsedAt revokedAt } } }`;
const REVOKE = `mutation RevokeKey($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;

const SCOPES = ['GATEWAY', 'READ', 'WRITE', 'USAGE_REPORT'] as const;

export function ApiKeysPage({ orgId }: { orgId: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: KEYS, variables: { org: orgId } });
  const [agreements] = useQuery({ query: AGREEMENTS, variables: { org: orgId } });
  const [created, create] = useMutation(CREATE);
  const [revoked, revoke] = useMutation(REVOKE);
  const [name, setName] = useState('gateway');
  const [scopes, setScopes] = useState<string[]>(['GATEWAY']);
  const [agreementId, setAgreementId] = useState('');
  const [secret, setSecret] = useState<{ secret: string; name: string } | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSecret(null);
    const r = await create({ input: { organizationId: orgId, name, scopes, agreementId: agreementId || null } });
    if (r.data) {
      setSecret({ secret: r.data.createApiKey.secret, name: r.data.createApiKey.apiKey.name });
      refetch({ requestPolicy: 'network-only' });
    }
  };
  const toggle = (s: string) => setScopes(scopes.includes(s) ? scopes.filter((x) => x !== s) : [...scopes, s]);
  return (
    <Page title="API keys">
      <form className="form card" onSubmit={submit} aria-labelledby="new-key">
        <h2 id="new-key">Create a key</h2>
        <div className="grid">
          <Field label="Name">
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field label="Agreement (gateway keys)">
            <select value={agreementId} onChange={(e) => setAgreementId(e.target.value)}>
              <option value="">None</option>
              {(agreements.data?.agreements.edges ?? []).map(({ node: a }: any) => (
                <option key={a.id} value={a.id}>
                  {a.model.name} · {a.offer.name} v{a.offer.version} ({a.status.toLowerCase()})
                </option>
              ))}
            </select>
          </Field>
        </div>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label key={s} className="check">
              <input type="checkbox" checked={scopes.includes(s)} onChange={() => toggle(s)} /> {s}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={created.fetching}>
          Create key
        </button>
        <ApiError error={created.error} />
      </form>
      {secret ? (
        <div className="secret" role="status" aria-live="polite">
          <p>
            <strong>Copy the secret of “{secret.name}” now: it is shown only once.</strong>
          </p>
          <label className="field">
            <span className="label">Secret</span>
            <input readOnly value={secret.secret} className="mono" data-testid="api-key-secret" onFocus={(e) => e.target.select()} />
          </label>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(secret.secret)}>
            Copy
          </button>{' '}
          <button type="button" onClick={() => setSecret(null)}>
            I have saved it
          </button>
        </div>
      ) : null}
      <ApiError error={revoked.error} />
      {fetching && !data ? <Loading what="keys" /> : null}
      <ApiError error={error} />
      {data ? (
        <Table
          caption="The organization's keys"
          head={['Name', 'Prefix', 'Scopes', 'Agreement', 'Created', 'Last used', 'Status']}
          empty="No keys yet."
          rows={data.apiKeys.map((k: any) => [
            k.name,
            <code className="mono">{k.prefix}…</code>,
            k.scopes.join(', '),
            k.agreementId ? <code className="mono">{k.agreementId.slice(0, 8)}</code> : '—',
            when(k.createdAt),
            when(k.lastUsedAt),
            k.revokedAt ? (
              `revoked ${when(k.revokedAt)}`
            ) : (
              <button type="button" aria-label={`Revoke key ${k.name} (${k.prefix})`} onClick={() => void revoke({ id: k.id })}>
                Revoke
              </button>
            ),
          ])}
        />
      ) : null}
    </Page>
  );
}
