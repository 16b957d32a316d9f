/**
 * The admins' certification queue served by the server: student models whose
 * latest certification is missing, revoked or expired, oldest wait first
 * (registration, revocation or expiry), keyset-paged, with what the reviewer
 * needs (the model, its organization, lineage, latest certification).
 * Teachers without lineage and currently certified students are not in it;
 * non-admins are refused (FORBIDDEN), anonymous callers UNAUTHENTICATED, a
 * forged cursor is BAD_USER_INPUT.
 */
import { Clock } from '../src/platform/clock/clock';
import { startTestApp, TestApp } from './support/app';
import { licensed, listedTeacher, registerStudent } from './support/provenance';
import { makeAdmin, signUp, TestUser } from './support/users';

const DAY = 86_400_000;
const DIGEST = `sha256:${'ab'.repeat(32)}`;

const QUEUE = `query($first: Int, $after: String) { certificationQueue(first: $first, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { cursor node { status waitingSince parentCount
    model { id name weightsDigest vendor { id name } lineage { edges { parentModelId agreementId } } }
    latestCertification { id expiresAt revokedAt revocationReason safetyReview { reviewer } } } } } }`;
const CERTIFY = `mutation($i: CertifyModelInput!) { certifyModel(input: $i) { id expiresAt } }`;
const REVOKE = `mutation($i: RevokeCertificationInput!) { revokeCertification(input: $i) { __typename } }`;

describe('certificationQueue (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let vendor: TestUser;
  let distiller: TestUser;
  let other: TestUser;
  let teacherId: string;
  const students: { id: string; name: string }[] = [];
  const clock = () => t.app.get(Clock);

  const certify = async (modelId: string, expiresAt: Date) => {
    const r = await t.gql(CERTIFY, {
      i: {
        modelId,
        evidence: [{ benchmark: 'MMLU', metric: 'accuracy', value: '70.1', datasetDigest: DIGEST }],
        safetyReview: { summary: 'No findings.', reviewer: 'Trust team', passed: true },
        expiresAt: expiresAt.toISOString(),
      },
    }, admin.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.certifyModel.id as string;
  };
  const queue = async (vars: { first?: number; after?: string | null } = {}, token = admin.token) => {
    const r = await t.gql(QUEUE, vars, token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.certificationQueue;
  };
  const all = async (first: number) => {
    const nodes: any[] = [];
    let after: string | null = null;
    for (let i = 0; i < 20; i++) {
      const page: any = await queue({ first, after });
      nodes.push(...page.edges.map((e: any) => e.node));
      if (!page.pageInfo.hasNextPage) return nodes;
      after = page.pageInfo.endCursor;
    }
    throw new Error('the queue did not end');
  };

  beforeAll(async () => {
    t = await startTestApp();
    admin = await makeAdmin(t, await signUp(t));
    vendor = await signUp(t, { organizationName: 'Teacher Vendor' });
    distiller = await signUp(t, { organizationName: 'Student Maker', country: 'US' });
    other = await signUp(t);
    const teacher = await listedTeacher(t, vendor);
    teacherId = teacher.modelId;
    const edge = await licensed(t, distiller, teacher);
    for (let i = 0; i < 5; i++) students.push(await registerStudent(t, distiller, [edge]));
    // Registration times a day apart, oldest first in registration order.
    for (const [i, s] of students.entries()) {
      await t.dataSource.query(`UPDATE models SET created_at = $2 WHERE id = $1`, [s.id, new Date(Date.now() - (30 - i) * DAY).toISOString()]);
    }
  });
  afterAll(() => t.close());

  it('lists the students never certified, oldest registration first, with their lineage and organization; teachers are not in it', async () => {
    const page = await queue({ first: 50 });
    expect(page.pageInfo.hasNextPage).toBe(false);
    const nodes = page.edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => n.model.id)).toEqual(students.map((s) => s.id));
    expect(nodes.every((n: any) => n.model.id !== teacherId)).toBe(true);
    expect(nodes[0]).toMatchObject({
      status: 'NONE',
      parentCount: 1,
      latestCertification: null,
      model: { name: students[0].name, vendor: { id: distiller.organizationId, name: 'Student Maker' }, lineage: { edges: [{ parentModelId: teacherId }] } },
    });
    expect(nodes[0].model.weightsDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const waits = nodes.map((n: any) => Date.parse(n.waitingSince));
    expect([...waits].sort((a, b) => a - b)).toEqual(waits);
  });

  it('a certified student leaves the queue; a revoked one comes back at its revocation, an expired one at its expiry', async () => {
    const now = Date.now();
    await certify(students[0].id, new Date(now + 365 * DAY)); // certified: out
    const revoked = await certify(students[1].id, new Date(now + 365 * DAY));
    expect((await t.gql(REVOKE, { i: { id: revoked, reason: 'Evidence withdrawn' } }, admin.token)).data!.revokeCertification.__typename).toBe('Certification');
    await certify(students[2].id, new Date(now + 2 * DAY)); // expires in two days
    // Before the expiry (the platform clock), student 2 is certified.
    let nodes = (await queue({ first: 50 })).edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => n.model.id)).toEqual([students[3].id, students[4].id, students[1].id]);
    expect(nodes[2]).toMatchObject({ status: 'REVOKED', latestCertification: { id: revoked, revocationReason: 'Evidence withdrawn', safetyReview: { reviewer: 'Trust team' } } });
    // Three days later (the platform clock), its certification has expired: it waits since its expiry, after the revocation.
    clock().now = () => new Date(now + 3 * DAY);
    try {
      nodes = (await queue({ first: 50 })).edges.map((e: any) => e.node);
      expect(nodes.map((n: any) => [n.model.id, n.status])).toEqual([
        [students[3].id, 'NONE'],
        [students[4].id, 'NONE'],
        [students[1].id, 'REVOKED'],
        [students[2].id, 'EXPIRED'],
      ]);
      expect(Date.parse(nodes[3].waitingSince)).toBe(Date.parse(nodes[3].latestCertification.expiresAt));
      expect(Date.parse(nodes[2].waitingSince)).toBe(Date.parse(nodes[2].latestCertification.revokedAt));
    } finally {
      clock().now = () => new Date();
    }
  });

  it('pages: every entry once, in order, whatever the page size', async () => {
    const whole = (await all(50)).map((n) => n.model.id);
    expect(whole.length).toBe(3);
    for (const first of [1, 2]) expect((await all(first)).map((n) => n.model.id)).toEqual(whole);
    // A student registered now joins at the end; the cursor of the last page still continues after it.
    const first = await queue({ first: 3 });
    expect(first.pageInfo.hasNextPage).toBe(false);
    const edge = { parentModelId: teacherId, agreementId: (await t.dataSource.query(`SELECT agreement_id FROM model_lineage_edges LIMIT 1`))[0].agreement_id };
    const late = await registerStudent(t, distiller, [edge]);
    const next = await queue({ first: 3, after: first.pageInfo.endCursor });
    expect(next.edges.map((e: any) => e.node.model.id)).toEqual([late.id]);
  });

  it('non-admins are refused (FORBIDDEN), anonymous callers UNAUTHENTICATED; a forged cursor or a bad page size is BAD_USER_INPUT', async () => {
    for (const u of [distiller, other, vendor]) {
      const r = await t.gql(QUEUE, { first: 10 }, u.token);
      expect(r.errors?.[0].extensions.code).toBe('FORBIDDEN');
      expect(r.data?.certificationQueue ?? null).toBeNull();
    }
    expect((await t.gql(QUEUE, { first: 10 })).errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    const forged = Buffer.from('certification-queue:2026-01-01T00:00:00.000000|not-a-uuid').toString('base64url');
    const flag = Buffer.from(`anomaly-flag:2026-01-01T00:00:00.000000|${students[0].id}`).toString('base64url');
    for (const after of [forged, flag, 'x']) {
      const r = await t.gql(QUEUE, { first: 10, after }, admin.token);
      expect(r.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    }
    for (const first of [0, 101]) expect((await t.gql(QUEUE, { first }, admin.token)).errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});
