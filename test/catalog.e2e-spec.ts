/**
 * Catalog mutations and single-model reads: create / update / list / unlist a
 * teacher model, its validation, status transitions, authorization, the audit
 * log and the slug race. (The public catalog search: catalog-query.e2e-spec.ts.)
 */
import { GqlResponse, startTestApp, TestApp } from './support/app';
import { signUp, TestUser } from './support/users';



const MODEL_FIELDS = `id slug name status organizationId parameterCount modalities listedAt createdAt updatedAt
  card { summary parameterCount modalities contextLength languages trainingDataSummary
         evaluations { benchmark metric value } intendedUses limitations baseModels }
  vendor { id name }`;

const CREATE = `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) {
  __typename ... on TeacherModel { ${MODEL_FIELDS} } ... on SlugTakenError { code message slug } } }`;
const UPDATE = `mutation($i: UpdateTeacherModelInput!) { updateTeacherModel(input: $i) { ${MODEL_FIELDS} } }`;
const LIST = `mutation($id: ID!) { listTeacherModel(id: $id) { id status listedAt updatedAt } }`;
const UNLIST = `mutation($id: ID!) { unlistTeacherModel(id: $id) {
  __typename ... on TeacherModel { id status listedAt } ... on InvalidModelStatusTransitionError { code message from to } } }`;
const GET = `query($id: ID!) { teacherModel(id: $id) { id slug status } }`;
const MINE = `query($o: ID!) { myModels(organizationId: $o) { id slug status } }`;
function cardInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    summary: 'A helpful general-purpose teacher model.',
    parameterCount: '7000000000',
    modalities: ['TEXT'],
    contextLength: 32768,
    languages: ['en', 'zh-Hans'],
    trainingDataSummary: 'Licensed web text and code.',
    evaluations: [{ benchmark: 'MMLU', metric: 'accuracy', value: 0.712 }],
    intendedUses: ['distillation into small assistants'],
    limitations: ['may hallucinate'],
    baseModels: [],
    ...overrides,
  };
}

let n = 0;
function nextSlug(prefix = 'model'): string {
  n += 1;
  return `${prefix}-${n}`;
}

async function createModel(
  t: TestApp,
  token: string,
  organizationId: string,
  opts: { slug?: string; name?: string; card?: Record<string, unknown> } = {},
): Promise<Record<string, any>> {
  const slug = opts.slug ?? nextSlug();
  const r = await t.gql(CREATE, { i: { organizationId, slug, name: opts.name ?? `Model ${slug}`, card: cardInput(opts.card) } }, token);
  if (r.errors || r.data?.createTeacherModel.__typename !== 'TeacherModel') {
    throw new Error(`createTeacherModel failed: ${JSON.stringify(r.errors ?? r.data)}`);
  }
  return r.data.createTeacherModel;
}

async function createListedModel(
  t: TestApp,
  token: string,
  organizationId: string,
  opts: { slug?: string; name?: string; card?: Record<string, unknown> } = {},
): Promise<Record<string, any>> {
  const m = await createModel(t, token, organizationId, opts);
  const r = await t.gql(LIST, { id: m.id }, token);
  if (r.errors) throw new Error(`listTeacherModel failed: ${JSON.stringify(r.errors)}`);
  return { ...m, ...r.data!.listTeacherModel };
}

function fieldsOf(r: GqlResponse): string[] {
  return ((r.errors?.[0]?.extensions.fields ?? []) as { field: string }[]).map((f) => f.field);
}

const auditActions = async (t: TestApp, targetId: string): Promise<string[]> =>
  (await t.dataSource.query(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY seq`, [targetId])).map(
    (r: { action: string }) => r.action,
  );

describe('catalog: teacher models', () => {
  let t: TestApp;
  let vendor: TestUser;
  let other: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    vendor = await signUp(t, { organizationName: 'Vendor Labs' });
    other = await signUp(t, { organizationName: 'Other Org' });
  });
  afterAll(() => t.close());

  describe('happy path', () => {
    it('creates a DRAFT model with its card, copies parameterCount/modalities to columns, audits it', async () => {
      const r = await t.gql(
        CREATE,
        {
          i: {
            organizationId: vendor.organizationId,
            slug: 'qwen-teacher-72b',
            name: '  Qwen Teacher 72B ',
            card: cardInput({ parameterCount: '72000000000', modalities: ['TEXT', 'CODE'], baseModels: ['qwen-base'] }),
          },
        },
        vendor.token,
      );
      expect(r.errors).toBeUndefined();
      const m = r.data!.createTeacherModel;
      expect(m).toMatchObject({
        __typename: 'TeacherModel',
        slug: 'qwen-teacher-72b',
        name: 'Qwen Teacher 72B',
        status: 'DRAFT',
        organizationId: vendor.organizationId,
        parameterCount: '72000000000',
        modalities: ['TEXT', 'CODE'],
        listedAt: null,
        vendor: { id: vendor.organizationId, name: 'Vendor Labs' },
        card: {
          summary: 'A helpful general-purpose teacher model.',
          parameterCount: '72000000000',
          modalities: ['TEXT', 'CODE'],
          contextLength: 32768,
          languages: ['en', 'zh-Hans'],
          trainingDataSummary: 'Licensed web text and code.',
          evaluations: [{ benchmark: 'MMLU', metric: 'accuracy', value: 0.712 }],
          intendedUses: ['distillation into small assistants'],
          limitations: ['may hallucinate'],
          baseModels: ['qwen-base'],
        },
      });
      const [row] = await t.dataSource.query(`SELECT parameter_count::text AS pc, modalities, status FROM models WHERE id = $1`, [m.id]);
      expect(row).toEqual({ pc: '72000000000', modalities: ['TEXT', 'CODE'], status: 'DRAFT' });
      expect(await auditActions(t, m.id)).toEqual(['catalog.model.created']);
    });

    it('accepts a minimal card (optional fields default to empty) and a parameter count above 2^53', async () => {
      const r = await t.gql(
        CREATE,
        {
          i: {
            organizationId: vendor.organizationId,
            slug: 'minimal',
            name: 'M',
            card: { summary: 'Tiny', modalities: ['EMBEDDING'], parameterCount: '9007199254740993' },
          },
        },
        vendor.token,
      );
      expect(r.errors).toBeUndefined();
      expect(r.data!.createTeacherModel.card).toEqual({
        summary: 'Tiny',
        parameterCount: '9007199254740993',
        modalities: ['EMBEDDING'],
        contextLength: null,
        languages: [],
        trainingDataSummary: null,
        evaluations: [],
        intendedUses: [],
        limitations: [],
        baseModels: [],
      });
      const [row] = await t.dataSource.query(`SELECT parameter_count::text AS pc FROM models WHERE id = $1`, [r.data!.createTeacherModel.id]);
      expect(row.pc).toBe('9007199254740993');
    });

    it('updates the name and replaces the card (columns follow), keeps the slug, audits it', async () => {
      const m = await createModel(t, vendor.token, vendor.organizationId);
      const r = await t.gql(
        UPDATE,
        { i: { id: m.id, name: 'Renamed', card: cardInput({ summary: 'New summary', parameterCount: null, modalities: ['IMAGE', 'AUDIO'] }) } },
        vendor.token,
      );
      expect(r.errors).toBeUndefined();
      expect(r.data!.updateTeacherModel).toMatchObject({
        id: m.id,
        slug: m.slug,
        name: 'Renamed',
        parameterCount: null,
        modalities: ['IMAGE', 'AUDIO'],
        card: { summary: 'New summary', parameterCount: null, modalities: ['IMAGE', 'AUDIO'] },
      });
      expect(new Date(r.data!.updateTeacherModel.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(m.updatedAt).getTime());
      const [row] = await t.dataSource.query(`SELECT name, parameter_count, modalities, card->>'summary' AS s FROM models WHERE id = $1`, [m.id]);
      expect(row).toEqual({ name: 'Renamed', parameter_count: null, modalities: ['IMAGE', 'AUDIO'], s: 'New summary' });
      expect(await auditActions(t, m.id)).toEqual(['catalog.model.created', 'catalog.model.updated']);
      const [entry] = await t.dataSource.query(`SELECT data FROM audit_log WHERE target_id = $1 AND action = 'catalog.model.updated'`, [m.id]);
      expect(entry.data).toEqual({ changed: ['name', 'card'] });
    });

    it('updates only the name when no card is given; the slug is not an input', async () => {
      const m = await createModel(t, vendor.token, vendor.organizationId, { card: { summary: 'Keep me' } });
      const r = await t.gql(UPDATE, { i: { id: m.id, name: 'Only name' } }, vendor.token);
      expect(r.data!.updateTeacherModel).toMatchObject({ name: 'Only name', card: { summary: 'Keep me' } });
      const slugTry = await t.gql(UPDATE, { i: { id: m.id, slug: 'changed' } }, vendor.token);
      expect(slugTry.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    });

    it('an update that changes nothing writes no audit entry', async () => {
      const m = await createModel(t, vendor.token, vendor.organizationId, { name: 'Same' });
      const r = await t.gql(UPDATE, { i: { id: m.id, name: 'Same' } }, vendor.token);
      expect(r.errors).toBeUndefined();
      expect(await auditActions(t, m.id)).toEqual(['catalog.model.created']);
    });

    it('myModels lists every status of the organization, newest first', async () => {
      const org = await signUp(t, { organizationName: 'Mine Inc' });
      const a = await createModel(t, org.token, org.organizationId, { slug: 'a' });
      const b = await createListedModel(t, org.token, org.organizationId, { slug: 'b' });
      const c = await createListedModel(t, org.token, org.organizationId, { slug: 'c' });
      await t.gql(UNLIST, { id: c.id }, org.token);
      const r = await t.gql(MINE, { o: org.organizationId }, org.token);
      expect(r.data!.myModels).toEqual([
        { id: c.id, slug: 'c', status: 'UNLISTED' },
        { id: b.id, slug: 'b', status: 'LISTED' },
        { id: a.id, slug: 'a', status: 'DRAFT' },
      ]);
    });
  });

  describe('status transitions', () => {
    it('DRAFT → LISTED → UNLISTED → LISTED, with listedAt and audit entries', async () => {
      const m = await createModel(t, vendor.token, vendor.organizationId);
      const l1 = await t.gql(LIST, { id: m.id }, vendor.token);
      expect(l1.data!.listTeacherModel.status).toBe('LISTED');
      const listedAt1 = new Date(l1.data!.listTeacherModel.listedAt).getTime();
      expect(listedAt1).toBeGreaterThan(Date.now() - 60_000);

      const u = await t.gql(UNLIST, { id: m.id }, vendor.token);
      expect(u.data!.unlistTeacherModel).toMatchObject({ __typename: 'TeacherModel', status: 'UNLISTED' });
      expect(new Date(u.data!.unlistTeacherModel.listedAt).getTime()).toBe(listedAt1);

      await new Promise((r) => setTimeout(r, 5));
      const l2 = await t.gql(LIST, { id: m.id }, vendor.token);
      expect(l2.data!.listTeacherModel.status).toBe('LISTED');
      expect(new Date(l2.data!.listTeacherModel.listedAt).getTime()).toBeGreaterThan(listedAt1);

      expect(await auditActions(t, m.id)).toEqual([
        'catalog.model.created',
        'catalog.model.listed',
        'catalog.model.unlisted',
        'catalog.model.listed',
      ]);
    });

    it('listing a LISTED model is idempotent: same listedAt, no new audit entry', async () => {
      const m = await createListedModel(t, vendor.token, vendor.organizationId);
      const again = await t.gql(LIST, { id: m.id }, vendor.token);
      expect(again.errors).toBeUndefined();
      expect(again.data!.listTeacherModel).toMatchObject({ status: 'LISTED', listedAt: m.listedAt });
      expect(await auditActions(t, m.id)).toEqual(['catalog.model.created', 'catalog.model.listed']);
    });

    it('unlisting an UNLISTED model is idempotent', async () => {
      const m = await createListedModel(t, vendor.token, vendor.organizationId);
      await t.gql(UNLIST, { id: m.id }, vendor.token);
      const again = await t.gql(UNLIST, { id: m.id }, vendor.token);
      expect(again.data!.unlistTeacherModel).toMatchObject({ __typename: 'TeacherModel', status: 'UNLISTED' });
      expect(await auditActions(t, m.id)).toEqual(['catalog.model.created', 'catalog.model.listed', 'catalog.model.unlisted']);
    });

    it('unlisting a DRAFT is an InvalidModelStatusTransitionError and changes nothing', async () => {
      const m = await createModel(t, vendor.token, vendor.organizationId);
      const r = await t.gql(UNLIST, { id: m.id }, vendor.token);
      expect(r.data!.unlistTeacherModel).toEqual({
        __typename: 'InvalidModelStatusTransitionError',
        code: 'INVALID_STATUS_TRANSITION',
        message: 'A DRAFT model cannot become UNLISTED',
        from: 'DRAFT',
        to: 'UNLISTED',
      });
      const [row] = await t.dataSource.query(`SELECT status FROM models WHERE id = $1`, [m.id]);
      expect(row.status).toBe('DRAFT');
      expect(await auditActions(t, m.id)).toEqual(['catalog.model.created']);
    });

    it('concurrent list + list of one model: one transition, one audit entry', async () => {
      const m = await createModel(t, vendor.token, vendor.organizationId);
      const rs = await Promise.all([t.gql(LIST, { id: m.id }, vendor.token), t.gql(LIST, { id: m.id }, vendor.token)]);
      expect(rs.every((r) => r.data?.listTeacherModel.status === 'LISTED')).toBe(true);
      expect(await auditActions(t, m.id)).toEqual(['catalog.model.created', 'catalog.model.listed']);
    });
  });

  describe('slug uniqueness', () => {
    it('a duplicate slug in the organization is a SlugTakenError; the same slug in another organization is fine', async () => {
      await createModel(t, vendor.token, vendor.organizationId, { slug: 'dup' });
      const r = await t.gql(CREATE, { i: { organizationId: vendor.organizationId, slug: 'dup', name: 'Again', card: cardInput() } }, vendor.token);
      expect(r.errors).toBeUndefined();
      expect(r.data!.createTeacherModel).toEqual({
        __typename: 'SlugTakenError',
        code: 'SLUG_TAKEN',
        message: 'The organization already has a model with slug "dup"',
        slug: 'dup',
      });
      const elsewhere = await createModel(t, other.token, other.organizationId, { slug: 'dup' });
      expect(elsewhere.slug).toBe('dup');
    });

    it('two concurrent creates with one slug: exactly one TeacherModel and one SlugTakenError, one row, one audit entry', async () => {
      const input = { organizationId: vendor.organizationId, slug: 'race', name: 'Race', card: cardInput() };
      const rs = await Promise.all([t.gql(CREATE, { i: input }, vendor.token), t.gql(CREATE, { i: input }, vendor.token)]);
      expect(rs.map((r) => r.errors)).toEqual([undefined, undefined]);
      const kinds = rs.map((r) => r.data!.createTeacherModel.__typename).sort();
      expect(kinds).toEqual(['SlugTakenError', 'TeacherModel']);
      const rows = await t.dataSource.query(`SELECT id FROM models WHERE organization_id = $1 AND slug = 'race'`, [vendor.organizationId]);
      expect(rows).toHaveLength(1);
      expect(await auditActions(t, rows[0].id)).toEqual(['catalog.model.created']);
    });
  });

  describe('bad input', () => {
    const base = () => ({ organizationId: vendor.organizationId, slug: nextSlug('bad'), name: 'Bad', card: cardInput() });

    it.each<[string, string, (i: Record<string, any>) => void]>([
      ['slug with upper case', 'slug', (i) => (i.slug = 'Bad-Slug')],
      ['slug starting with a hyphen', 'slug', (i) => (i.slug = '-x')],
      ['slug of 64 characters', 'slug', (i) => (i.slug = 'a'.repeat(64))],
      ['empty slug', 'slug', (i) => (i.slug = '')],
      ['blank name', 'name', (i) => (i.name = '   ')],
      ['name of 201 characters', 'name', (i) => (i.name = 'n'.repeat(201))],
      ['organizationId not a UUID', 'organizationId', (i) => (i.organizationId = 'org-1')],
      ['empty summary', 'card.summary', (i) => (i.card.summary = '')],
      ['summary over 5,000 characters', 'card.summary', (i) => (i.card.summary = 's'.repeat(5001))],
      ['zero parameters', 'card.parameterCount', (i) => (i.card.parameterCount = '0')],
      ['negative parameters', 'card.parameterCount', (i) => (i.card.parameterCount = '-5')],
      ['decimal parameters', 'card.parameterCount', (i) => (i.card.parameterCount = '1.5')],
      ['parameters above int8', 'card.parameterCount', (i) => (i.card.parameterCount = '9223372036854775808')],
      ['parameters with leading zero', 'card.parameterCount', (i) => (i.card.parameterCount = '07')],
      ['no modality', 'card.modalities', (i) => (i.card.modalities = [])],
      ['repeated modality', 'card.modalities', (i) => (i.card.modalities = ['TEXT', 'TEXT'])],
      ['zero context length', 'card.contextLength', (i) => (i.card.contextLength = 0)],
      ['negative context length', 'card.contextLength', (i) => (i.card.contextLength = -1)],
      ['bad language tag', 'card.languages', (i) => (i.card.languages = ['english'])],
      ['language tag with space', 'card.languages', (i) => (i.card.languages = ['en US'])],
      ['repeated language', 'card.languages', (i) => (i.card.languages = ['en', 'en'])],
      ['101 languages', 'card.languages', (i) => (i.card.languages = Array.from({ length: 101 }, (_, k) => `en-x${String(k).padStart(3, '0')}`))],
      ['101 evaluations', 'card.evaluations', (i) => (i.card.evaluations = Array.from({ length: 101 }, () => ({ benchmark: 'b', metric: 'm', value: 1 })))],
      ['evaluation with empty benchmark', 'card.evaluations.0.benchmark', (i) => (i.card.evaluations = [{ benchmark: ' ', metric: 'm', value: 1 }])],
      ['evaluation with empty metric', 'card.evaluations.0.metric', (i) => (i.card.evaluations = [{ benchmark: 'b', metric: '', value: 1 }])],
      ['51 intended uses', 'card.intendedUses', (i) => (i.card.intendedUses = Array.from({ length: 51 }, () => 'x'))],
      ['empty limitation', 'card.limitations', (i) => (i.card.limitations = [''])],
      ['21 base models', 'card.baseModels', (i) => (i.card.baseModels = Array.from({ length: 21 }, (_, k) => `m${k}`))],
      ['training data summary over 5,000', 'card.trainingDataSummary', (i) => (i.card.trainingDataSummary = 't'.repeat(5001))],
    ])('createTeacherModel refuses %s (field %s)', async (_label, field, mutate) => {
      const input = base();
      mutate(input);
      const before = (await t.dataSource.query(`SELECT count(*)::int AS n FROM models`))[0].n;
      const r = await t.gql(CREATE, { i: input }, vendor.token);
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(fieldsOf(r)).toContain(field);
      expect(r.errors![0].extensions.fields.find((f: { field: string }) => f.field === field).message).toEqual(expect.any(String));
      expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM models`))[0].n).toBe(before);
    });

    it.each<[string, unknown]>([
      ['an unknown modality', { modalities: ['SMELL'] }],
      ['a non-finite evaluation value', { evaluations: [{ benchmark: 'b', metric: 'm', value: 'Infinity' }] }],
      ['a context length beyond 32-bit', { contextLength: 2 ** 31 }],
    ])('createTeacherModel refuses %s at the GraphQL layer (BAD_USER_INPUT)', async (_label, card) => {
      const r = await t.gql(CREATE, { i: { ...base(), card: cardInput(card as Record<string, unknown>) } }, vendor.token);
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['blank name', { name: '' }, 'name'],
      ['id not a UUID', { id: 'nope' }, 'id'],
      ['card with empty summary', { card: cardInput({ summary: ' ' }) }, 'card.summary'],
      ['card with bad evaluation', { card: cardInput({ evaluations: [{ benchmark: '', metric: 'm', value: 1 }] }) }, 'card.evaluations.0.benchmark'],
      ['card with bad parameter count', { card: cardInput({ parameterCount: 'many' }) }, 'card.parameterCount'],
    ])('updateTeacherModel refuses %s: %j', async (_label, patch, field) => {
      const m = await createModel(t, vendor.token, vendor.organizationId);
      const r = await t.gql(UPDATE, { i: { id: m.id, ...patch } }, vendor.token);
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(fieldsOf(r)).toContain(field);
      const [row] = await t.dataSource.query(`SELECT name, updated_at FROM models WHERE id = $1`, [m.id]);
      expect(row.name).toBe(m.name);
    });

    it.each([
      ['listTeacherModel', LIST],
      ['unlistTeacherModel', UNLIST],
      ['teacherModel', GET],
    ])('%s refuses an id that is not a UUID (field id)', async (_op, doc) => {
      const r = await t.gql(doc, { id: 'not-a-uuid' }, vendor.token);
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(fieldsOf(r)).toEqual(['id']);
    });

    it('myModels refuses an organizationId that is not a UUID', async () => {
      const r = await t.gql(MINE, { o: 'x' }, vendor.token);
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(fieldsOf(r)).toEqual(['organizationId']);
    });
  });

  describe('authorization', () => {
    let draft: Record<string, any>;
    let listed: Record<string, any>;
    let unlisted: Record<string, any>;
    beforeAll(async () => {
      draft = await createModel(t, vendor.token, vendor.organizationId, { slug: 'auth-draft' });
      listed = await createListedModel(t, vendor.token, vendor.organizationId, { slug: 'auth-listed' });
      unlisted = await createListedModel(t, vendor.token, vendor.organizationId, { slug: 'auth-unlisted' });
      await t.gql(UNLIST, { id: unlisted.id }, vendor.token);
    });

    it.each([
      ['createTeacherModel', () => [CREATE, { i: { organizationId: vendor.organizationId, slug: 'anon', name: 'A', card: cardInput() } }]],
      ['updateTeacherModel', () => [UPDATE, { i: { id: draft.id, name: 'x' } }]],
      ['listTeacherModel', () => [LIST, { id: draft.id }]],
      ['unlistTeacherModel', () => [UNLIST, { id: listed.id }]],
      ['myModels', () => [MINE, { o: vendor.organizationId }]],
    ] as [string, () => [string, Record<string, unknown>]][])('%s without a token is UNAUTHENTICATED', async (_op, make) => {
      const [doc, vars] = make();
      const r = await t.gql(doc, vars);
      expect(r.errors![0].extensions.code).toBe('UNAUTHENTICATED');
      expect(r.data).toBeNull();
    });

    it('creating a model in a foreign organization is NOT_FOUND', async () => {
      const r = await t.gql(CREATE, { i: { organizationId: vendor.organizationId, slug: 'intruder', name: 'I', card: cardInput() } }, other.token);
      expect(r.errors![0].extensions.code).toBe('NOT_FOUND');
      const rows = await t.dataSource.query(`SELECT 1 FROM models WHERE slug = 'intruder'`);
      expect(rows).toHaveLength(0);
    });

    it.each([
      ['updateTeacherModel', (id: string) => [UPDATE, { i: { id, name: 'hijacked' } }]],
      ['listTeacherModel', (id: string) => [LIST, { id }]],
      ['unlistTeacherModel', (id: string) => [UNLIST, { id }]],
    ] as [string, (id: string) => [string, Record<string, unknown>]][])(
      "%s of another organization's model is NOT_FOUND (same as an unknown id) and changes nothing",
      async (_op, make) => {
        for (const model of [draft, listed]) {
          const [doc, vars] = make(model.id);
          const r = await t.gql(doc, vars, other.token);
          expect(r.errors![0].extensions.code).toBe('NOT_FOUND');
          expect(r.errors![0].message).toBe(`TeacherModel ${model.id} not found`);
          expect(r.errors![0].message).not.toContain(vendor.organizationId);
        }
        const unknown = '00000000-0000-4000-8000-000000000000';
        const [doc, vars] = make(unknown);
        const r = await t.gql(doc, vars, vendor.token);
        expect(r.errors![0].extensions.code).toBe('NOT_FOUND');
        const rows = await t.dataSource.query(`SELECT name, status FROM models WHERE id = ANY($1) ORDER BY slug`, [[draft.id, listed.id]]);
        expect(rows).toEqual([
          { name: draft.name, status: 'DRAFT' },
          { name: listed.name, status: 'LISTED' },
        ]);
      },
    );

    it('myModels of another organization is NOT_FOUND', async () => {
      const r = await t.gql(MINE, { o: vendor.organizationId }, other.token);
      expect(r.errors![0].extensions.code).toBe('NOT_FOUND');
    });

    it('teacherModel: a LISTED model is public; DRAFT and UNLISTED only for members', async () => {
      expect((await t.gql(GET, { id: listed.id })).data!.teacherModel).toEqual({ id: listed.id, slug: 'auth-listed', status: 'LISTED' });
      expect((await t.gql(GET, { id: listed.id }, other.token)).data!.teacherModel.id).toBe(listed.id);
      for (const m of [draft, unlisted]) {
        for (const token of [undefined, other.token]) {
          const r = await t.gql(GET, { id: m.id }, token);
          expect(r.errors![0].extensions.code).toBe('NOT_FOUND');
          expect(r.errors![0].message).toBe(`TeacherModel ${m.id} not found`);
        }
        expect((await t.gql(GET, { id: m.id }, vendor.token)).data!.teacherModel.id).toBe(m.id);
      }
      const unknown = await t.gql(GET, { id: '00000000-0000-4000-8000-000000000000' });
      expect(unknown.errors![0].extensions.code).toBe('NOT_FOUND');
    });

    it('a plain MEMBER of the organization may write; an API key needs the WRITE scope', async () => {
      const member = await signUp(t, { organizationName: 'Member Home' });
      await t.dataSource.query(`INSERT INTO memberships (organization_id, user_id, role) VALUES ($1, $2, 'MEMBER')`, [
        vendor.organizationId,
        member.userId,
      ]);
      const r = await t.gql(UPDATE, { i: { id: draft.id, name: 'By member' } }, member.token);
      expect(r.data!.updateTeacherModel.name).toBe('By member');

      const key = async (scopes: string[]) =>
        (
          await t.gql(
            `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }`,
            { i: { organizationId: vendor.organizationId, name: scopes.join('+'), scopes } },
            vendor.token,
          )
        ).data!.createApiKey.secret as string;
      const readKey = await key(['READ']);
      const writeKey = await key(['WRITE']);
      const denied = await t.gql(LIST, { id: draft.id }, readKey);
      expect(denied.errors![0].extensions.code).toBe('FORBIDDEN');
      const ok = await t.gql(CREATE, { i: { organizationId: vendor.organizationId, slug: 'by-key', name: 'K', card: cardInput() } }, writeKey);
      expect(ok.data!.createTeacherModel.__typename).toBe('TeacherModel');
      const [entry] = await t.dataSource.query(`SELECT actor_api_key_id FROM audit_log WHERE target_id = $1`, [ok.data!.createTeacherModel.id]);
      expect(entry.actor_api_key_id).not.toBeNull();
      // The key of one organization cannot see another's drafts.
      const foreignDraft = await createModel(t, other.token, other.organizationId);
      expect((await t.gql(GET, { id: foreignDraft.id }, readKey)).errors![0].extensions.code).toBe('NOT_FOUND');
    });
  });
});
