import pg from 'pg';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { LedgerListener } from '../store';
import { pgClientConfig } from './connection';
import { fallbackStoreLogger } from '../../logger';

/**
 * Delivers every committed ledger entry, from whichever instance wrote it, to this instance's
 * listeners, in seq order, exactly once each. A NOTIFY (sent inside the appending transaction,
 * so only delivered on commit) is just a wake-up: the feed then reads `seq > delivered` from
 * the table, so a dropped notification or a LISTEN connection lost for a while loses nothing.
 * A slow poll covers the case where the very last notification was lost.
 */

export const LEDGER_CHANNEL = 'breakglass_ledger';
/** Entries read per query while catching up. */
const FETCH_BATCH = 1000;
/** Safety-net poll when no notification arrives (the LISTEN path is the fast one). */
const SAFETY_POLL_MS = 2_000;
/** Reconnect backoff for the LISTEN connection. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/** Longest a committing caller waits for its own entries to reach the local listeners. */
const DELIVER_WAIT_MAX_MS = 5_000;

export interface LedgerFeedSource {
  /** Entries with seq > afterSeq, ascending, at most `limit`. */
  entriesAfter(afterSeq: number, limit: number): Promise<LedgerEntry[]>;
}

/**
 * Whether a NOTIFY on LEDGER_CHANNEL (payload: the last seq its transaction inserted) needs a
 * read: not when that seq was delivered already or is one of this instance's own commits in
 * flight (`own`, see PgLedgerFeed.expectOwn). Any other payload, or none, is read.
 */
export function notificationNeedsRead(payload: string | undefined, delivered: number, own: ReadonlyMap<number, unknown>): boolean {
  const seq = payload ? Number(payload) : NaN;
  return !(Number.isSafeInteger(seq) && (seq <= delivered || own.has(seq)));
}

export class PgLedgerFeed {
  private readonly listeners = new Set<LedgerListener>();
  private delivered: number;
  private listenClient: pg.Client | undefined;
  private closed = false;
  private reconnectDelay = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  /** One catch-up at a time; `again` asks the running one for one more pass. */
  private running: Promise<void> | undefined;
  private again = false;
  private readonly waiters: { seq: number; resolve: () => void }[] = [];
  /**
   * NOTIFY payloads (last seq of an insert) of this instance's transactions now committing:
   * their entries reach the listeners through deliverCommitted, so the wake-up they send back
   * to our own LISTEN needs no read (one query per commit saved on the warn path).
   */
  private readonly own = new Map<number, number>();

  constructor(
    private readonly databaseUrl: string,
    private readonly source: LedgerFeedSource,
    /** Highest seq already committed when the feed starts (-1 for an empty ledger). */
    startAfterSeq: number,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.delivered = startAfterSeq;
  }

  get deliveredSeq(): number {
    return this.delivered;
  }

  async start(): Promise<void> {
    await this.connect();
    this.pollTimer = setInterval(() => void this.wake(), SAFETY_POLL_MS);
    this.pollTimer.unref();
  }

  subscribe(listener: LedgerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolve once every entry up to `seq` has been handed to the listeners (our own commit), so
   * a caller that gets its answer also finds it in the index and the event stream. Gives up
   * after a bound: the commit is durable either way and the feed keeps catching up.
   */
  async deliverThrough(seq: number): Promise<void> {
    if (this.delivered >= seq || this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve) => {
      const waiter = { seq, resolve };
      this.waiters.push(waiter);
      timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      }, DELIVER_WAIT_MAX_MS);
    });
    void this.wake();
    await done;
    clearTimeout(timer);
  }

  /**
   * After this instance's own COMMIT: resolve once `entries` (what the transaction appended, in
   * seq order, exactly as stored) have reached the listeners. When they follow on from what was
   * delivered, they are handed over at once, without reading them back (a round trip per commit
   * on the warn path); otherwise (another instance committed in between, not yet read) the
   * feed catches up from the table as for anyone else's entries (deliverThrough).
   */
  async deliverCommitted(entries: readonly LedgerEntry[]): Promise<void> {
    const last = entries[entries.length - 1]!.seq;
    if (this.delivered >= last || this.closed) return;
    if (entries[0]!.seq === this.delivered + 1) {
      this.delivered = last;
      this.emit(entries as LedgerEntry[]);
      this.releaseWaiters();
      return;
    }
    await this.deliverThrough(last);
  }

  /**
   * Before this instance's COMMIT: `seqs` are the payloads of the NOTIFYs it queued. Until
   * forgetOwn, a notification carrying one of them is not read back (deliverCommitted hands
   * the entries over); every other notification still wakes the feed. A skipped one loses
   * nothing: deliverCommitted reads from the table whenever its entries do not follow on.
   */
  expectOwn(seqs: readonly number[]): void {
    for (const seq of seqs) this.own.set(seq, (this.own.get(seq) ?? 0) + 1);
  }

  /** After the commit (delivered) or its failure. */
  forgetOwn(seqs: readonly number[]): void {
    for (const seq of seqs) {
      const n = (this.own.get(seq) ?? 0) - 1;
      if (n > 0) this.own.set(seq, n);
      else this.own.delete(seq);
    }
  }

  private notified(payload: string | undefined): void {
    if (notificationNeedsRead(payload, this.delivered, this.own)) void this.wake();
  }

  /** Catch up now (coalesces concurrent calls). */
  wake(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.catchUp().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    for (const w of this.waiters.splice(0)) w.resolve();
    const client = this.listenClient;
    this.listenClient = undefined;
    // Stopping: the feed's own failure was logged when it happened.
    await this.running?.catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'stopping the ledger feed after a failed run'));
    if (client) await client.end().catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'closing the LISTEN connection on stop'));
  }

  private async catchUp(): Promise<void> {
    do {
      this.again = false;
      try {
        for (;;) {
          const entries = await this.source.entriesAfter(this.delivered, FETCH_BATCH);
          if (entries.length === 0) break;
          // Committed seqs form a prefix (the head row lock is held until commit), so a gap
          // here means a concurrent transaction is not yet visible: stop and wait for its NOTIFY.
          const contiguous: LedgerEntry[] = [];
          let skipped = 0;
          for (const entry of entries) {
            // Delivered while this read was in flight (our own commit, handed over by deliverCommitted).
            if (entry.seq <= this.delivered) {
              skipped++;
              continue;
            }
            if (entry.seq !== this.delivered + 1 + contiguous.length) break;
            contiguous.push(entry);
          }
          if (contiguous.length === 0) {
            if (skipped === entries.length) continue; // all seen already: read on from the new position
            break;
          }
          this.delivered = contiguous[contiguous.length - 1]!.seq;
          this.emit(contiguous);
          if (entries.length < FETCH_BATCH) break;
        }
      } catch (error) {
        this.log(`ledger feed: catch-up failed, will retry: ${(error as Error).message}`);
        break;
      }
    } while (this.again && !this.closed);
    this.releaseWaiters();
  }

  private emit(entries: LedgerEntry[]): void {
    for (const listener of this.listeners) {
      try {
        listener(entries);
      } catch (error) {
        this.log(`ledger listener failed: ${(error as Error).stack ?? String(error)}`);
      }
    }
  }

  private releaseWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (waiter.seq <= this.delivered) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
    // A waiter whose entry we could not read yet (transient error): try again shortly.
    if (this.waiters.length > 0 && !this.closed) setTimeout(() => void this.wake(), RECONNECT_MIN_MS).unref();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(pgClientConfig(this.databaseUrl));
    client.on('notification', (message) => this.notified(message.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${LEDGER_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners();
      await client.end().catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'closing a broken LISTEN connection (a new one is opened)'));
      throw error;
    }
    if (this.closed) {
      await client.end().catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'closing a broken LISTEN connection (a new one is opened)'));
      return;
    }
    this.listenClient = client;
    this.reconnectDelay = RECONNECT_MIN_MS;
    // Anything committed while we were not listening.
    void this.wake();
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.listenClient !== client || this.closed) return;
    this.listenClient = undefined;
    client.removeAllListeners();
    // Late errors from the lost connection while it closes: already reported below, and it is being replaced.
    client.on('error', (late) => fallbackStoreLogger().debug({ err: late }, 'a lost LISTEN connection errored again while closing'));
    void client.end().catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'closing a LISTEN connection that errored'));
    this.log(`ledger feed: LISTEN connection lost (${error.message}); reconnecting`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((error: Error) => {
        this.log(`ledger feed: reconnect failed (${error.message})`);
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }
}
