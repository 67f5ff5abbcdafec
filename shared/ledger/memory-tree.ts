import { CompactRange } from './compact-range';
import type { NodeSource } from './proofs';
import type { TreeHasher } from './tree-hasher';

/**
 * A whole log held in memory: every perfect subtree hash by level. Used by the offline
 * verifier, the export and tests; the store keeps the same nodes in SQLite instead.
 */
export class MemoryTree implements NodeSource {
  private readonly levels: Uint8Array[][] = [[]];
  private readonly range: CompactRange;

  constructor(
    private readonly hasher: TreeHasher,
    leafHashes: Uint8Array[] = [],
  ) {
    this.range = new CompactRange(hasher);
    for (const leaf of leafHashes) this.append(leaf);
  }

  get size(): number {
    return this.range.size;
  }

  append(leafHash: Uint8Array): void {
    this.levels[0]!.push(leafHash);
    this.range.append(leafHash, (level, index, hash) => {
      const row = (this.levels[level] ??= []);
      row[index] = hash;
    });
  }

  appendData(data: Uint8Array): void {
    this.append(this.hasher.leaf(data));
  }

  perfect(level: number, index: number): Uint8Array {
    const hash = this.levels[level]?.[index];
    if (!hash) throw new RangeError(`no perfect subtree at level ${level}, index ${index} in a tree of size ${this.size}`);
    return hash;
  }

  root(): Uint8Array {
    return this.range.root();
  }
}
