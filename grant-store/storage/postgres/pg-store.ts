import type pg from 'pg';
import type { EntryBinder } from '../../../shared/ledger/entry-binding';
import type { LedgerListener, Store, StoreTx } from '../store';
import { createPgPool, DEFAULT_POOL_SIZE, withTransaction } from './connection';
import type { LogTables } from '../log-tables';
import { PgLedgerFeed } from './ledger-feed';
import { PgLogTables } from './pg-log-tables';
import { applyMigrations } from './migrate';
import { PgReader } from './pg-reader';
import { PgTx } from './pg-tx';
import { fallbackStoreLogger } from '../../logger';
import { keepStatistics, type StatisticsKeeper } from './table-statistics';

export interface PgStoreOptions {
  databaseUrl: string;
  poolSize?: number;
  /** Apply pending migrations on open (default true; `admin migrate` does it alone). */
  migrate?: boolean;
  log?: (message: string) => void;
  /** The log key's entry binder, so every appended row is bound (the grant store and `admin init` pass it). */
  binder?: EntryBinder;
}

/**
 * The PostgreSQL backend, for several grant-store instances on one database. Transactions are
 * READ COMMITTED with row locks where the service reads what it is about to change (see
 * PgReader), the ledger seq is taken from a locked head row inside the committing transaction,
 * and `onLedgerAppended` listeners receive the entries of EVERY instance, in seq order (fed by
 * LISTEN/NOTIFY plus a read by seq, see PgLedgerFeed). A transaction resolves only after its
 * own entries reached this instance's listeners, so a caller that got its answer finds it in
 * the check index and the event stream too.
 */
export class PgStore extends PgReader implements Store {
  readonly backend = 'postgres' as const;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly feed: PgLedgerFeed,
    private readonly binder: EntryBinder | undefined,
    private readonly statistics: StatisticsKeeper,
  ) {
    super(pool, false);
  }

  static async open(options: PgStoreOptions): Promise<PgStore> {
    const log = options.log ?? ((message: string) => fallbackStoreLogger().error(message));
    const pool = createPgPool(options.databaseUrl, options.poolSize ?? DEFAULT_POOL_SIZE, { pipeline: true });
    try {
      if (options.migrate !== false) await applyMigrations(pool);
      const reader = new PgReader(pool, false);
      const size = await reader.ledgerSize();
      const feed = new PgLedgerFeed(
        options.databaseUrl,
        { entriesAfter: async (after, limit) => reader.getLedgerEntries(after + 1, limit) },
        size - 1,
        log,
      );
      await feed.start();
      const statistics = await keepStatistics(pool, fallbackStoreLogger()).catch((error: unknown) => {
        // Plan quality only: the store works without them, and says so.
        fallbackStoreLogger().warn(`could not read or refresh PostgreSQL's planner statistics for the store's tables: ${(error as Error).message}`);
        return { stop: async () => undefined };
      });
      return new PgStore(pool, feed, options.binder, statistics);
    } catch (error) {
      // Opening failed: that error is thrown next; closing the half-open pool is best effort.
      await pool.end().catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'closing the pool after a failed open'));
      throw error;
    }
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    // The wake-ups our own commits send back need no read (PgLedgerFeed.expectOwn); every
    // attempt's are forgotten at the end, delivered or not.
    const own: number[] = [];
    try {
      const { result, appended } = await withTransaction(
        this.pool,
        async (client) => {
          const tx = new PgTx(client, this.binder);
          return { result: await fn(tx), appended: tx.appended, tx };
        },
        // The buffered entries' insert goes out with COMMIT (one round trip); the NOTIFYs it
        // queues are known once it is issued, before COMMIT can deliver them.
        (_client, { tx }) => {
          const flushed = tx.beforeCommit();
          own.push(...tx.notified);
          this.feed.expectOwn(tx.notified);
          return flushed;
        },
      );
      if (appended.length > 0) await this.feed.deliverCommitted(appended);
      return result;
    } finally {
      this.feed.forgetOwn(own);
    }
  }

  /** The transparency log's tables in this database (migration 2), mirrored in memory (pg-log-tables.ts). */
  openLogTables(): Promise<LogTables> {
    return PgLogTables.open(this.pool);
  }

  onLedgerAppended(listener: LedgerListener): () => void {
    return this.feed.subscribe(listener);
  }

  /** Seq of the last entry handed to listeners (tests and the check index use it). */
  get deliveredSeq(): number {
    return this.feed.deliveredSeq;
  }

  /** Entries committed by other instances reach listeners on NOTIFY; this forces a read now. */
  async syncLedger(): Promise<void> {
    await this.feed.wake();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.statistics.stop();
    await this.feed.close();
    await this.pool.end();
  }
}

