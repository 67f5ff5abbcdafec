import Database from 'better-sqlite3';
import { createLedgerTables } from './ledger-tables';

/**
 * Where the transparency log keeps its own tables (ledger_nodes, ledger_checkpoints): SQLite
 * next to the embedded store, or the Postgres database of a multi-instance store
 * (grant-store/storage/postgres/pg-log-tables.ts). Reads are synchronous because the proof
 * code (shared/ledger/proofs.ts, NodeSource) is.
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
  close(): void | Promise<void>;
}

const BUSY_TIMEOUT_MS = 5_000;

interface CheckpointRow {
  id: number;
  tree_size: number;
  root_hash: Buffer;
  note: string;
  signed_at: string;
}

function rowToCheckpoint(row: CheckpointRow): SignedCheckpoint {
  return { id: row.id, treeSize: row.tree_size, rootHash: new Uint8Array(row.root_hash), note: row.note, signedAt: row.signed_at };
}

/** The log's tables in a SQLite file (the embedded store's breakglass.db). */
export class SqliteLogTables implements LogTables {
  private nodeQuery: Database.Statement | undefined;

  private constructor(private readonly db: Database.Database) {}

  static open(path: string): SqliteLogTables {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    createLedgerTables(db);
    return new SqliteLogTables(db);
  }

  leafCount(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM ledger_nodes WHERE level = 0').get() as { n: number }).n;
  }

  node(level: number, index: number): Uint8Array | undefined {
    this.nodeQuery ??= this.db.prepare('SELECT hash FROM ledger_nodes WHERE level = ? AND idx = ?');
    const row = this.nodeQuery.get(level, index) as { hash: Buffer } | undefined;
    return row ? new Uint8Array(row.hash) : undefined;
  }

  persist(nodes: ReadonlyMap<string, Uint8Array>, checkpoint: NewCheckpoint | undefined): void {
    const insertNode = this.db.prepare('INSERT OR IGNORE INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const [key, hash] of nodes) {
        const [level, index] = key.split(':').map(Number) as [number, number];
        insertNode.run(level, index, Buffer.from(hash));
      }
      if (checkpoint) {
        this.db
          .prepare('INSERT INTO ledger_checkpoints (tree_size, root_hash, note, signed_at) VALUES (?, ?, ?, ?)')
          .run(checkpoint.size, Buffer.from(checkpoint.root), checkpoint.note, checkpoint.signedAt);
      }
    })();
  }

  latestCheckpoint(): SignedCheckpoint | undefined {
    const row = this.db.prepare('SELECT * FROM ledger_checkpoints ORDER BY id DESC LIMIT 1').get() as CheckpointRow | undefined;
    return row ? rowToCheckpoint(row) : undefined;
  }

  checkpointOfSize(size: number): SignedCheckpoint | undefined {
    const row = this.db.prepare('SELECT * FROM ledger_checkpoints WHERE tree_size = ? ORDER BY id DESC LIMIT 1').get(size) as CheckpointRow | undefined;
    return row ? rowToCheckpoint(row) : undefined;
  }

  checkpoints(maxSize: number): SignedCheckpoint[] {
    return (this.db.prepare('SELECT * FROM ledger_checkpoints WHERE tree_size <= ? ORDER BY id').all(maxSize) as CheckpointRow[]).map(rowToCheckpoint);
  }

  leafHashes(from: number, limit: number): Uint8Array[] {
    const rows = this.db.prepare('SELECT hash FROM ledger_nodes WHERE level = 0 AND idx >= ? ORDER BY idx LIMIT ?').all(from, limit) as { hash: Buffer }[];
    return rows.map((r) => new Uint8Array(r.hash));
  }

  close(): void {
    this.db.close();
  }
}
