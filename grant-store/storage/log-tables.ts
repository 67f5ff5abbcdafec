/**
 * Where the transparency log (grant-store/ledger/transparency-log.ts) keeps its own tables,
 * ledger_nodes and ledger_checkpoints: in the store's own database, opened through
 * Store.openLogTables() (sqlite/sqlite-log-tables.ts, postgres/pg-log-tables.ts). The interface
 * lives here, in storage/, so the dependency runs one way: ledger/ uses storage/, never the
 * reverse (eslint.config.js enforces it). Reads are synchronous because the proof code
 * (shared/ledger/proofs.ts, NodeSource) is.
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

export interface LogTables {
  /** Leaves whose hashes are stored (level 0 count). */
  leafCount(): number;
  node(level: number, index: number): Uint8Array | undefined;
  /** Store new nodes (keys `level:index`; existing ones are kept) and, if given, a checkpoint, atomically. */
  persist(nodes: ReadonlyMap<string, Uint8Array>, checkpoint: NewCheckpoint | undefined): void | Promise<void>;
  latestCheckpoint(): SignedCheckpoint | undefined;
  checkpointOfSize(size: number): SignedCheckpoint | undefined;
  /** Oldest first. */
  checkpoints(maxSize: number): SignedCheckpoint[];
  leafHashes(from: number, limit: number): Uint8Array[];
  /** Keep a verified cosignature (ledger_cosignatures, append-only); false when that witness already cosigned that checkpoint. */
  addCosignature(cosignature: StoredCosignature): Promise<boolean>;
  /** The cosignatures kept for one checkpoint, oldest first. */
  cosignatures(checkpointId: number): Promise<StoredCosignature[]>;
  /** Stop using the tables; the database connection belongs to the store and stays open. */
  close(): void | Promise<void>;
}
