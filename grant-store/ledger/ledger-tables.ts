import type Database from 'better-sqlite3';

/**
 * The transparency log's own tables, next to the store's ledger_entries in the same SQLite
 * file. Both are append-only (triggers reject UPDATE and DELETE) and both are derived from, or
 * commit to, ledger_entries:
 * - ledger_nodes: every perfect-subtree hash (level 0 = leaf hashes recomputed by the log from
 *   the entry bytes), so roots and proofs cost O(log n) lookups;
 * - ledger_checkpoints: every checkpoint the log signed, in order. The newest is the one the
 *   log will not contradict: a new checkpoint is signed only after proving consistency with it.
 * Created idempotently (IF NOT EXISTS) so the log works on any store database, old or new.
 */
export const LEDGER_TABLES_SQL = `
  CREATE TABLE IF NOT EXISTS ledger_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
  ) WITHOUT ROWID;
  CREATE TRIGGER IF NOT EXISTS ledger_nodes_no_update BEFORE UPDATE ON ledger_nodes
    BEGIN SELECT RAISE(ABORT, 'ledger_nodes is append-only: UPDATE rejected'); END;
  CREATE TRIGGER IF NOT EXISTS ledger_nodes_no_delete BEFORE DELETE ON ledger_nodes
    BEGIN SELECT RAISE(ABORT, 'ledger_nodes is append-only: DELETE rejected'); END;

  CREATE TABLE IF NOT EXISTS ledger_checkpoints (
    id INTEGER PRIMARY KEY,
    tree_size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL,
    signed_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS ledger_checkpoints_size ON ledger_checkpoints(tree_size);
  CREATE TRIGGER IF NOT EXISTS ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
    BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only: UPDATE rejected'); END;
  CREATE TRIGGER IF NOT EXISTS ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
    BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only: DELETE rejected'); END;
`;

export function createLedgerTables(db: Database.Database): void {
  db.exec(LEDGER_TABLES_SQL);
}
