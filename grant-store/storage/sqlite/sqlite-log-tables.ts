import type Database from 'better-sqlite3';
import { nodeKey, type LogTables, type NewCheckpoint, type NodeKey, type SignedCheckpoint, type StoredCosignature } from '../log-tables';
import { rowToCheckpoint, rowToCosignature, type CheckpointRow, type CosignatureRow } from '../log-table-rows';

/**
 * The log's tables (migration 9) on the embedded store's own connections: reads on its reader
 * handle (committed data only), writes queued on its writer like any transaction (`write`
 * runs inside the store's group commit), so the log never holds a second connection to the
 * database nor writes inside someone else's open transaction.
 */
export class SqliteLogTables implements LogTables {
  private readonly nodeQuery: Database.Statement;
  private readonly rangeQuery: Database.Statement;
  private nodeCompare: Database.Statement | undefined;

  constructor(
    private readonly reader: Database.Database,
    private readonly write: (run: (writer: Database.Database) => void) => Promise<void>,
  ) {
    this.nodeQuery = reader.prepare('SELECT hash FROM ledger_nodes WHERE level = ? AND idx = ?');
    this.rangeQuery = reader.prepare('SELECT idx, hash FROM ledger_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx');
  }

  async leafCount(): Promise<number> {
    return (this.reader.prepare('SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM ledger_nodes WHERE level = 0').get() as { n: number }).n;
  }

  async nodes(keys: readonly NodeKey[]): Promise<Map<string, Uint8Array>> {
    // Primary-key lookups on the reader: a proof's few dozen cost less than building one IN list.
    const out = new Map<string, Uint8Array>();
    for (const { level, index } of keys) {
      const row = this.nodeQuery.get(level, index) as { hash: Buffer } | undefined;
      if (row) out.set(nodeKey(level, index), new Uint8Array(row.hash));
    }
    return out;
  }

  async nodeRange(level: number, from: number, count: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    // better-sqlite3 hands each row its own Buffer (a Uint8Array): no copy (a tile or the start-up check reads up to 20,000 at a time).
    for (const row of this.rangeQuery.all(level, from, from + count) as { idx: number; hash: Buffer }[]) {
      if (row.idx !== from + out.length) break;
      out.push(row.hash);
    }
    return out;
  }

  async persist(nodes: ReadonlyMap<string, Uint8Array>, checkpoint: NewCheckpoint | undefined): Promise<boolean> {
    // One process owns the file (data-dir lock) and its log signs one checkpoint at a time: always kept.
    await this.write((writer) => {
      const insertNode = writer.prepare('INSERT OR IGNORE INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)');
      for (const [key, hash] of nodes) {
        const [level, index] = key.split(':').map(Number) as [number, number];
        insertNode.run(level, index, Buffer.from(hash));
      }
      if (checkpoint) {
        writer
          .prepare('INSERT INTO ledger_checkpoints (tree_size, root_hash, note, signed_at) VALUES (?, ?, ?, ?)')
          .run(checkpoint.size, Buffer.from(checkpoint.root), checkpoint.note, checkpoint.signedAt);
      }
    });
    return checkpoint !== undefined;
  }

  async refresh(): Promise<SignedCheckpoint[]> {
    // Every read goes to the table: nothing to learn.
    return [];
  }

  latestCheckpoint(): SignedCheckpoint | undefined {
    const row = this.reader.prepare('SELECT * FROM ledger_checkpoints ORDER BY id DESC LIMIT 1').get() as CheckpointRow | undefined;
    return row ? rowToCheckpoint(row) : undefined;
  }

  checkpointOfSize(size: number): SignedCheckpoint | undefined {
    const row = this.reader.prepare('SELECT * FROM ledger_checkpoints WHERE tree_size = ? ORDER BY id DESC LIMIT 1').get(size) as CheckpointRow | undefined;
    return row ? rowToCheckpoint(row) : undefined;
  }

  checkpoints(maxSize: number): SignedCheckpoint[] {
    return (this.reader.prepare('SELECT * FROM ledger_checkpoints WHERE tree_size <= ? ORDER BY id').all(maxSize) as CheckpointRow[]).map(rowToCheckpoint);
  }

  leafHashes(from: number, limit: number): Promise<Uint8Array[]> {
    return this.nodeRange(0, from, limit);
  }

  async compareNodes(level: number, from: number, hashes: Uint8Array): Promise<{ stored: number; firstDifference: number | null }> {
    // substr of a blob counts bytes; IS NOT also catches a NULL or non-blob hash.
    this.nodeCompare ??= this.reader.prepare(
      'SELECT count(*) AS stored, min(CASE WHEN hash IS NOT substr(@hashes, (idx - @from) * 32 + 1, 32) THEN idx END) AS first FROM ledger_nodes WHERE level = @level AND idx >= @from AND idx < @to',
    );
    const row = this.nodeCompare.get({ level, from, to: from + hashes.length / 32, hashes: Buffer.from(hashes.buffer, hashes.byteOffset, hashes.byteLength) }) as { stored: number; first: number | null };
    return { stored: row.stored, firstDifference: row.first };
  }

  async addCosignature(c: StoredCosignature): Promise<boolean> {
    let added = false;
    await this.write((writer) => {
      const result = writer
        .prepare('INSERT OR IGNORE INTO ledger_cosignatures (checkpoint_id, tree_size, witness, cosigned_at, line, received_at, source) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(c.checkpointId, c.treeSize, c.witness, c.cosignedAt, c.line, c.receivedAt, c.source);
      added = result.changes === 1;
    });
    return added;
  }

  async cosignatures(checkpointId: number): Promise<StoredCosignature[]> {
    return (this.reader.prepare('SELECT * FROM ledger_cosignatures WHERE checkpoint_id = ? ORDER BY id').all(checkpointId) as CosignatureRow[]).map(rowToCosignature);
  }

  async newestWithQuorum(afterCheckpointId: number, witnesses: readonly string[], quorum: number): Promise<{ checkpointId: number; treeSize: number } | undefined> {
    if (witnesses.length === 0 || quorum < 1) return undefined;
    const row = this.reader
      .prepare(
        `SELECT checkpoint_id, tree_size FROM ledger_cosignatures WHERE checkpoint_id > ? AND witness IN (${witnesses.map(() => '?').join(', ')})
         GROUP BY checkpoint_id, tree_size HAVING COUNT(DISTINCT witness) >= ? ORDER BY checkpoint_id DESC LIMIT 1`,
      )
      .get(afterCheckpointId, ...witnesses, quorum) as { checkpoint_id: number; tree_size: number } | undefined;
    return row ? { checkpointId: row.checkpoint_id, treeSize: row.tree_size } : undefined;
  }

  close(): void {
    // The connections belong to the store, which closes them.
  }
}
