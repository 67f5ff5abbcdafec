import { type FileHandle, open } from 'node:fs/promises';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import { GroupCommitter } from './group-commit';
import type { LedgerListener, Store, StoreOpenBinding, StoreTx } from '../store';
import type { EntryBinder } from '../../../shared/ledger/entry-binding';
import { migrate } from './migrations';
import { SqliteReader } from './sqlite-reader';
import { SqliteTx } from './sqlite-tx';
import { SqliteLogTables } from './sqlite-log-tables';
import type { LogTables } from '../log-tables';
import { fallbackStoreLogger, type StoreLogger } from '../../logger';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock';
import { WalCheckpointer } from './wal-checkpointer';

/** Wait this long for a lock held by another process (e.g. `breakglass admin` on a live store). */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * The embedded backend: one writer handle (transactions serialized, several folded into one
 * durable COMMIT under load: see group-commit.ts) and one reader handle, so reads outside a
 * transaction see only committed data (WAL snapshot) while a transaction is in flight.
 * An acknowledged commit survives power loss: the WAL is fdatasync'ed after COMMIT, off the
 * event loop, before anyone is answered (see open and GroupCommitter).
 */
/** The database and its WAL/SHM files hold every request, reason and token hash: owner only. */
const OWNER_ONLY = 0o600;

/** Create the database file owner-only (SQLite gives -wal and -shm the same mode), or tighten an existing one. */
function restrictToOwner(path: string): void {
  if (path === ':memory:' || path === '') return;
  closeSync(openSync(path, 'a', OWNER_ONLY));
  chmodSync(path, OWNER_ONLY);
}

export class SqliteStore extends SqliteReader implements Store {
  readonly backend = 'sqlite' as const;
  private readonly writer: Database.Database;
  private readonly committer: GroupCommitter;
  private readonly listeners = new Set<LedgerListener>();
  private closed = false;

  /** The WAL, opened on the first sync (SQLite creates it with the first write). */
  private wal: Promise<FileHandle> | undefined;
  /** The data dir's one-writer lock, when opened for serving (openExclusive); released on close. */
  private lock: DataDirLock | undefined;
  /** WAL checkpoints in a worker thread, not in a COMMIT on the event loop (WAL mode on a file only). */
  private readonly checkpointer: WalCheckpointer | undefined;

  private constructor(
    writer: Database.Database,
    reader: Database.Database,
    private readonly binder: EntryBinder | undefined,
    private readonly walPath: string | undefined,
  ) {
    super(reader);
    this.writer = writer;
    this.checkpointer = walPath
      ? new WalCheckpointer(writer, { path: writer.name, busyTimeoutMs: BUSY_TIMEOUT_MS }, (run) => this.committer.submitBetween(run), (message) => fallbackStoreLogger().warn(message))
      : undefined;
    this.committer = new GroupCommitter(
      writer,
      (results) => {
        const appended = (results as { appended: LedgerEntry[] }[]).flatMap((r) => r.appended);
        if (appended.length > 0) this.emit(appended);
      },
      walPath ? () => this.syncWal() : undefined,
      () => this.checkpointer?.committed(),
    );
  }

  /**
   * Open a store. `binding.binder`: the log key's entry binder, so every appended row is bound
   * (the grant store and `admin init` pass it). Commits are made durable by an fdatasync of the
   * WAL in libuv's thread pool after COMMIT (synchronous=NORMAL: SQLite itself syncs only around
   * checkpoints, which keeps them safe), so a commit's fsync never blocks the event loop;
   * callers are answered only after it (see GroupCommitter).
   */
  static open(path: string, binding: StoreOpenBinding = {}): SqliteStore {
    restrictToOwner(path);
    const writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    writer.pragma('synchronous = FULL');
    writer.pragma('foreign_keys = ON');
    writer.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(writer, () => new Date().toISOString());
    const offLoop = writer.pragma('journal_mode', { simple: true }) === 'wal';
    if (offLoop) writer.pragma('synchronous = NORMAL');
    const reader = new Database(path, { readonly: true });
    reader.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // SQLite creates -wal and -shm with the database's mode; ones left by an older version are tightened too.
    for (const side of [`${path}-wal`, `${path}-shm`]) if (existsSync(side)) chmodSync(side, OWNER_ONLY);
    return new SqliteStore(writer, reader, binding.binder, offLoop ? `${writer.name}-wal` : undefined);
  }

  /**
   * Open the store for serving: first take the data dir's one-writer lock (data-dir-lock.ts), so a
   * second `serve` on the same dir is refused naming the PID holding it. The lock is released by
   * close() (or when opening fails); one left by a crashed holder is taken over.
   */
  static openExclusive(dataDir: string, path: string, binding: StoreOpenBinding, logger: StoreLogger): SqliteStore {
    const lock = acquireDataDirLock(dataDir, logger);
    try {
      const store = SqliteStore.open(path, binding);
      store.lock = lock;
      return store;
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  private async syncWal(): Promise<void> {
    this.wal ??= open(this.walPath!, 'r+');
    await (await this.wal).datasync();
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    const outcome = await this.committer.submit(async () => {
      const tx = new SqliteTx(this.writer, this.binder);
      const value = await fn(tx);
      tx.flushCounters();
      return { value, appended: tx.appended };
    });
    return outcome.value;
  }

  /** The log's tables (migration 9): read on the reader handle, written through the group commit. */
  async openLogTables(): Promise<LogTables> {
    if (this.closed) throw new Error('store is closed');
    return new SqliteLogTables(this.db, (run) => this.writeOnly(run));
  }

  /** Run `run` on the writer in the commit queue (a transaction with no ledger entries of its own). */
  private async writeOnly(run: (writer: Database.Database) => void): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    await this.committer.submit(async () => {
      run(this.writer);
      return { value: undefined, appended: [] };
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
        fallbackStoreLogger().error({ err: error }, 'ledger listener failed');
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let queued transactions finish before closing the handles.
    await this.committer.idle();
    await this.checkpointer?.close();
    if (this.wal) await (await this.wal).close();
    this.db.close();
    this.writer.close();
    this.lock?.release();
  }
}
