import type Database from 'better-sqlite3';

/** Most transactions folded into one commit: bounds the latency a late joiner adds to a batch. */
export const MAX_GROUP_COMMIT = 256;

interface Job<T> {
  run: () => Promise<T>;
  /** Run between batches, with no transaction open (submitBetween), not in one. */
  between?: true;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** Overlapping WAL syncs at most (see GroupCommitter.kickSync). */
export const MAX_SYNCS_IN_FLIGHT = 3;

/** What a batch tells the caller after its one COMMIT. */
export interface CommittedJob {
  /** Called after COMMIT for each job that succeeded, in order. */
  onCommitted: () => void;
}

/** Committed batches waiting for the sync that makes them durable. */
interface Committed {
  succeeded: { job: Job<unknown>; result: unknown }[];
}

/**
 * Group commit for one better-sqlite3 writer: transactions queue up; a batch runs them one after
 * another inside one BEGIN IMMEDIATE … COMMIT, each in its own SAVEPOINT. A failing transaction
 * rolls back to its savepoint (nothing of it stays) and is rejected at once; the others resolve
 * only after the shared COMMIT is durable. Semantics stay serial: each transaction sees the
 * ones before it in the batch.
 *
 * Durability, off the event loop (issue 16): when a `sync` is given, the writer runs with
 * synchronous=NORMAL (a COMMIT writes the WAL without fsync; SQLite still syncs around its
 * checkpoints) and `sync` (an fdatasync of the WAL in libuv's thread pool) runs after COMMIT:
 * a batch's callers are answered, and the listeners told, only once a sync that started after
 * its COMMIT has finished, in commit order. While a sync is in flight the event loop keeps
 * serving and committing the next batches, each of which starts a sync of its own at once (up
 * to MAX_SYNCS_IN_FLIGHT; past that, the next sync to start covers all of them together): no
 * fsync blocks the loop, and a batch waits for one sync, not for the one before it too.
 * WAL checkpoints run in a worker thread (wal-checkpointer.ts), between two batches
 * (submitBetween). Without `sync`, COMMIT itself is durable (synchronous=FULL).
 */
export class GroupCommitter {
  private readonly queue: Job<unknown>[] = [];
  /** Set and cleared synchronously with the queue check, so a job can never be stranded. */
  private running = false;
  private draining: Promise<void> = Promise.resolve();
  /** Committed, not yet answered (in commit order); `unsynced[0]` is commit number `firstUnsynced`. */
  private unsynced: Committed[] = [];
  private firstUnsynced = 0;
  /** Syncs running, each with the commit count when it started (it covers the commits before that). */
  private readonly syncs = new Set<Promise<void>>();
  /** Batches committed and not yet covered by a started sync. */
  private uncovered = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly afterCommit: (results: unknown[]) => void = () => undefined,
    private readonly sync?: () => Promise<void>,
    /** Told after each COMMIT, before its sync (the WAL checkpointer counts commits). */
    private readonly onCommit: () => void = () => undefined,
  ) {}

  /** Queue `run` (which must only use this writer) and resolve with its result after COMMIT. */
  submit<T>(run: () => Promise<T>): Promise<T> {
    return this.enqueue(run, false);
  }

  /**
   * Run `run` after the batches queued before it have committed, with no transaction open and
   * none starting until it settles (the WAL checkpointer's last copy, see wal-checkpointer.ts).
   * Commits already made keep syncing meanwhile.
   */
  submitBetween(run: () => Promise<void>): Promise<void> {
    return this.enqueue(run, true);
  }

  private enqueue<T>(run: () => Promise<T>, between: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push((between ? { run, resolve, reject, between } : { run, resolve, reject }) as Job<unknown>);
      if (!this.running) {
        this.running = true;
        this.draining = this.drain();
      }
    });
  }

  /** Resolves when everything queued so far has committed (and synced) or failed. */
  async idle(): Promise<void> {
    while (this.running || this.syncs.size > 0) {
      await this.draining;
      await Promise.all(this.syncs);
    }
  }

  /**
   * Start a sync covering every batch committed so far, unless MAX_SYNCS_IN_FLIGHT are running
   * (the next one to finish starts it). Syncs overlap: a batch committed while one runs starts
   * its own at once instead of waiting for it (the kernel serves overlapping fdatasyncs together:
   * on the development machine 2-3 overlapping syncs gave 2-4x the syncs/s of one at a time).
   */
  private kickSync(): void {
    if (this.uncovered === 0 || this.syncs.size >= MAX_SYNCS_IN_FLIGHT) return;
    this.uncovered = 0;
    const upTo = this.firstUnsynced + this.unsynced.length;
    const run: Promise<void> = this.sync!().then(
      () => this.settleUpTo(upTo),
      (error: unknown) => {
        // A failed fdatasync may have dropped any unsynced page, and an overlapping sync may not
        // see the error: every batch not yet answered is lost, not only the ones this one covered.
        const lost = new Error('the commit could not be made durable (WAL sync failed)', { cause: error });
        const failed = this.unsynced;
        this.firstUnsynced += failed.length;
        this.unsynced = [];
        this.uncovered = 0;
        for (const c of failed) for (const s of c.succeeded) s.job.reject(lost);
      },
    ).finally(() => {
      this.syncs.delete(run);
      this.kickSync();
    });
    this.syncs.add(run);
  }

  /** Answer, in commit order, every batch before commit number `upTo` still waiting (a sync that started after them finished). */
  private settleUpTo(upTo: number): void {
    const n = upTo - this.firstUnsynced;
    if (n <= 0) return;
    const done = this.unsynced.splice(0, n);
    this.firstUnsynced += done.length;
    this.settle(done);
  }

  private settle(committed: readonly Committed[]): void {
    for (const c of committed) {
      try {
        this.afterCommit(c.succeeded.map((s) => s.result));
      } finally {
        for (const s of c.succeeded) s.job.resolve(s.result);
      }
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        if (this.queue[0]!.between) {
          const job = this.queue.shift()!;
          await job.run().then(job.resolve, job.reject);
          continue;
        }
        let size = 1;
        while (size < MAX_GROUP_COMMIT && size < this.queue.length && !this.queue[size]!.between) size++;
        const batch = this.queue.splice(0, size);
        // Settled promises ignore a second settle, so this only reaches jobs left hanging.
        await this.runBatch(batch).catch((error: unknown) => {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
          for (const job of batch) job.reject(error);
        });
      }
    } finally {
      this.running = false;
    }
  }

  private async runBatch(batch: Job<unknown>[]): Promise<void> {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      for (const job of batch) job.reject(error);
      return;
    }
    const succeeded: { job: Job<unknown>; result: unknown }[] = [];
    // A batch of one needs no savepoint: if it fails, the whole transaction is rolled back (a
    // warn batch is one job: this saves two statements per commit).
    const alone = batch.length === 1;
    for (let i = 0; i < batch.length; i++) {
      const job = batch[i]!;
      try {
        if (!alone) this.db.exec('SAVEPOINT grant_tx');
        const result = await job.run();
        if (!alone) this.db.exec('RELEASE grant_tx');
        succeeded.push({ job, result });
      } catch (error) {
        job.reject(error);
        if (alone) {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
          return;
        }
        if (!this.rollbackToSavepoint()) {
          // The whole transaction is gone (e.g. disk full): nothing in this batch committed.
          const lost = new Error('the database aborted the transaction batch', { cause: error });
          for (const s of succeeded) s.job.reject(lost);
          for (const rest of batch.slice(i + 1)) rest.reject(lost);
          return;
        }
      }
    }
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const s of succeeded) s.job.reject(error);
      return;
    }
    this.onCommit();
    if (succeeded.length === 0) return;
    if (!this.sync) {
      this.settle([{ succeeded }]);
      return;
    }
    this.unsynced.push({ succeeded });
    this.uncovered++;
    this.kickSync();
  }

  private rollbackToSavepoint(): boolean {
    if (!this.db.inTransaction) return false;
    try {
      this.db.exec('ROLLBACK TO grant_tx');
      this.db.exec('RELEASE grant_tx');
      return true;
    } catch {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      return false;
    }
  }
}
