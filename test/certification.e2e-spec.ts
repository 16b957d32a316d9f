/**
 * Certification end to end: admins certify any model with evidence, a safety
 * review and an expiry, and revoke; the status (CERTIFIED, EXPIRED, REVOKED,
 * NONE) is public on TeacherModel wherever the model is visible; bad input,
 * authorization, the audit log, and one query for a page of models.
 */
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { CertificationService } from '../src/provenance/certification/certification.service';
import { GqlResponse, startTestApp, TestApp } from './support/app';
import { createModel } from './support/licensing';
import { makeAdmin, signUp, TestUser } from './support/users';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const DAY_MS = 86_400_000;

const CERTIFY = `mutation($i: CertifyModelInput!) { certifyModel(input: $i) {
  id modelId certifiedAt expiresAt certifiedByUserId revokedAt revokedByUserId revocationReason
  evidence { benchmark metric value datasetDigest }
  safetyReview { summary reviewer passed reportUrl } } }`;
const REVOKE = `mutation($i: RevokeCertificationInput!) { revokeCertification(input: $i) {
  __typename
  ... on Certification { id revokedAt revokedByUserId revocationReason }
  ... on CertificationAlreadyRevokedError { code message certification { id revokedAt revocationReason } } } }`;
const STATUS_FIELDS = `certification { status certificationId certifiedAt expiresAt revokedAt
  evidence { benchmark metric value datasetDigest } safetyReview { summary passed } }`;
const MODEL = `query($id: ID!) { teacherModel(id: $id) { id ${STATUS_FIELDS} } }`;

const inFuture = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString();

function certifyInput(modelId: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    modelId,
    evidence: [
      { benchmark: 'MMLU', metric: 'accuracy', value: '71.3', datasetDigest: DIGEST },
      { benchmark: 'TruthfulQA', metric: 'mc2', value: '-0.25', datasetDigest: `sha256:${'0'.repeat(64)}` },
    ],
    safetyReview: { summary: 'Red-teamed for jailbreaks; no critical findings.', reviewer: 'Beiming trust team', passed: true, reportUrl: 'https://trust.example/r/1' },
    expiresAt: inFuture(365),
    ...over,
  };
}

const code = (r: GqlResponse) => r.errors?.[0]?.extensions.code;
const fields = (r: GqlResponse) => ((r.errors?.[0]?.extensions.fields ?? []) as { field: string }[]).map((f) => f.field);

describe('model certification (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let vendor: TestUser;
  let stranger: TestUser;
  let modelId: string;

  const certify = (input: Record<string, unknown>, token = admin.token) => t.gql(CERTIFY, { i: input }, token);
  const revoke = (id: string, reason = 'Evidence withdrawn', token = admin.token) => t.gql(REVOKE, { i: { id, reason } }, token);
  const statusOf = async (id: string, token?: string) => {
    const r = await t.gql(MODEL, { id }, token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.teacherModel.certification;
  };
  const written = async () =>
    (await t.dataSource.query(`SELECT (SELECT count(*) FROM model_certifications) AS certs, (SELECT count(*) FROM audit_log) AS audit`))[0];

  beforeAll(async () => {
    t = await startTestApp();
    admin = await makeAdmin(t, await signUp(t));
    vendor = await signUp(t);
    stranger = await signUp(t);
    modelId = (await createModel(t, vendor)).id;
  });
  afterAll(() => t.close());

  it('a model never certified is NONE, publicly', async () => {
    expect(await statusOf(modelId)).toEqual({
      status: 'NONE',
      certificationId: null,
      certifiedAt: null,
      expiresAt: null,
      revokedAt: null,
      evidence: [],
      safetyReview: null,
    });
  });

  describe('certify → expire → revoke → certify again', () => {
    let first: Record<string, any>;

    it('an admin certifies; the model is CERTIFIED for anyone, with its evidence and the public part of the review', async () => {
      const input = certifyInput(modelId);
      const before = Date.now();
      const r = await certify(input);
      expect(r.errors).toBeUndefined();
      first = r.data!.certifyModel;
      expect(first).toMatchObject({
        modelId,
        certifiedByUserId: admin.userId,
        expiresAt: input.expiresAt,
        revokedAt: null,
        revocationReason: null,
        evidence: input.evidence,
        safetyReview: input.safetyReview,
      });
      expect(Date.parse(first.certifiedAt)).toBeGreaterThanOrEqual(before - 1000);

      const publicStatus = await statusOf(modelId); // anonymous
      expect(publicStatus).toEqual({
        status: 'CERTIFIED',
        certificationId: first.id,
        certifiedAt: first.certifiedAt,
        expiresAt: input.expiresAt,
        revokedAt: null,
        evidence: input.evidence,
        safetyReview: { summary: 'Red-teamed for jailbreaks; no critical findings.', passed: true },
      });
      // scores are stored as the strings given, never as floats
      const [row] = await t.dataSource.query(`SELECT evidence->0->>'value' AS v, jsonb_typeof(evidence->0->'value') AS ty FROM model_certifications WHERE id = $1`, [first.id]);
      expect(row).toEqual({ v: '71.3', ty: 'string' });
    });

    it('is EXPIRED once expires_at has passed', async () => {
      await t.dataSource.query(`UPDATE model_certifications SET certified_at = now() - interval '2 days', expires_at = now() - interval '1 second' WHERE id = $1`, [
        first.id,
      ]);
      const s = await statusOf(modelId);
      expect(s).toMatchObject({ status: 'EXPIRED', certificationId: first.id, revokedAt: null });
      expect(Date.parse(s.expiresAt)).toBeLessThanOrEqual(Date.now());
    });

    it('is REVOKED after an admin revokes it; revoking again is a CertificationAlreadyRevokedError and changes nothing', async () => {
      const r = await revoke(first.id, '  Evidence withdrawn  ');
      expect(r.data!.revokeCertification).toMatchObject({
        __typename: 'Certification',
        id: first.id,
        revokedByUserId: admin.userId,
        revocationReason: 'Evidence withdrawn',
      });
      const revokedAt = r.data!.revokeCertification.revokedAt;
      expect(await statusOf(modelId)).toMatchObject({ status: 'REVOKED', certificationId: first.id, revokedAt });

      const before = await written();
      const again = await revoke(first.id, 'twice');
      expect(again.data!.revokeCertification).toEqual({
        __typename: 'CertificationAlreadyRevokedError',
        code: 'CERTIFICATION_ALREADY_REVOKED',
        message: expect.stringContaining(first.id),
        certification: { id: first.id, revokedAt, revocationReason: 'Evidence withdrawn' },
      });
      expect(await written()).toEqual(before);
      const [row] = await t.dataSource.query(`SELECT revocation_reason FROM model_certifications WHERE id = $1`, [first.id]);
      expect(row.revocation_reason).toBe('Evidence withdrawn');
    });

    it('a new certification after the revocation makes the model CERTIFIED again', async () => {
      const r = await certify(certifyInput(modelId, { evidence: [{ benchmark: 'GSM8K', metric: 'exact_match', value: '55', datasetDigest: DIGEST }] }));
      const second = r.data!.certifyModel;
      expect(second.id).not.toBe(first.id);
      expect(await statusOf(modelId)).toMatchObject({
        status: 'CERTIFIED',
        certificationId: second.id,
        revokedAt: null,
        evidence: [{ benchmark: 'GSM8K', metric: 'exact_match', value: '55', datasetDigest: DIGEST }],
      });
    });
  });

  describe('the latest certification defines the status', () => {
    it('revoking a superseded certification leaves the model CERTIFIED by the latest', async () => {
      const m = (await createModel(t, vendor)).id;
      const older = (await certify(certifyInput(m))).data!.certifyModel;
      const newer = (await certify(certifyInput(m, { expiresAt: inFuture(30) }))).data!.certifyModel;
      expect(Date.parse(newer.certifiedAt)).toBeGreaterThan(Date.parse(older.certifiedAt));
      expect(await statusOf(m)).toMatchObject({ status: 'CERTIFIED', certificationId: newer.id });
      expect((await revoke(older.id)).data!.revokeCertification.__typename).toBe('Certification');
      expect(await statusOf(m)).toMatchObject({ status: 'CERTIFIED', certificationId: newer.id });
    });

    it('revoking the latest makes the model REVOKED: an older, superseded certification does not come back', async () => {
      const m = (await createModel(t, vendor)).id;
      await certify(certifyInput(m));
      const newer = (await certify(certifyInput(m))).data!.certifyModel;
      await revoke(newer.id);
      expect(await statusOf(m)).toMatchObject({ status: 'REVOKED', certificationId: newer.id });
    });

    it('concurrent certifications of one model get distinct certification times; the status follows the latest', async () => {
      const m = (await createModel(t, vendor)).id;
      const results = await Promise.all([1, 2, 3].map((n) => certify(certifyInput(m, { expiresAt: inFuture(n * 10) }))));
      const certs = results.map((r) => r.data!.certifyModel);
      const [latest] = await t.dataSource.query(`SELECT id FROM model_certifications WHERE model_id = $1 ORDER BY certified_at DESC LIMIT 1`, [m]);
      const times = (await t.dataSource.query(`SELECT certified_at FROM model_certifications WHERE model_id = $1`, [m])).map((r: any) => r.certified_at.getTime());
      expect(new Set(times).size).toBe(3);
      expect(certs.map((c) => c.id)).toContain(latest.id);
      expect((await statusOf(m)).certificationId).toBe(latest.id);
    });
  });

  describe('authorization', () => {
    it('only platform admins certify or revoke: FORBIDDEN for the vendor, other users and API keys; nothing written', async () => {
      const cert = (await certify(certifyInput(modelId))).data!.certifyModel;
      const key = await t.gql(
        `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }`,
        { i: { organizationId: vendor.organizationId, name: 'k', scopes: ['READ', 'WRITE'] } },
        vendor.token,
      );
      const keySecret = key.data!.createApiKey.secret as string;
      const before = await written();
      for (const token of [vendor.token, stranger.token, keySecret]) {
        expect(code(await certify(certifyInput(modelId), token))).toBe('FORBIDDEN');
        expect(code(await revoke(cert.id, 'nope', token))).toBe('FORBIDDEN');
      }
      expect(code(await certify(certifyInput(modelId), ''))).toBe('UNAUTHENTICATED');
      expect(await written()).toEqual(before);
      expect(await statusOf(modelId)).toMatchObject({ status: 'CERTIFIED', certificationId: cert.id });
    });

    it("the status is as visible as the model: a DRAFT model's certification is seen by its organization only", async () => {
      const draft = (await createModel(t, vendor, { list: false })).id;
      const cert = (await certify(certifyInput(draft))).data!.certifyModel; // admins certify any model, listed or not
      expect(code(await t.gql(MODEL, { id: draft }))).toBe('NOT_FOUND');
      expect(code(await t.gql(MODEL, { id: draft }, stranger.token))).toBe('NOT_FOUND');
      expect(await statusOf(draft, vendor.token)).toMatchObject({ status: 'CERTIFIED', certificationId: cert.id });
    });

    it('an unknown model is NOT_FOUND; an unknown certification is NOT_FOUND; nothing written', async () => {
      const before = await written();
      const r = await certify(certifyInput('00000000-0000-4000-8000-000000000000'));
      expect(code(r)).toBe('NOT_FOUND');
      expect(r.data).toBeNull();
      expect(code(await revoke('00000000-0000-4000-8000-000000000000'))).toBe('NOT_FOUND');
      expect(await written()).toEqual(before);
    });
  });

  describe('bad input: BAD_USER_INPUT naming the field, nothing written', () => {
    const ev = (over: Record<string, unknown>) => [{ benchmark: 'MMLU', metric: 'accuracy', value: '71.3', datasetDigest: DIGEST, ...over }];
    const cases: [string, (m: string) => Record<string, unknown>, string][] = [
      ['no evidence', (m) => certifyInput(m, { evidence: [] }), 'evidence'],
      ['51 evidence entries', (m) => certifyInput(m, { evidence: Array.from({ length: 51 }, () => ev({})[0]) }), 'evidence'],
      ['a float-like value with an exponent', (m) => certifyInput(m, { evidence: ev({ value: '1e5' }) }), 'evidence.0.value'],
      ['a value with a leading dot', (m) => certifyInput(m, { evidence: ev({ value: '.5' }) }), 'evidence.0.value'],
      ['a value with a trailing dot', (m) => certifyInput(m, { evidence: ev({ value: '71.' }) }), 'evidence.0.value'],
      ['a value with a plus sign', (m) => certifyInput(m, { evidence: ev({ value: '+1' }) }), 'evidence.0.value'],
      ['NaN as a value', (m) => certifyInput(m, { evidence: ev({ value: 'NaN' }) }), 'evidence.0.value'],
      ['a digest without its algorithm', (m) => certifyInput(m, { evidence: ev({ datasetDigest: 'ab'.repeat(32) }) }), 'evidence.0.datasetDigest'],
      ['an upper-case digest', (m) => certifyInput(m, { evidence: ev({ datasetDigest: `sha256:${'AB'.repeat(32)}` }) }), 'evidence.0.datasetDigest'],
      ['a short digest', (m) => certifyInput(m, { evidence: ev({ datasetDigest: 'sha256:abc' }) }), 'evidence.0.datasetDigest'],
      ['an empty benchmark', (m) => certifyInput(m, { evidence: ev({ benchmark: '   ' }) }), 'evidence.0.benchmark'],
      ['an expiry in the past', (m) => certifyInput(m, { expiresAt: new Date(Date.now() - 60_000).toISOString() }), 'expiresAt'],
      ['an expiry more than 3 years ahead', (m) => certifyInput(m, { expiresAt: inFuture(3 * 366 + 1) }), 'expiresAt'],
      ['an empty safety summary', (m) => certifyInput(m, { safetyReview: { summary: '', reviewer: 'x', passed: true } }), 'safetyReview.summary'],
      ['a plain-http report URL', (m) => certifyInput(m, { safetyReview: { summary: 's', reviewer: 'x', passed: true, reportUrl: 'http://r.example' } }), 'safetyReview.reportUrl'],
      ['a malformed model id', () => certifyInput('model-1'), 'modelId'],
    ];

    it.each(cases)('%s', async (_name, input, field) => {
      const before = await written();
      const r = await certify(input(modelId));
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(fields(r)).toContain(field);
      expect(r.data).toBeNull();
      expect(await written()).toEqual(before);
    });

    it('a float as a value is refused by GraphQL itself (String!)', async () => {
      const r = await certify(certifyInput(modelId, { evidence: [{ benchmark: 'b', metric: 'm', value: 71.3, datasetDigest: DIGEST }] }));
      expect(code(r)).toBe('BAD_USER_INPUT');
    });

    it('revoking needs a reason of 1 to 2,000 characters', async () => {
      const cert = (await certify(certifyInput(modelId))).data!.certifyModel;
      const before = await written();
      for (const reason of ['', '   ', 'x'.repeat(2001)]) {
        const r = await revoke(cert.id, reason);
        expect(code(r)).toBe('BAD_USER_INPUT');
        expect(fields(r)).toEqual(['reason']);
      }
      expect(code(await revoke('cert-1'))).toBe('BAD_USER_INPUT');
      expect(await written()).toEqual(before);
    });
  });

  it('certifications and revocations are in the audit log, on the model, by the admin', async () => {
    const m = (await createModel(t, vendor)).id;
    const a = (await certify(certifyInput(m))).data!.certifyModel;
    const b = (await certify(certifyInput(m))).data!.certifyModel;
    await revoke(b.id, 'Benchmark contamination found');
    const rows = await t.dataSource.query(`SELECT action, actor_user_id, organization_id, target_type, data FROM audit_log WHERE target_id = $1 ORDER BY seq`, [m]);
    const certs = rows.filter((r: any) => r.action.startsWith('provenance.'));
    expect(certs).toEqual([
      {
        action: 'provenance.model.certified',
        actor_user_id: admin.userId,
        organization_id: vendor.organizationId,
        target_type: 'TeacherModel',
        data: expect.objectContaining({ certificationId: a.id, supersedes: null, evidence: certifyInput(m).evidence }),
      },
      {
        action: 'provenance.model.certified',
        actor_user_id: admin.userId,
        organization_id: vendor.organizationId,
        target_type: 'TeacherModel',
        data: expect.objectContaining({ certificationId: b.id, supersedes: a.id, expiresAt: b.expiresAt }),
      },
      {
        action: 'provenance.model.certification_revoked',
        actor_user_id: admin.userId,
        organization_id: vendor.organizationId,
        target_type: 'TeacherModel',
        data: { certificationId: b.id, reason: 'Benchmark contamination found' },
      },
    ]);
    const verify = await t.gql(`{ verifyAuditLog { valid } }`, {}, admin.token);
    expect(verify.data!.verifyAuditLog.valid).toBe(true);
  });

  it('statusOf / statusesOf answer for many models at once (NONE for models never certified)', async () => {
    const service = t.app.get(CertificationService);
    const never = (await createModel(t, vendor)).id;
    const unknown = '00000000-0000-4000-8000-000000000001';
    const map = await service.statusesOf(t.dataSource.manager, [modelId, never, unknown, modelId]);
    expect([...map.keys()].sort()).toEqual([modelId, never, unknown].sort());
    expect(map.get(modelId)!.status).toBe('CERTIFIED');
    expect(map.get(never)!.status).toBe('NONE');
    expect(map.get(unknown)!.status).toBe('NONE');
    expect((await service.statusOf(t.dataSource.manager, modelId)).status).toBe('CERTIFIED');
    // time is a parameter: the same certification is EXPIRED after its expiry
    const s = await service.statusOf(t.dataSource.manager, modelId);
    expect((await service.statusOf(t.dataSource.manager, modelId, new Date(s.expiresAt!.getTime() + 1))).status).toBe('EXPIRED');
  });
});

describe('model certification: one query for a page of models', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  async function countQueries(doc: string): Promise<{ queries: number; data: Record<string, any> }> {
    const spy = jest.spyOn(PostgresQueryRunner.prototype, 'query');
    try {
      const r = await t.gql(doc);
      expect(r.errors).toBeUndefined();
      return { queries: spy.mock.calls.length, data: r.data! };
    } finally {
      spy.mockRestore();
    }
  }

  async function seed(count: number, vendor: string, offset: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const k = offset + i;
      const [row] = await t.dataSource.query(
        `INSERT INTO models (organization_id, slug, name, card, modalities, status, listed_at)
         VALUES ($1, $2, $3, $4, '{TEXT}', 'LISTED', now() - ($5 || ' seconds')::interval) RETURNING id`,
        [vendor, `c-${k}`, `C ${k}`, JSON.stringify({ summary: `model ${k}`, modalities: ['TEXT'] }), k],
      );
      ids.push(row.id);
      // every other model certified, one of those revoked
      if (k % 2 === 0) {
        await t.dataSource.query(
          `INSERT INTO model_certifications (model_id, evidence, safety_review, expires_at, revoked_at, revocation_reason)
           VALUES ($1, '[]', '{"summary":"s","reviewer":"r","passed":true,"reportUrl":null}', now() + interval '1 year', $2, $3)`,
          [row.id, k === 0 ? new Date() : null, k === 0 ? 'revoked' : null],
        );
      }
    }
    return ids;
  }

  it('selecting certification adds exactly one query, for 5 models as for 20', async () => {
    const [{ id: vendor }] = await t.dataSource.query(`INSERT INTO organizations (name) VALUES ('V') RETURNING id`);
    const plain = `{ catalog(first: 20) { edges { node { id } } } }`;
    const withCert = `{ catalog(first: 20) { edges { node { id certification { status certificationId } } } } }`;

    await seed(5, vendor, 0);
    const five = { plain: await countQueries(plain), cert: await countQueries(withCert) };
    await seed(15, vendor, 5);
    const twenty = { plain: await countQueries(plain), cert: await countQueries(withCert) };

    expect(five.cert.data.catalog.edges).toHaveLength(5);
    expect(twenty.cert.data.catalog.edges).toHaveLength(20);
    expect(five.cert.queries - five.plain.queries).toBe(1);
    expect(twenty.cert.queries - twenty.plain.queries).toBe(1);

    const statuses = twenty.cert.data.catalog.edges.map((e: any) => e.node.certification.status);
    expect(statuses.filter((s: string) => s === 'CERTIFIED')).toHaveLength(9);
    expect(statuses.filter((s: string) => s === 'REVOKED')).toHaveLength(1);
    expect(statuses.filter((s: string) => s === 'NONE')).toHaveLength(10);
  });
});
