import { AppError } from '../errors';
import { bytesEqual, toHex } from '../bytes';
import type { TreeHasher } from './tree-hasher';

/**
 * Hashes of the perfect subtrees of a log: `perfect(level, index)` is the root of leaves
 * [index·2^level, (index+1)·2^level). Level 0 is the leaf hash. The in-memory tree and the
 * SQLite store (ledger_nodes) both provide it, so proofs cost O(log² n) lookups at most.
 */
export interface NodeSource {
  perfect(level: number, index: number): Uint8Array;
}

/** Largest power of two strictly less than n (n ≥ 2), RFC 9162 §2.1.1 `k`. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * MTH(D[start:end]) for a range that begins on a boundary aligned to the subtrees it contains
 * (every range RFC 9162's PATH and SUBPROOF ask for is of this kind): split it greedily into
 * perfect subtrees and fold them from the right, exactly as the root of a log is formed.
 */
export function rangeHash(hasher: TreeHasher, source: NodeSource, start: number, end: number): Uint8Array {
  if (end <= start) throw new RangeError(`empty range [${start}, ${end})`);
  const parts: Uint8Array[] = [];
  let at = start;
  while (at < end) {
    let level = 0;
    while (at % 2 ** (level + 1) === 0 && at + 2 ** (level + 1) <= end) level++;
    parts.push(source.perfect(level, at / 2 ** level));
    at += 2 ** level;
  }
  let hash = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) hash = hasher.node(parts[i]!, hash);
  return hash;
}

/** MTH of the first `size` leaves. */
export function treeRoot(hasher: TreeHasher, source: NodeSource, size: number): Uint8Array {
  return size === 0 ? hasher.emptyRoot() : rangeHash(hasher, source, 0, size);
}

function checkSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new AppError('invalid_input', `${name} must be a non-negative integer`);
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]): the audit path of leaf `index` in the tree of `size` leaves. */
export function inclusionProof(hasher: TreeHasher, source: NodeSource, index: number, size: number): Uint8Array[] {
  checkSize('index', index);
  checkSize('treeSize', size);
  if (index >= size) throw new AppError('invalid_input', `leaf ${index} is not in a tree of size ${size}`);
  const path: Uint8Array[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, start + k);
      path.push(rangeHash(hasher, source, start + k, end));
    } else {
      walk(m - k, start + k, end);
      path.push(rangeHash(hasher, source, start, start + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]): consistency between the trees of size `first` and `second`. */
export function consistencyProof(hasher: TreeHasher, source: NodeSource, first: number, second: number): Uint8Array[] {
  checkSize('from', first);
  checkSize('to', second);
  if (first > second) throw new AppError('invalid_input', `cannot prove consistency from size ${first} to the smaller size ${second}`);
  if (first === 0 || first === second) return [];
  const proof: Uint8Array[] = [];
  const sub = (m: number, start: number, end: number, complete: boolean): void => {
    const n = end - start;
    if (m === n) {
      if (!complete) proof.push(rangeHash(hasher, source, start, end));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, start, start + k, complete);
      proof.push(rangeHash(hasher, source, start + k, end));
    } else {
      sub(m - k, start + k, end, false);
      proof.push(rangeHash(hasher, source, start, start + k));
    }
  };
  sub(first, 0, second, true);
  return proof;
}

function fail(message: string): never {
  throw new AppError('verification_failed', message);
}

function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

function checkHashes(hasher: TreeHasher, what: string, hashes: Uint8Array[]): void {
  const size = hasher.emptyRoot().length;
  hashes.forEach((h, i) => {
    if (h.length !== size) fail(`${what}[${i}] is ${h.length} bytes, expected ${size}`);
  });
}

/**
 * RFC 9162 §2.1.3.2: the root an inclusion proof leads to. Throws verification_failed when the
 * proof has the wrong shape for (index, size).
 */
export function rootFromInclusionProof(hasher: TreeHasher, index: number, size: number, leafHash: Uint8Array, proof: Uint8Array[]): Uint8Array {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || size < 0) fail('inclusion proof: index and size must be non-negative integers');
  if (index >= size) fail(`inclusion proof: leaf ${index} is beyond tree size ${size}`);
  checkHashes(hasher, 'inclusion proof', [leafHash, ...proof]);
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) fail('inclusion proof is longer than the tree is deep');
    if (isOdd(fn) || fn === sn) {
      r = hasher.node(p, r);
      if (!isOdd(fn)) {
        do {
          fn = half(fn);
          sn = half(sn);
        } while (!isOdd(fn) && fn !== 0);
      }
    } else {
      r = hasher.node(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('inclusion proof is shorter than the tree is deep');
  return r;
}

export function verifyInclusion(hasher: TreeHasher, index: number, size: number, leafHash: Uint8Array, proof: Uint8Array[], root: Uint8Array): void {
  const computed = rootFromInclusionProof(hasher, index, size, leafHash, proof);
  if (!bytesEqual(computed, root)) fail(`inclusion proof for leaf ${index} leads to root ${toHex(computed)}, not the checkpoint's ${toHex(root)}`);
}

/**
 * RFC 9162 §2.1.4.2: verify that the tree of size `first` with root `firstRoot` is a prefix of
 * the tree of size `second` with root `secondRoot`. Throws verification_failed naming why not.
 */
export function verifyConsistency(
  hasher: TreeHasher,
  first: number,
  second: number,
  proof: Uint8Array[],
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
): void {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || second < 0) fail('consistency proof: sizes must be non-negative integers');
  if (first > second) fail(`consistency: tree size went backwards from ${first} to ${second} (rolled back log)`);
  if (first === second) {
    if (proof.length !== 0) fail('consistency proof between equal sizes must be empty');
    if (!bytesEqual(firstRoot, secondRoot)) fail(`split view: two different roots for tree size ${first}`);
    return;
  }
  if (first === 0) {
    if (proof.length !== 0) fail('consistency proof from the empty tree must be empty');
    return;
  }
  if (proof.length === 0) fail('consistency proof is empty');
  checkHashes(hasher, 'consistency proof', [firstRoot, secondRoot, ...proof]);
  let path = proof;
  // A first tree that is a perfect subtree is its own first node, so the proof omits it.
  if (isPowerOfTwo(first)) path = [firstRoot, ...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) fail('consistency proof is longer than expected');
    if (isOdd(fn) || fn === sn) {
      fr = hasher.node(c, fr);
      sr = hasher.node(c, sr);
      if (!isOdd(fn)) {
        do {
          fn = half(fn);
          sn = half(sn);
        } while (!isOdd(fn) && fn !== 0);
      }
    } else {
      sr = hasher.node(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail('consistency proof is shorter than expected');
  if (!bytesEqual(fr, firstRoot)) fail(`consistency proof does not lead to the old root of size ${first}: the log was rewritten`);
  if (!bytesEqual(sr, secondRoot)) fail(`consistency proof does not lead to the new root of size ${second}`);
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}
