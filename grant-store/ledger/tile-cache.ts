import { AppError } from '../../shared/errors';
import type { NodeSource } from '../../shared/ledger/proofs';
import { TILE_HEIGHT, TILE_WIDTH, tileWidthAt } from '../../shared/ledger/tlog-tiles';
import type { TreeHasher } from '../../shared/ledger/tree-hasher';
import { nodeKey, type LogTables, type NodeKey } from '../storage/log-tables';

const HASH_SIZE = 32;
/** Full tiles kept, least recently used dropped first: at most 16 KB each (256 hashes and the 255 above them), 4 MB in all. */
export const DEFAULT_MAX_CACHED_TILES = 256;

/**
 * The nodes a computation over a NodeSource reads, found by running it once on placeholder
 * hashes. Every RFC 6962 root and proof (shared/ledger/proofs.ts) chooses its nodes from the
 * tree sizes and indices alone, never from hash values, so the second run, on the nodes read in
 * one batch, reads exactly these. A computation that throws (bad sizes) throws here the same way.
 */
export function nodesReadBy(compute: (source: NodeSource) => unknown): NodeKey[] {
  const seen = new Map<string, NodeKey>();
  const placeholder = new Uint8Array(HASH_SIZE);
  compute({
    perfect(level, index) {
      seen.set(nodeKey(level, index), { level, index });
      return placeholder;
    },
  });
  return [...seen.values()];
}

/** A node source over hashes already read; a node not among them is an internal error (the recording run missed it). */
export function mapNodeSource(nodes: ReadonlyMap<string, Uint8Array>, what: string): NodeSource {
  return {
    perfect(level, index) {
      const hash = nodes.get(nodeKey(level, index));
      if (!hash) throw new AppError('internal', `ledger node ${level}/${index} is missing from ${what}`);
      return hash;
    },
  };
}

/**
 * One tile: `rows[r]` packs the hashes of tree level 8·L + r at indices (256·N) / 2^r onwards,
 * 32 bytes each. Row 0 is the tile as served (the stored hashes); the rows above are hashed from
 * it when first asked for, as a tile client does.
 */
class Tile {
  private readonly rows: Uint8Array[];

  constructor(
    private readonly hasher: TreeHasher,
    base: Uint8Array,
    readonly width: number,
  ) {
    this.rows = [base];
  }

  get base(): Uint8Array {
    return this.rows[0]!;
  }

  /** Hash `i` of row `r` (level 8·L + r within this tile). */
  hash(r: number, i: number): Uint8Array {
    while (this.rows.length <= r) {
      const below = this.rows[this.rows.length - 1]!;
      const n = Math.floor(below.length / HASH_SIZE / 2);
      const row = new Uint8Array(n * HASH_SIZE);
      for (let k = 0; k < n; k++) {
        row.set(this.hasher.node(below.subarray(2 * k * HASH_SIZE, (2 * k + 1) * HASH_SIZE), below.subarray((2 * k + 1) * HASH_SIZE, (2 * k + 2) * HASH_SIZE)), k * HASH_SIZE);
      }
      this.rows.push(row);
    }
    const row = this.rows[r]!;
    if ((i + 1) * HASH_SIZE > row.length) throw new AppError('internal', `tile row ${r} of width ${this.width} has no hash ${i}`);
    return row.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }
}

/**
 * The log's tree read as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): a tile (L, N) holds the
 * hashes of tree level 8·L at indices 256·N … 256·N + W − 1, read from the log's tables in one
 * range query; any node of levels 8·L … 8·L + 7 is hashed from its tile. Full tiles never change
 * and are kept in a bounded LRU cache (DEFAULT_MAX_CACHED_TILES); partial ones are read each time.
 * The tile routes serve these tiles and the proof routes are answered from them, so no instance
 * holds the tree in memory.
 */
export class TileCache {
  private readonly full = new Map<string, Promise<Tile>>();

  constructor(
    private readonly tables: Pick<LogTables, 'nodeRange'>,
    private readonly hasher: TreeHasher,
    private readonly maxTiles = DEFAULT_MAX_CACHED_TILES,
  ) {}

  /** Tile (L, N) of width `width` (1..256): the packed hashes as served. */
  async tileHashes(level: number, index: number, width: number): Promise<Uint8Array> {
    return (await this.tile(level, index, width)).base;
  }

  private tile(level: number, index: number, width: number): Promise<Tile> {
    if (width !== TILE_WIDTH) return this.read(level, index, width);
    const key = `${level}/${index}`;
    let tile = this.full.get(key);
    if (tile) {
      // Most recently used last.
      this.full.delete(key);
      this.full.set(key, tile);
      return tile;
    }
    tile = this.read(level, index, width);
    this.full.set(key, tile);
    // A failed read reaches its caller through `tile`; here it is only forgotten, so the next read retries.
    tile.catch((_readFailed: unknown) => this.full.delete(key));
    while (this.full.size > this.maxTiles) this.full.delete(this.full.keys().next().value!);
    return tile;
  }

  private async read(level: number, index: number, width: number): Promise<Tile> {
    const hashes = await this.tables.nodeRange(TILE_HEIGHT * level, index * TILE_WIDTH, width);
    if (hashes.length !== width) throw new AppError('internal', `ledger tile ${level}/${index}: ${hashes.length} of its ${width} hashes are stored`);
    const base = new Uint8Array(width * HASH_SIZE);
    hashes.forEach((h, i) => base.set(h, i * HASH_SIZE));
    return new Tile(this.hasher, base, width);
  }

  /**
   * A node source holding `keys` in the tree of `treeSize` leaves, each hashed from the tile that
   * holds it (at the width that tree size gives it). The tiles are read side by side.
   */
  async nodes(keys: readonly NodeKey[], treeSize: number): Promise<NodeSource> {
    const wanted = new Map<string, { level: number; index: number; width: number }>();
    const located = keys.map(({ level, index }) => {
      const L = Math.floor(level / TILE_HEIGHT);
      const r = level % TILE_HEIGHT;
      const first = index * 2 ** r;
      const N = Math.floor(first / TILE_WIDTH);
      const width = tileWidthAt(L, N, treeSize);
      if ((first % TILE_WIDTH) + 2 ** r > width) throw new AppError('internal', `ledger node ${level}/${index} is not in a tree of ${treeSize} leaves`);
      wanted.set(`${L}/${N}/${width}`, { level: L, index: N, width });
      return { key: nodeKey(level, index), tile: `${L}/${N}/${width}`, r, at: (first % TILE_WIDTH) / 2 ** r };
    });
    const tiles = new Map<string, Tile>();
    await Promise.all([...wanted].map(async ([id, t]) => tiles.set(id, await this.tile(t.level, t.index, t.width))));
    const hashes = new Map<string, Uint8Array>();
    for (const n of located) hashes.set(n.key, tiles.get(n.tile)!.hash(n.r, n.at));
    return mapNodeSource(hashes, 'the tiles read');
  }
}
