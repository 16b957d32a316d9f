/**
 * Student models and licensed lineage: registration with every refusal,
 * indirect distillation (a student listed as a teacher), royalty stacks
 * reaching the original trainer, diamonds, cycles, limits and authorization.
 */
import { startTestApp, TestApp } from './support/app';
import { acceptAgreement } from './support/metering';
import { digest, licensed, listedTeacher, listWithOffer, REGISTER, registerStudent, studentInput } from './support/provenance';
import { signUp, TestUser } from './support/users';

const MODEL = `query($id: ID!) { teacherModel(id: $id) {
  id name weightsDigest
  lineage { depth distillationGeneration ancestors { id depth } edges { parentModelId childModelId agreementId termsHash relation method royaltyPolicy royaltyShareBps } }
  royaltyStack { totalBps entries { modelId organizationId policy shareBps depth agreementId } }
} }`;
const DESCENDANTS = `query($id: ID!) { teacherModel(id: $id) { descendants { descendants { id depth } edges { parentModelId childModelId } } } }`;
const DECLARE = `mutation($i: DeclareLineageInput!) { declareLineage(input: $i) {
  __typename ... on BusinessError { code message } ... on LineageCycleError { parentModelId } ... on TeacherModel { id } } }`;

describe('student models and lineage (e2e)', () => {
  let t: TestApp;
  let vendorA: TestUser;
  let vendorB: TestUser;
  let distiller: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    vendorA = await signUp(t, { country: 'US' });
    vendorB = await signUp(t, { country: 'DE' });
    distiller = await signUp(t, { country: 'FR' });
  });
  afterAll(() => t.close());

  const register = (user: TestUser, lineage: Parameters<typeof studentInput>[1], over: Record<string, unknown> = {}) =>
    t.gql(REGISTER, { i: studentInput(user.organizationId, lineage, over) }, user.token);
  const modelOf = async (id: string, token?: string) => {
    const r = await t.gql(MODEL, { id }, token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.teacherModel;
  };

  it('registers a student of two licensed teachers, with its lineage and royalty stack', async () => {
    const t1 = await listedTeacher(t, vendorA, { royalty: { policy: 'LAP', shareBps: 500 } });
    const t2 = await listedTeacher(t, vendorB, { royalty: { policy: 'LRP', shareBps: 1000 } });
    const e1 = await licensed(t, distiller, t1);
    const e2 = await licensed(t, distiller, t2);
    const r = await register(distiller, [e1, { ...e2, relation: 'DISTILLED', method: 'SYNTHETIC_DATA', dataShareBps: 3000 }], { weightsDigest: digest('two-teachers') });
    expect(r.errors).toBeUndefined();
    const student = r.data!.registerStudentModel;
    expect(student).toMatchObject({ __typename: 'TeacherModel', status: 'DRAFT', weightsDigest: digest('two-teachers'), commercialUse: true });

    const m = await modelOf(student.id, distiller.token);
    expect(m.lineage).toMatchObject({ depth: 1, distillationGeneration: 1 });
    expect(m.lineage.ancestors.map((a: { id: string }) => a.id).sort()).toEqual([t1.modelId, t2.modelId].sort());
    const [agreement1] = await t.dataSource.query(`SELECT terms_hash FROM license_agreements WHERE id = $1`, [e1.agreementId]);
    expect(m.lineage.edges).toEqual(
      expect.arrayContaining([
        { parentModelId: t1.modelId, childModelId: student.id, agreementId: e1.agreementId, termsHash: agreement1.terms_hash, relation: 'DISTILLED', method: 'LOGITS', royaltyPolicy: 'LAP', royaltyShareBps: 500 },
        expect.objectContaining({ parentModelId: t2.modelId, method: 'SYNTHETIC_DATA', royaltyPolicy: 'LRP', royaltyShareBps: 1000 }),
      ]),
    );
    expect(m.royaltyStack).toEqual({
      totalBps: 1500,
      entries: [
        { modelId: t2.modelId, organizationId: vendorB.organizationId, policy: 'LRP', shareBps: 1000, depth: 1, agreementId: e2.agreementId },
        { modelId: t1.modelId, organizationId: vendorA.organizationId, policy: 'LAP', shareBps: 500, depth: 1, agreementId: e1.agreementId },
      ],
    });
    const audit = await t.dataSource.query(`SELECT action, data FROM audit_log WHERE target_id = $1 ORDER BY seq`, [student.id]);
    expect(audit.map((a: { action: string }) => a.action)).toEqual(['catalog.model.created', 'provenance.student.registered']);
    expect(audit[1].data.edges).toHaveLength(2);
  });

  it('lets a student be listed as a teacher; a second-generation student owes the original teacher (A→B LAP 5 %, B→C LAP 10 %)', async () => {
    const a = await listedTeacher(t, vendorA, { royalty: { policy: 'LAP', shareBps: 500 } });
    const b = await registerStudent(t, vendorB, [await licensed(t, vendorB, a)]);
    const bOffer = await listWithOffer(t, vendorB, b.id, { policy: 'LAP', shareBps: 1000 });
    const c = await registerStudent(t, distiller, [await licensed(t, distiller, { modelId: b.id, offer: bOffer })]);

    const m = await modelOf(c.id, distiller.token);
    expect(m.lineage).toMatchObject({ depth: 2, distillationGeneration: 2 });
    expect(m.lineage.ancestors).toEqual([
      { id: b.id, depth: 1 },
      { id: a.modelId, depth: 2 },
    ]);
    expect(m.royaltyStack.entries.map((e: { modelId: string; shareBps: number; organizationId: string }) => [e.modelId, e.shareBps, e.organizationId])).toEqual([
      [b.id, 1000, vendorB.organizationId],
      [a.modelId, 500, vendorA.organizationId],
    ]);
    expect(m.royaltyStack.totalBps).toBe(1500);

    // The original teacher's vendor sees its descendants; nobody else does.
    const d = await t.gql(DESCENDANTS, { id: a.modelId }, vendorA.token);
    expect(d.data!.teacherModel.descendants.descendants).toEqual([
      { id: b.id, depth: 1 },
      { id: c.id, depth: 2 },
    ]);
    const other = await t.gql(DESCENDANTS, { id: a.modelId }, distiller.token);
    expect(other.errors![0].extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(DESCENDANTS, { id: a.modelId })).errors![0].extensions.code).toBe('FORBIDDEN');
  });

  it('pays a shared ancestor of a diamond once, with its largest share', async () => {
    const a = await listedTeacher(t, vendorA, { royalty: { policy: 'LAP', shareBps: 300 } });
    const aRich = await t.gql(
      `mutation($i: PublishLicenseOfferInput!) { publishLicenseOffer(input: $i) { id termsHash } }`,
      { i: { modelId: a.modelId, name: 'premium', terms: (await import('./support/licensing')).termsInput({ royalty: { policy: 'LAP', shareBps: 700 } }), pricing: (await import('./support/licensing')).pricingInput() } },
      vendorA.token,
    );
    const b = await registerStudent(t, vendorB, [await licensed(t, vendorB, a)]);
    const bOffer = await listWithOffer(t, vendorB, b.id, { policy: 'LAP', shareBps: 100 });
    const cOwner = await signUp(t, { country: 'JP' });
    const c = await registerStudent(t, cOwner, [{ parentModelId: a.modelId, agreementId: await acceptAgreement(t, cOwner, aRich.data!.publishLicenseOffer) }]);
    const cOffer = await listWithOffer(t, cOwner, c.id, { policy: 'LAP', shareBps: 200 });
    const d = await registerStudent(t, distiller, [await licensed(t, distiller, { modelId: b.id, offer: bOffer }), await licensed(t, distiller, { modelId: c.id, offer: cOffer })]);

    const m = await modelOf(d.id, distiller.token);
    const shares = Object.fromEntries(m.royaltyStack.entries.map((e: { modelId: string; shareBps: number }) => [e.modelId, e.shareBps]));
    expect(shares).toEqual({ [a.modelId]: 700, [b.id]: 100, [c.id]: 200 });
    expect(m.royaltyStack.entries.filter((e: { modelId: string }) => e.modelId === a.modelId)).toHaveLength(1);
    expect(m.lineage.ancestors).toHaveLength(3);
    expect(m.lineage.edges).toHaveLength(4);
  });

  it('computes obligations across the lineage: attributions, naming, NOTICE, flow-down restrictions and conflicts', async () => {
    const llama = await listedTeacher(t, vendorA, {
      royalty: { policy: 'LAP', shareBps: 100 },
      terms: {
        attribution: { displayString: 'Built with Llama', placements: ['MODEL_CARD', 'PRODUCT_UI'], noticeText: 'Llama is licensed under the Llama Community License.' },
        naming: { rule: 'PREFIX_REQUIRED', token: 'Llama' },
        acceptableUsePolicyUrl: 'https://llama.example/aup',
      },
    });
    const gemma = await listedTeacher(t, vendorB, {
      royalty: { policy: 'LAP', shareBps: 100 },
      terms: { attribution: { displayString: 'Gemma is provided under the Gemma Terms', placements: ['NOTICE_FILE'], noticeText: null }, naming: { rule: 'PREFIX_REQUIRED', token: 'Gemma' } },
    });
    const e1 = await licensed(t, distiller, llama);
    const e2 = await licensed(t, distiller, gemma);
    const s = await registerStudent(t, distiller, [e1, e2], { name: 'Llama-Gemma-Mix' });
    const r = await t.gql(
      `query($id: ID!) { teacherModel(id: $id) { obligations {
        attributions { displayString placements fromModelId agreementId }
        naming { rule token satisfied fromModelId } namingSatisfied notice
        useRestrictions { kind value edges { agreementId } }
        conflicts { kind message edges { parentModelId agreementId } } } } }`,
      { id: s.id },
      distiller.token,
    );
    expect(r.errors).toBeUndefined();
    const o = r.data!.teacherModel.obligations;
    expect(o.attributions.map((a: { displayString: string }) => a.displayString).sort()).toEqual(['Built with Llama', 'Gemma is provided under the Gemma Terms']);
    expect(o.naming).toEqual(
      expect.arrayContaining([
        { rule: 'PREFIX_REQUIRED', token: 'Llama', satisfied: true, fromModelId: llama.modelId },
        { rule: 'PREFIX_REQUIRED', token: 'Gemma', satisfied: false, fromModelId: gemma.modelId },
      ]),
    );
    expect(o.namingSatisfied).toBe(false);
    expect(o.notice).toContain('Built with Llama');
    expect(o.notice).toContain('Llama is licensed under the Llama Community License.');
    expect(o.notice).toContain(e2.agreementId);
    expect(o.useRestrictions).toEqual(expect.arrayContaining([{ kind: 'ACCEPTABLE_USE_POLICY', value: 'https://llama.example/aup', edges: [{ agreementId: e1.agreementId }] }]));
    const prefix = o.conflicts.find((c: { kind: string }) => c.kind === 'NAMING_PREFIX_CONFLICT');
    expect(prefix.edges.map((e: { agreementId: string }) => e.agreementId).sort()).toEqual([e1.agreementId, e2.agreementId].sort());
    expect(prefix.message).toMatch(/Llama/);
  });

  describe('refusals', () => {
    it('refuses an edge without an agreement of the registering organization (foreign, wrong model, terminated)', async () => {
      const teacher = await listedTeacher(t, vendorA);
      const theirs = await licensed(t, distiller, teacher);
      // Another organization cannot register lineage on my agreement.
      const stranger = await signUp(t, { country: 'FR' });
      const foreign = await register(stranger, [theirs]);
      expect(foreign.data!.registerStudentModel).toMatchObject({
        __typename: 'LicenceMissingError',
        edges: [{ parentModelId: teacher.modelId, agreementId: theirs.agreementId, reason: 'NO_AGREEMENT', status: null }],
      });
      const other = await listedTeacher(t, vendorA);
      const wrong = await register(distiller, [{ parentModelId: other.modelId, agreementId: theirs.agreementId }]);
      expect(wrong.data!.registerStudentModel.edges[0].reason).toBe('WRONG_MODEL');
      const unknown = await register(distiller, [{ parentModelId: teacher.modelId, agreementId: '00000000-0000-4000-8000-000000000000' }]);
      expect(unknown.data!.registerStudentModel.edges[0].reason).toBe('NO_AGREEMENT');

      const term = await t.gql(
        `mutation($i: AgreementStatusChangeInput!) { terminateAgreement(input: $i) { __typename } }`,
        { i: { id: theirs.agreementId, reason: 'breach' } },
        vendorA.token,
      );
      expect(term.errors).toBeUndefined();
      const terminated = await register(distiller, [theirs]);
      expect(terminated.data!.registerStudentModel.edges[0]).toMatchObject({ reason: 'NOT_ACTIVE', status: 'TERMINATED' });
      expect(await t.dataSource.query(`SELECT 1 FROM models WHERE organization_id = $1`, [stranger.organizationId])).toHaveLength(0);
    });

    it('refuses research-only and non-commercial licences for a commercial model, and accepts them for a research model', async () => {
      const research = await listedTeacher(t, vendorA, { terms: { researchOnly: true, commercialUse: false } });
      const e = await licensed(t, distiller, research);
      const r = await register(distiller, [e]);
      expect(r.data!.registerStudentModel).toMatchObject({ __typename: 'LicenceViolationError', violations: [{ rule: 'RESEARCH_ONLY', agreementId: e.agreementId }] });
      expect(r.data!.registerStudentModel.message).toMatch(/commercialUse: false/);
      const ok = await register(distiller, [e], { commercialUse: false });
      expect(ok.data!.registerStudentModel).toMatchObject({ __typename: 'TeacherModel', commercialUse: false });
    });

    it('refuses a parent whose licence excludes the organization\'s (new) country', async () => {
      const mover = await signUp(t, { country: 'FR' });
      const teacher = await listedTeacher(t, vendorA, { terms: { territory: { excludedCountries: ['KP', 'CU'], endUsersExempt: false } } });
      const e = await licensed(t, mover, teacher);
      await t.gql(`mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { id } }`, { i: { id: mover.organizationId, country: 'CU' } }, mover.token);
      const r = await register(mover, [e]);
      expect(r.data!.registerStudentModel.violations).toEqual([expect.objectContaining({ rule: 'TERRITORY' })]);
    });

    it('refuses a royalty stack above the platform cap (50 %) and writes nothing', async () => {
      const p1 = await listedTeacher(t, vendorA, { royalty: { policy: 'LAP', shareBps: 3000 } });
      const p2 = await listedTeacher(t, vendorB, { royalty: { policy: 'LAP', shareBps: 2500 } });
      const input = studentInput(distiller.organizationId, [await licensed(t, distiller, p1), await licensed(t, distiller, p2)]);
      const r = await t.gql(REGISTER, { i: input }, distiller.token);
      expect(r.data!.registerStudentModel).toMatchObject({ __typename: 'RoyaltyStackTooHighError', totalBps: 5500, capBps: 5000, stack: { totalBps: 5500 } });
      expect(await t.dataSource.query(`SELECT 1 FROM models WHERE weights_digest = $1`, [input.weightsDigest])).toHaveLength(0);
    });

    it('refuses a 17th parent', async () => {
      const many = await signUp(t, { country: 'FR' });
      const edges = [];
      for (let i = 0; i < 17; i++) edges.push(await licensed(t, many, await listedTeacher(t, vendorA, { royalty: { policy: 'LAP', shareBps: 10 } })));
      const r = await register(many, edges);
      expect(r.data!.registerStudentModel).toMatchObject({ __typename: 'TooManyParentsError', parents: 17, max: 16 });
      const ok = await register(many, edges.slice(0, 16));
      expect(ok.data!.registerStudentModel.__typename).toBe('TeacherModel');
      const m = await modelOf(ok.data!.registerStudentModel.id, many.token);
      expect(m.lineage.ancestors).toHaveLength(16);
    });

    it('refuses a lineage reaching more than 1,024 ancestors', async () => {
      // A chain of 1,024 models above a listed teacher, written with SQL (edges need some agreement; any will do here).
      const top = await listedTeacher(t, vendorA, { royalty: { policy: 'LAP', shareBps: 0 } });
      const e = await licensed(t, distiller, top);
      const [{ terms_hash }] = await t.dataSource.query(`SELECT terms_hash FROM license_agreements WHERE id = $1`, [e.agreementId]);
      await t.dataSource.query(
        `WITH chain AS (
           INSERT INTO models (organization_id, slug, name, card, modalities, status)
           SELECT $1, 'chain-' || g, 'Chain ' || g, '{"summary":"x","modalities":["TEXT"]}', '{TEXT}', 'DRAFT' FROM generate_series(1, 1024) g
           RETURNING id, slug)
         , ordered AS (SELECT id, row_number() OVER (ORDER BY split_part(slug, '-', 2)::int) AS n FROM chain)
         INSERT INTO model_lineage_edges (child_model_id, parent_model_id, agreement_id, relation, method, terms_hash, royalty_policy, royalty_share_bps)
         SELECT coalesce(c.id, $2::uuid), p.id, $3, 'FINETUNED', NULL, $4, 'LAP', 0
           FROM ordered p LEFT JOIN ordered c ON c.n = p.n - 1`,
        [vendorA.organizationId, top.modelId, e.agreementId, terms_hash],
      );
      const r = await register(distiller, [e]);
      expect(r.data!.registerStudentModel).toMatchObject({ __typename: 'TooManyAncestorsError', ancestors: 1025, max: 1024 });
    });

    it('refuses a declaration that would close a cycle', async () => {
      // A (vendorA) → S (distiller's student, listed); vendorA licenses S and tries to declare S a parent of A.
      const a = await listedTeacher(t, vendorA, { royalty: { policy: 'LAP', shareBps: 100 } });
      const s = await registerStudent(t, distiller, [await licensed(t, distiller, a)]);
      const sOffer = await listWithOffer(t, distiller, s.id, { policy: 'LAP', shareBps: 100 });
      const back = await licensed(t, vendorA, { modelId: s.id, offer: sOffer });
      const r = await t.gql(DECLARE, { i: { modelId: a.modelId, lineage: [{ ...back, relation: 'FINETUNED' }] } }, vendorA.token);
      expect(r.data!.declareLineage).toMatchObject({ __typename: 'LineageCycleError', parentModelId: s.id });
      expect(await t.dataSource.query(`SELECT 1 FROM model_lineage_edges WHERE child_model_id = $1`, [a.modelId])).toHaveLength(0);
    });

    it('lets an organization declare the lineage of its existing teacher, append-only, and hides foreign models', async () => {
      const base = await listedTeacher(t, vendorB, { royalty: { policy: 'LAP', shareBps: 200 } });
      const mine = await listedTeacher(t, vendorA);
      const e = await licensed(t, vendorA, base);
      const ok = await t.gql(DECLARE, { i: { modelId: mine.modelId, lineage: [{ ...e, relation: 'DISTILLED', method: 'SEQUENCES' }] } }, vendorA.token);
      expect(ok.data!.declareLineage).toMatchObject({ __typename: 'TeacherModel', id: mine.modelId });
      expect((await modelOf(mine.modelId)).royaltyStack.totalBps).toBe(200);
      const again = await t.gql(DECLARE, { i: { modelId: mine.modelId, lineage: [{ ...e, relation: 'DISTILLED', method: 'SEQUENCES' }] } }, vendorA.token);
      expect(again.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      const foreign = await t.gql(DECLARE, { i: { modelId: mine.modelId, lineage: [{ ...e, relation: 'FINETUNED' }] } }, distiller.token);
      expect(foreign.errors![0].extensions.code).toBe('NOT_FOUND');
      expect(foreign.errors![0].message).not.toContain(vendorA.organizationId);
    });

    it('refuses a taken weights digest or slug as results, and malformed input naming the field', async () => {
      const teacher = await listedTeacher(t, vendorA);
      const e = await licensed(t, distiller, teacher);
      const first = await registerStudent(t, distiller, [e], { weightsDigest: digest('unique-weights') });
      const dup = await register(distiller, [e], { weightsDigest: digest('unique-weights') });
      expect(dup.data!.registerStudentModel).toMatchObject({ __typename: 'WeightsDigestTakenError', digest: digest('unique-weights') });
      const [{ slug }] = await t.dataSource.query(`SELECT slug FROM models WHERE id = $1`, [first.id]);
      expect((await register(distiller, [e], { slug })).data!.registerStudentModel.__typename).toBe('SlugTakenError');

      const cases: Array<[Record<string, unknown>, string]> = [
        [{ weightsDigest: 'md5:abc' }, 'weightsDigest'],
        [{ lineage: [] }, 'lineage'],
        [{ lineage: [{ ...e, relation: 'DISTILLED', method: null }] }, 'lineage.0.method'],
        [{ lineage: [{ ...e, relation: 'QUANTIZED', method: 'LOGITS' }] }, 'lineage.0.method'],
        [{ lineage: [{ ...e, relation: 'FINETUNED', method: null }, { ...e, relation: 'FINETUNED', method: null }] }, 'lineage.1.parentModelId'],
        [{ lineage: [{ ...e, relation: 'DISTILLED', method: 'LOGITS', dataShareBps: 10_001 }] }, 'lineage.0.dataShareBps'],
      ];
      for (const [over, field] of cases) {
        const r = await t.gql(REGISTER, { i: { ...studentInput(distiller.organizationId, [e]), ...over } }, distiller.token);
        expect(r.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
        expect(r.errors![0].extensions.fields.map((f: { field: string }) => f.field)).toContain(field);
      }
    });
  });

  it('keeps declared lineage, and the terms agreements accepted, immutable in the database', async () => {
    await expect(t.dataSource.query(`UPDATE model_lineage_edges SET royalty_share_bps = 0`)).rejects.toThrow(/immutable/);
    await expect(t.dataSource.query(`DELETE FROM model_lineage_edges`)).rejects.toThrow(/immutable/);
    await expect(t.dataSource.query(`UPDATE license_agreements SET terms_snapshot = terms_snapshot || '{"researchOnly": true}'`)).rejects.toThrow(/immutable/);
    await expect(t.dataSource.query(`UPDATE license_agreements SET terms_hash = repeat('0', 64)`)).rejects.toThrow(/immutable/);
    // The status still moves.
    await expect(t.dataSource.query(`UPDATE license_agreements SET status_reason = status_reason`)).resolves.toBeDefined();
  });
});
