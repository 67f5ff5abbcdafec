import Database from 'better-sqlite3';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import { AsyncMutex } from '../async-mutex';
import type { LedgerListener, Store, StoreTx } from '../store';
import { migrate } from './migrations';
import { SqliteReader } from './sqlite-reader';
import { SqliteTx } from './sqlite-tx';

/** Wait this long for a lock held by another process (e.g. `breakglass admin` on a live store). */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * The embedded backend: one writer handle (transactions serialized by a mutex) and one reader
 * handle, so reads outside a transaction see only committed data (WAL snapshot) while a
 * transaction is in flight. synchronous=FULL: an acknowledged commit survives power loss.
 */
export class SqliteStore extends SqliteReader implements Store {
  readonly backend = 'sqlite' as const;
  private readonly writer: Database.Database;
  private readonly mutex = new AsyncMutex();
  private readonly listeners = new Set<LedgerListener>();
  private closed = false;

  private constructor(writer: Database.Database, reader: Database.Database) {
    super(reader);
    this.writer = writer;
  }

  static open(path: string): SqliteStore {
    const writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    writer.pragma('synchronous = FULL');
    writer.pragma('foreign_keys = ON');
    writer.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(writer, () => new Date().toISOString());
    const reader = new Database(path, { readonly: true });
    reader.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return new SqliteStore(writer, reader);
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      if (this.closed) throw new Error('store is closed');
      const tx = new SqliteTx(this.writer);
      this.writer.exec('BEGIN IMMEDIATE');
      let result: T;
      try {
        result = await fn(tx);
        this.writer.exec('COMMIT');
      } catch (error) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        throw error;
      }
      if (tx.appended.length > 0) this.emit(tx.appended);
      return result;
    });
  }

  onLedgerAppended(listener: LedgerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(entries: readonly LedgerEntry[]): void {
    for (const listener of this.listeners) {
      try {
        listener(entries);
      } catch (error) {
        console.error('ledger listener failed:', error);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let a running transaction finish before closing the handles.
    await this.mutex.run(async () => {
      this.closed = true;
      this.db.close();
      this.writer.close();
    });
  }
}
