import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import fc from 'fast-check';
import type { ModelCard } from '../../catalog/model.entity';
import { attribution, lineageOf, shuffledLineage, syntheticLineage } from '../../../test/fixtures/lineage.fixtures';
import type { Lineage } from '../lineage/lineage.types';
import { royaltyStack } from '../lineage/royalty-stack';
import { LineageRelation } from '../provenance.entity';
import { agreementLicenceName, CdxComponent, cycloneDxBom, CycloneDxBom, hashesOf, uuidV5 } from './cyclonedx';
import { beimingLicenceName, ProvenanceExportInput } from './huggingface-card';

const validators = {
  '1.6': new Validation.JsonStrictValidator(Spec.Version.v1dot6),
  '1.7': new Validation.JsonStrictValidator(Spec.Version.v1dot7),
};

/** null when valid, the schema errors otherwise. */
async function schemaErrors(bom: unknown, version: '1.6' | '1.7' = '1.6'): Promise<unknown> {
  return validators[version].validate(JSON.stringify(bom));
}

const card = (overrides: Partial<ModelCard> = {}): ModelCard => ({
  summary: 'A distilled student.',
  parameterCount: '7000000000',
  modalities: ['TEXT', 'CODE'],
  contextLength: 8192,
  languages: ['en'],
  trainingDataSummary: 'Teacher outputs on licensed prompts.',
  evaluations: [{ benchmark: 'MMLU', metric: 'accuracy', value: 0.712 }],
  intendedUses: ['chat'],
  limitations: ['English only'],
  baseModels: [],
  ...overrides,
});

const hex = (c: string) => c.repeat(64);
const digestOf = (id: string) => `sha256:${hex(id.toLowerCase().charCodeAt(0).toString(16).slice(-1))}`;

function withDigests(lineage: Lineage): Lineage {
  return { ...lineage, ancestors: lineage.ancestors.map((a) => ({ ...a, weightsDigest: digestOf(a.modelId) })) };
}

function inputFor(lineage: Lineage, overrides: Partial<ProvenanceExportInput> = {}): ProvenanceExportInput {
  const root = lineage.root;
  return {
    model: {
      id: root.modelId,
      name: root.name,
      slug: root.slug,
      organizationId: root.organizationId,
      organizationName: 'Student Org',
      weightsDigest: `sha256:${'AB'.repeat(32)}`,
      card: card(),
      commercialUse: root.commercialUse,
    },
    lineage,
    royaltyStack: royaltyStack(lineage),
    obligations: { attributions: [{ displayString: 'Built with Llama' }], notice: 'Llama is licensed under the Llama Community License.' },
    certification: { status: 'CERTIFIED', certifiedAt: new Date('2026-01-02T03:04:05Z'), expiresAt: new Date('2027-01-02T03:04:05Z') },
    publicBaseUrl: 'https://beiming.example',
    organizationNames: { 'org:A': 'Acme Labs' },
    ...overrides,
  };
}

const lineages: Record<string, () => Lineage> = {
  none: () => lineageOf([], 'T'),
  'one parent': () => withDigests(lineageOf([{ parent: 'A', child: 'S', policy: 'LAP', shareBps: 500, agreementId: 'agr-1' }], 'S')),
  diamond: () =>
    withDigests(
      lineageOf(
        [
          { parent: 'A', child: 'B', policy: 'LAP', shareBps: 500, terms: attribution('Built with A') },
          { parent: 'A', child: 'D', policy: 'LAP', shareBps: 700 },
          { parent: 'B', child: 'S', relation: LineageRelation.MERGED, policy: 'LRP', shareBps: 200 },
          { parent: 'D', child: 'S', relation: LineageRelation.QUANTIZED },
        ],
        'S',
      ),
    ),
  'three generations': () =>
    lineageOf(
      [
        { parent: 'A', child: 'B', policy: 'LAP', shareBps: 500 },
        { parent: 'B', child: 'C', policy: 'LAP', shareBps: 1000, relation: LineageRelation.FINETUNED },
        { parent: 'C', child: 'S', policy: 'LRP', shareBps: 300 },
      ],
      'S',
    ),
};

const ancestorsOf = (bom: CycloneDxBom): CdxComponent[] => bom.metadata.component.pedigree?.ancestors ?? [];
const prop = (c: CdxComponent, name: string) => c.properties?.filter((p) => p.name === name).map((p) => p.value);

describe('cycloneDxBom: valid against the official CycloneDX schema', () => {
  for (const [label, make] of Object.entries(lineages)) {
    for (const version of ['1.6', '1.7'] as const) {
      it(`${label}, spec ${version}`, async () => {
        const bom = cycloneDxBom(inputFor(make()), { specVersion: version });
        expect(bom.specVersion).toBe(version);
        expect(await schemaErrors(bom, version)).toBeNull();
      });
    }
  }

  it('a model with an empty card, no digest and no certification', async () => {
    const input = inputFor(lineages.diamond(), { certification: null, obligations: { attributions: [], notice: '' } });
    input.model = {
      ...input.model,
      weightsDigest: null,
      card: card({ summary: '', parameterCount: null, contextLength: null, modalities: [], languages: [], evaluations: [], intendedUses: [], limitations: [], trainingDataSummary: null }),
    };
    const bom = cycloneDxBom(input);
    expect(bom.metadata.component).not.toHaveProperty('hashes');
    expect(bom.metadata.component).not.toHaveProperty('modelCard');
    expect(bom.metadata.component).not.toHaveProperty('description');
    expect(prop(bom.metadata.component, 'beiming:certification:status')).toEqual(['NONE']);
    expect(await schemaErrors(bom)).toBeNull();
  });

  it('a generated lineage of 1,024 ancestors, with a timestamp', async () => {
    const lineage = syntheticLineage({ ancestors: 1024 });
    const bom = cycloneDxBom(inputFor(lineage), { timestamp: new Date('2026-05-01T00:00:00Z') });
    expect(ancestorsOf(bom)).toHaveLength(1024);
    expect(bom.metadata.timestamp).toBe('2026-05-01T00:00:00.000Z');
    expect(await schemaErrors(bom)).toBeNull();
  });

  it('any names and texts still give a valid BOM', async () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 30 });
    await fc.assert(
      fc.asyncProperty(text, text, text, text, async (name, parentName, orgName, notice) => {
        const lineage = withDigests(lineageOf([{ parent: 'A', child: 'S' }], 'S', { names: { S: name, A: parentName } }));
        const input = inputFor(lineage, { organizationNames: { 'org:A': orgName }, obligations: { attributions: [{ displayString: notice }], notice } });
        input.model = { ...input.model, name, organizationName: orgName };
        const bom = cycloneDxBom(input);
        expect(bom.metadata.component.name).toBe(name);
        expect(ancestorsOf(bom)[0].name).toBe(parentName);
        expect(await schemaErrors(bom)).toBeNull();
      }),
      { numRuns: 50 },
    );
  });
});

describe('the validator rejects invalid BOMs (so the tests above can fail)', () => {
  const valid = () => cycloneDxBom(inputFor(lineages['one parent']()));

  it('a wrong hash algorithm name', async () => {
    const bom = valid();
    (bom.metadata.component.hashes![0] as { alg: string }).alg = 'SHA256';
    const errors = await schemaErrors(bom);
    expect(errors).not.toBeNull();
    expect(JSON.stringify(errors)).toMatch(/alg/);
  });

  it('a hash content that is not hex of a known length', async () => {
    const bom = valid();
    ancestorsOf(bom)[0].hashes![0].content = 'abc';
    expect(await schemaErrors(bom)).not.toBeNull();
  });

  it('an unknown component type, an unknown field, a bad serial number', async () => {
    const a = valid();
    (a.metadata.component as { type: string }).type = 'distilled-model';
    expect(await schemaErrors(a)).not.toBeNull();
    const b = valid();
    (ancestorsOf(b)[0] as unknown as Record<string, unknown>).relation = 'DISTILLED';
    expect(await schemaErrors(b)).not.toBeNull();
    const c = valid();
    c.serialNumber = 'urn:uuid:not-a-uuid';
    expect(await schemaErrors(c)).not.toBeNull();
  });
});

describe('cycloneDxBom: content', () => {
  it('the model as metadata.component: machine-learning-model, bom-ref = id, SHA-256 hash, licence, links, model card', () => {
    const input = inputFor(lineages['one parent']());
    const bom = cycloneDxBom(input);
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.version).toBe(1);
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const c = bom.metadata.component;
    expect(c.type).toBe('machine-learning-model');
    expect(c['bom-ref']).toBe('S');
    expect(c.name).toBe('Model S');
    expect(c.supplier).toEqual({ name: 'Student Org' });
    expect(c.description).toBe('A distilled student.');
    expect(c.hashes).toEqual([{ alg: 'SHA-256', content: 'ab'.repeat(32) }]);
    expect(c.licenses).toEqual([
      { license: { name: beimingLicenceName(input.lineage.edges), acknowledgement: 'declared', url: 'https://beiming.example/models/S/licence' } },
    ]);
    expect(c.externalReferences?.map((r) => [r.type, r.url])).toEqual([
      ['website', 'https://beiming.example/models/S'],
      ['license', 'https://beiming.example/models/S/licence'],
      ['attestation', `https://beiming.example/verify/${encodeURIComponent(input.model.weightsDigest!)}`],
      ['other', 'https://beiming.example/.well-known/beiming-keys.json'],
    ]);
    expect(c.modelCard).toEqual({
      quantitativeAnalysis: { performanceMetrics: [{ type: 'accuracy', value: '0.712', slice: 'MMLU' }] },
      considerations: { useCases: ['chat'], technicalLimitations: ['English only'] },
      properties: [
        { name: 'beiming:parameterCount', value: '7000000000' },
        { name: 'beiming:contextLength', value: '8192' },
        { name: 'beiming:modality', value: 'TEXT' },
        { name: 'beiming:modality', value: 'CODE' },
        { name: 'beiming:language', value: 'en' },
        { name: 'beiming:trainingDataSummary', value: 'Teacher outputs on licensed prompts.' },
      ],
    });
    expect(c.tags).toEqual(['beiming', 'distillation']);
    expect(prop(c, 'beiming:lineage:distillationGeneration')).toEqual(['1']);
    expect(prop(c, 'beiming:royalty:totalBps')).toEqual(['500']);
    expect(prop(c, 'beiming:certification:status')).toEqual(['CERTIFIED']);
    expect(prop(c, 'beiming:certification:expiresAt')).toEqual(['2027-01-02T03:04:05.000Z']);
    expect(prop(c, 'beiming:attribution')).toEqual(['Built with Llama']);
    expect(prop(c, 'beiming:notice')).toEqual(['Llama is licensed under the Llama Community License.']);
  });

  it('a parent as pedigree ancestor: hashes, agreement licence, edge and royalty properties', () => {
    const lineage = lineages['one parent']();
    const bom = cycloneDxBom(inputFor(lineage));
    const [a] = ancestorsOf(bom);
    const termsHash = `sha256:${lineage.edges[0].termsHash}`;
    expect(a).toMatchObject({ type: 'machine-learning-model', 'bom-ref': 'A', name: 'Model A', supplier: { name: 'Acme Labs' } });
    expect(a.hashes).toEqual([{ alg: 'SHA-256', content: hex('1') }]);
    expect(a.licenses).toEqual([{ license: { name: `Beiming agreement agr-1 (terms ${termsHash})`, acknowledgement: 'concluded' } }]);
    expect(a.properties).toEqual([
      { name: 'beiming:slug', value: 'model-a' },
      { name: 'beiming:organizationId', value: 'org:A' },
      { name: 'beiming:commercialUse', value: 'true' },
      { name: 'beiming:weightsDigest', value: `sha256:${hex('1')}` },
      { name: 'beiming:lineage:depth', value: '1' },
      { name: 'beiming:edge:S:relation', value: 'DISTILLED' },
      { name: 'beiming:edge:S:method', value: 'LOGITS' },
      { name: 'beiming:edge:S:agreementId', value: 'agr-1' },
      { name: 'beiming:edge:S:termsHash', value: termsHash },
      { name: 'beiming:royalty:LAP:shareBps', value: '500' },
      { name: 'beiming:royalty:LAP:agreementId', value: 'agr-1' },
    ]);
    expect(bom.metadata.component.pedigree?.notes).toContain(`Model S [S] ← DISTILLED (LOGITS) ← Model A [A]; agreement agr-1; terms ${termsHash}`);
    expect(bom.dependencies).toEqual([
      { ref: 'S', dependsOn: ['A'] },
      { ref: 'A', dependsOn: [] },
    ]);
  });

  it('a diamond: the shared ancestor once with both edges and both agreements; dependencies are the DAG', () => {
    const lineage = lineages.diamond();
    const bom = cycloneDxBom(inputFor(lineage));
    const ancestors = ancestorsOf(bom);
    expect(ancestors.map((a) => a['bom-ref'])).toEqual(['B', 'D', 'A']);
    const a = ancestors[2];
    expect(prop(a, 'beiming:edge:B:relation')).toEqual(['DISTILLED']);
    expect(prop(a, 'beiming:edge:D:relation')).toEqual(['DISTILLED']);
    expect(a.licenses?.map((l) => l.license.name)).toEqual(
      lineage.edges.filter((e) => e.parentModelId === 'A').sort((x, y) => (x.childModelId < y.childModelId ? -1 : 1)).map(agreementLicenceName),
    );
    expect(prop(a, 'beiming:royalty:LAP:shareBps')).toEqual(['700']); // largest share, counted once
    expect(prop(ancestors[0], 'beiming:edge:S:relation')).toEqual(['MERGED']);
    expect(prop(ancestors[0], 'beiming:edge:S:method')).toEqual([]);
    expect(prop(ancestors[1], 'beiming:edge:S:relation')).toEqual(['QUANTIZED']);
    expect(bom.dependencies).toEqual([
      { ref: 'S', dependsOn: ['B', 'D'] },
      { ref: 'B', dependsOn: ['A'] },
      { ref: 'D', dependsOn: ['A'] },
      { ref: 'A', dependsOn: [] },
    ]);
    expect(bom.metadata.component.tags).toEqual(['beiming', 'distillation']);
  });

  it('every bom-ref is unique and every dependency names one (which the schema does not check)', () => {
    for (const make of [...Object.values(lineages), () => syntheticLineage({ ancestors: 300, seed: 7 })]) {
      const bom = cycloneDxBom(inputFor(make()));
      const refs = [bom.metadata.component['bom-ref'], ...ancestorsOf(bom).map((a) => a['bom-ref'])];
      expect(new Set(refs).size).toBe(refs.length);
      const known = new Set(refs);
      for (const d of bom.dependencies) {
        expect(known.has(d.ref)).toBe(true);
        for (const p of d.dependsOn) expect(known.has(p)).toBe(true);
      }
      expect(bom.dependencies.map((d) => d.ref).sort()).toEqual([...refs].sort());
      const edgeCount = bom.dependencies.reduce((n, d) => n + d.dependsOn.length, 0);
      expect(edgeCount).toBe(make().edges.length);
    }
  });

  it('a three-generation chain: grandparents are ancestors too, each edge described on its parent', () => {
    const bom = cycloneDxBom(inputFor(lineages['three generations']()));
    const [c, b, a] = ancestorsOf(bom);
    expect([c, b, a].map((x) => [x['bom-ref'], prop(x, 'beiming:lineage:depth')![0]])).toEqual([
      ['C', '1'],
      ['B', '2'],
      ['A', '3'],
    ]);
    expect(prop(b, 'beiming:edge:C:relation')).toEqual(['FINETUNED']);
    expect(prop(a, 'beiming:edge:B:relation')).toEqual(['DISTILLED']);
    expect(a.hashes).toBeUndefined(); // digest unknown
    expect(a.supplier).toEqual({ name: 'Acme Labs' });
    expect(b.supplier).toBeUndefined(); // organization name unknown
    expect(prop(bom.metadata.component, 'beiming:lineage:distillationGeneration')).toEqual(['2']);
  });

  it('is reproducible: same lineage in any order → same JSON and serial number; a change → another serial number', () => {
    const lineage = lineages.diamond();
    const first = JSON.stringify(cycloneDxBom(inputFor(lineage)));
    for (let seed = 1; seed <= 10; seed++) {
      expect(JSON.stringify(cycloneDxBom(inputFor(shuffledLineage(lineage, seed), { royaltyStack: royaltyStack(lineage) })))).toBe(first);
    }
    const serial = (i: ProvenanceExportInput, t?: Date) => cycloneDxBom(i, { timestamp: t }).serialNumber;
    const base = serial(inputFor(lineage));
    const renamed = inputFor(lineage);
    renamed.model = { ...renamed.model, name: 'Other' };
    expect(serial(renamed)).not.toBe(base);
    const otherAgreement = { ...lineage, edges: lineage.edges.map((e, i) => (i === 0 ? { ...e, agreementId: 'agr-x' } : e)) };
    expect(serial(inputFor(otherAgreement, { royaltyStack: royaltyStack(lineage) }))).not.toBe(base);
    expect(serial(inputFor(lineage), new Date(0))).not.toBe(base);
    expect(serial(inputFor(lineage), new Date(0))).toBe(serial(inputFor(lineage), new Date(0)));
  });
});

describe('helpers', () => {
  it('uuidV5 matches the RFC 9562 reference (DNS namespace, www.example.com)', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(() => uuidV5('nope', 'x')).toThrow(/not a UUID/);
  });

  it('hashesOf: known algorithms with the right length, lowercase hex; anything else gives no hash', () => {
    expect(hashesOf(`sha256:${'AB'.repeat(32)}`)).toEqual([{ alg: 'SHA-256', content: 'ab'.repeat(32) }]);
    expect(hashesOf(`SHA512:${'0'.repeat(128)}`)).toEqual([{ alg: 'SHA-512', content: '0'.repeat(128) }]);
    expect(hashesOf(`sha3-256:${'0'.repeat(64)}`)).toEqual([{ alg: 'SHA3-256', content: '0'.repeat(64) }]);
    expect(hashesOf(`sha256:${'0'.repeat(63)}`)).toBeUndefined();
    expect(hashesOf(`md5:${'0'.repeat(32)}`)).toBeUndefined();
    expect(hashesOf(`constructor:${'0'.repeat(64)}`)).toBeUndefined();
    expect(hashesOf('0'.repeat(64))).toBeUndefined();
    expect(hashesOf(null)).toBeUndefined();
  });
});
