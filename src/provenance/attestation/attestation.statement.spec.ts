import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { canonicalTerms, termsHash } from '../../licensing/terms/canonical-terms';
import { samplePricing, sampleTerms } from '../../../test/fixtures/terms.fixtures';
import type { Lineage, RoyaltyStack } from '../lineage/lineage.types';
import { DistillationMethod, LineageRelation } from '../provenance.entity';
import { ATTESTATION_TYPE, attestationKeyId, AttestationStatementInput, buildAttestationStatement, canonicalJson } from './attestation.statement';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';
const D = '00000000-0000-4000-8000-00000000000d';
const ORG = '00000000-0000-4000-8000-0000000000f1';
const AG1 = '00000000-0000-4000-8000-0000000000a1';
const AG2 = '00000000-0000-4000-8000-0000000000a2';
const AG3 = '00000000-0000-4000-8000-0000000000a3';

const terms = canonicalTerms(sampleTerms(), samplePricing()).terms;
const hash = termsHash(sampleTerms(), samplePricing());

/** D distilled from B and C (diamond: both from A). Edges deliberately out of order. */
function lineage(): Lineage {
  return {
    root: { modelId: D, name: 'Llama-Tiny Modèle ✓', slug: 'llama-tiny', organizationId: ORG, weightsDigest: `sha256:${'ab'.repeat(32)}`, commercialUse: true },
    ancestors: [],
    edges: [
      { childModelId: D, parentModelId: C, agreementId: AG2, relation: LineageRelation.DISTILLED, method: DistillationMethod.LOGITS, dataShareBps: 4000, termsHash: hash, terms },
      { childModelId: C, parentModelId: A, agreementId: AG3, relation: LineageRelation.FINETUNED, method: null, dataShareBps: null, termsHash: hash, terms },
      { childModelId: D, parentModelId: B, agreementId: AG1, relation: LineageRelation.DISTILLED, method: DistillationMethod.SEQUENCES, dataShareBps: 6000, termsHash: hash, terms },
      { childModelId: B, parentModelId: A, agreementId: AG3, relation: LineageRelation.QUANTIZED, method: null, dataShareBps: null, termsHash: hash, terms },
    ],
    distillationGeneration: 1,
    depth: 2,
  };
}

function stack(): RoyaltyStack {
  return {
    entries: [
      { modelId: C, organizationId: ORG, policy: 'LRP', shareBps: 1000, depth: 1, agreementId: AG2 },
      { modelId: A, organizationId: ORG, policy: 'LAP', shareBps: 500, depth: 2, agreementId: AG3 },
    ],
    totalBps: 1500,
  };
}

function input(over: Partial<AttestationStatementInput> = {}): AttestationStatementInput {
  return {
    lineage: lineage(),
    royaltyStack: stack(),
    certification: { status: 'CERTIFIED', certifiedAt: new Date('2026-01-02T03:04:05.006Z'), expiresAt: new Date('2027-01-02T00:00:00Z') },
    issuedAt: new Date('2026-03-04T05:06:07.089Z'),
    keyId: 'bm-0123456789abcdef',
    ...over,
  };
}

describe('buildAttestationStatement', () => {
  it('says what the issue lists, from the lineage, the royalty stack and the certification', () => {
    expect(buildAttestationStatement(input())).toEqual({
      type: ATTESTATION_TYPE,
      model: { id: D, name: 'Llama-Tiny Modèle ✓', slug: 'llama-tiny', organizationId: ORG },
      weightsDigest: `sha256:${'ab'.repeat(32)}`,
      lineage: [
        { childModelId: B, parentModelId: A, agreementId: AG3, termsHash: hash, relation: 'QUANTIZED', method: null },
        { childModelId: C, parentModelId: A, agreementId: AG3, termsHash: hash, relation: 'FINETUNED', method: null },
        { childModelId: D, parentModelId: B, agreementId: AG1, termsHash: hash, relation: 'DISTILLED', method: 'SEQUENCES' },
        { childModelId: D, parentModelId: C, agreementId: AG2, termsHash: hash, relation: 'DISTILLED', method: 'LOGITS' },
      ],
      royaltyStack: [
        { modelId: A, policy: 'LAP', shareBps: 500 },
        { modelId: C, policy: 'LRP', shareBps: 1000 },
      ],
      certification: { status: 'CERTIFIED', certifiedAt: '2026-01-02T03:04:05.006Z', expiresAt: '2027-01-02T00:00:00.000Z' },
      issuedAt: '2026-03-04T05:06:07.089Z',
      keyId: 'bm-0123456789abcdef',
    });
  });

  it('gives the same canonical bytes whatever order the edges and stack come in', () => {
    const shuffled = input();
    shuffled.lineage.edges.reverse();
    shuffled.royaltyStack.entries.reverse();
    expect(canonicalJson(buildAttestationStatement(shuffled))).toBe(canonicalJson(buildAttestationStatement(input())));
    // …and a different fact gives different bytes
    const other = input();
    other.lineage.edges[0].termsHash = 'f'.repeat(64);
    expect(canonicalJson(buildAttestationStatement(other))).not.toBe(canonicalJson(buildAttestationStatement(input())));
  });

  it('reports no certification as null (status NONE or none given), and keeps EXPIRED / REVOKED with their dates', () => {
    expect(buildAttestationStatement(input({ certification: null })).certification).toBeNull();
    expect(buildAttestationStatement(input({ certification: { status: 'NONE', certifiedAt: null, expiresAt: null } })).certification).toBeNull();
    const revoked = buildAttestationStatement(
      input({ certification: { status: 'REVOKED', certifiedAt: new Date('2026-01-01T00:00:00Z'), expiresAt: new Date('2026-06-01T00:00:00Z') } }),
    );
    expect(revoked.certification).toEqual({ status: 'REVOKED', certifiedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-06-01T00:00:00.000Z' });
  });

  it('keeps a model without weights digest or lineage (a teacher) as null and empty lists', () => {
    const teacher = input({
      lineage: { root: { ...lineage().root, weightsDigest: null }, ancestors: [], edges: [], distillationGeneration: 0, depth: 0 },
      royaltyStack: { entries: [], totalBps: 0 },
    });
    const s = buildAttestationStatement(teacher);
    expect(s.weightsDigest).toBeNull();
    expect(s.lineage).toEqual([]);
    expect(s.royaltyStack).toEqual([]);
  });

  it('refuses inputs that would sign something ambiguous', () => {
    expect(() => buildAttestationStatement(input({ issuedAt: new Date('nope') }))).toThrow(/issuedAt must be a valid Date/);
    expect(() => buildAttestationStatement(input({ keyId: '' }))).toThrow(/keyId/);
    expect(() =>
      buildAttestationStatement(input({ certification: { status: 'CERTIFIED', certifiedAt: new Date(), expiresAt: null } })),
    ).toThrow(/needs certifiedAt and expiresAt/);
    const fractional = input();
    fractional.royaltyStack.entries[0].shareBps = 12.5;
    expect(() => buildAttestationStatement(fractional)).toThrow(/integer number of basis points/);
  });
});

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys, has no whitespace, keeps non-ASCII text as UTF-8', () => {
    const s = buildAttestationStatement(input());
    const json = canonicalJson(s);
    expect(json).toBe(canonicalize(s));
    expect(json.startsWith('{"certification":{"certifiedAt":"2026-01-02T03:04:05.006Z"')).toBe(true);
    expect(json).toContain('"name":"Llama-Tiny Modèle ✓"');
    expect(json).not.toMatch(/\n|": /);
    expect(canonicalJson(JSON.parse(json))).toBe(json);
  });
});

describe('attestationKeyId', () => {
  it('is bm- and the first 16 hex characters of SHA-256 over the raw public key', () => {
    const raw = Buffer.alloc(32, 7);
    expect(attestationKeyId(raw)).toBe(`bm-${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`);
    expect(attestationKeyId(raw)).toMatch(/^bm-[0-9a-f]{16}$/);
    expect(attestationKeyId(Buffer.alloc(32, 8))).not.toBe(attestationKeyId(raw));
  });
});
