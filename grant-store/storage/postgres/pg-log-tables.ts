import type pg from 'pg';
import { nodeKey, type LogTables, type NewCheckpoint, type NodeKey, type SignedCheckpoint, type StoredCosignature } from '../log-tables';
import { rowToCheckpoint, rowToCosignature, type CheckpointRow, type CosignatureRow } from '../log-table-rows';
import { fallbackStoreLogger } from '../../logger';

/**
 * The transparency log's tables in PostgreSQL (migration 2), for several instances sharing one
 * ledger. Nodes are read from the table when a proof or a tile needs them (one query each, on
 * the primary key), never mirrored in memory, so an instance's start-up and memory do not grow
 * with the ledger; the log keeps a bounded cache of full tiles (ledger/tile-cache.ts). Writes use
 * ON CONFLICT DO NOTHING: every instance derives the same nodes from the same entries.
 * Checkpoints are loaded at start and appended by this instance; other instances sign their own,
 * all over the same tree.
 */
export class PgLogTables implements LogTables {
  private readonly signed: SignedCheckpoint[] = [];

  private constructor(private readonly pool: pg.Pool) {}

  static async open(pool: pg.Pool): Promise<PgLogTables> {
    const tables = new PgLogTables(pool);
    // Another instance commits a checkpoint in the same transaction as the nodes it covers, so
    // every checkpoint read here has its nodes visible to any later read.
    const rows = (await pool.query<CheckpointRow>('SELECT id, tree_size, root_hash, note, signed_at FROM ledger_checkpoints ORDER BY id')).rows;
    for (const row of rows) tables.signed.push(rowToCheckpoint(row));
    return tables;
  }

  async leafCount(): Promise<number> {
    return (await this.pool.query<{ n: number }>('SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM ledger_nodes WHERE level = 0')).rows[0]!.n;
  }

  async nodes(keys: readonly NodeKey[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    if (keys.length === 0) return out;
    const rows = (
      await this.pool.query<{ level: number; idx: number; hash: Buffer }>(
        'SELECT n.level, n.idx, n.hash FROM ledger_nodes n JOIN unnest($1::int[], $2::bigint[]) AS k(level, idx) ON n.level = k.level AND n.idx = k.idx',
        [keys.map((k) => k.level), keys.map((k) => k.index)],
      )
    ).rows;
    for (const row of rows) out.set(nodeKey(row.level, row.idx), new Uint8Array(row.hash));
    return out;
  }

  async nodeRange(level: number, from: number, count: number): Promise<Uint8Array[]> {
    const rows = (await this.pool.query<{ idx: number; hash: Buffer }>('SELECT idx, hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx', [level, from, from + count])).rows;
    const out: Uint8Array[] = [];
    for (const row of rows) {
      if (row.idx !== from + out.length) break;
      out.push(new Uint8Array(row.hash));
    }
    return out;
  }

  async persist(nodes: ReadonlyMap<string, Uint8Array>, checkpoint: NewCheckpoint | undefined): Promise<void> {
    const parsed = [...nodes].map(([key, hash]) => {
      const [level, index] = key.split(':').map(Number) as [number, number];
      return { level, index, hash };
    });
    parsed.sort((x, y) => x.level - y.level || x.index - y.index);
    const client = await this.pool.connect();
    let id: number | undefined;
    try {
      await client.query('BEGIN');
      if (parsed.length > 0) {
        await client.query(
          'INSERT INTO ledger_nodes (level, idx, hash) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[]) ON CONFLICT DO NOTHING',
          [parsed.map((n) => n.level), parsed.map((n) => n.index), parsed.map((n) => Buffer.from(n.hash))],
        );
      }
      if (checkpoint) {
        id = (
          await client.query<{ id: number }>('INSERT INTO ledger_checkpoints (tree_size, root_hash, note, signed_at) VALUES ($1, $2, $3, $4) RETURNING id', [
            checkpoint.size,
            Buffer.from(checkpoint.root),
            checkpoint.note,
            checkpoint.signedAt,
          ])
        ).rows[0]!.id;
      }
      await client.query('COMMIT');
    } catch (error) {
      // The error that made us roll back is thrown next; a failed ROLLBACK only ends the connection.
      await client.query('ROLLBACK').catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'ROLLBACK failed after a failed log-table write'));
      throw error;
    } finally {
      client.release();
    }
    if (checkpoint && id !== undefined) this.signed.push({ id, treeSize: checkpoint.size, rootHash: checkpoint.root, note: checkpoint.note, signedAt: checkpoint.signedAt });
  }

  latestCheckpoint(): SignedCheckpoint | undefined {
    return this.signed.at(-1);
  }

  checkpointOfSize(size: number): SignedCheckpoint | undefined {
    for (let i = this.signed.length - 1; i >= 0; i--) if (this.signed[i]!.treeSize === size) return this.signed[i];
    return undefined;
  }

  checkpoints(maxSize: number): SignedCheckpoint[] {
    return this.signed.filter((c) => c.treeSize <= maxSize);
  }

  leafHashes(from: number, limit: number): Promise<Uint8Array[]> {
    return this.nodeRange(0, from, limit);
  }

  async addCosignature(c: StoredCosignature): Promise<boolean> {
    const result = await this.pool.query(
      'INSERT INTO ledger_cosignatures (checkpoint_id, tree_size, witness, cosigned_at, line, received_at, source) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (checkpoint_id, witness) DO NOTHING',
      [c.checkpointId, c.treeSize, c.witness, c.cosignedAt, c.line, c.receivedAt, c.source],
    );
    return result.rowCount === 1;
  }

  async cosignatures(checkpointId: number): Promise<StoredCosignature[]> {
    return (await this.pool.query<CosignatureRow>('SELECT * FROM ledger_cosignatures WHERE checkpoint_id = $1 ORDER BY id', [checkpointId])).rows.map(rowToCosignature);
  }

  close(): void {
    // The pool belongs to the store.
  }
}
