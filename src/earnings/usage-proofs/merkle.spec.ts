import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { emptyRoot, inclusionProof, leafHash, MerkleAccumulator, merkleRoot, nodeHash, usageLeafBytes, usageLeafHash, verifyInclusion } from './merkle';

/*
 * An independent restatement of RFC 6962 §2.1 straight from the text (plain
 * recursion, its own hashing), to check the implementation against.
 */
const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const k = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1); // largest power of two < n (n ≥ 2)
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Buffer.from([0]), d[0]);
  const s = k(d.length);
  return sha(Buffer.from([1]), mth(d.slice(0, s)), mth(d.slice(s)));
}
function path(m: number, d: Buffer[]): Buffer[] {
  if (d.length === 1) return [];
  const s = k(d.length);
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
}

const leaves = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`leaf-${i}`));
const hex = (b: Buffer) => b.toString('hex');

describe('RFC 6962 Merkle tree', () => {
  it('the reference recursion agrees with itself on k(n)', () => {
    expect([2, 3, 4, 5, 8, 9, 16, 17].map(k)).toEqual([1, 2, 2, 4, 4, 8, 8, 16]);
  });

  it('known answers: the empty tree, Certificate Transparency\'s test vectors', () => {
    expect(hex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(merkleRoot([]))).toBe(hex(emptyRoot()));
    // The leaves of the reference implementations' tests (certificate-transparency, trillian).
    const ct = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
    const roots = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    for (let n = 1; n <= 8; n++) {
      const d = ct.slice(0, n);
      expect(hex(mth(d))).toBe(roots[n - 1]);
      expect(hex(merkleRoot(d.map(leafHash)))).toBe(roots[n - 1]);
    }
  });

  it('known answers computed by the reference recursion, and by hand for three leaves', () => {
    const d = leaves(3);
    const [a, b, c] = d.map((x) => sha(Buffer.from([0]), x));
    // MTH(3) = H(1 ‖ H(1 ‖ a ‖ b) ‖ c)
    const byHand = sha(Buffer.from([1]), sha(Buffer.from([1]), a, b), c);
    expect(hex(merkleRoot(d.map(leafHash)))).toBe(hex(byHand));
    expect(hex(nodeHash(a, b))).toBe(hex(sha(Buffer.from([1]), a, b)));
    for (const n of [1, 2, 5, 7, 13, 32, 33]) expect(hex(merkleRoot(leaves(n).map(leafHash)))).toBe(hex(mth(leaves(n))));
  });

  it('proofs for every index of trees of 1..40 leaves equal RFC 6962 PATH and verify', () => {
    for (let n = 1; n <= 40; n++) {
      const d = leaves(n);
      const hashes = d.map(leafHash);
      const root = merkleRoot(hashes);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(hashes, i);
        expect(proof.map(hex)).toEqual(path(i, d).map(hex));
        expect(verifyInclusion({ leafHash: hashes[i], index: i, treeSize: n, proof, root })).toBe(true);
      }
    }
  });

  it('a wrong index, leaf, sibling, tree size, root or path length fails', () => {
    let checked = 0;
    for (let n = 2; n <= 40; n++) {
      const hashes = leaves(n).map(leafHash);
      const root = merkleRoot(hashes);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(hashes, i);
        const ok = { leafHash: hashes[i], index: i, treeSize: n, proof, root };
        expect(verifyInclusion({ ...ok, index: (i + 1) % n })).toBe(false);
        expect(verifyInclusion({ ...ok, leafHash: hashes[(i + 1) % n] })).toBe(false);
        expect(verifyInclusion({ ...ok, leafHash: leafHash(Buffer.from('not a leaf')) })).toBe(false);
        for (let s = 0; s < proof.length; s++) {
          const bad = proof.map((p, j) => (j === s ? Buffer.from(p.map((x, q) => (q === 0 ? x ^ 1 : x))) : p));
          expect(verifyInclusion({ ...ok, proof: bad })).toBe(false);
        }
        expect(verifyInclusion({ ...ok, proof: proof.slice(0, -1) })).toBe(false);
        expect(verifyInclusion({ ...ok, proof: [...proof, root] })).toBe(false);
        expect(verifyInclusion({ ...ok, root: hashes[i] })).toBe(false);
        expect(verifyInclusion({ ...ok, index: n })).toBe(false);
        expect(verifyInclusion({ ...ok, index: -1 })).toBe(false);
        checked++;
      }
    }
    expect(checked).toBe((40 * 41) / 2 - 1);
    // A one-leaf tree: the root is the leaf hash, the path is empty; anything else fails.
    const one = leafHash(Buffer.from('x'));
    expect(verifyInclusion({ leafHash: one, index: 0, treeSize: 1, proof: [], root: one })).toBe(true);
    expect(verifyInclusion({ leafHash: one, index: 0, treeSize: 1, proof: [one], root: one })).toBe(false);
    expect(() => inclusionProof([one], 1)).toThrow(RangeError);
  });

  it('a leaf hash is never a node hash (domain separation)', () => {
    const a = leafHash(Buffer.from('a'));
    const b = leafHash(Buffer.from('b'));
    expect(hex(leafHash(Buffer.concat([a, b])))).not.toBe(hex(nodeHash(a, b)));
  });

  it('the streaming accumulator equals the recursive root (fast-check, fixed seed)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 24 }), { maxLength: 300 }), (raw) => {
        const d = raw.map((x) => Buffer.from(x));
        const acc = new MerkleAccumulator();
        for (const x of d) acc.push(leafHash(x));
        expect(acc.size).toBe(d.length);
        expect(hex(acc.root())).toBe(hex(mth(d)));
      }),
      { seed: 6962, numRuns: 300 },
    );
  });
});

describe('usage leaf bytes', () => {
  const e = {
    agreementId: '0b7e6a52-5a1f-4c43-9a4c-0d6a1c2b3e4f',
    eventId: 'ev-1',
    occurredAt: '2026-11-03T10:00:00.000Z',
    inputTokens: '1000',
    outputTokens: '20',
    source: 'REPORTED' as const,
  };

  it('are the RFC 8785 canonical JSON (keys sorted, no spaces), UTF-8', () => {
    expect(usageLeafBytes(e).toString('utf8')).toBe(
      '{"agreementId":"0b7e6a52-5a1f-4c43-9a4c-0d6a1c2b3e4f","eventId":"ev-1","inputTokens":"1000","occurredAt":"2026-11-03T10:00:00.000Z","outputTokens":"20","source":"REPORTED"}',
    );
  });

  it('escape event ids as JSON does and encode them as UTF-8; extra fields are not part of the leaf', () => {
    const odd = { ...e, eventId: 'é"\\\n\u0001€😀' };
    const bytes = usageLeafBytes(odd);
    expect(bytes.equals(Buffer.from(canonicalize(JSON.parse(bytes.toString('utf8'))) as string, 'utf8'))).toBe(true);
    expect(JSON.parse(bytes.toString('utf8')).eventId).toBe(odd.eventId);
    expect(bytes.toString('utf8')).toContain('"eventId":"é\\"\\\\\\n\\u0001€😀"');
    expect(usageLeafBytes({ ...e, extra: 'x' } as typeof e).equals(usageLeafBytes(e))).toBe(true);
  });

  it('usageLeafHash is SHA-256(0x00 ‖ leaf bytes) (fast-check, fixed seed)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 128 }), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), (eventId, tokens) => {
        const x = { ...e, eventId, inputTokens: tokens.toString() };
        const expected = sha(Buffer.from([0]), Buffer.from(canonicalize(x) as string, 'utf8'));
        expect(hex(usageLeafHash(x))).toBe(hex(expected));
        expect(hex(leafHash(usageLeafBytes(x)))).toBe(hex(expected));
      }),
      { seed: 8785, numRuns: 500 },
    );
  });
});
