/**
 * Where the transparency log (grant-store/ledger/transparency-log.ts) keeps its own tables,
 * ledger_nodes and ledger_checkpoints: in the store's own database, opened through
 * Store.openLogTables() (sqlite/sqlite-log-tables.ts, postgres/pg-log-tables.ts). The interface
 * lives here, in storage/, so the dependency runs one way: ledger/ uses storage/, never the
 * reverse (eslint.config.js enforces it). Node reads are asynchronous and batched: the log
 * reads the few nodes a proof needs (or a tile's 256 hashes) in one query, so no backend has to
 * hold the tree in memory.
 */
export interface SignedCheckpoint {
  id: number;
  treeSize: number;
  rootHash: Uint8Array;
  /** The C2SP signed note. */
  note: string;
  signedAt: string;
}

export interface NewCheckpoint {
  size: number;
  root: Uint8Array;
  note: string;
  signedAt: string;
}

/** How a cosignature reached the store: pushed to a witness (add-checkpoint) or handed back by one. */
export type CosignatureSource = 'push' | 'submitted';

/** A witness's cosignature (C2SP tlog-cosignature) on one signed checkpoint, verified before it is kept. */
export interface StoredCosignature {
  checkpointId: number;
  treeSize: number;
  /** The witness's note key name. */
  witness: string;
  /** The POSIX seconds the witness signed. */
  cosignedAt: number;
  /** The exact signature line (no newline). */
  line: string;
  receivedAt: string;
  source: CosignatureSource;
}

/** A perfect subtree: the root of leaves [index·2^level, (index+1)·2^level). */
export interface NodeKey {
  level: number;
  index: number;
}

/** The map key of a node in `nodes()` answers and `persist()` arguments. */
export function nodeKey(level: number, index: number): string {
  return `${level}:${index}`;
}

export interface LogTables {
  /** Leaves whose hashes are stored (level 0 count). */
  leafCount(): Promise<number>;
  /** The stored hashes of these nodes, keyed `level:index` (nodeKey); missing ones are left out. One query. */
  nodes(keys: readonly NodeKey[]): Promise<Map<string, Uint8Array>>;
  /** The stored hashes of tree level `level` at indices from..from+count-1, in order, stopping at the first missing one (a tile's contents). */
  nodeRange(level: number, from: number, count: number): Promise<Uint8Array[]>;
  /**
   * Store new nodes (keys `level:index`; existing ones are kept) and, if given, a checkpoint,
   * atomically. Answers whether the checkpoint was kept: false when another instance on the
   * same database stored one of the same or a larger size first (checkpoints are stored in
   * increasing size, one signer each; the caller then goes on from that one, see refresh).
   */
  persist(nodes: ReadonlyMap<string, Uint8Array>, checkpoint: NewCheckpoint | undefined): Promise<boolean>;
  /**
   * Learn the checkpoints other instances on the same database signed since this handle last
   * looked; answers them, oldest first (always empty with SQLite: one process owns the file).
   */
  refresh(): Promise<SignedCheckpoint[]>;
  /** The checkpoint of the largest size this handle knows of (the one every route serves). */
  latestCheckpoint(): SignedCheckpoint | undefined;
  checkpointOfSize(size: number): SignedCheckpoint | undefined;
  /** Oldest first. */
  checkpoints(maxSize: number): SignedCheckpoint[];
  /** Stored leaf hashes seq from..from+limit-1 (nodeRange of level 0). */
  leafHashes(from: number, limit: number): Promise<Uint8Array[]>;
  /**
   * Compare the stored hashes of tree level `level` at indices from..from+n-1 with `hashes` (n
   * hashes packed 32 bytes each) in the database, in one query: how many of them are stored, and
   * the first index whose stored hash differs (null: none). The start-up check's way to see that
   * ledger_nodes still holds the leaf hashes of the rows (and the tile levels' nodes) without
   * reading a million of them one by one.
   */
  compareNodes(level: number, from: number, hashes: Uint8Array): Promise<{ stored: number; firstDifference: number | null }>;
  /** Keep a verified cosignature (ledger_cosignatures, append-only); false when that witness already cosigned that checkpoint. */
  addCosignature(cosignature: StoredCosignature): Promise<boolean>;
  /** The cosignatures kept for one checkpoint, oldest first. */
  cosignatures(checkpointId: number): Promise<StoredCosignature[]>;
  /**
   * The newest checkpoint after `afterCheckpointId` that at least `quorum` distinct witnesses
   * among `witnesses` cosigned (whichever instance kept the cosignatures); undefined when none.
   */
  newestWithQuorum(afterCheckpointId: number, witnesses: readonly string[], quorum: number): Promise<{ checkpointId: number; treeSize: number } | undefined>;
  /** Stop using the tables; the database connection belongs to the store and stays open. */
  close(): void | Promise<void>;
}
