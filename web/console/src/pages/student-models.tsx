/** Student models: the lineage graph, obligations, certification, and the signed attestation to download. */
import { useMutation, useQuery } from 'urql';
import { LineageGraph } from '../lineage';
import { Link } from '../router';
import { ApiError, Empty, Loading, Page, saveFile, Table, when } from '../ui';

const MODELS = `query StudentModels($org: ID!) { myModels(organizationId: $org) {
  id name slug status weightsDigest certification { status } lineage { depth distillationGeneration ancestors { id } } } }`;

export function StudentModelsPage({ orgId }: { orgId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: MODELS, variables: { org: orgId } });
  const students = (data?.myModels ?? []).filter((m: any) => m.lineage.ancestors.length > 0);
  return (
    <Page title="Student models">
      {fetching && !data ? <Loading what="models" /> : null}
      <ApiError error={error} />
      {data ? (
        <Table
          caption="Models of this organization with a licensed lineage"
          head={['Model', 'Status', 'Ancestors', 'Generation', 'Certification']}
          empty="No student models: register one with registerStudentModel."
          rows={students.map((m: any) => [
            <Link to={`/o/${orgId}/student-models/${m.id}`}>{m.name}</Link>,
            m.status,
            String(m.lineage.ancestors.length),
            String(m.lineage.distillationGeneration),
            m.certification.status,
          ])}
        />
      ) : null}
    </Page>
  );
}

const MODEL = `query StudentModel($id: ID!) { teacherModel(id: $id) { id name slug status organizationId weightsDigest
  lineage { depth distillationGeneration ancestors { id name depth organizationId }
    edges { parentModelId childModelId agreementId relation royaltyPolicy royaltyShareBps termsHash } }
  royaltyStack { totalBps entries { modelId depth policy shareBps } }
  obligations { notice namingSatisfied
    attributions { displayString depth placements }
    naming { rule token satisfied depth }
    useRestrictions { kind value }
    conflicts { kind message } }
  certification { status certifiedAt expiresAt revokedAt safetyReview { passed summary } evidence { benchmark metric value } } } }`;
const ATTEST = `mutation Attest($id: ID!) { issueAttestation(modelId: $id) { id issuedAt keyId document } }`;

export function StudentModelPage({ orgId, modelId }: { orgId: string; modelId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: MODEL, variables: { id: modelId } });
  const [attested, attest] = useMutation(ATTEST);
  const m = data?.teacherModel;
  const foreign = m && m.organizationId !== orgId;
  const download = async () => {
    const r = await attest({ id: modelId });
    const a = r.data?.issueAttestation;
    if (a) saveFile(`attestation-${m.slug}.json`, JSON.stringify(a.document, null, 2));
  };
  return (
    <Page title={m && !foreign ? `Student model: ${m.name}` : 'Student model'}>
      <p>
        <Link to={`/o/${orgId}/student-models`}>← Student models</Link>
      </p>
      {fetching && !data ? <Loading what="the model" /> : null}
      <ApiError error={error} />
      {foreign ? <ApiError problem={{ code: 'NOT_FOUND', message: 'This model belongs to another organization.' }} /> : null}
      {m && !foreign ? (
        <>
          <p>
            Weights <code className="mono">{m.weightsDigest ?? '—'}</code> · distillation generation {m.lineage.distillationGeneration} · royalty stack{' '}
            {(m.royaltyStack.totalBps / 100).toFixed(2)} %
          </p>
          <LineageGraph model={m} ancestors={m.lineage.ancestors} edges={m.lineage.edges} />
          <Table
            caption="Lineage edges"
            head={['Parent', 'Child', 'Relation', 'Royalty', 'Terms hash']}
            empty="No edges."
            rows={m.lineage.edges.map((e: any) => {
              const name = (id: string) => (id === m.id ? m.name : (m.lineage.ancestors.find((a: any) => a.id === id)?.name ?? id));
              return [name(e.parentModelId), name(e.childModelId), e.relation, `${e.royaltyPolicy} ${(e.royaltyShareBps / 100).toFixed(2)} %`, <code className="mono">{e.termsHash.slice(0, 12)}…</code>];
            })}
          />
          <h2>Obligations</h2>
          <p>Naming {m.obligations.namingSatisfied ? 'satisfied' : 'NOT satisfied'}.</p>
          {m.obligations.attributions.length + m.obligations.naming.length + m.obligations.useRestrictions.length + m.obligations.conflicts.length === 0 ? (
            <Empty>No obligations.</Empty>
          ) : (
            <ul>
              {m.obligations.attributions.map((a: any, i: number) => (
                <li key={`a${i}`}>
                  Attribution “{a.displayString}” in {a.placements.join(', ')} (depth {a.depth})
                </li>
              ))}
              {m.obligations.naming.map((n: any, i: number) => (
                <li key={`n${i}`}>
                  Naming {n.rule} “{n.token}” — {n.satisfied ? 'satisfied' : 'not satisfied'}
                </li>
              ))}
              {m.obligations.useRestrictions.map((u: any, i: number) => (
                <li key={`u${i}`}>
                  Restriction {u.kind}
                  {u.value ? `: ${u.value}` : ''}
                </li>
              ))}
              {m.obligations.conflicts.map((c: any, i: number) => (
                <li key={`c${i}`} className="bad">
                  Conflict {c.kind}: {c.message}
                </li>
              ))}
            </ul>
          )}
          {m.obligations.notice ? (
            <details>
              <summary>Licence notice</summary>
              <pre>{m.obligations.notice}</pre>
            </details>
          ) : null}
          <h2>Certification</h2>
          <p>
            {m.certification.status}
            {m.certification.certifiedAt ? ` since ${when(m.certification.certifiedAt)}, expires ${when(m.certification.expiresAt)}` : ''}
            {m.certification.safetyReview ? ` · safety review ${m.certification.safetyReview.passed ? 'passed' : 'failed'}: ${m.certification.safetyReview.summary}` : ''}
          </p>
          <h2>Attestation</h2>
          <p>A signed statement of the weights digest, lineage, royalty stack and certification; verify it offline with npm run verify-attestation.</p>
          <button type="button" onClick={() => void download()} disabled={attested.fetching}>
            Issue and download the attestation
          </button>
          {attested.data ? <p role="status">Attestation issued {when(attested.data.issueAttestation.issuedAt)} with key {attested.data.issueAttestation.keyId}.</p> : null}
          <ApiError error={attested.error} />
        </>
      ) : null}
    </Page>
  );
}
