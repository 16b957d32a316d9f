/**
 * issueAttestation and verifyModel through the API, verified the way an
 * auditor would: with the published JWKS and nothing else.
 */
import { verifyAttestation } from '../src/provenance/attestation/verify-attestation';
import { startTestApp, TestApp } from './support/app';
import { digest, licensed, listedTeacher, registerStudent } from './support/provenance';
import { makeAdmin, signUp, TestUser } from './support/users';

const ISSUE = `mutation($m: ID!) { issueAttestation(modelId: $m) { id modelId keyId issuedAt payload signature statement document } }`;
const VERIFY = `query($d: String!) { verifyModel(weightsDigest: $d) {
  model { id name weightsDigest }
  lineage { distillationGeneration edges { parentModelId agreementId termsHash } }
  latestAttestation { id keyId document } } }`;

describe('attestations (e2e)', () => {
  let t: TestApp;
  let vendor: TestUser;
  let distiller: TestUser;
  let student: { id: string };
  const weights = digest('attested-student');

  beforeAll(async () => {
    t = await startTestApp();
    vendor = await signUp(t, { country: 'US' });
    distiller = await signUp(t, { country: 'FR' });
    const teacher = await listedTeacher(t, vendor, { royalty: { policy: 'LAP', shareBps: 700 } });
    student = await registerStudent(t, distiller, [await licensed(t, distiller, teacher)], { weightsDigest: weights });
  });
  afterAll(() => t.close());

  const jwks = async () => (await t.request({ method: 'GET', url: '/.well-known/beiming-keys.json' })).body;

  it('signs the model, its lineage, royalty stack and certification; the published keys verify it offline', async () => {
    const r = await t.gql(ISSUE, { m: student.id }, distiller.token);
    expect(r.errors).toBeUndefined();
    const a = r.data!.issueAttestation;
    expect(a.statement).toMatchObject({
      type: 'https://beiming.dev/attestation/v1',
      model: { id: student.id },
      weightsDigest: weights,
      royaltyStack: [expect.objectContaining({ policy: 'LAP', shareBps: 700 })],
      certification: null,
      keyId: a.keyId,
    });
    expect(a.statement.lineage).toHaveLength(1);
    const result = verifyAttestation(a.document, await jwks());
    expect(result).toMatchObject({ valid: true });

    // Any change to the signed statement breaks it.
    const tampered = { ...a.document, payload: a.document.payload.replace('"shareBps":700', '"shareBps":70') };
    expect(verifyAttestation(tampered, await jwks()).valid).toBe(false);

    const audit = await t.dataSource.query(`SELECT action, data FROM audit_log WHERE target_id = $1 AND action = 'provenance.attestation.issued'`, [student.id]);
    expect(audit).toHaveLength(1);
    expect(audit[0].data.attestationId).toBe(a.id);
  });

  it('answers verifyModel publicly with the lineage and the latest attestation', async () => {
    const later = (await t.gql(ISSUE, { m: student.id }, distiller.token)).data!.issueAttestation;
    const r = await t.gql(VERIFY, { d: weights });
    expect(r.errors).toBeUndefined();
    const v = r.data!.verifyModel;
    expect(v.model).toMatchObject({ id: student.id, weightsDigest: weights });
    expect(v.lineage.distillationGeneration).toBe(1);
    expect(v.latestAttestation.id).toBe(later.id);
    expect(verifyAttestation(v.latestAttestation.document, await jwks()).valid).toBe(true);

    expect((await t.gql(VERIFY, { d: digest('nobody') })).data!.verifyModel).toBeNull();
    const bad = await t.gql(VERIFY, { d: 'sha256:XYZ' });
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'weightsDigest', message: expect.any(String) }] });
  });

  it("lets only the model's organization (or an admin) issue, and hides the model from others", async () => {
    const stranger = await signUp(t);
    const r = await t.gql(ISSUE, { m: student.id }, stranger.token);
    expect(r.errors![0].extensions.code).toBe('NOT_FOUND');
    expect((await t.gql(ISSUE, { m: student.id }, vendor.token)).errors![0].extensions.code).toBe('NOT_FOUND');
    expect((await t.gql(ISSUE, { m: student.id })).errors![0].extensions.code).toBe('UNAUTHENTICATED');
    const admin = await signUp(t);
    await makeAdmin(t, admin);
    const byAdmin = await t.gql(ISSUE, { m: student.id }, admin.token);
    expect(byAdmin.errors).toBeUndefined();
    expect((await t.gql(ISSUE, { m: 'not-a-uuid' }, distiller.token)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
  });
});
