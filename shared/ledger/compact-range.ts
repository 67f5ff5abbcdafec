import type { TreeHasher } from './tree-hasher';

/** Called for every perfect subtree (level ≥ 1) completed by an append, so a store can persist it. */
export type NodeListener = (level: number, index: number, hash: Uint8Array) => void;

/**
 * The frontier of a log of `size` leaves: the roots of its perfect subtrees from left to right
 * (one per set bit of `size`, largest first). Enough to append leaves and compute the root in
 * O(log n) memory, which is how the store and the verifiers hash a log incrementally.
 */
export class CompactRange {
  private readonly hashes: Uint8Array[];
  private count: number;

  constructor(
    private readonly hasher: TreeHasher,
    size = 0,
    hashes: Uint8Array[] = [],
  ) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError('compact range size must be a non-negative integer');
    if (hashes.length !== popCount(size)) throw new RangeError(`a compact range of size ${size} holds ${popCount(size)} hashes, got ${hashes.length}`);
    this.count = size;
    this.hashes = hashes.slice();
  }

  get size(): number {
    return this.count;
  }

  /** The perfect-subtree roots, left to right (copy). */
  get frontier(): Uint8Array[] {
    return this.hashes.slice();
  }

  /** Append one leaf hash; `onNode` hears each perfect subtree this completes. */
  append(leafHash: Uint8Array, onNode?: NodeListener): void {
    let hash = leafHash;
    let index = this.count;
    let level = 0;
    // Each trailing 1 bit of the old size is a left sibling of equal height: merge it.
    while (index % 2 === 1) {
      const left = this.hashes.pop()!;
      hash = this.hasher.node(left, hash);
      index = (index - 1) / 2;
      level++;
      onNode?.(level, index, hash);
    }
    this.hashes.push(hash);
    this.count++;
  }

  /** MTH of the leaves appended so far. */
  root(): Uint8Array {
    if (this.hashes.length === 0) return this.hasher.emptyRoot();
    let hash = this.hashes[this.hashes.length - 1]!;
    for (let i = this.hashes.length - 2; i >= 0; i--) hash = this.hasher.node(this.hashes[i]!, hash);
    return hash;
  }

  clone(): CompactRange {
    return new CompactRange(this.hasher, this.count, this.hashes);
  }
}

export function popCount(n: number): number {
  let count = 0;
  let x = n;
  while (x > 0) {
    count += x % 2;
    x = Math.floor(x / 2);
  }
  return count;
}

/**
 * The perfect subtrees a log of `size` leaves is made of, left to right, as (level, index):
 * the nodes whose hashes form its compact range. A store rebuilds a CompactRange from them.
 */
export function frontierNodes(size: number): Array<{ level: number; index: number }> {
  const out: Array<{ level: number; index: number }> = [];
  let start = 0;
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level;
    if (start + width <= size) {
      out.push({ level, index: start / width });
      start += width;
    }
  }
  return out;
}
