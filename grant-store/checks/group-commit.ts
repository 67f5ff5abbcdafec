import type { BypassRequest } from '../../shared/domain/request';
import { AppError } from '../../shared/errors';
import { fallbackStoreLogger } from '../logger';
import type { Store, StoreTx } from '../storage/store';

/** Most transactions' work merged into one commit. */
const MAX_BATCH = 256;
/**
 * Batches committing at once (PostgreSQL; SQLite: SQLITE_BATCHES_IN_FLIGHT). SQLite: the next
 * batch runs and COMMITs while the ones before wait for their WAL syncs (GroupCommitter pipelines
 * commits and syncs), so a warn waits for about one sync instead of the previous batch's and then
 * its own; the writer is one connection, so the batches still run one after another. PostgreSQL: the next batch's BEGIN and request reads
 * travel while the one before commits; its FOR UPDATE reads then wait for that COMMIT, and the
 * ledger head's row lock numbers the two in commit order. A batch locks the requests its warns
 * confirm first, in id order, and the ledger head after them (see GroupCommit.commit), so two
 * batches (or a batch and a decision, which locks its request and then the head) cannot deadlock.
 */
export const MAX_BATCHES_IN_FLIGHT = 2;
/**
 * SQLite: a batch is in flight from its COMMIT until a WAL sync covers it, and GroupCommitter
 * overlaps up to MAX_SYNCS_IN_FLIGHT syncs (3). With only two batches in flight, a warn arriving
 * while both wait for a slow fdatasync waited for that sync and then for its own (a warn's p99
 * was about twice the sync's); with one more batch than syncs, it commits at once and rides the
 * next sync to start. The batches still commit one after another on the one writer.
 */
export const SQLITE_BATCHES_IN_FLIGHT = 4;
/**
 * Shed load rather than queue without bound: a warn arriving when the oldest queued one has
 * waited this long is refused at once with 503 and Retry-After (the gate fails closed and
 * retries), instead of waiting for a commit that cannot come in time or for a PostgreSQL pool
 * checkout to time out. A gate's own timeout is seconds (the CLI's default is 10 s).
 */
export const SHED_AFTER_MS = 1_000;
/** And never more than this many warns waiting (memory bound under a flood). */
export const MAX_QUEUED = 8_192;
/** What Retry-After says when a warn is shed. */
export const SHED_RETRY_AFTER_S = 1;

interface Item {
  fn: (tx: StoreTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** When it was queued (the `now` given to GroupCommit, ms). */
  queuedAt: number;
  /** The request `fn` confirms (reads), locked with the batch's others before any write. */
  request: string | undefined;
}

export interface GroupCommitOptions {
  /** Monotonic milliseconds, for the queue's age (tests pass a manual one). */
  now?: () => number;
  shedAfterMs?: number;
  maxQueued?: number;
  /** Default: SQLITE_BATCHES_IN_FLIGHT on SQLite, MAX_BATCHES_IN_FLIGHT on PostgreSQL. */
  maxBatchesInFlight?: number;
  /** Where the start and end of a shedding episode are reported (default: the store logger, warn level). */
  log?: (message: string) => void;
}

/**
 * Group commit for small independent writes (a warn's evaluation entry): calls that arrive
 * while commits are in flight are run together in the next transaction, so N concurrent
 * evaluations cost one durable commit (one fsync with SQLite, one COMMIT with Postgres) instead
 * of N. Each caller still gets its answer only after its own write is committed (and, with
 * SQLite, synced).
 *
 * The caller's `fn` must write at most once and throw only before writing (or on a database
 * error, which fails the whole batch): a throwing `fn` is reported to its caller alone and the
 * others' work still commits.
 *
 * When the queue backs up past what the database can commit (SHED_AFTER_MS, MAX_QUEUED), a new
 * call is refused at once with AppError('unavailable') carrying a Retry-After; nothing is written
 * for it and the queued calls are unaffected.
 */
export class GroupCommit {
  private queue: Item[] = [];
  private head = 0;
  private inFlight = 0;
  private scheduled = false;
  private readonly now: () => number;
  private readonly shedAfterMs: number;
  private readonly maxQueued: number;
  private readonly maxInFlight: number;
  private readonly log: (message: string) => void;
  /** Calls refused since the last accepted one (a shedding episode). */
  private shed = 0;

  constructor(
    private readonly store: Store,
    options: GroupCommitOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.shedAfterMs = options.shedAfterMs ?? SHED_AFTER_MS;
    this.maxQueued = options.maxQueued ?? MAX_QUEUED;
    this.maxInFlight = options.maxBatchesInFlight ?? (store.backend === 'sqlite' ? SQLITE_BATCHES_IN_FLIGHT : MAX_BATCHES_IN_FLIGHT);
    this.log = options.log ?? ((message) => fallbackStoreLogger().warn(message));
  }

  /** Warns queued and not yet in a transaction. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * Run `fn` in the next batch's transaction. `request`: the id of the request `fn` reads (the
   * bypass a warn confirms); the batch reads and locks all of them first, in id order, so
   * batches in flight together lock rows in one order. The caller must not lock other rows.
   */
  run<T>(fn: (tx: StoreTx) => Promise<T>, request?: string): Promise<T> {
    const now = this.now();
    const oldest = this.queue[this.head];
    if (this.queued >= this.maxQueued || (oldest !== undefined && now - oldest.queuedAt > this.shedAfterMs)) {
      const waited = oldest ? Math.round(now - oldest.queuedAt) : 0;
      // Once per episode: the operator sees that gates are being refused, and why.
      if (this.shed++ === 0) this.log(`warn path saturated: ${this.queued} evaluations queued, the oldest for ${waited} ms; refusing new warns with 503 + Retry-After until it drains`);
      return Promise.reject(
        new AppError('unavailable', `the store is saturated: ${this.queued} evaluations are waiting to be recorded (the oldest for ${waited} ms), so this one was not recorded; the check is not answered (fail closed): retry in ${SHED_RETRY_AFTER_S} s`, { retryAfterS: SHED_RETRY_AFTER_S }),
      );
    }
    if (this.shed > 0) {
      this.log(`warn path drained: ${this.shed} warns were refused with 503 while it was saturated`);
      this.shed = 0;
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject, queuedAt: now, request });
      this.pump();
    });
  }

  /** Start batches while there is work and room; calls arriving in the same tick join the first. */
  private pump(): void {
    if (this.scheduled || this.queued === 0 || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.queued > 0 && this.inFlight < this.maxInFlight) {
        const batch = this.queue.slice(this.head, this.head + MAX_BATCH);
        this.head += batch.length;
        if (this.head === this.queue.length) {
          this.queue = [];
          this.head = 0;
        } else if (this.head > 4 * MAX_BATCH) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        this.inFlight++;
        void this.commit(batch).finally(() => {
          this.inFlight--;
          this.pump();
        });
      }
    });
  }

  private async commit(batch: Item[]): Promise<void> {
    let outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      await this.store.transaction(async (raw) => {
        outcomes = []; // a retried transaction (deadlock, serialization) starts over
        // Lock order: the batch's requests by id, then the ledger head, in one call (on
        // PostgreSQL one statement, and the warns' appends then cost no round trip until the
        // flush). A database error here fails the batch.
        const requests = [...new Set(batch.flatMap((item) => item.request ?? []))].sort();
        const tx = withRequestCache(raw, requests, await raw.lockForAppend(requests));
        for (const item of batch) {
          try {
            outcomes.push({ ok: true, value: await item.fn(tx) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}

/**
 * The batch's transaction, reading each request once: many warns confirm the same bypass, and
 * inside the transaction the row cannot change under us (lockForAppend read and locked the
 * batch's; another read locks it FOR UPDATE on PostgreSQL; SQLite: one writer). A write to a
 * request drops it from the cache.
 */
function withRequestCache(tx: StoreTx, ids: readonly string[], locked: readonly BypassRequest[]): StoreTx {
  const requests = new Map<string, Promise<BypassRequest | undefined>>();
  const found = new Map(locked.map((r) => [r.id, r]));
  for (const id of ids) requests.set(id, Promise.resolve(found.get(id)));
  // The batch's methods, each bound once (every warn of the batch calls getRequest and appendLedger).
  const methods = new Map<PropertyKey, unknown>([
    [
      'getRequest',
      (id: string) => {
        let read = requests.get(id);
        if (!read) requests.set(id, (read = tx.getRequest(id)));
        return read;
      },
    ],
    [
      'updateRequest',
      (request: BypassRequest) => {
        requests.delete(request.id);
        return tx.updateRequest(request);
      },
    ],
  ]);
  return new Proxy(tx, {
    get(target, prop) {
      const method = methods.get(prop);
      if (method !== undefined) return method;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      methods.set(prop, bound);
      return bound;
    },
  });
}
