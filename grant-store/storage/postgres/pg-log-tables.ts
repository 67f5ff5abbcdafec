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
 *
 * Checkpoints are one sequence for the whole log, whichever instance signs each: a checkpoint is
 * stored under a transaction advisory lock, and only if none of its size or larger is stored
 * yet, so ids grow with the tree size and no size is signed twice. Each instance loads them at
 * start and learns the others' with refresh() (the transparency log calls it before each
 * integration, the witnesses before each retry): ids are taken under that lock and committed
 * before it is released, so reading past the last id seen never skips one.
 */
/** The advisory-lock space (first of two int keys) of checkpoint storing: "bg" + 0x6370 ("cp"). */
const CHECKPOINT_LOCK_SPACE = 0x62676370;

export class PgLogTables implements LogTables {
  private readonly signed: SignedCheckpoint[] = [];
  /** The largest id loaded: refresh() reads past it. */
  private lastId = 0;
  /** The largest checkpoint (the newest of that size): a database written by older releases may hold a smaller one after it. */
  private latest: SignedCheckpoint | undefined;
  private loading: Promise<void> = Promise.resolve();
  /** Checkpoints other instances signed, learnt and not yet reported by refresh(). */
  private readonly unannounced: SignedCheckpoint[] = [];

  private constructor(private readonly pool: pg.Pool) {}

  static async open(pool: pg.Pool): Promise<PgLogTables> {
    const tables = new PgLogTables(pool);
    // Another instance commits a checkpoint in the same transaction as the nodes it covers, so
    // every checkpoint read here has its nodes visible to any later read.
    await tables.load();
    // What was there at start is the log as opened, not news.
    tables.unannounced.length = 0;
    return tables;
  }

  refresh(): Promise<SignedCheckpoint[]> {
    return this.load().then(() => this.unannounced.splice(0));
  }

  /**
   * Read the checkpoints stored past the last id seen, one read at a time; those another
   * instance signed (not `ownId`) wait in `unannounced` for the next refresh() to report them.
   */
  private load(ownId?: number): Promise<void> {
    const run = this.loading.then(async () => {
      const rows = (await this.pool.query<CheckpointRow>('SELECT id, tree_size, root_hash, note, signed_at FROM ledger_checkpoints WHERE id > $1 ORDER BY id', [this.lastId])).rows;
      for (const cp of rows.map(rowToCheckpoint)) {
        if (cp.id <= this.lastId) continue;
        this.remember(cp);
        if (cp.id !== ownId) this.unannounced.push(cp);
      }
    });
    this.loading = run.catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'reading ledger_checkpoints failed (reported to its caller)'));
    return run;
  }

  private remember(cp: SignedCheckpoint): void {
    if (cp.id <= this.lastId) return;
    this.lastId = cp.id;
    this.signed.push(cp);
    if (!this.latest || cp.treeSize >= this.latest.treeSize) this.latest = cp;
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

  async persist(nodes: ReadonlyMap<string, Uint8Array>, checkpoint: NewCheckpoint | undefined): Promise<boolean> {
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
        // One checkpoint store at a time across instances; kept only if it is the largest yet.
        await client.query('SELECT pg_advisory_xact_lock($1::int, 0)', [CHECKPOINT_LOCK_SPACE]);
        id = (
          await client.query<{ id: number }>(
            'INSERT INTO ledger_checkpoints (tree_size, root_hash, note, signed_at) SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM ledger_checkpoints WHERE tree_size >= $1) RETURNING id',
            [checkpoint.size, Buffer.from(checkpoint.root), checkpoint.note, checkpoint.signedAt],
          )
        ).rows[0]?.id;
      }
      await client.query('COMMIT');
    } catch (error) {
      // The error that made us roll back is thrown next; a failed ROLLBACK only ends the connection.
      await client.query('ROLLBACK').catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'ROLLBACK failed after a failed log-table write'));
      throw error;
    } finally {
      client.release();
    }
    if (!checkpoint) return false;
    if (id === undefined) {
      // Another instance stored this size or a larger one first: learn it (it is what the log serves).
      await this.load();
      return false;
    }
    // Checkpoints other instances stored before this one come first.
    if (id > this.lastId + 1) await this.load(id);
    this.remember({ id, treeSize: checkpoint.size, rootHash: checkpoint.root, note: checkpoint.note, signedAt: checkpoint.signedAt });
    return true;
  }

  latestCheckpoint(): SignedCheckpoint | undefined {
    return this.latest;
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

  async compareNodes(level: number, from: number, hashes: Uint8Array): Promise<{ stored: number; firstDifference: number | null }> {
    // substring of a bytea counts bytes from 1; IS DISTINCT FROM also catches a NULL hash.
    const row = (
      await this.pool.query<{ stored: number; first: string | null }>(
        'SELECT count(*)::int AS stored, min(idx) FILTER (WHERE hash IS DISTINCT FROM substring($3::bytea FROM ((idx - $1) * 32 + 1)::int FOR 32)) AS first FROM ledger_nodes WHERE level = $4 AND idx >= $1 AND idx < $2',
        [from, from + hashes.length / 32, Buffer.from(hashes.buffer, hashes.byteOffset, hashes.byteLength), level],
      )
    ).rows[0]!;
    return { stored: row.stored, firstDifference: row.first === null ? null : Number(row.first) };
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

  async newestWithQuorum(afterCheckpointId: number, witnesses: readonly string[], quorum: number): Promise<{ checkpointId: number; treeSize: number } | undefined> {
    if (witnesses.length === 0 || quorum < 1) return undefined;
    const row = (
      await this.pool.query<{ checkpoint_id: number; tree_size: number }>(
        `SELECT checkpoint_id, tree_size FROM ledger_cosignatures WHERE checkpoint_id > $1 AND witness = ANY($2::text[])
         GROUP BY checkpoint_id, tree_size HAVING COUNT(DISTINCT witness) >= $3 ORDER BY checkpoint_id DESC LIMIT 1`,
        [afterCheckpointId, [...witnesses], quorum],
      )
    ).rows[0];
    return row ? { checkpointId: row.checkpoint_id, treeSize: row.tree_size } : undefined;
  }

  close(): void {
    // The pool belongs to the store.
  }
}
