/**
 * TeacherModel.huggingFaceCardYaml and cycloneDx through the API: a
 * second-generation student's exports name its lineage, and the BOM validates
 * against the official CycloneDX schema.
 */
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { parse as parseYaml } from 'yaml';
import { startTestApp, TestApp } from './support/app';
import { digest, licensed, listedTeacher, listWithOffer, registerStudent } from './support/provenance';
import { signUp } from './support/users';

describe('provenance exports (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ publicBaseUrl: 'https://beiming.example' });
  });
  afterAll(() => t.close());

  it('exports a Hugging Face card and a valid CycloneDX ML-BOM with the whole lineage', async () => {
    const vendor = await signUp(t, { organizationName: 'Teacher Labs', country: 'US' });
    const middle = await signUp(t, { organizationName: 'Middle Co', country: 'DE' });
    const distiller = await signUp(t, { country: 'FR' });
    const a = await listedTeacher(t, vendor, { royalty: { policy: 'LAP', shareBps: 500 } });
    const b = await registerStudent(t, middle, [await licensed(t, middle, a)]);
    const bOffer = await listWithOffer(t, middle, b.id, { policy: 'LAP', shareBps: 1000 });
    const weights = digest('exported');
    const c = await registerStudent(t, distiller, [await licensed(t, distiller, { modelId: b.id, offer: bOffer })], { weightsDigest: weights });

    const r = await t.gql(`query($id: ID!) { teacherModel(id: $id) { huggingFaceCardYaml cycloneDx } }`, { id: c.id }, distiller.token);
    expect(r.errors).toBeUndefined();
    const yaml: string = r.data!.teacherModel.huggingFaceCardYaml;
    expect(yaml.startsWith('---\n')).toBe(true);
    const card = parseYaml(yaml.replace(/^---\n/, '').replace(/\n---\n?$/, ''));
    expect(card.license).toBe('other');
    expect(card.base_model).toEqual([expect.stringMatching(/\//)]);
    expect(card.distillation.generation).toBe(2);
    expect(JSON.stringify(card.beiming)).toContain(a.modelId);
    expect(card.license_link).toMatch(/^https:\/\/beiming\.example\//);

    const bom = r.data!.teacherModel.cycloneDx;
    const problems = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(JSON.stringify(bom));
    expect(problems).toBeNull();
    expect(bom.metadata.component).toMatchObject({ type: 'machine-learning-model', 'bom-ref': c.id, hashes: [{ alg: 'SHA-256', content: weights.slice(7) }] });
    expect(bom.metadata.component.pedigree.ancestors.map((x: { 'bom-ref': string }) => x['bom-ref']).sort()).toEqual([a.modelId, b.id].sort());
  });
});
