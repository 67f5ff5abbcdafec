import type { BypassRequest } from '../../shared/domain/request';
import type { Store, StoreTx } from '../storage/store';

/** Most transactions' work merged into one commit. */
const MAX_BATCH = 256;

interface Item {
  fn: (tx: StoreTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for small independent writes (a warn's evaluation entry): calls that arrive
 * while a commit is in flight are run together in the next transaction, so N concurrent
 * evaluations cost one durable commit (one fsync with SQLite, one COMMIT with Postgres) instead
 * of N. Each caller still gets its answer only after its own write is committed.
 *
 * The caller's `fn` must write at most once and throw only before writing (or on a database
 * error, which fails the whole batch): a throwing `fn` is reported to its caller alone and the
 * others' work still commits.
 */
export class GroupCommit {
  private queue: Item[] = [];
  private draining = false;

  constructor(private readonly store: Store) {}

  run<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      // Let the calls that arrived in the same tick join the first batch.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        let outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
        try {
          await this.store.transaction(async (raw) => {
            outcomes = []; // a retried transaction (deadlock, serialization) starts over
            const tx = withRequestCache(raw);
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
          continue;
        }
        batch.forEach((item, i) => {
          const outcome = outcomes[i]!;
          if (outcome.ok) item.resolve(outcome.value);
          else item.reject(outcome.error);
        });
      }
    } finally {
      this.draining = false;
    }
  }
}

/**
 * The batch's transaction, reading each request once: many warns confirm the same bypass, and
 * inside the transaction the row cannot change under us (Postgres: the first read locks it FOR
 * UPDATE; SQLite: one writer). A write to a request drops it from the cache.
 */
function withRequestCache(tx: StoreTx): StoreTx {
  const requests = new Map<string, Promise<BypassRequest | undefined>>();
  return new Proxy(tx, {
    get(target, prop) {
      if (prop === 'getRequest') {
        return (id: string) => {
          let read = requests.get(id);
          if (!read) requests.set(id, (read = target.getRequest(id)));
          return read;
        };
      }
      if (prop === 'updateRequest') {
        return (request: BypassRequest) => {
          requests.delete(request.id);
          return target.updateRequest(request);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
