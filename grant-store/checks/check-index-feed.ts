import type { Scope } from '../../shared/domain/common';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../shared/domain/request';
import type { ScopeRule } from '../../shared/policy/scope-rules';
import type { Store } from '../storage/store';
import { BypassIndex } from './bypass-index';
import { fallbackStoreLogger } from '../logger';

/**
 * Keeps a BypassIndex fresh from the ledger: `bypass_activated` adds the request (read once
 * from the store, by id), `bypass_expired` / `bypass_revoked` remove it. The ledger listener
 * runs before the committing call returns (both backends), and with Postgres it receives the
 * entries of every instance within milliseconds (LISTEN/NOTIFY), so a bypass approved on any
 * instance takes effect everywhere well inside a second. A periodic full resync is the safety
 * net for anything missed.
 */

/**
 * Full resync from the store, in case an event was missed. Events cannot be lost by design
 * (in-process with SQLite; read by seq with Postgres), so this is a safety net for bugs or a
 * restored database, and it is not cheap: 10,000 active bypasses take ~40 ms to read and parse,
 * on the event loop with SQLite, which would show in the checks' p99 if done often.
 */
export const DEFAULT_RESYNC_INTERVAL_MS = 5 * 60_000;
/** How long a removal is remembered so that a slow activation read cannot resurrect it. */
const TOMBSTONE_TTL_MS = 10 * 60_000;

const ADDS = new Set<string>(['bypass_activated']);
const REMOVES = new Set<string>(['bypass_expired', 'bypass_revoked', 'request_cancelled']);

export interface CheckIndexFeedOptions {
  resyncIntervalMs?: number;
  log?: (message: string) => void;
}

export class CheckIndexFeed {
  readonly index = new BypassIndex();
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Activation reads in flight, per gate: a check on that gate waits for them. */
  private readonly pending = new Map<string, Set<Promise<void>>>();
  private readonly tombstones = new Map<string, number>();
  /** Set while a resync reads its snapshot: requests the feed touched meanwhile. */
  private touched: Map<string, 'add' | 'remove'> | undefined;
  private resyncing: Promise<void> | undefined;
  private readonly log: (message: string) => void;

  constructor(
    private readonly store: Store,
    private readonly options: CheckIndexFeedOptions = {},
  ) {
    this.log = options.log ?? ((message) => fallbackStoreLogger().error(message));
  }

  /** Subscribe, then load every active bypass; resolves when the index can answer checks. */
  async start(): Promise<void> {
    this.unsubscribe = this.store.onLedgerAppended((entries) => this.apply(entries));
    await this.resync();
    const interval = this.options.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS;
    this.timer = setInterval(() => {
      this.resync().catch((error: Error) => this.log(`check index: resync failed: ${error.message}`));
    }, interval);
    this.timer.unref();
  }

  stop(): void {
    this.unsubscribe?.();
    clearInterval(this.timer);
  }

  /**
   * The bypass covering (gate, subject) at `nowMs`, from memory. Waits only if an activation
   * on this gate was just committed and its request is still being read (one read per
   * activation, shared by every check waiting on it): a bypass approved by a call that already
   * returned is always seen. Synchronous when nothing is pending (the common case: no promise
   * per check).
   */
  match(gate: string, subject: Scope, nowMs: number, rule?: ScopeRule): BypassRequest | undefined | Promise<BypassRequest | undefined> {
    const waiting = this.pending.get(gate);
    if (waiting && waiting.size > 0) return Promise.all(waiting).then(() => this.index.match(gate, subject, nowMs, rule));
    return this.index.match(gate, subject, nowMs, rule);
  }

  private apply(entries: readonly LedgerEntry[]): void {
    for (const entry of entries) {
      if (ADDS.has(entry.type)) this.add(entry);
      else if (REMOVES.has(entry.type)) this.drop(entry.target);
    }
  }

  private add(entry: LedgerEntry): void {
    const requestId = entry.target;
    const gate = entry.gate ?? '';
    this.touched?.set(requestId, 'add');
    const read = this.store
      .getRequest(requestId)
      .then((request) => {
        if (request && !this.tombstones.has(requestId)) this.index.upsert(request);
      })
      .catch((error: Error) => this.log(`check index: could not read ${requestId}: ${error.message} (the next resync picks it up)`))
      .finally(() => {
        const set = this.pending.get(gate);
        set?.delete(read);
        if (set && set.size === 0) this.pending.delete(gate);
      });
    let set = this.pending.get(gate);
    if (!set) this.pending.set(gate, (set = new Set()));
    set.add(read);
  }

  private drop(requestId: string): void {
    this.touched?.set(requestId, 'remove');
    this.tombstones.set(requestId, Date.now());
    this.index.remove(requestId);
  }

  /** Reload every active bypass; changes the feed made while the snapshot was read win. */
  resync(): Promise<void> {
    this.resyncing ??= this.doResync().finally(() => {
      this.resyncing = undefined;
    });
    return this.resyncing;
  }

  private async doResync(): Promise<void> {
    const touched = new Map<string, 'add' | 'remove'>();
    this.touched = touched;
    try {
      const active = await this.store.listRequests({ states: ['active'] });
      const snapshot = new Set(active.map((r) => r.id));
      for (const request of active) {
        if (touched.has(request.id) || this.tombstones.has(request.id)) continue;
        this.index.upsert(request);
      }
      for (const id of this.index.requestIds()) {
        if (!snapshot.has(id) && !touched.has(id)) this.index.remove(id);
      }
      // Entries past their window are left to the expiry entries and the next snapshot: the
      // service clock (which tests may move) decides expiry at match time, not Date.now().
      const now = Date.now();
      for (const [id, at] of this.tombstones) if (now - at > TOMBSTONE_TTL_MS) this.tombstones.delete(id);
    } finally {
      if (this.touched === touched) this.touched = undefined;
    }
  }
}
