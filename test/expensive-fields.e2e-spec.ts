/**
 * Expensive fields: exports and lineage views weigh their cost in the query
 * cost limit, and a model's provenance exports are computed once per content
 * version — repeated requests reuse them, any change (through the API or
 * written directly, as another replica would) is seen by the next request.
 */
import { ProvenanceSnapshots } from '../src/provenance/exports/provenance-snapshots';
import { startTestApp, TestApp } from './support/app';
import { licensed, listedTeacher, registerStudent } from './support/provenance';
import { signUp, TestUser } from './support/users';

const EXPORTS = 'cycloneDx huggingFaceCardYaml obligations { notice }';

function aliased(n: number, modelId: string): string {
  return `{ ${Array.from({ length: n }, (_, i) => `m${i}: teacherModel(id: "${modelId}") { ${EXPORTS} }`).join(' ')} }`;
}

describe('expensive fields', () => {
  let t: TestApp;
  let snapshots: ProvenanceSnapshots;
  let vendor: TestUser;
  let distiller: TestUser;
  let teacherId: string;
  let studentId: string;

  beforeAll(async () => {
    // The defaults of GRAPHQL_MAX_ALIASES and GRAPHQL_MAX_COST.
    t = await startTestApp({ graphqlMaxAliases: 15, graphqlMaxCost: 5000 });
    snapshots = t.app.get(ProvenanceSnapshots);
    vendor = await signUp(t, { organizationName: 'Teacher Labs', country: 'US' });
    distiller = await signUp(t, { organizationName: 'Distill Co', country: 'FR' });
    const teacher = await listedTeacher(t, vendor);
    teacherId = teacher.modelId;
    studentId = (await registerStudent(t, distiller, [await licensed(t, distiller, teacher)])).id;
    // Listed, so anonymous callers (the public) may read it.
    const listed = await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: studentId }, distiller.token);
    if (listed.errors) throw new Error(JSON.stringify(listed.errors));
  });
  afterAll(() => t.close());

  it('15 aliases of the exports exceed the cost limit and run nothing', async () => {
    const of = jest.spyOn(snapshots, 'of');
    try {
      const r = await t.gql(aliased(15, studentId));
      expect(r.status).toBe(400);
      expect(r.data).toBeNull();
      expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'QUERY_TOO_COSTLY', maxCost: 5000 });
      expect(r.errors![0].extensions.cost).toBeGreaterThan(5000);
      expect(of).not.toHaveBeenCalled();
      // A few of them are an ordinary request.
      const few = await t.gql(aliased(3, studentId));
      expect(few.errors).toBeUndefined();
      expect(of).toHaveBeenCalled();
    } finally {
      of.mockRestore();
    }
  });

  it('computes the exports once per content version', async () => {
    const first = await t.gql(aliased(5, studentId));
    expect(first.errors).toBeUndefined();
    const builds = snapshots.buildCount;
    const again = await t.gql(aliased(5, studentId));
    const another = await t.gql(`query($id: ID!) { teacherModel(id: $id) { ${EXPORTS} } }`, { id: studentId }, distiller.token);
    expect(snapshots.buildCount).toBe(builds); // nothing recomputed
    expect(again.data).toEqual(first.data);
    expect(another.data!.teacherModel).toEqual(first.data!.m0);
  });

  it('a change to the model, an ancestor or its organization is seen by the next request', async () => {
    const read = async () => (await t.gql(`query($id: ID!) { teacherModel(id: $id) { ${EXPORTS} } }`, { id: studentId })).data!.teacherModel;
    const before = await read();
    let builds = snapshots.buildCount;

    // Through the API: the student is renamed.
    const renamed = await t.gql(`mutation($i: UpdateTeacherModelInput!) { updateTeacherModel(input: $i) { name } }`, { i: { id: studentId, name: 'Renamed Student' } }, distiller.token);
    expect(renamed.errors).toBeUndefined();
    const afterRename = await read();
    expect(snapshots.buildCount).toBe(builds + 1);
    expect(afterRename.huggingFaceCardYaml).toContain('Renamed Student');
    expect(afterRename.huggingFaceCardYaml).not.toEqual(before.huggingFaceCardYaml);
    builds = snapshots.buildCount;

    // Written directly (as another replica's commit would be): the teacher's organization and card.
    await t.dataSource.query(`UPDATE organizations SET name = 'Teacher Labs Renamed' WHERE id = $1`, [vendor.organizationId]);
    const afterOrg = await read();
    expect(snapshots.buildCount).toBe(builds + 1);
    expect(JSON.stringify(afterOrg.cycloneDx)).toContain('Teacher Labs Renamed');
    builds = snapshots.buildCount;

    await t.dataSource.query(`UPDATE models SET name = 'Teacher Prime' WHERE id = $1`, [teacherId]);
    const afterAncestor = await read();
    expect(snapshots.buildCount).toBe(builds + 1);
    expect(afterAncestor.huggingFaceCardYaml).toContain('Teacher Prime');

    // And unchanged content is reused again.
    builds = snapshots.buildCount;
    await read();
    expect(snapshots.buildCount).toBe(builds);
  });
});
