import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import type { ModelCard } from '../../catalog/model.entity';
import { attribution, edgeOf, lineageFromEdges, lineageOf, shuffledLineage, syntheticLineage } from '../../../test/fixtures/lineage.fixtures';
import type { Lineage } from '../lineage/lineage.types';
import { InconsistentLineageError, royaltyStack } from '../lineage/royalty-stack';
import { DistillationMethod, LineageRelation } from '../provenance.entity';
import {
  beimingLicenceName,
  exportLinks,
  huggingFaceBaseModelRelation,
  huggingFaceCardMetadata,
  huggingFaceCardYaml,
  huggingFaceNamespace,
  plainIsString,
  ProvenanceExportInput,
} from './huggingface-card';

const card = (overrides: Partial<ModelCard> = {}): ModelCard => ({
  summary: 'A student.',
  parameterCount: '7000000000',
  modalities: ['TEXT'],
  contextLength: 8192,
  languages: ['en', 'zh-Hans'],
  trainingDataSummary: null,
  evaluations: [],
  intendedUses: [],
  limitations: [],
  baseModels: [],
  ...overrides,
});

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function inputFor(lineage: Lineage, overrides: Partial<ProvenanceExportInput> = {}): ProvenanceExportInput {
  const root = lineage.root;
  return {
    model: {
      id: root.modelId,
      name: root.name,
      slug: root.slug,
      organizationId: root.organizationId,
      organizationName: 'Student Org',
      weightsDigest: DIGEST,
      card: card(),
      commercialUse: root.commercialUse,
    },
    lineage,
    royaltyStack: royaltyStack(lineage),
    obligations: { attributions: [{ displayString: 'Built with Llama' }], notice: 'Llama is licensed under the Llama Community License.\nCopyright Meta.' },
    certification: { status: 'CERTIFIED', certifiedAt: new Date('2026-01-02T03:04:05Z'), expiresAt: new Date('2027-01-02T03:04:05Z') },
    publicBaseUrl: 'https://beiming.example/',
    organizationNames: { 'org:A': 'Acme Labs', 'org:B': 'Bravo AI', 'org:D': 'Ünïcode Ørg' },
    ...overrides,
  };
}

/** Splits the front matter into its body, checking the `---` fences. */
function body(yaml: string): string {
  expect(yaml.startsWith('---\n')).toBe(true);
  expect(yaml.endsWith('\n---\n')).toBe(true);
  const lines = yaml.split('\n');
  // Only the two fences are document markers at column 0.
  expect(lines.filter((l) => l === '---' || l.startsWith('--- ') || l === '...')).toEqual(['---', '---']);
  return yaml.slice(4, -4);
}

function parsed(yaml: string): any {
  return parseYaml(body(yaml));
}

const chain3 = () =>
  lineageOf(
    [
      { parent: 'A', child: 'B', policy: 'LAP', shareBps: 500, terms: attribution('Built with A') },
      { parent: 'B', child: 'C', policy: 'LAP', shareBps: 1000 },
      { parent: 'C', child: 'S', policy: 'LRP', shareBps: 300 },
    ],
    'S',
  );

describe('huggingFaceCardYaml', () => {
  it('a model without lineage: licence fields, no base_model, no distillation key', () => {
    const lineage = lineageOf([], 'T');
    const meta = parsed(huggingFaceCardYaml(inputFor(lineage, { certification: null })));
    expect(meta.license).toBe('other');
    expect(meta.license_name).toBe('beiming-platform-terms');
    expect(meta.license_link).toBe('https://beiming.example/models/T/licence');
    expect(meta).not.toHaveProperty('base_model');
    expect(meta).not.toHaveProperty('base_model_relation');
    expect(meta).not.toHaveProperty('distillation');
    expect(meta.tags).toEqual(['beiming']);
    expect(meta.language).toEqual(['en', 'zh-Hans']);
    expect(meta.beiming.certification).toEqual({ status: 'NONE', certified_at: null, expires_at: null });
    expect(meta.beiming.lineage).toEqual({ distillation_generation: 0, depth: 0, parents: [], ancestors: [], edges: [] });
    expect(meta.beiming.weights_digest).toBe(DIGEST);
  });

  it('one distilled parent: base_model, finetune relation, distillation key, full edge details', () => {
    const lineage = lineageOf([{ parent: 'A', child: 'S', policy: 'LAP', shareBps: 500, agreementId: 'agr-1' }], 'S');
    const input = inputFor(lineage);
    const meta = parsed(huggingFaceCardYaml(input));
    expect(meta.base_model).toEqual(['Acme-Labs/model-a']);
    expect(meta.base_model_relation).toBe('finetune');
    expect(meta.tags).toEqual(['beiming', 'distillation']);
    expect(meta.distillation).toEqual({ generation: 1, teachers: [{ model: 'Acme-Labs/model-a', model_id: 'A', method: 'LOGITS' }] });
    const termsHash = `sha256:${lineage.edges[0].termsHash}`;
    expect(meta.beiming.lineage.parents).toEqual([
      {
        model: 'Acme-Labs/model-a',
        model_id: 'A',
        relation: 'DISTILLED',
        hf_relation: 'finetune',
        method: 'LOGITS',
        agreement_id: 'agr-1',
        terms_hash: termsHash,
        data_share_bps: null,
      },
    ]);
    expect(meta.beiming.lineage.ancestors).toEqual([
      {
        model: 'Acme-Labs/model-a',
        model_id: 'A',
        name: 'Model A',
        slug: 'model-a',
        organization: { id: 'org:A', name: 'Acme Labs' },
        weights_digest: null,
        commercial_use: true,
        depth: 1,
      },
    ]);
    expect(meta.beiming.royalties).toEqual({
      total_bps: 500,
      entries: [{ model_id: 'A', organization_id: 'org:A', policy: 'LAP', share_bps: 500, depth: 1, agreement_id: 'agr-1' }],
    });
    expect(meta.beiming.attribution).toEqual(['Built with Llama']);
    expect(meta.beiming.notice).toBe('Llama is licensed under the Llama Community License.\nCopyright Meta.');
    expect(meta.beiming.certification).toEqual({
      status: 'CERTIFIED',
      certified_at: '2026-01-02T03:04:05.000Z',
      expires_at: '2027-01-02T03:04:05.000Z',
    });
    expect(meta.beiming.verification).toEqual({
      url: `https://beiming.example/verify/${encodeURIComponent(DIGEST)}`,
      keys_url: 'https://beiming.example/.well-known/beiming-keys.json',
    });
    expect(meta.license_name).toMatch(/^beiming-lineage-[0-9a-f]{12}$/);
  });

  it('a three-generation chain: only the direct parent in base_model, the whole chain under beiming.lineage', () => {
    const meta = parsed(huggingFaceCardYaml(inputFor(chain3())));
    expect(meta.base_model).toEqual(['org-C/model-c']); // no organization name known for org:C → its id, reduced
    expect(meta.distillation.generation).toBe(3);
    expect(meta.beiming.lineage.depth).toBe(3);
    expect(meta.beiming.lineage.ancestors.map((a: any) => [a.model_id, a.depth])).toEqual([
      ['C', 1],
      ['B', 2],
      ['A', 3],
    ]);
    expect(meta.beiming.lineage.edges.map((e: any) => `${e.parent_id}->${e.child_id}`)).toEqual(['A->B', 'B->C', 'C->S']);
    expect(meta.beiming.royalties.total_bps).toBe(1800);
  });

  it('a diamond: both parents, the shared ancestor once, merge wins over finetune', () => {
    const lineage = lineageOf(
      [
        { parent: 'A', child: 'B', policy: 'LAP', shareBps: 500 },
        { parent: 'A', child: 'D', policy: 'LAP', shareBps: 700 },
        { parent: 'B', child: 'S', relation: LineageRelation.MERGED },
        { parent: 'D', child: 'S' },
      ],
      'S',
    );
    const meta = parsed(huggingFaceCardYaml(inputFor(lineage)));
    expect(meta.base_model).toEqual(['Bravo-AI/model-b', 'Unicode-rg/model-d']);
    expect(meta.base_model_relation).toBe('merge');
    expect(meta.beiming.lineage.ancestors.map((a: any) => a.model_id)).toEqual(['B', 'D', 'A']);
    expect(meta.beiming.lineage.edges).toHaveLength(4);
    expect(meta.distillation.teachers.map((t: any) => t.model_id)).toEqual(['D']);
  });

  it('a generated lineage of 1,024 ancestors', () => {
    const lineage = syntheticLineage({ ancestors: 1024 });
    const meta = parsed(huggingFaceCardYaml(inputFor(lineage)));
    expect(meta.beiming.lineage.ancestors).toHaveLength(1024);
    expect(meta.beiming.lineage.edges).toHaveLength(lineage.edges.length);
    expect(meta.base_model).toHaveLength(lineage.edges.filter((e) => e.childModelId === 'M0').length);
  });

  it('base_model uses the Hugging Face repository ids when the caller knows them', () => {
    const lineage = lineageOf([{ parent: 'A', child: 'S' }], 'S');
    const meta = parsed(huggingFaceCardYaml(inputFor(lineage, { huggingFaceRepoIds: { A: 'meta-llama/Llama-3.1-8B' } })));
    expect(meta.base_model).toEqual(['meta-llama/Llama-3.1-8B']);
    expect(meta.distillation.teachers[0].model).toBe('meta-llama/Llama-3.1-8B');
  });

  it('is deterministic: the same lineage in another order gives the same bytes', () => {
    const lineage = lineageOf(
      [
        { parent: 'A', child: 'B' },
        { parent: 'A', child: 'D' },
        { parent: 'B', child: 'S' },
        { parent: 'D', child: 'S', relation: LineageRelation.QUANTIZED },
        { parent: 'E', child: 'S', relation: LineageRelation.FINETUNED },
      ],
      'S',
    );
    const first = huggingFaceCardYaml(inputFor(lineage));
    for (let seed = 1; seed <= 10; seed++) {
      const shuffled = shuffledLineage(lineage, seed);
      expect(huggingFaceCardYaml(inputFor(shuffled, { royaltyStack: royaltyStack(lineage) }))).toBe(first);
    }
    expect(huggingFaceCardYaml(inputFor(lineage))).toBe(first);
  });

  it('quotes strings a YAML 1.1 reader would take for booleans, numbers or dates', () => {
    const lineage = lineageOf([{ parent: 'A', child: 'S' }], 'S', { names: { S: 'yes', A: 'on' } });
    const input = inputFor(lineage, {
      obligations: { attributions: [{ displayString: '12:30' }, { displayString: '1_000' }, { displayString: '2025-01-01' }], notice: 'no' },
      organizationNames: { 'org:A': 'Off' },
    });
    const yaml = huggingFaceCardYaml(input);
    for (const version of ['1.1', '1.2'] as const) {
      const meta = parseYaml(body(yaml), { version });
      expect(meta.beiming.name).toBe('yes');
      expect(meta.beiming.lineage.ancestors[0].name).toBe('on');
      expect(meta.beiming.lineage.ancestors[0].organization.name).toBe('Off');
      expect(meta.beiming.attribution).toEqual(['12:30', '1_000', '2025-01-01']);
      expect(meta.beiming.notice).toBe('no');
    }
  });

  it('any names and texts round-trip through YAML 1.2 and 1.1 readers, inside the two fences', () => {
    // Awkward strings a generator rarely produces on its own, mixed with arbitrary ones.
    const awkward = fc.constantFrom(
      'yes', 'No', 'on', '=', '<<', '~', 'null', '', ' ', 'x ', ' x', '1:20', '1_0', '0o7', '0x1', '.5', '1.', '1e3', '-1', '+1',
      '2025-01-01', '2001-12-14t21:59:43.10-05:00', 'a: b', 'a #b', '- x', '#c', '!tag', '&a', '*a', '%x', '@x', '`x', '"q"', "'q'",
      '? x', '|', '>', '[a]', '{a}', ',', 'a\nb', 'a\n', '\na', '\n', '\n\n', 'a\n\n', '\n x', 'a \nb', '\tx', 'a\tb', '\r\n',
      '\u0085', '\u2028', '\u2029', '\ufeff', '\u007f', '\u0000', '\ud800', '---', '...', 'a\n---\nb', 'a\n...\nb', '\\', 'é', '🦙',
    );
    const text = fc.oneof(awkward, fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'binary-ascii', maxLength: 30 }));
    fc.assert(
      fc.property(text, text, text, text, fc.array(text, { maxLength: 3 }), text, (name, parentName, orgName, notice, attributions, language) => {
        const lineage = lineageOf([{ parent: 'A', child: 'S' }], 'S', { names: { S: name, A: parentName } });
        const base = inputFor(lineage);
        const input = inputFor(lineage, {
          model: { ...base.model, name, organizationName: orgName, card: card({ languages: [language] }) },
          obligations: { attributions: attributions.map((displayString) => ({ displayString })), notice },
          organizationNames: { 'org:A': orgName },
        });
        const yaml = huggingFaceCardYaml(input);
        const expected = JSON.parse(JSON.stringify(huggingFaceCardMetadata(input)));
        for (const version of ['1.1', '1.2'] as const) {
          const meta = parseYaml(body(yaml), { version });
          expect(meta).toEqual(expected);
          expect(meta.beiming.name).toBe(name);
          expect(meta.beiming.lineage.ancestors[0].organization.name).toBe(orgName);
          expect(meta.beiming.notice).toBe(notice);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses inconsistent inputs', () => {
    const lineage = lineageOf([{ parent: 'A', child: 'S' }], 'S');
    expect(() => huggingFaceCardYaml({ ...inputFor(lineage), model: { ...inputFor(lineage).model, id: 'other' } })).toThrow(/lineage of S passed for model other/);
    const broken = lineageFromEdges([edgeOf({ parent: 'A', child: 'S' })], 'S');
    broken.ancestors = [];
    expect(() => huggingFaceCardYaml(inputFor(broken))).toThrow(InconsistentLineageError);
    expect(() => huggingFaceCardYaml(inputFor(lineage, { publicBaseUrl: 'beiming.example' }))).toThrow(/publicBaseUrl/);
    expect(() => huggingFaceCardYaml(inputFor(lineage, { publicBaseUrl: 'ftp://beiming.example' }))).toThrow(/publicBaseUrl/);
  });
});

describe('helpers', () => {
  it('exportLinks keeps a path prefix and drops trailing slashes', () => {
    expect(exportLinks('https://x.example/beiming//', { id: 'm 1', weightsDigest: null })).toEqual({
      model: 'https://x.example/beiming/models/m%201',
      licence: 'https://x.example/beiming/models/m%201/licence',
      verification: 'https://x.example/beiming/models/m%201',
      keys: 'https://x.example/beiming/.well-known/beiming-keys.json',
    });
  });

  it('plainIsString: its fast paths only accept strings that YAML 1.1 and 1.2 readers keep as strings', () => {
    const check = (s: string) => {
      expect(plainIsString(s)).toBe(true);
      expect(parseYaml(s, { version: '1.1' })).toBe(s);
      expect(parseYaml(s, { version: '1.2' })).toBe(s);
    };
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z][A-Za-z0-9_./: >-]{5,}$/).filter((s) => !/[: ]$|[: ][^A-Za-z0-9_./>-]/.test(s)),
        check,
      ),
      { numRuns: 3000 },
    );
    expect(plainIsString('abcdef:')).toBe(false); // a mapping key
    expect(plainIsString('abcdef: x')).toBe(false);
    expect(plainIsString('abcdef #x')).toBe(false); // a comment
    expect(plainIsString('abcdef ')).toBe(false);
    fc.assert(fc.property(fc.uuid(), check));
    for (const s of ['yes', 'No', 'on', 'OFF', 'y', 'null', '~', '1_000', '12:30', '2025-01-01', '0x1F', '.inf', '<<', '=', '', 'abcdef::']) {
      expect(plainIsString(s)).toBe(false);
    }
    expect(plainIsString('Model A')).toBe(true);
    expect(plainIsString('a:b c')).toBe(true);
  });

  it('huggingFaceNamespace reduces names to the Hub alphabet', () => {
    expect(huggingFaceNamespace('Acme Labs, Inc.')).toBe('Acme-Labs-Inc');
    expect(huggingFaceNamespace('Ünïcode Ørg')).toBe('Unicode-rg');
    expect(huggingFaceNamespace('深度求索')).toBe('');
    expect(huggingFaceNamespace('-a.b_c-')).toBe('a.b_c');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const ns = huggingFaceNamespace(s);
        expect(ns).toMatch(/^([A-Za-z0-9_]([A-Za-z0-9._-]*[A-Za-z0-9_])?)?$/);
        expect(ns.length).toBeLessThanOrEqual(96);
      }),
    );
  });

  it('base_model_relation: one value per relation, merge wins, mixed otherwise finetune', () => {
    const e = (relation: LineageRelation) => ({ ...edgeOf({ parent: 'A', child: 'S', relation }) });
    expect(huggingFaceBaseModelRelation([])).toBeUndefined();
    expect(huggingFaceBaseModelRelation([e(LineageRelation.DISTILLED)])).toBe('finetune');
    expect(huggingFaceBaseModelRelation([e(LineageRelation.FINETUNED)])).toBe('finetune');
    expect(huggingFaceBaseModelRelation([e(LineageRelation.QUANTIZED)])).toBe('quantized');
    expect(huggingFaceBaseModelRelation([e(LineageRelation.MERGED)])).toBe('merge');
    expect(huggingFaceBaseModelRelation([e(LineageRelation.QUANTIZED), e(LineageRelation.QUANTIZED)])).toBe('quantized');
    expect(huggingFaceBaseModelRelation([e(LineageRelation.QUANTIZED), e(LineageRelation.DISTILLED)])).toBe('finetune');
    expect(huggingFaceBaseModelRelation([e(LineageRelation.QUANTIZED), e(LineageRelation.MERGED)])).toBe('merge');
  });

  it('licence name: same set of terms → same name, whatever the order; different terms → different name', () => {
    const a = edgeOf({ parent: 'A', child: 'S', shareBps: 1 });
    const b = edgeOf({ parent: 'B', child: 'S', shareBps: 2 });
    const c = { ...edgeOf({ parent: 'C', child: 'S', shareBps: 1 }), method: DistillationMethod.SEQUENCES };
    expect(beimingLicenceName([a, b])).toBe(beimingLicenceName([b, a]));
    expect(beimingLicenceName([a, b, c])).toBe(beimingLicenceName([a, b])); // c has a's terms
    expect(beimingLicenceName([a])).not.toBe(beimingLicenceName([a, b]));
    expect(beimingLicenceName([])).toBe('beiming-platform-terms');
  });
});
