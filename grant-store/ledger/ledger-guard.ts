import { AppError } from '../../shared/errors';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import { compareWithProjection, describeMismatch, projectEntry, type ProjectedTable, type StateMismatch, type StateProjection, type TableSnapshot } from '../../shared/ledger/state-projection';
import { ed25519NoteVerifier, nodeTreeHasher } from '../../shared/node/ledger/node-crypto';
import type { Store } from '../storage/store';
import { checkLedgerAtStart, type LedgerCheckResult, type LedgerCheckSource, type LedgerHalt } from './ledger-integrity';
import type { LogKey } from './log-key';
import { nodeKey, type LogTables } from '../storage/log-tables';

/**
 * The ledger governs the gate (issue 11). Before the store answers anything the guard runs the
 * start-up check (ledger-integrity.ts: rows vs the latest signed checkpoint, every row past it
 * bound by the log key) and compares the tables the gate obeys with the projection the ledger
 * replays into (state-projection.ts). Then, as entries are appended, it keeps the projection
 * current and compares every row they touched. Any difference is a tamper alarm: the guard
 * halts, and while it is halted every gate check blocks naming the reason, decisions and new
 * requests are refused, the log signs nothing more, /healthz answers 503, the metric
 * breakglass_ledger_halted is 1, a critical `ledger_halted` alert goes to every webhook and
 * `breakglass ledger verify` exits 1 with "log halted since … at seq N: why". A halt lasts for
 * the life of the process; a restart checks again from scratch.
 */

export interface LedgerHaltState {
  /** When this process detected it. */
  since: string;
  seq: number | null;
  table: string;
  /** Why, naming the table, row and field where one is known. */
  reason: string;
}

/** The pino-shaped subset the guard logs through. */
export interface GuardLogger {
  error(obj: Record<string, unknown>, message: string): void;
  info?(obj: Record<string, unknown>, message: string): void;
}

const STDERR_LOGGER: GuardLogger = {
  error: (obj, message) => process.stderr.write(`${JSON.stringify({ level: 'error', msg: message, ...obj })}\n`),
};

export interface LedgerGuardOptions {
  store: Store;
  key: LogKey;
  clock: () => Date;
  logger?: GuardLogger;
  /** Called once when the guard halts (the alert outbox hangs off this). */
  onHalt?: (halt: LedgerHaltState, text: string) => void | Promise<void>;
  /** Coalesce live comparisons over this many ms of appends (default 200). */
  liveCheckDelayMs?: number;
}

const DEFAULT_LIVE_CHECK_DELAY_MS = 200;
const CATCH_UP_PAGE = 5000;
/** The start-up check's view of the store's rows and the log's tables. */
export function ledgerCheckSource(store: Store, tables: LogTables): LedgerCheckSource {
  return {
    rows: (from, limit) => store.getLedgerRows(from, limit),
    texts: (from, count) => store.getLedgerTextRange(from, count),
    compareStored: (level, from, hashes) => tables.compareNodes(level, from, hashes),
    storedLeafCount: () => tables.leafCount(),
    storedNode: async (level, index) => (await tables.nodes([{ level, index }])).get(nodeKey(level, index)),
    latestCheckpoint: () => tables.latestCheckpoint(),
  };
}

/** The start-up check (ledger-integrity.ts) on this store's rows and log tables, with the log key. */
export async function checkStoreLedgerAtStart(store: Store, key: Pick<LogKey, 'origin' | 'publicKeyPem' | 'binder'>): Promise<LedgerCheckResult> {
  const tables = await store.openLogTables();
  try {
    return await checkLedgerAtStart(ledgerCheckSource(store, tables), {
      hasher: nodeTreeHasher,
      logKey: ed25519NoteVerifier(key.origin, key.publicKeyPem),
      verifierFor: (origin) => ed25519NoteVerifier(origin, key.publicKeyPem),
      binder: key.binder,
    });
  } finally {
    await tables.close();
  }
}

/** Every row of the tables the ledger governs, as the store holds them. */
export async function snapshotTables(store: Store): Promise<TableSnapshot> {
  const [requests, decisions, keys, tokens, sessions, reviews, policyHash] = await Promise.all([
    store.listRequestRows(),
    store.listAllDecisions(),
    store.listKeys(),
    store.listTokens(),
    store.listSessions(),
    store.listReviews(),
    store.getMeta('policy_hash'),
  ]);
  return {
    complete: true,
    requests,
    decisions: decisions as unknown as TableSnapshot['decisions'],
    keys: keys as unknown as TableSnapshot['keys'],
    tokens: tokens as unknown as TableSnapshot['tokens'],
    sessions: sessions as unknown as TableSnapshot['sessions'],
    reviews: reviews as unknown as TableSnapshot['reviews'],
    policyHash: policyHash ?? null,
  };
}

/** The one halt a list of mismatches gives: the first, with how many more there are. */
export function haltForMismatches(mismatches: readonly StateMismatch[]): LedgerHalt | null {
  const first = mismatches[0];
  if (!first) return null;
  const more = mismatches.length > 1 ? ` (and ${mismatches.length - 1} more difference${mismatches.length > 2 ? 's' : ''})` : '';
  return { seq: first.seq, table: first.table, reason: `state differs from the ledger: ${describeMismatch(first)}${more}` };
}

export class LedgerGuard {
  private haltState: LedgerHaltState | null = null;
  private readonly touched = new Map<ProjectedTable, Set<string>>();
  private liveTimer: NodeJS.Timeout | undefined;
  private liveRun: Promise<void> = Promise.resolve();
  private unsubscribe: () => void = () => {};
  private stopped = false;
  /** The next seq the projection expects. */
  private next = 0;
  private readonly logger: GuardLogger;

  private constructor(
    private readonly opts: LedgerGuardOptions,
    private readonly projection: StateProjection,
  ) {
    this.logger = opts.logger ?? STDERR_LOGGER;
  }

  /**
   * Check the ledger and the tables, then follow the store. Never throws for a tampered
   * ledger: the guard comes back halted (the store still starts, so it can say why).
   */
  static async start(opts: LedgerGuardOptions): Promise<LedgerGuard> {
    const { store } = opts;
    const result = await checkStoreLedgerAtStart(store, opts.key);
    const guard = new LedgerGuard(opts, result.projection);
    if (result.halt) {
      guard.raise(result.halt);
      return guard;
    }
    // With Postgres other instances may commit while this one reads: a row they changed after
    // the check read the ledger is ahead of the projection, and the entries that explain it are
    // past result.size (resolveDifferences).
    guard.next = result.size;
    await guard.resolveDifferences(compareWithProjection(guard.projection, await snapshotTables(store)));
    if (guard.haltState) return guard;
    guard.touched.clear();
    // Entries appended from here on (by this or, with Postgres, any instance) extend the projection.
    guard.follow(guard.next);
    return guard;
  }

  get halted(): LedgerHaltState | null {
    return this.haltState;
  }

  /** "log halted since … at seq N: why" (what /healthz, checks and `ledger verify` say). */
  describe(): string | null {
    const h = this.haltState;
    if (!h) return null;
    return `log halted since ${h.since}${h.seq === null ? '' : ` at seq ${h.seq}`}: ${h.reason} (table ${h.table})`;
  }

  /** Halt (the first reason wins): log it, tell onHalt. Idempotent. */
  raise(halt: LedgerHalt): void {
    if (this.haltState) return;
    this.haltState = { since: this.opts.clock().toISOString(), seq: halt.seq, table: halt.table, reason: halt.reason };
    this.logger.error({ seq: halt.seq, table: halt.table, reason: halt.reason }, 'TAMPER ALARM: the ledger is halted; every gate check blocks and no decision is accepted until the store is restored and restarted');
    this.stopFollowing();
    const onHalt = this.opts.onHalt;
    if (onHalt) {
      void Promise.resolve()
        .then(() => onHalt(this.haltState!, this.describe()!))
        .catch((error: unknown) => this.logger.error({ err: (error as Error).message }, 'could not queue the ledger_halted alert'));
    }
  }

  /** Throws 503 naming the halt when the ledger is halted (decisions, requests). */
  assertGranting(action: string): void {
    const text = this.describe();
    if (text) throw new AppError('unavailable', `${action} refused: the ${text}`);
  }

  /**
   * Follow the store: each commit that appended entries (this instance's or, with Postgres,
   * any instance's) schedules a live check, which reads the new entries from the store itself.
   */
  private follow(from: number): void {
    this.next = from;
    this.unsubscribe = this.opts.store.onLedgerAppended(() => this.scheduleLiveCheck());
  }

  /** Read and project every entry past the projection (in seq order, gap-free). */
  private async catchUp(): Promise<void> {
    const store = this.opts.store;
    for (;;) {
      const entries = await store.getLedgerEntries(this.next, CATCH_UP_PAGE);
      for (const entry of entries) {
        if (entry.seq !== this.next) {
          this.raise({ seq: this.next, table: 'ledger_entries', reason: `entry ${entry.seq} was found where ${this.next} was expected: row ${this.next} is missing` });
          return;
        }
        this.apply(entry);
        this.next++;
      }
      if (entries.length < CATCH_UP_PAGE) return;
    }
  }

  private apply(entry: LedgerEntry): void {
    for (const { table, id } of projectEntry(this.projection, entry)) {
      let ids = this.touched.get(table);
      if (!ids) this.touched.set(table, (ids = new Set()));
      ids.add(id);
    }
  }

  private takeTouched(into: Map<ProjectedTable, Set<string>>): void {
    for (const [table, ids] of this.touched) {
      let set = into.get(table);
      if (!set) into.set(table, (set = new Set()));
      for (const id of ids) set.add(id);
    }
    this.touched.clear();
  }

  private scheduleLiveCheck(): void {
    if (this.liveTimer || this.stopped || this.haltState) return;
    this.liveTimer = setTimeout(() => {
      this.liveTimer = undefined;
      this.liveRun = this.liveRun.then(() => this.liveCheck()).catch((error: unknown) => this.logger.error({ err: (error as Error).message }, 'live ledger comparison failed; retrying with the next append'));
    }, this.opts.liveCheckDelayMs ?? DEFAULT_LIVE_CHECK_DELAY_MS);
    this.liveTimer.unref();
  }

  /**
   * Bring the projection up to the ledger's head and compare the rows the new entries touched
   * (differences: resolveDifferences).
   */
  async liveCheck(): Promise<void> {
    if (this.haltState) return;
    await this.catchUp();
    const touched = new Map<ProjectedTable, Set<string>>();
    this.takeTouched(touched);
    if (touched.size === 0 || this.haltState || this.stopped) return;
    await this.resolveDifferences(await this.compareTouched(touched));
  }

  /**
   * Tell a racing writer's row from a tampered one, without a timing budget. The rows were read
   * after the catch-up that brought the projection to `next`, and the ledger's committed seqs are
   * a prefix (pg-tx.ts: the head row is locked until commit) committed with the rows they
   * describe. So a row that another instance changed after that catch-up owes its change to an
   * entry at or past `next`, committed before the row was read: the next catch-up (started after
   * the read) finds it. A difference on a row no such entry touched was not written through the
   * store: that is the tamper alarm. The rows those entries touched are compared again against
   * the projection that now includes them (and so on, while writers keep racing: each round
   * compares only the rows the newest entries touched, the work the next live check would do).
   * Until 2026-11-30 a difference halted when each of 3 catch-ups ~100-300 ms apart still found
   * one, whichever rows it was on: under load, with approvals following filings, every round
   * found a new row ahead and an instance halted as tampered (test/integration/ledger/guard-race.test.ts).
   */
  private async resolveDifferences(mismatches: StateMismatch[]): Promise<void> {
    while (mismatches.length > 0 && !this.haltState && !this.stopped) {
      await this.catchUp();
      if (this.haltState) return;
      const since = new Map<ProjectedTable, Set<string>>();
      this.takeTouched(since);
      const unexplained = mismatches.filter((m) => !since.get(m.table as ProjectedTable)?.has(m.row));
      const halt = haltForMismatches(unexplained);
      if (halt) {
        this.raise(halt);
        return;
      }
      mismatches = await this.compareTouched(since);
    }
  }

  private async compareTouched(touched: Map<ProjectedTable, Set<string>>): Promise<StateMismatch[]> {
    const store = this.opts.store;
    const ids = (table: ProjectedTable) => [...(touched.get(table) ?? [])];
    const present = <T>(list: Array<T | undefined>): T[] => list.filter((v): v is T => v !== undefined);
    const decisionSeqs = touched.get('decisions') ?? new Set<string>();
    const decisionRequests = [...new Set([...decisionSeqs].map((seq) => this.projection.decisions.get(Number(seq))?.requestId).filter((r): r is string => !!r))];
    const snapshot: TableSnapshot = {
      complete: false,
      requests: present(await Promise.all(ids('requests').map((id) => store.getRequestRow(id)))),
      decisions: (await Promise.all(decisionRequests.map((r) => store.listDecisions(r)))).flat().filter((d) => decisionSeqs.has(String(d.seq))) as unknown as TableSnapshot['decisions'],
      keys: present(await Promise.all(ids('keys').map((id) => store.getKey(id)))) as unknown as TableSnapshot['keys'],
      tokens: present(await Promise.all(ids('tokens').map((id) => store.getToken(id)))) as unknown as TableSnapshot['tokens'],
      sessions: present(await Promise.all(ids('sessions').map((id) => store.getSession(id)))) as unknown as TableSnapshot['sessions'],
      reviews: present(await Promise.all(ids('reviews').map((id) => store.getReview(id)))) as unknown as TableSnapshot['reviews'],
      policyHash: touched.has('meta') ? ((await store.getMeta('policy_hash')) ?? null) : null,
    };
    const mismatches = compareWithProjection(this.projection, snapshot);
    // A row the entries wrote must be there once they committed.
    const held: Array<[ProjectedTable, string[]]> = [
      ['requests', snapshot.requests.map((r) => r.columns.id)],
      ['keys', snapshot.keys.map((k) => k.keyId)],
      ['tokens', snapshot.tokens.map((t) => t.id)],
      ['decisions', snapshot.decisions.map((d) => String(d.seq))],
      ['reviews', snapshot.reviews.map((r) => r.id)],
    ];
    for (const [table, rows] of held) {
      for (const id of ids(table)) if (!rows.includes(id)) mismatches.push({ table, row: id, field: '(row)', seq: null, expected: 'present', actual: 'absent: deleted' });
    }
    return mismatches;
  }

  private stopFollowing(): void {
    this.unsubscribe();
    this.unsubscribe = () => {};
    if (this.liveTimer) clearTimeout(this.liveTimer);
    this.liveTimer = undefined;
  }

  /** Wait for the comparison in flight (tests, shutdown). */
  async settle(): Promise<void> {
    if (this.liveTimer) {
      clearTimeout(this.liveTimer);
      this.liveTimer = undefined;
      this.liveRun = this.liveRun.then(() => this.liveCheck());
    }
    await this.liveRun;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopFollowing();
    // A comparison that failed already logged why (scheduleLiveCheck); nothing more to do at shutdown.
    await this.liveRun;
  }
}
