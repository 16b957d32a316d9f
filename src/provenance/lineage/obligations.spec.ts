import fc from 'fast-check';
import { AttributionPlacement, NamingRule, RoyaltyPolicy, TermsInput } from '../../licensing/terms/terms.types';
import {
  attribution,
  copiesLicence,
  EdgeSpec,
  flowsDown,
  lineageOf,
  llamaLikeTerms,
  reciprocal,
  shuffledLineage,
  syntheticLineage,
} from '../../../test/fixtures/lineage.fixtures';
import { nameLeadsWith, ObligationConflictKind, obligations, UseRestrictionKind } from './obligations';

const SEED = 20_260_405;
const commercial = (name: string) => ({ name, commercialUse: true });
const prefix = (token: string): Partial<TermsInput> => ({ naming: { rule: NamingRule.PREFIX_REQUIRED, token } });
const notPrimary = (token: string): Partial<TermsInput> => ({ naming: { rule: NamingRule.NOT_PRIMARY, token } });
const occurrences = (text: string, s: string) => text.split(s).length - 1;
const edgeKeys = (edges: ReadonlyArray<{ parentModelId: string; childModelId: string }>) => edges.map((e) => `${e.parentModelId}->${e.childModelId}`);

describe('nameLeadsWith (the naming check)', () => {
  it.each([
    ['Llama-3-Distill', 'Llama', true],
    ['Llama 3 Distill', 'Llama', true],
    ['Llama', 'Llama', true],
    ['  Llama-x  ', 'Llama', true],
    ['Llama3-Distill', 'Llama', true],
    ['LlamaGuard mini', 'Llama', true],
    ['Llamafied-7B', 'Llama', false],
    ['MyLlama-7B', 'Llama', false],
    ['llama-3-distill', 'Llama', false],
    ['Lla', 'Llama', false],
    ['Llama-30B', 'Llama-3', false],
    ['Llama-3.1-Mini', 'Llama-3', true],
    ['Llama-3 Mini', 'Llama-3', true],
  ])('"%s" leads with "%s": %s', (name, token, expected) => {
    expect(nameLeadsWith(name, token)).toBe(expected);
  });

  it('ignores case on request', () => {
    expect(nameLeadsWith('gemma-distill', 'Gemma', true)).toBe(true);
    expect(nameLeadsWith('gemma-distill', 'Gemma')).toBe(false);
  });
});

describe('obligations — attributions', () => {
  const lineage = lineageOf(
    [
      { parent: 'P', child: 'S', terms: attribution('Built with P', 'P notice') },
      { parent: 'G1', child: 'P', terms: attribution('Built with G1', 'G1 notice') },
      { parent: 'G2', child: 'P', terms: { ...attribution('Built with G2'), ...copiesLicence } },
      { parent: 'G3', child: 'P', terms: { ...attribution('Built with G3'), ...flowsDown } },
      // The same line and placements from a deeper edge and a direct one: kept once, from the direct parent.
      { parent: 'Q', child: 'S', terms: attribution('Built with Llama', null, [AttributionPlacement.WEBSITE, AttributionPlacement.MODEL_CARD]) },
      { parent: 'R', child: 'G3', terms: { ...attribution('Built with Llama', null, [AttributionPlacement.MODEL_CARD, AttributionPlacement.WEBSITE]), ...flowsDown } },
      // Same line, other placements: a separate obligation.
      { parent: 'R2', child: 'G3', terms: { ...attribution('Built with Llama', 'Shown in the product', [AttributionPlacement.PRODUCT_UI]), ...flowsDown } },
    ],
    'S',
  );
  const result = obligations(lineage, commercial('Student'));

  it('come from direct parents always, and from deeper edges only when their licence is copied or flows down', () => {
    expect(result.attributions.map((a) => [a.displayString, a.fromModelId, a.depth])).toEqual([
      ['Built with Llama', 'Q', 1],
      ['Built with P', 'P', 1],
      ['Built with G2', 'G2', 2],
      ['Built with G3', 'G3', 2],
      ['Built with Llama', 'R2', 3],
    ]);
    expect(result.attributions.some((a) => a.displayString === 'Built with G1')).toBe(false);
  });

  it('are de-duplicated by (displayString, placements), keeping the shallowest, with its agreement and notice text', () => {
    expect(result.attributions[0]).toEqual({
      displayString: 'Built with Llama',
      placements: [AttributionPlacement.MODEL_CARD, AttributionPlacement.WEBSITE],
      noticeText: null,
      fromModelId: 'Q',
      agreementId: 'agr:Q->S',
      depth: 1,
    });
    expect(result.attributions[4]).toMatchObject({ placements: [AttributionPlacement.PRODUCT_UI], noticeText: 'Shown in the product', agreementId: 'agr:R2->G3' });
  });

  it('the NOTICE names the model, has one section per attribution with its notice text and the licences that require it', () => {
    const notice = result.notice;
    expect(notice.startsWith('NOTICE for Student\n')).toBe(true);
    expect(occurrences(notice, '== Built with P ==')).toBe(1);
    expect(occurrences(notice, '== Built with G2 ==')).toBe(1);
    expect(occurrences(notice, '== Built with G3 ==')).toBe(1);
    expect(occurrences(notice, '== Built with Llama ==')).toBe(2); // two placements sets: two obligations
    expect(notice).not.toContain('Built with G1');
    expect(notice).not.toContain('G1 notice');
    expect(occurrences(notice, 'P notice')).toBe(1);
    expect(occurrences(notice, 'Shown in the product')).toBe(1);
    const byAgreement = new Map(lineage.edges.map((e) => [e.agreementId, e.termsHash]));
    // Each binding licence is listed once, under the attribution it requires.
    expect(occurrences(notice, `agreement agr:Q->S, terms sha256:${byAgreement.get('agr:Q->S')}`)).toBe(1);
    expect(occurrences(notice, `Model R → Model G3: agreement agr:R->G3, terms sha256:${byAgreement.get('agr:R->G3')}`)).toBe(1);
    expect(occurrences(notice, `Model P → Student: agreement agr:P->S, terms sha256:${byAgreement.get('agr:P->S')}`)).toBe(1);
    const llamaSection = notice.slice(notice.indexOf('== Built with Llama =='));
    expect(llamaSection.indexOf('agr:R->G3')).toBeGreaterThan(0);
    expect(notice).not.toContain('agr:G1->P');
    expect(notice).not.toContain('== Other licences ==');
    expect(notice.indexOf('== Built with P ==')).toBeLessThan(notice.indexOf('== Built with G2 =='));
  });

  it('a model without lineage owes nothing', () => {
    const none = obligations(lineageOf([], 'S'), commercial('Solo'));
    expect(none).toEqual({
      modelName: 'Solo',
      attributions: [],
      naming: [],
      namingSatisfied: true,
      notice: 'NOTICE for Solo\n\nSolo has no licensed lineage: no attribution or licence notice is required.\n',
      useRestrictions: [],
      conflicts: [],
    });
    const plain = obligations(lineageOf([{ parent: 'A', child: 'S' }], 'S'), commercial('Solo'));
    expect(plain.notice).toContain('No licence in its lineage requires an attribution.');
    expect(plain.notice).toContain('== Other licences ==\nSolo is also distributed under these licences of its lineage:\n  - Model A → Solo: agreement agr:A->S, terms sha256:');
  });
});

describe('obligations — naming', () => {
  const lineage = lineageOf(
    [
      { parent: 'L', child: 'S', terms: prefix('Llama') },
      { parent: 'G', child: 'S', terms: notPrimary('Gemma') },
      { parent: 'Q', child: 'G', terms: prefix('Qwen') }, // deeper, does not flow: ignored
    ],
    'S',
  );

  it('checks each rule against the name and reports namingSatisfied', () => {
    const ok = obligations(lineage, commercial('Llama-3-Distill (Gemma inside)'));
    expect(ok.naming).toEqual([
      { rule: NamingRule.NOT_PRIMARY, token: 'Gemma', fromModelId: 'G', agreementId: 'agr:G->S', depth: 1, satisfied: true },
      { rule: NamingRule.PREFIX_REQUIRED, token: 'Llama', fromModelId: 'L', agreementId: 'agr:L->S', depth: 1, satisfied: true },
    ]);
    expect(ok.namingSatisfied).toBe(true);
    expect(ok.conflicts).toEqual([]);

    const bad = obligations(lineage, commercial('Distilled-Llama'));
    expect(bad.naming.find((n) => n.token === 'Llama')?.satisfied).toBe(false);
    expect(bad.namingSatisfied).toBe(false);

    const gemmaFirst = obligations(lineage, commercial('gemma-Llama'));
    expect(gemmaFirst.naming.map((n) => [n.token, n.satisfied])).toEqual([
      ['Gemma', false],
      ['Llama', false],
    ]);
  });

  it('NAMING_PREFIX_CONFLICT: two different required prefixes, with the edges that require them', () => {
    const r = obligations(
      lineageOf(
        [
          { parent: 'L', child: 'S', terms: prefix('Llama') },
          { parent: 'Q', child: 'S', terms: prefix('Qwen') },
          { parent: 'X', child: 'L', terms: { ...prefix('Llama'), ...flowsDown } },
          { parent: 'N', child: 'S' },
        ],
        'S',
      ),
      commercial('Llama-Qwen'),
    );
    expect(r.conflicts).toHaveLength(1);
    const [c] = r.conflicts;
    expect(c.kind).toBe(ObligationConflictKind.NAMING_PREFIX_CONFLICT);
    expect(edgeKeys(c.edges)).toEqual(['L->S', 'Q->S', 'X->L']);
    expect(c.edges.map((e) => e.agreementId)).toEqual(['agr:L->S', 'agr:Q->S', 'agr:X->L']);
    expect(c.message).toContain('start with "Llama"');
    expect(c.message).toContain('"Qwen"');
    expect(c.message).toContain('agreement agr:Q->S on "Model Q"');
    expect(c.message).toContain('Remove one of these parents');
  });

  it('no false conflict for the same prefix twice, or for a prefix that extends another', () => {
    const same = obligations(
      lineageOf(
        [
          { parent: 'A', child: 'S', terms: prefix('Llama') },
          { parent: 'B', child: 'S', terms: prefix('Llama') },
        ],
        'S',
      ),
      commercial('Llama-Mix'),
    );
    expect(same.conflicts).toEqual([]);
    expect(same.naming).toHaveLength(1);
    expect(same.naming[0]).toMatchObject({ token: 'Llama', fromModelId: 'A', satisfied: true });

    const nested = obligations(
      lineageOf(
        [
          { parent: 'A', child: 'S', terms: prefix('Llama') },
          { parent: 'B', child: 'S', terms: prefix('Llama-3') },
        ],
        'S',
      ),
      commercial('Llama-3-Mix'),
    );
    expect(nested.conflicts).toEqual([]);
    expect(nested.namingSatisfied).toBe(true);
  });

  it('NAMING_PREFIX_VS_NOT_PRIMARY: a required prefix that another licence forbids as the leading element', () => {
    const r = obligations(
      lineageOf(
        [
          { parent: 'A', child: 'S', terms: prefix('Llama-3') },
          { parent: 'B', child: 'S', terms: notPrimary('llama') },
        ],
        'S',
      ),
      commercial('Llama-3-Mix'),
    );
    expect(r.conflicts.map((c) => c.kind)).toEqual([ObligationConflictKind.NAMING_PREFIX_VS_NOT_PRIMARY]);
    expect(edgeKeys(r.conflicts[0].edges)).toEqual(['A->S', 'B->S']);
    expect(r.conflicts[0].message).toContain('start with "Llama-3"');
    expect(r.conflicts[0].message).toContain('forbids "llama" as the leading element');

    // "Llama" required, "Llama-3" not primary: "Llama-Mix" satisfies both.
    const ok = obligations(
      lineageOf(
        [
          { parent: 'A', child: 'S', terms: prefix('Llama') },
          { parent: 'B', child: 'S', terms: notPrimary('Llama-3') },
        ],
        'S',
      ),
      commercial('Llama-Mix'),
    );
    expect(ok.conflicts).toEqual([]);
    expect(ok.namingSatisfied).toBe(true);
  });
});

describe('obligations — use restrictions', () => {
  it('come from every edge whose restrictions flow down (any depth), each with the edges that impose it', () => {
    const r = obligations(
      lineageOf(
        [
          { parent: 'P', child: 'S', terms: { ...flowsDown, acceptableUsePolicyUrl: 'https://p.example/aup', territory: { excludedCountries: ['KP', 'CU'] } } },
          { parent: 'G', child: 'P', terms: { ...flowsDown, acceptableUsePolicyUrl: 'https://p.example/aup', researchOnly: true, commercialUse: false, territory: { excludedCountries: ['IR', 'KP'] } } },
          // Direct, but nothing flows down: binds the maker, not the model's users.
          { parent: 'D', child: 'S', terms: { acceptableUsePolicyUrl: 'https://d.example/aup', researchOnly: true, territory: { excludedCountries: ['RU'] } } },
          // Copied licence without flow-down: not a use restriction either.
          { parent: 'C', child: 'P', terms: { ...copiesLicence, acceptableUsePolicyUrl: 'https://c.example/aup' } },
        ],
        'S',
      ),
      { name: 'Student', commercialUse: false },
    );
    expect(r.useRestrictions.map((u) => [u.kind, u.value, edgeKeys(u.edges)])).toEqual([
      [UseRestrictionKind.ACCEPTABLE_USE_POLICY, 'https://p.example/aup', ['P->S', 'G->P']],
      [UseRestrictionKind.RESEARCH_ONLY, null, ['G->P']],
      [UseRestrictionKind.NO_COMMERCIAL_USE, null, ['G->P']],
      [UseRestrictionKind.EXCLUDED_TERRITORY, 'CU', ['P->S']],
      [UseRestrictionKind.EXCLUDED_TERRITORY, 'IR', ['G->P']],
      [UseRestrictionKind.EXCLUDED_TERRITORY, 'KP', ['P->S', 'G->P']],
    ]);
    expect(r.useRestrictions[0].edges[1]).toMatchObject({ agreementId: 'agr:G->P', depth: 2, childModelId: 'P' });
    expect(r.conflicts).toEqual([]); // the model is not commercial
  });
});

describe('obligations — reciprocal and commercial conflicts', () => {
  it('RECIPROCAL_TERMS_DIFFER: reciprocal licences with different terms, with all their edges', () => {
    const r = obligations(
      lineageOf(
        [
          { parent: 'A', child: 'S', terms: { ...reciprocal }, shareBps: 100 },
          { parent: 'B', child: 'S', terms: { ...reciprocal }, shareBps: 200 },
          { parent: 'C', child: 'S', terms: { ...reciprocal }, shareBps: 100 },
          { parent: 'D', child: 'S', shareBps: 300 },
        ],
        'S',
      ),
      commercial('Student'),
    );
    expect(r.conflicts.map((c) => c.kind)).toEqual([ObligationConflictKind.RECIPROCAL_TERMS_DIFFER]);
    expect(edgeKeys(r.conflicts[0].edges)).toEqual(['A->S', 'B->S', 'C->S']);
    expect(r.conflicts[0].message).toContain('2 different sets of terms');
    expect(r.conflicts[0].message).toContain('agreement agr:B->S on "Model B"');
    expect(r.conflicts[0].message).toContain('keep parents whose reciprocal licences have identical terms');
  });

  it('no conflict for the same reciprocal terms twice, even offered at different prices (different terms hashes)', () => {
    const lineage = lineageOf(
      [
        { parent: 'A', child: 'S', terms: { ...reciprocal }, shareBps: 100 },
        { parent: 'B', child: 'S', terms: { ...reciprocal }, shareBps: 100, pricing: { inputPerMillionMinor: '999' } },
        { parent: 'C', child: 'S', terms: { ...reciprocal }, shareBps: 100, agreementId: 'another' },
      ],
      'S',
    );
    expect(new Set(lineage.edges.map((e) => e.termsHash)).size).toBe(2);
    expect(obligations(lineage, commercial('Student')).conflicts).toEqual([]);
  });

  it('a deeper reciprocal licence that does not flow down does not bind the model', () => {
    const r = obligations(
      lineageOf(
        [
          { parent: 'A', child: 'S', terms: { ...reciprocal }, shareBps: 100 },
          { parent: 'B', child: 'A', terms: { ...reciprocal }, shareBps: 200 },
        ],
        'S',
      ),
      commercial('Student'),
    );
    expect(r.conflicts).toEqual([]);
  });

  it('COMMERCIAL_USE_FORBIDDEN_UPSTREAM: a commercial model under research-only or non-commercial binding licences', () => {
    const specs: EdgeSpec[] = [
      { parent: 'R', child: 'S', terms: { researchOnly: true } },
      { parent: 'N', child: 'P', terms: { commercialUse: false, ...flowsDown } },
      { parent: 'P', child: 'S' },
      { parent: 'X', child: 'P', terms: { researchOnly: true } }, // deeper, does not flow down: not applicable
    ];
    const r = obligations(lineageOf(specs, 'S'), commercial('Student'));
    expect(r.conflicts.map((c) => c.kind)).toEqual([ObligationConflictKind.COMMERCIAL_USE_FORBIDDEN_UPSTREAM]);
    expect(edgeKeys(r.conflicts[0].edges)).toEqual(['R->S', 'N->P']);
    expect(r.conflicts[0].message).toContain('agreement agr:R->S on "Model R" (research only)');
    expect(r.conflicts[0].message).toContain('agreement agr:N->P on "Model N" (no commercial use)');
    expect(r.conflicts[0].message).toContain('commercialUse: false');

    expect(obligations(lineageOf(specs, 'S'), { name: 'Student', commercialUse: false }).conflicts).toEqual([]);
    expect(obligations(lineageOf([{ parent: 'P', child: 'S' }, specs[3]], 'S'), commercial('Student')).conflicts).toEqual([]);
  });

  it('reports several kinds at once, in a fixed order', () => {
    const r = obligations(
      lineageOf(
        [
          { parent: 'A', child: 'S', terms: { ...prefix('Llama'), ...reciprocal, researchOnly: true }, shareBps: 1 },
          { parent: 'B', child: 'S', terms: { ...prefix('Qwen'), ...reciprocal }, shareBps: 2 },
          { parent: 'C', child: 'S', terms: notPrimary('Qwen') },
        ],
        'S',
      ),
      commercial('Llama-x'),
    );
    expect(r.conflicts.map((c) => c.kind)).toEqual([
      ObligationConflictKind.NAMING_PREFIX_CONFLICT,
      ObligationConflictKind.NAMING_PREFIX_VS_NOT_PRIMARY,
      ObligationConflictKind.RECIPROCAL_TERMS_DIFFER,
      ObligationConflictKind.COMMERCIAL_USE_FORBIDDEN_UPSTREAM,
    ]);
  });
});

// ---------------------------------------------------------------------------
// Order independence over random DAGs with a mix of licences.

const VARIANTS: Array<Partial<TermsInput>> = [
  {},
  llamaLikeTerms(),
  { ...attribution('Built with Llama', 'Llama notice', [AttributionPlacement.MODEL_CARD, AttributionPlacement.WEBSITE]), ...prefix('Llama'), ...copiesLicence },
  { ...attribution('Powered by Gemma', 'Gemma notice'), ...notPrimary('Gemma'), ...flowsDown, acceptableUsePolicyUrl: 'https://gemma.example/aup' },
  { ...attribution('Built with Qwen'), ...prefix('Qwen') },
  { researchOnly: true, commercialUse: false, ...flowsDown, territory: { excludedCountries: ['IR', 'KP'] } },
  { ...reciprocal, ...attribution('Open weights by Lab') },
  { ...reciprocal, ...flowsDown, governingLaw: 'France' },
];

const dagArb = fc
  .integer({ min: 1, max: 30 })
  .chain((n) =>
    fc.array(
      fc.record({
        a: fc.integer({ min: 0, max: n - 1 }),
        b: fc.integer({ min: 0, max: n - 1 }),
        variant: fc.integer({ min: 0, max: VARIANTS.length - 1 }),
        policy: fc.constantFrom(RoyaltyPolicy.LAP, RoyaltyPolicy.LRP),
        shareBps: fc.constantFrom(0, 100, 500),
      }),
      { maxLength: 60 },
    ),
  )
  .map((raw) => {
    const seen = new Set<string>();
    const specs: EdgeSpec[] = [];
    for (const r of raw) {
      if (r.a === r.b) continue;
      const [parent, child] = [`N${Math.max(r.a, r.b)}`, `N${Math.min(r.a, r.b)}`];
      if (seen.has(`${parent}>${child}`)) continue;
      seen.add(`${parent}>${child}`);
      specs.push({ parent, child, policy: r.policy, shareBps: r.shareBps, terms: VARIANTS[r.variant] });
    }
    return lineageOf(specs, 'N0');
  });

describe('obligations — properties', () => {
  it('do not depend on the order of edges or ancestors; the NOTICE holds each attribution exactly once', () => {
    fc.assert(
      fc.property(dagArb, fc.integer(), fc.constantFrom('Llama-Student', 'Qwen Student', 'Gemma-Student'), fc.boolean(), (lineage, seed, name, commercialUse) => {
        const model = { name, commercialUse };
        const a = obligations(lineage, model);
        const b = obligations(shuffledLineage(lineage, seed), model);
        expect(b).toEqual(a);
        for (const att of a.attributions) {
          expect(occurrences(a.notice, `== ${att.displayString} ==`)).toBe(a.attributions.filter((x) => x.displayString === att.displayString).length);
        }
        const keys = a.attributions.map((x) => `${x.displayString}|${x.placements.join(',')}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect(a.namingSatisfied).toBe(a.naming.every((x) => x.satisfied));
      }),
      { seed: SEED, numRuns: 1_000 },
    );
  });

  it('handles 1,024 ancestors and ~2,000 edges', () => {
    const lineage = syntheticLineage({ ancestors: 1024, seed: 11 });
    const r = obligations(lineage, commercial('Llama-Synthetic'));
    const lines = r.attributions.map((a) => a.displayString);
    expect(lines).toEqual(expect.arrayContaining(['Built with Llama', 'Powered by Gemma']));
    expect(lines.every((l) => ['Built with Llama', 'Powered by Gemma', 'Open weights by Example Lab'].includes(l))).toBe(true);
    expect(r.conflicts.map((c) => c.kind)).toContain(ObligationConflictKind.COMMERCIAL_USE_FORBIDDEN_UPSTREAM);
    expect(r.conflicts.every((c) => c.message.length < 2_000)).toBe(true);
  });
});
