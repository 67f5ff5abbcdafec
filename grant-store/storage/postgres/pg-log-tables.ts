import type pg from 'pg';
import type { LogTables, NewCheckpoint, SignedCheckpoint, StoredCosignature } from '../log-tables';
import { rowToCheckpoint, rowToCosignature, type CheckpointRow, type CosignatureRow } from '../log-table-rows';
import { fallbackStoreLogger } from '../../logger';

const HASH_SIZE = 32;
/** Rows read per query while loading the tree at start. */
const LOAD_PAGE = 50_000;

/** One level of the tree: hashes packed 32 bytes each in a growing buffer (2n hashes for n leaves). */
class Level {
  private buf = Buffer.alloc(HASH_SIZE * 64);
  count = 0;
  /** Nodes that arrived ahead of the packed prefix (not expected; kept rather than lost). */
  private readonly ahead = new Map<number, Uint8Array>();

  get(index: number): Uint8Array | undefined {
    return index < this.count ? new Uint8Array(this.buf.buffer, this.buf.byteOffset + index * HASH_SIZE, HASH_SIZE) : this.ahead.get(index);
  }

  /** Nodes arrive in index order per level (compact range appends, ordered loads). */
  set(index: number, hash: Uint8Array): void {
    if (index < this.count) return; // already known: nodes never change
    if (index > this.count) {
      this.ahead.set(index, new Uint8Array(hash));
      return;
    }
    this.push(hash);
    // Anything that was waiting for this slot joins the packed prefix.
    for (let next = this.ahead.get(this.count); next; next = this.ahead.get(this.count)) {
      this.ahead.delete(this.count);
      this.push(next);
    }
  }

  private push(hash: Uint8Array): void {
    if ((this.count + 1) * HASH_SIZE > this.buf.length) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger);
      this.buf = bigger;
    }
    this.buf.set(hash, this.count * HASH_SIZE);
    this.count++;
  }
}

/**
 * The transparency log's tables in PostgreSQL (migration 2), for several instances sharing one
 * ledger. The proof code reads nodes synchronously, so every node is mirrored in memory
 * (32 bytes each, packed per level: ~64 MB per million entries), loaded at start and extended
 * as this instance integrates entries; writes go to Postgres (ON CONFLICT DO NOTHING: every
 * instance derives the same nodes from the same entries). Checkpoints are loaded at start and
 * appended by this instance; other instances sign their own, all over the same tree.
 */
export class PgLogTables implements LogTables {
  private readonly levels: Level[] = [];
  private readonly signed: SignedCheckpoint[] = [];

  private constructor(private readonly pool: pg.Pool) {}

  static async open(pool: pg.Pool): Promise<PgLogTables> {
    const tables = new PgLogTables(pool);
    // Checkpoints before nodes: another instance commits a checkpoint in the same transaction as
    // the nodes it covers, so every checkpoint read here has its nodes visible to the reads below.
    // Read the other way round, a checkpoint committed between the two reads covered leaves this
    // instance never loaded, and the start-up integrity check took that for a wiped node table.
    const rows = (await pool.query<CheckpointRow>('SELECT id, tree_size, root_hash, note, signed_at FROM ledger_checkpoints ORDER BY id')).rows;
    for (const row of rows) tables.signed.push(rowToCheckpoint(row));
    for (let level = 0; ; level++) {
      let loaded = 0;
      for (;;) {
        const rows = (
          await pool.query<{ idx: number; hash: Buffer }>('SELECT idx, hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 ORDER BY idx LIMIT $3', [level, loaded, LOAD_PAGE])
        ).rows;
        for (const row of rows) {
          if (row.idx !== loaded) break; // a hole (should not happen): recomputed from the entries
          tables.level(level).set(row.idx, row.hash);
          loaded++;
        }
        if (rows.length < LOAD_PAGE || loaded !== rows.at(-1)!.idx + 1) break;
      }
      if (loaded === 0) break;
    }
    return tables;
  }

  private level(level: number): Level {
    while (this.levels.length <= level) this.levels.push(new Level());
    return this.levels[level]!;
  }

  leafCount(): number {
    return this.levels[0]?.count ?? 0;
  }

  node(level: number, index: number): Uint8Array | undefined {
    return this.levels[level]?.get(index);
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
    for (const n of parsed) this.level(n.level).set(n.index, n.hash);
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

  leafHashes(from: number, limit: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const leaves = this.levels[0];
    for (let i = from; leaves && i < Math.min(leaves.count, from + limit); i++) out.push(leaves.get(i)!);
    return out;
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
