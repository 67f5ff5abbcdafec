import type { CosignatureSource, SignedCheckpoint, StoredCosignature } from './log-tables';

/** A `ledger_checkpoints` row as both backends read it. */
export interface CheckpointRow {
  id: number;
  tree_size: number;
  root_hash: Buffer;
  note: string;
  signed_at: string;
}

export function rowToCheckpoint(row: CheckpointRow): SignedCheckpoint {
  return { id: row.id, treeSize: row.tree_size, rootHash: new Uint8Array(row.root_hash), note: row.note, signedAt: row.signed_at };
}

/** A `ledger_cosignatures` row (migration 10) as both backends read it; PostgreSQL's bigints come as text, hence Number(). */
export interface CosignatureRow {
  checkpoint_id: number;
  tree_size: number;
  witness: string;
  cosigned_at: number;
  line: string;
  received_at: string;
  source: CosignatureSource;
}

export function rowToCosignature(row: CosignatureRow): StoredCosignature {
  return { checkpointId: Number(row.checkpoint_id), treeSize: Number(row.tree_size), witness: row.witness, cosignedAt: Number(row.cosigned_at), line: row.line, receivedAt: row.received_at, source: row.source };
}
