/**
 * Merkle trees over usage events, hashed as Certificate Transparency does
 * (RFC 6962 §2.1, restated in RFC 9162 §2.1): pure functions, no I/O.
 *
 * - leaf hash  = SHA-256(0x00 ‖ leaf bytes)
 * - node hash  = SHA-256(0x01 ‖ left ‖ right)
 * - the tree over n > 1 leaves is the tree over the first k leaves and the tree
 *   over the rest, k the largest power of two smaller than n;
 * - the tree over no leaves hashes to SHA-256 of the empty string.
 *
 * A leaf is one usage event as RFC 8785 canonical JSON (`usageLeafBytes`).
 * `MerkleAccumulator` computes the same root as `merkleRoot` from a stream of
 * leaf hashes while holding O(log n) hashes, so a period of any size is hashed
 * with flat memory.
 */
import canonicalize from 'canonicalize';
import { hash } from 'node:crypto';

/** Scratch input of a node hash: 0x01 ‖ left ‖ right (hashing is synchronous, so one buffer serves every call). */
const NODE_INPUT = Buffer.alloc(65);
NODE_INPUT[0] = 0x01;

/** What a usage event contributes to its leaf; every value a string. */
export interface UsageLeafInput {
  agreementId: string;
  eventId: string;
  /** ISO-8601 UTC with milliseconds: 2026-11-03T10:00:00.000Z */
  occurredAt: string;
  /** Decimal integer strings. */
  inputTokens: string;
  outputTokens: string;
  source: 'GATEWAY' | 'REPORTED';
}

/** The leaf's fields, in the shape that is hashed (no other keys). */
export function usageLeaf(e: UsageLeafInput): Record<string, string> {
  return {
    agreementId: e.agreementId,
    eventId: e.eventId,
    occurredAt: e.occurredAt,
    inputTokens: e.inputTokens,
    outputTokens: e.outputTokens,
    source: e.source,
  };
}

/** UTF-8 of the RFC 8785 canonical JSON of the event's leaf object. */
export function usageLeafBytes(e: UsageLeafInput): Buffer {
  return Buffer.from(canonicalize(usageLeaf(e)) as string, 'utf8');
}

/** leafHash(usageLeafBytes(e)) in one step (U+0000 is the byte 0x00 in UTF-8): the streaming path's per-event hash. */
export function usageLeafHash(e: UsageLeafInput): Buffer {
  return hash('sha256', `\u0000${canonicalize(usageLeaf(e)) as string}`, 'buffer');
}

export function leafHash(leafBytes: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(leafBytes.length + 1);
  input[0] = 0x00;
  input.set(leafBytes, 1);
  return hash('sha256', input, 'buffer');
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== 32 || right.length !== 32) throw new RangeError('node hash children must be 32-byte SHA-256 hashes');
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 33);
  return hash('sha256', NODE_INPUT, 'buffer');
}

export function emptyRoot(): Buffer {
  return hash('sha256', Buffer.alloc(0), 'buffer');
}

/** Largest power of two strictly smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Streaming root: push leaf hashes in order, read `root()` at the end.
 *
 * Holds one hash per set bit of the count: `stack[i]` is the root of a
 * complete subtree of 2^heights[i] leaves, heights strictly decreasing. A push
 * merges equal-height subtrees (a binary counter). At the end the remaining
 * subtrees are folded right to left, which is exactly RFC 6962's split at the
 * largest power of two: the leftmost (largest) subtree is the left child at
 * every level.
 */
export class MerkleAccumulator {
  private readonly stack: Buffer[] = [];
  private readonly heights: number[] = [];
  private n = 0;

  get size(): number {
    return this.n;
  }

  push(leaf: Buffer): void {
    let hash = leaf;
    let height = 0;
    while (this.heights.length > 0 && this.heights[this.heights.length - 1] === height) {
      this.heights.pop();
      hash = nodeHash(this.stack.pop()!, hash);
      height++;
    }
    this.stack.push(hash);
    this.heights.push(height);
    this.n++;
  }

  root(): Buffer {
    if (this.stack.length === 0) return emptyRoot();
    let hash = this.stack[this.stack.length - 1];
    for (let i = this.stack.length - 2; i >= 0; i--) hash = nodeHash(this.stack[i], hash);
    return hash;
  }
}

/** RFC 6962 Merkle Tree Hash of the leaf hashes, in memory. */
export function merkleRoot(leafHashes: readonly Buffer[]): Buffer {
  const acc = new MerkleAccumulator();
  for (const h of leafHashes) acc.push(h);
  return acc.root();
}

/**
 * The audit path of leaf `index` (RFC 6962 §2.1.1 PATH(m, D[n])), siblings
 * from the leaf up. Throws on an index outside the tree.
 */
export function inclusionProof(leafHashes: readonly Buffer[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leafHashes.length) throw new RangeError(`leaf index ${index} outside a tree of ${leafHashes.length}`);
  const path: Buffer[] = [];
  let lo = 0;
  let hi = leafHashes.length;
  let m = index;
  // Descend from the root, recording the sibling subtree's root at each level; reversed at the end (leaf first).
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < k) {
      path.push(merkleRoot(leafHashes.slice(lo + k, hi)));
      hi = lo + k;
    } else {
      path.push(merkleRoot(leafHashes.slice(lo, lo + k)));
      lo = lo + k;
      m -= k;
    }
  }
  return path.reverse();
}

export interface InclusionClaim {
  leafHash: Uint8Array;
  index: number;
  treeSize: number;
  proof: readonly Uint8Array[];
  root: Uint8Array;
}

/** RFC 9162 §2.1.3.2: the root `proof` leads to from the leaf at `index` in a tree of `treeSize` leaves; null when the proof does not fit them. */
export function rootFromAuditPath(leafHash: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[]): Buffer | null {
  if (!Number.isInteger(index) || !Number.isInteger(treeSize) || index < 0 || index >= treeSize) return null;
  let fn = index;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

/** RFC 9162 §2.1.3.2: whether `proof` shows the leaf at `index` in the tree of `treeSize` leaves with `root`. */
export function verifyInclusion(c: InclusionClaim): boolean {
  const root = rootFromAuditPath(c.leafHash, c.index, c.treeSize, c.proof);
  return root !== null && root.equals(Buffer.from(c.root));
}
