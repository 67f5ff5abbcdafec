import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { WAL_CHECKPOINT_WORKER_URL } from './wal-checkpoint-worker-url';

/** What the worker is started with. */
export interface CheckpointerStart {
  path: string;
  busyTimeoutMs: number;
}

/** The worker's answer to each checkpoint (and one when it is ready). */
export type CheckpointAnswer = { ok: true; walFrames: number; checkpointed: number } | { ok: false; error: string };

/**
 * Commits between two checkpoints. A warn batch commits about ten pages (the entry, its indexes,
 * the counters), so the WAL restarts near SQLite's own default of 1,000 pages.
 */
export const CHECKPOINT_EVERY_COMMITS = 64;
/** SQLite's default wal_autocheckpoint (pages), put back on the writer if the worker fails. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

/**
 * WAL checkpoints off the event loop (issue 16). SQLite's automatic checkpoint runs inside the
 * COMMIT that crosses 1,000 WAL pages: it copies the frames into the database file and fsyncs
 * both on the writer's thread, which is the event loop: a 15–50 ms stall every few hundred
 * warns, the warn path's p99. Here the writer's wal_autocheckpoint is 0 and a worker thread with
 * its own connection checkpoints every CHECKPOINT_EVERY_COMMITS commits (the thread starts at
 * the first: stores that never get that far start none), in two PASSIVE passes:
 *  1. while the writer keeps committing: copies the bulk of the frames;
 *  2. between two batches, with no commit starting until it is done (GroupCommitter.submitBetween):
 *     copies the few frames committed meanwhile, so the whole WAL is in the database file and the
 *     writer's next commit starts the WAL over from the top (without this pause the WAL never
 *     restarts under steady load and grows without bound). Warns arriving meanwhile wait for it
 *     (about two fsyncs) in the queue, with the event loop free.
 * Durability is unchanged: commits are durable by the WAL's fdatasync (GroupCommitter), and a
 * checkpoint syncs the WAL before and the database after copying.
 * If the worker cannot start or fails, the writer gets SQLite's automatic checkpoint back (logged).
 */
export class WalCheckpointer {
  private worker: Worker | undefined;
  private answer: ((answer: CheckpointAnswer) => void) | undefined;
  private commits = 0;
  private inFlight = false;
  private failed = false;
  private closing = false;
  private exited: Promise<void> | undefined;

  /**
   * @param between runs its argument between two commit batches with none starting meanwhile
   *   (the store's GroupCommitter.submitBetween).
   */
  constructor(
    private readonly writer: Database.Database,
    private readonly start: CheckpointerStart,
    private readonly between: (run: () => Promise<void>) => Promise<void>,
    private readonly log: (message: string) => void,
  ) {
    writer.pragma('wal_autocheckpoint = 0');
  }

  /** Call after each COMMIT on the writer. */
  committed(): void {
    if (this.failed || this.closing || this.inFlight || ++this.commits < CHECKPOINT_EVERY_COMMITS) return;
    this.commits = 0;
    this.inFlight = true;
    void this.checkpoint()
      .catch((error: unknown) => this.fail(error instanceof Error ? error.message : String(error)))
      .finally(() => (this.inFlight = false));
  }

  private async checkpoint(): Promise<void> {
    await this.pass();
    if (this.closing || this.failed) return;
    await this.between(async () => {
      if (!this.closing && !this.failed) await this.pass();
    });
  }

  /** One PASSIVE checkpoint in the worker. */
  private pass(): Promise<void> {
    const worker = (this.worker ??= this.spawn());
    // Held while a pass runs (commits may be waiting for it); idle, it must not keep the process alive.
    worker.ref();
    return new Promise<void>((resolve, reject) => {
      this.answer = (answer) => {
        // Not once closing: close() holds the worker until it has exited, and a pass answered
        // after close() began must not let go of it (the process would exit with close() pending).
        if (!this.closing) worker.unref();
        if (answer.ok) resolve();
        else reject(new Error(answer.error));
      };
      worker.postMessage('checkpoint');
    });
  }

  private spawn(): Worker {
    const worker = new Worker(WAL_CHECKPOINT_WORKER_URL, { workerData: this.start });
    worker.on('message', (answer: CheckpointAnswer | 'ready') => {
      if (answer === 'ready') return;
      const settle = this.answer;
      this.answer = undefined;
      settle?.(answer);
    });
    worker.on('error', (error) => this.fail(error.message));
    this.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        if (!this.closing) this.fail(`exited with code ${code}`);
        resolve();
      }),
    );
    return worker;
  }

  private fail(why: string): void {
    if (this.failed || this.closing) return;
    this.failed = true;
    this.log(`the WAL checkpointer thread failed (${why}): SQLite checkpoints on the writer again (every ${SQLITE_AUTOCHECKPOINT_PAGES} pages, on the event loop)`);
    this.writer.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    this.answer?.({ ok: false, error: why });
    this.answer = undefined;
    void this.worker?.terminate();
  }

  /** Stop the worker; resolves once its connection is closed (before the writer's, which then checkpoints last). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (!this.worker) return;
    this.worker.ref();
    if (!this.failed) this.worker.postMessage('close');
    await this.exited;
    this.answer?.({ ok: false, error: 'the store is closing' });
  }
}
