/**
 * The pages provenance exports link to: every platform URL inside a Hugging
 * Face card and a CycloneDX BOM answers 200 for an anonymous visitor; the
 * licence page shows the offers' canonical terms with their hash, as HTML
 * (escaped) or JSON; unknown, malformed and private ids answer a 404 page.
 */
import { parse as parseYaml } from 'yaml';
import { startTestApp, TestApp } from './support/app';
import { createModel } from './support/licensing';
import { digest, licensed, listedTeacher, listWithOffer, registerStudent } from './support/provenance';
import { signUp, TestUser } from './support/users';

const BASE = 'https://beiming.example/platform';
const URL_RE = /https?:\/\/[^\s"'<>]+/g;

describe('model, licence and verification pages (e2e)', () => {
  let t: TestApp;
  let vendor: TestUser;
  let middle: TestUser;
  let distiller: TestUser;
  let a: Awaited<ReturnType<typeof listedTeacher>>;
  let b: { id: string };
  let bOffer: { id: string; termsHash: string };
  let c: { id: string };
  const weights = digest('pages');

  beforeAll(async () => {
    t = await startTestApp({ publicBaseUrl: BASE });
    vendor = await signUp(t, { organizationName: 'Teacher <Labs> & Co', country: 'US' });
    middle = await signUp(t, { organizationName: 'Middle Co', country: 'DE' });
    distiller = await signUp(t, { country: 'FR' });
    a = await listedTeacher(t, vendor, { royalty: { policy: 'LAP', shareBps: 500 }, terms: { attribution: { displayString: 'Built with <Teacher> & "friends"', placements: ['MODEL_CARD'] } } });
    b = await registerStudent(t, middle, [await licensed(t, middle, a)]);
    bOffer = await listWithOffer(t, middle, b.id, { policy: 'LAP', shareBps: 1000 });
    c = await registerStudent(t, distiller, [await licensed(t, distiller, { modelId: b.id, offer: bOffer })], { weightsDigest: weights });
    const listed = await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { status } }`, { id: c.id }, distiller.token);
    expect(listed.data?.listTeacherModel.status).toBe('LISTED');
    const attested = await t.gql(`mutation($id: ID!) { issueAttestation(modelId: $id) { keyId } }`, { id: c.id }, distiller.token);
    expect(attested.errors).toBeUndefined();
  });
  afterAll(() => t?.close());

  const get = (url: string, headers: Record<string, string> = {}) => t.request({ method: 'GET', url, headers: { 'content-type': '', ...headers } });
  const pathOf = (url: string) => url.slice(BASE.length);

  it('serves every platform URL of the Hugging Face card and the CycloneDX BOM to an anonymous visitor', async () => {
    const r = await t.gql(`query($id: ID!) { teacherModel(id: $id) { huggingFaceCardYaml cycloneDx } }`, { id: c.id });
    expect(r.errors).toBeUndefined();
    const yaml: string = r.data!.teacherModel.huggingFaceCardYaml;
    const bom = JSON.stringify(r.data!.teacherModel.cycloneDx);
    const urls = [...new Set([...(yaml.match(URL_RE) ?? []), ...(bom.match(URL_RE) ?? [])])];
    const platform = urls.filter((u) => u.startsWith(`${BASE}/`));
    // Nothing else is linked but the BOM's schema.
    expect(urls.filter((u) => !u.startsWith(`${BASE}/`))).toEqual(['http://cyclonedx.org/schema/bom-1.6.schema.json']);
    const card = parseYaml(yaml.replace(/^---\n/, '').replace(/\n---\n?$/, ''));
    expect(platform).toEqual(expect.arrayContaining([card.license_link, `${BASE}/models/${c.id}`, `${BASE}/verify/${encodeURIComponent(weights)}`, `${BASE}/.well-known/beiming-keys.json`]));
    for (const url of platform) {
      const res = await get(pathOf(url));
      expect({ url, status: res.status }).toEqual({ url, status: 200 });
    }
  });

  it('shows the offers with their terms hash and the inherited licences, escaped, on the licence page', async () => {
    const page = await get(`/models/${b.id}/licence`, { accept: 'text/html' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain(`sha256:${bOffer.termsHash}`);
    expect(page.text).toContain(`sha256:${a.offer.termsHash}`); // the licence b is bound by
    expect(page.text).toContain('Built with &lt;Teacher&gt; &amp; &quot;friends&quot;');
    expect(page.text).not.toContain('<Teacher>');
    const teacherPage = await get(`/models/${a.modelId}`);
    expect(teacherPage.text).toContain('Teacher &lt;Labs&gt; &amp; Co');
    expect(teacherPage.text).not.toContain('<Labs>');
  });

  it('answers JSON on ?format=json or Accept: application/json', async () => {
    for (const res of [await get(`/models/${b.id}/licence?format=json`), await get(`/models/${b.id}/licence`, { accept: 'application/json' })]) {
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body.offers).toEqual([expect.objectContaining({ id: bOffer.id, version: 1, termsHash: `sha256:${bOffer.termsHash}` })]);
      expect(res.body.offers[0].terms.royalty).toEqual({ policy: 'LAP', shareBps: 1000 });
      expect(res.body.inherited).toEqual([expect.objectContaining({ parentModelId: a.modelId, termsHash: `sha256:${a.offer.termsHash}` })]);
      expect(res.body.licenceName).toMatch(/^beiming-lineage-[0-9a-f]{12}$/);
    }
    const verify = await get(`/verify/${encodeURIComponent(weights)}?format=json`);
    expect(verify.body.model.id).toBe(c.id);
    expect(verify.body.latestAttestation.document.signature).toEqual(expect.any(String));
  });

  it('answers a 404 page for unknown, malformed and private ids, and shows a private model to its members', async () => {
    const draft = await createModel(t, vendor, { list: false });
    const stranger = await signUp(t, { country: 'US' });
    const cases: Array<[string, Record<string, string>]> = [
      [`/models/00000000-0000-4000-8000-000000000000`, {}],
      [`/models/00000000-0000-4000-8000-000000000000/licence`, {}],
      [`/models/not-a-uuid/licence`, {}],
      [`/models/${encodeURIComponent("'; drop table models; --")}`, {}],
      [`/models/${draft.id}/licence`, {}],
      [`/models/${draft.id}/licence`, { authorization: `Bearer ${stranger.token}` }],
      [`/verify/${encodeURIComponent(digest('nobody'))}`, {}],
      [`/verify/not-a-digest`, {}],
    ];
    for (const [url, headers] of cases) {
      const res = await get(url, headers);
      expect({ url, status: res.status, html: /^text\/html/.test(String(res.headers['content-type'])) }).toEqual({ url, status: 404, html: true });
      expect(res.text).toContain('Not found');
    }
    const json = await get(`/models/${draft.id}?format=json`);
    expect(json.status).toBe(404);
    expect(json.body.error.code).toBe('NOT_FOUND');
    const mine = await get(`/models/${draft.id}/licence`, { authorization: `Bearer ${vendor.token}` });
    expect(mine.status).toBe(200);
  });
});
