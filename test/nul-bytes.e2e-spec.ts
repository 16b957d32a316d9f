/**
 * A NUL byte (U+0000) in any string input is refused as BAD_USER_INPUT naming
 * the field, before anything runs: PostgreSQL cannot store it in text or jsonb
 * and would answer INTERNAL. Top-level arguments, input-object fields, nested
 * objects, list elements, variables and inline literals alike; nothing written.
 */
import { startTestApp, TestApp } from './support/app';
import { appTables, databaseChecksum } from './support/db-checksum';
import { signUp, TestUser } from './support/users';

const NUL = '\u0000';

const SIGN_UP = `mutation($i: SignUpInput!) { signUp(input: $i) { __typename } }`;
const CREATE = `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) { __typename ... on TeacherModel { id } } }`;
const UPDATE = `mutation($i: UpdateTeacherModelInput!) { updateTeacherModel(input: $i) { id name } }`;
const CATALOG = `query($f: CatalogFilterInput) { catalog(filter: $f) { edges { node { id } } } }`;

function card(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    summary: 'A teacher model.',
    modalities: ['TEXT'],
    evaluations: [{ benchmark: 'MMLU', metric: 'accuracy', value: 0.7 }],
    intendedUses: ['distillation'],
    limitations: ['may hallucinate'],
    ...overrides,
  };
}

describe('NUL bytes in string inputs', () => {
  let t: TestApp;
  let vendor: TestUser;
  let modelId: string;
  let tables: string[];

  beforeAll(async () => {
    t = await startTestApp();
    vendor = await signUp(t, { organizationName: 'Vendor' });
    const r = await t.gql(CREATE, { i: { organizationId: vendor.organizationId, slug: 'teacher', name: 'Teacher', card: card() } }, vendor.token);
    modelId = r.data!.createTeacherModel.id;
    tables = await appTables(t);
  });
  afterAll(() => t?.close());

  const cases: { what: string; query: () => string; vars: () => Record<string, unknown>; token?: () => string; field: string }[] = [
    {
      what: 'signUp.organizationName',
      query: () => SIGN_UP,
      vars: () => ({ i: { email: 'nul@example.test', password: 'correct horse battery staple', organizationName: `Acme${NUL}Corp` } }),
      field: 'organizationName',
    },
    {
      what: 'signUp.email (leading NUL)',
      query: () => SIGN_UP,
      vars: () => ({ i: { email: `${NUL}nul@example.test`, password: 'correct horse battery staple', organizationName: 'Acme' } }),
      field: 'email',
    },
    {
      what: 'updateTeacherModel.name',
      query: () => UPDATE,
      vars: () => ({ i: { id: modelId, name: `Teacher${NUL}` } }),
      token: () => vendor.token,
      field: 'name',
    },
    {
      what: 'updateTeacherModel.name as an inline literal',
      query: () => `mutation { updateTeacherModel(input: { id: "${modelId}", name: "Te\\u0000acher" }) { id name } }`,
      vars: () => ({}),
      token: () => vendor.token,
      field: 'name',
    },
    {
      what: 'a list element (updateTeacherModel.card.limitations[1])',
      query: () => UPDATE,
      vars: () => ({ i: { id: modelId, card: card({ limitations: ['fine', `bad${NUL}`] }) } }),
      token: () => vendor.token,
      field: 'card.limitations.1',
    },
    {
      what: 'a field of an object in a list (createTeacherModel.card.evaluations[0].benchmark)',
      query: () => CREATE,
      vars: () => ({
        i: { organizationId: vendor.organizationId, slug: 'other', name: 'Other', card: card({ evaluations: [{ benchmark: `MM${NUL}LU`, metric: 'accuracy', value: 1 }] }) },
      }),
      token: () => vendor.token,
      field: 'card.evaluations.0.benchmark',
    },
    {
      what: 'a query filter (catalog.filter.search)',
      query: () => CATALOG,
      vars: () => ({ f: { search: `teacher${NUL}` } }),
      field: 'filter.search',
    },
    {
      what: 'a top-level scalar argument (verifyModel.weightsDigest)',
      query: () => `query($d: String!) { verifyModel(weightsDigest: $d) { model { id } } }`,
      vars: () => ({ d: `sha256:${NUL}` }),
      field: 'weightsDigest',
    },
  ];

  it.each(cases.map((c) => [c.what, c] as const))('%s: BAD_USER_INPUT naming the field, nothing written', async (_what, c) => {
    const before = await databaseChecksum(t, tables);
    const r = await t.gql(c.query(), c.vars(), c.token?.());
    expect(r.errors).toHaveLength(1);
    expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(r.errors![0].extensions.fields).toEqual([{ field: c.field, message: `${c.field} must not contain NUL characters (U+0000)` }]);
    expect(await databaseChecksum(t, tables)).toEqual(before);
  });

  it('the same inputs without the NUL byte are accepted (the refusal is about the byte)', async () => {
    const r = await t.gql(UPDATE, { i: { id: modelId, name: 'Teacher two', card: card({ limitations: ['fine', 'bad'] }) } }, vendor.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.updateTeacherModel.name).toBe('Teacher two');
    const s = await t.gql(SIGN_UP, { i: { email: 'nul@example.test', password: 'correct horse battery staple', organizationName: 'AcmeCorp' } });
    expect(s.data!.signUp.__typename).toBe('AuthPayload');
  });
});
