import type { SigstoreBundleJson } from '../../shared/domain/decision';
import { SigstoreBundleJsonSchema } from '../../shared/domain/decision';
import { AppError } from '../../shared/errors';
import { bytesEqual, toHex, utf8 } from '../../shared/bytes';
import { leafOfText } from '../../shared/ledger/tree-hasher';
import { checkpointTimeLine, formatCheckpoint } from '../../shared/ledger/checkpoint';
import { CompactRange, frontierNodes } from '../../shared/ledger/compact-range';
import { consistencyProof, inclusionProof, treeRoot, verifyConsistency, type NodeSource } from '../../shared/ledger/proofs';
import { tileWidthAt } from '../../shared/ledger/tlog-tiles';
import { bundleWithTlogEntry, signedEntryTimestampPayload } from '../../shared/ledger/rekor-dsse';
import { signNote } from '../../shared/ledger/signed-note';
import { approverPublicKeys, ledgerTrustedRoot } from '../../shared/ledger/trusted-root';
import { nodeTreeHasher } from '../../shared/node/ledger/node-crypto';
import { dataDirPaths } from '../admin/data-dir';
import type { Store } from '../storage/store';
import { nodeKey, type LogTables, type NodeKey, type SignedCheckpoint, type StoredCosignature } from '../storage/log-tables';
import { mapNodeSource, nodesReadBy, TileCache } from './tile-cache';
import { loadLogKey, type LogKey } from './log-key';
import type { LedgerGuard } from './ledger-guard';
import { fallbackStoreLogger } from '../logger';

/** At most one checkpoint per this interval while entries arrive (one within a second or two). */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 500;
/**
 * Entries read, hashed and integrated per slice; the event loop is given back between slices
 * (setImmediate), so following a busy ledger never holds it for long: at 2,000 warns/s a
 * checkpoint integrates ~1,000 entries, which in one piece (read, hash, fold, persist) stalled
 * every request for several ms twice a second (issue 16, the warn path's p99).
 */
const CATCH_UP_PAGE = 256;
/** Integrated nodes written to ledger_nodes once this many are pending (a commit of their own), before the checkpoint's. */
const PERSIST_EVERY_NODES = 1024;
/**
 * Nodes per write to ledger_nodes. With SQLite a write holds the one writer, and with it every
 * warn's commit, while it runs: ~2,000 nodes in one write (a checkpoint at 2,000 warns/s) held
 * it for several ms twice a second. Written in slices, the event loop given back between them,
 * and the checkpoint with the last slice (so a crash between slices leaves only nodes no
 * checkpoint covers yet, as a write before the checkpoint's always could; some nodes over the
 * leaves written may be missing then: open() goes on from the checkpoint, and the start-up check
 * asks only for the nodes a checkpoint covers).
 */
const PERSIST_SLICE_NODES = 256;

export type { SignedCheckpoint };

export interface TransparencyLogOptions {
  store: Store;
  dataDir: string;
  clock?: () => Date;
  checkpointIntervalMs?: number;
  /** Where the Ed25519 log key lives; default <dataDir>/log-key.pem. */
  logKeyPath?: string;
  /** The log key the store was opened with (its binder checks each row's binding); default: loaded from logKeyPath. */
  key?: LogKey;
  /** The grant store's tamper guard watching this store (ledger-guard.ts): the log asks it before signing. */
  guard?: LedgerGuard;
}

/**
 * The grant store's ledger as an RFC 6962 transparency log. Follows the store's committed
 * entries (onLedgerAppended), hashes each entry's canonical bytes itself, keeps every perfect
 * subtree hash in ledger_nodes and signs a C2SP checkpoint at most every ~500 ms while entries
 * arrive, never one inconsistent with the last it signed. Serves C2SP tlog-tiles and answers
 * inclusion and consistency proofs from those tiles (tile-cache.ts: read on demand, full tiles
 * cached within a fixed budget), the trusted root and decision bundles with their tlog entry.
 * In memory it holds the frontier and the nodes not yet persisted, nothing per entry.
 */
export class TransparencyLog {
  private readonly pending = new Map<string, Uint8Array>();
  private range: CompactRange;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private lastSignedAtMs = 0;
  private closed = false;
  /** Set by close(): the last checkpoint is signed, but no longer announced (nobody pushes it). */
  private closing = false;
  private unsubscribe: () => void = () => {};
  /** Set when the log refused to sign (inconsistency, an unbound row): it stays stopped and says why. */
  private ownHalt: string | undefined;
  /** The grant store's tamper guard, when one watches this store (ledger-guard.ts). */
  private readonly guard: LedgerGuard | undefined;
  private readonly waiters: Array<{ size: number; resolve: () => void }> = [];
  private readonly signedListeners = new Set<(checkpoint: SignedCheckpoint) => void>();
  private readonly seenListeners = new Set<(checkpoint: SignedCheckpoint) => void>();
  private readonly tiles: TileCache;

  private constructor(
    private readonly store: Store,
    private readonly tables: LogTables,
    readonly key: LogKey,
    private readonly clock: () => Date,
    private readonly intervalMs: number,
    guard: LedgerGuard | undefined,
    range: CompactRange,
  ) {
    this.guard = guard;
    this.range = range;
    this.tiles = new TileCache(tables, nodeTreeHasher);
  }

  static async open(opts: TransparencyLogOptions): Promise<TransparencyLog> {
    const paths = dataDirPaths(opts.dataDir);
    const key = opts.key ?? (await loadLogKey(opts.logKeyPath ?? paths.logKeyPath, { originPath: paths.logOriginPath }));
    // The log's tables live in the store's own database, on its connections (with PostgreSQL
    // every instance follows the same tables).
    const tables = await opts.store.openLogTables();
    // Only the frontier (one node per set bit of the size) is read to go on appending.
    let size = await tables.leafCount();
    let frontier = frontierNodes(size);
    let found = await tables.nodes(frontier);
    if (found.size < frontier.length) {
      // A crash between two slices of a node write (persistNodes) stored the leaves past the last
      // checkpoint but not every node they complete. The checkpoint's nodes were committed with it:
      // go on from there, and the rows after it are integrated again (their nodes written again,
      // those already stored kept as they are).
      size = tables.latestCheckpoint()?.treeSize ?? 0;
      frontier = frontierNodes(size);
      found = await tables.nodes(frontier);
    }
    const stored = mapNodeSource(found, 'ledger_nodes');
    const range = new CompactRange(nodeTreeHasher, size, frontier.map(({ level, index }) => stored.perfect(level, index)));
    const log = new TransparencyLog(opts.store, tables, key, opts.clock ?? (() => new Date()), opts.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS, opts.guard, range);
    log.unsubscribe = opts.store.onLedgerAppended(() => log.schedule());
    await log.checkpointNow();
    return log;
  }

  /** Why the log stopped signing: the guard's tamper alarm or its own refusal; undefined while it runs. */
  get halted(): string | undefined {
    return this.guard?.describe() ?? this.ownHalt;
  }

  private halt(seq: number | null, table: string, reason: string): void {
    this.ownHalt ??= reason;
    this.guard?.raise({ seq, table, reason });
    this.logError(reason);
  }

  private logError(message: string): void {
    process.stderr.write(`${JSON.stringify({ level: 'error', msg: message })}\n`);
  }

  get origin(): string {
    return this.key.origin;
  }

  get publicKeyPem(): string {
    return this.key.publicKeyPem;
  }

  /** Leaves integrated so far (may be ahead of the latest checkpoint by < one interval). */
  get size(): number {
    return this.range.size;
  }

  /** `keys` from the nodes integrated but not yet persisted, else from ledger_nodes (one query). */
  private async integratedNodes(keys: readonly NodeKey[]): Promise<NodeSource> {
    const nodes = new Map<string, Uint8Array>();
    const unpersisted: NodeKey[] = [];
    for (const k of keys) {
      const pending = this.pending.get(nodeKey(k.level, k.index));
      if (pending) nodes.set(nodeKey(k.level, k.index), pending);
      else unpersisted.push(k);
    }
    for (const [key, hash] of await this.tables.nodes(unpersisted)) nodes.set(key, hash);
    return mapNodeSource(nodes, 'ledger_nodes');
  }

  /** Run a root or proof computation in the tree of `treeSize` leaves (signed) on nodes read from its tiles. */
  private async fromTiles<T>(treeSize: number, compute: (source: NodeSource) => T): Promise<T> {
    return compute(await this.tiles.nodes(nodesReadBy(compute), treeSize));
  }

  /**
   * Tile (level, index) of width `width` of the tree at the latest signed checkpoint: the packed
   * hashes of tree level 8·level (C2SP tlog-tiles). The caller checks the width is covered.
   */
  tileHashes(level: number, index: number, width: number): Promise<Uint8Array> {
    const covered = this.latestCheckpoint()?.treeSize ?? 0;
    if (tileWidthAt(level, index, covered) < width) throw new AppError('not_found', `tile ${level}/${index} of width ${width} is beyond the latest checkpoint (size ${covered})`);
    return this.tiles.tileHashes(level, index, width);
  }

  /**
   * Ask for a checkpoint soon: now if none was signed within the interval, else at its end.
   * The timer does not keep the process alive unless someone waits for the checkpoint.
   */
  schedule(keepAlive = false): void {
    if (this.closed) return;
    if (this.timer) {
      if (keepAlive) this.timer.ref();
      return;
    }
    const delay = Math.max(0, this.lastSignedAtMs + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.checkpointNow().catch((error: unknown) => fallbackStoreLogger().error({ err: error }, 'ledger checkpoint failed (the next append retries)'));
    }, delay);
    if (!keepAlive) this.timer.unref();
  }

  /** Integrate every committed entry and sign a checkpoint if the tree grew. Serialized. */
  checkpointNow(): Promise<void> {
    const run = this.running.then(() => this.integrateAndSign());
    // The caller of this run gets its failure; the next run must not inherit it.
    this.running = run.catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'a ledger checkpoint run failed (reported to its caller)'));
    return run;
  }

  /**
   * Learn the checkpoints other instances signed (PostgreSQL; nothing with SQLite) and tell the
   * onCheckpointSeen listeners. Their rows were committed before they were signed, so rows read
   * after this cover them.
   */
  async refreshCheckpoints(): Promise<void> {
    const learnt = await this.tables.refresh();
    if (this.closing) return;
    for (const cp of learnt) for (const listener of this.seenListeners) listener(cp);
  }

  private async integrateAndSign(): Promise<void> {
    if (this.closed || this.halted) return;
    await this.refreshCheckpoints();
    // Page through whatever was committed after our size (no COUNT(*): it scans the table).
    for (;;) {
      const rows = await this.store.getLedgerRows(this.range.size, CATCH_UP_PAGE);
      for (const row of rows) {
        if (row.seq !== this.range.size) throw new AppError('internal', `ledger entry seq ${row.seq} arrived where ${this.range.size} was expected`);
        const leaf = leafOfText(nodeTreeHasher, row.text);
        // Under the guard every row must carry the binding the store made as it appended it:
        // a row written behind the store's back (or edited) is never signed into a checkpoint.
        if (this.guard && !this.key.binder.verify(row.seq, leaf, row.binding)) {
          await this.persistNodes(undefined);
          this.halt(row.seq, 'ledger_entries', `refusing to sign: row ${row.seq} ${row.binding ? 'carries a binding that does not verify: edited, or written without the log key' : "carries no binding: written behind the store's back"}`);
          return;
        }
        this.pending.set(`0:${row.seq}`, leaf);
        this.range.append(leaf, (level, index, hash) => this.pending.set(`${level}:${index}`, hash));
      }
      if (rows.length < CATCH_UP_PAGE) break;
      // More to come: write what is integrated so far (bounded memory, a short commit) and let
      // the requests waiting meanwhile run before the next slice.
      if (this.pending.size >= PERSIST_EVERY_NODES) await this.persistNodes(undefined);
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.closed || this.halted) return;
    }
    const last = this.latestCheckpoint();
    if (last && last.treeSize === this.range.size) {
      // With several instances the latest may be another's: it must be the root of these very rows.
      if (!this.sameRoot(last)) return;
      await this.persistNodes(undefined);
      this.notifyWaiters(last.treeSize);
      return;
    }
    const size = this.range.size;
    const root = this.range.root();
    if (last) {
      // Never contradict what was signed before: prove the new tree extends the last checkpoint.
      try {
        if (last.treeSize > size) throw new AppError('verification_failed', `the ledger shrank from ${last.treeSize} to ${size} entries`);
        const prove = (source: NodeSource) => consistencyProof(nodeTreeHasher, source, last.treeSize, size);
        verifyConsistency(nodeTreeHasher, last.treeSize, size, prove(await this.integratedNodes(nodesReadBy(prove))), last.rootHash, root);
      } catch (error) {
        this.halt(null, 'ledger_checkpoints', `refusing to sign: the ledger is not consistent with checkpoint ${last.id} (size ${last.treeSize}): ${(error as Error).message}`);
        return;
      }
    }
    const now = this.clock();
    const signedAt = now.toISOString();
    // The signing time rides in the checkpoint itself, so a stale log's last checkpoint shows its age.
    const note = signNote(formatCheckpoint({ origin: this.key.origin, size, rootHash: root, extensions: [checkpointTimeLine(now)] }), [this.key.signer]);
    const kept = await this.persistNodes({ size, root, note, signedAt });
    this.lastSignedAtMs = Date.now();
    if (!kept) {
      // Another instance stored a checkpoint of this size or a larger one first (PostgreSQL): that
      // one is the log's, and nobody pushes ours. One of the same size must have our root.
      await this.refreshCheckpoints();
      const theirs = this.latestCheckpoint();
      if (theirs && theirs.treeSize === size && !this.sameRoot(theirs)) return;
      this.notifyWaiters(theirs?.treeSize ?? 0);
      return;
    }
    this.notifyWaiters(size);
    const signed = this.latestCheckpoint();
    if (signed && !this.closing) for (const listener of this.signedListeners) listener(signed);
  }

  /** Whether `cp` (of this log's size) has the root of the rows integrated here; halts when not. */
  private sameRoot(cp: SignedCheckpoint): boolean {
    const root = this.range.root();
    if (bytesEqual(root, cp.rootHash)) return true;
    this.halt(null, 'ledger_checkpoints', `refusing to go on: checkpoint ${cp.id} (size ${cp.treeSize}, signed ${cp.signedAt}) has root ${toHex(cp.rootHash)}, but the first ${cp.treeSize} rows hash to ${toHex(root)}`);
    return false;
  }

  private async persistNodes(checkpoint: { size: number; root: Uint8Array; note: string; signedAt: string } | undefined): Promise<boolean> {
    while (this.pending.size > PERSIST_SLICE_NODES) {
      const slice = new Map<string, Uint8Array>();
      for (const [key, hash] of this.pending) {
        slice.set(key, hash);
        if (slice.size === PERSIST_SLICE_NODES) break;
      }
      await this.tables.persist(slice, undefined);
      for (const key of slice.keys()) this.pending.delete(key);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const kept = await this.tables.persist(this.pending, checkpoint);
    this.pending.clear();
    return kept;
  }

  private notifyWaiters(size: number): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.size <= size) this.waiters.splice(i, 1)[0]!.resolve();
    }
  }

  /** Called with each checkpoint this process signs (the witnesses push it); returns the unsubscribe. */
  onCheckpointSigned(listener: (checkpoint: SignedCheckpoint) => void): () => void {
    this.signedListeners.add(listener);
    return () => this.signedListeners.delete(listener);
  }

  /**
   * Called with each checkpoint another instance on the same database signed, as this one learns
   * of it (PostgreSQL; never with SQLite); returns the unsubscribe.
   */
  onCheckpointSeen(listener: (checkpoint: SignedCheckpoint) => void): () => void {
    this.seenListeners.add(listener);
    return () => this.seenListeners.delete(listener);
  }

  /** The newest checkpoint after `afterCheckpointId` cosigned by `quorum` of `witnesses` (kept by any instance). */
  newestWithQuorum(afterCheckpointId: number, witnesses: readonly string[], quorum: number): Promise<{ checkpointId: number; treeSize: number } | undefined> {
    return this.tables.newestWithQuorum(afterCheckpointId, witnesses, quorum);
  }

  /** Keep a witness's verified cosignature of one of this log's checkpoints (append-only). */
  addCosignature(cosignature: StoredCosignature): Promise<boolean> {
    return this.tables.addCosignature(cosignature);
  }

  cosignatures(checkpointId: number): Promise<StoredCosignature[]> {
    return this.tables.cosignatures(checkpointId);
  }

  /** Resolves once a signed checkpoint covers `size` entries. */
  waitForCheckpoint(size: number): Promise<void> {
    const last = this.latestCheckpoint();
    if (last && last.treeSize >= size) return Promise.resolve();
    if (this.halted) return Promise.reject(new AppError('unavailable', this.halted));
    this.schedule(true);
    return new Promise((resolve) => this.waiters.push({ size, resolve }));
  }

  latestCheckpoint(): SignedCheckpoint | undefined {
    return this.tables.latestCheckpoint();
  }

  /** The newest checkpoint of exactly this size, if one was signed. */
  checkpointOfSize(size: number): SignedCheckpoint | undefined {
    return this.tables.checkpointOfSize(size);
  }

  /** Every signed checkpoint up to `maxSize`, oldest first. */
  checkpoints(maxSize = Number.MAX_SAFE_INTEGER): SignedCheckpoint[] {
    return this.tables.checkpoints(maxSize);
  }

  private checkTreeSize(treeSize: number): void {
    const last = this.latestCheckpoint();
    if (!last || treeSize > last.treeSize) throw new AppError('not_found', `no signed checkpoint covers tree size ${treeSize} yet (latest: ${last?.treeSize ?? 0})`);
  }

  /** Inclusion of entry `seq` in the signed tree of `treeSize`, with its leaf hash, answered from tiles. */
  inclusionProof(seq: number, treeSize: number): Promise<{ seq: number; treeSize: number; rootHash: Uint8Array; leafHash: Uint8Array; hashes: Uint8Array[] }> {
    this.checkTreeSize(treeSize);
    if (seq >= treeSize) throw new AppError('invalid_input', `entry ${seq} is not in a tree of size ${treeSize}`, { fieldErrors: [{ path: 'seq', message: `must be below treeSize ${treeSize}` }] });
    return this.fromTiles(treeSize, (source) => ({
      seq,
      treeSize,
      rootHash: treeRoot(nodeTreeHasher, source, treeSize),
      leafHash: source.perfect(0, seq),
      hashes: inclusionProof(nodeTreeHasher, source, seq, treeSize),
    }));
  }

  /** Consistency of the signed tree of `from` leaves with that of `to`, answered from tiles. */
  consistencyProof(from: number, to: number): Promise<{ from: number; to: number; fromRoot: Uint8Array; toRoot: Uint8Array; hashes: Uint8Array[] }> {
    this.checkTreeSize(to);
    if (from > to) throw new AppError('invalid_input', `from (${from}) must not exceed to (${to})`, { fieldErrors: [{ path: 'from', message: `must be at most to (${to})` }] });
    return this.fromTiles(to, (source) => ({
      from,
      to,
      fromRoot: treeRoot(nodeTreeHasher, source, from),
      toRoot: treeRoot(nodeTreeHasher, source, to),
      hashes: consistencyProof(nodeTreeHasher, source, from, to),
    }));
  }

  /** Leaf hashes seq from..from+limit-1 as the log computed them. */
  leafHashes(from: number, limit: number): Promise<Uint8Array[]> {
    return this.tables.leafHashes(from, limit);
  }

  /** Sigstore trusted root for this log (the stock verifier's tlogs[] entry). */
  async trustedRoot(): Promise<Record<string, unknown>> {
    const first = (await this.store.getLedgerEntries(0, 1))[0];
    const start = first ? new Date(Math.floor(Date.parse(first.time) / 1000) * 1000) : this.clock();
    return ledgerTrustedRoot({ origin: this.key.origin, logPublicKeyPem: this.key.publicKeyPem, logId: this.key.logId, validFrom: start.toISOString() });
  }

  /** Every approver key ever enrolled, with its validity window, as @sigstore/verify public keys. */
  async approverKeys(): Promise<Record<string, Record<string, unknown>>> {
    const keys = await this.store.listKeys();
    return approverPublicKeys(keys.map((k) => ({ keyId: k.keyId, publicKeyPem: k.publicKeyPem, enrolledAt: k.enrolledAt, revokedAt: k.revokedAt })));
  }

  /**
   * The decision bundle stored at `seq`, with its tlog entry: inclusion proof against the
   * latest checkpoint, the checkpoint envelope, and a signed entry timestamp by the log key.
   */
  async decisionBundle(seq: number): Promise<SigstoreBundleJson> {
    const [row] = await this.store.getLedgerEntryTexts(seq, 1);
    if (!row || row.seq !== seq) throw new AppError('not_found', `no ledger entry ${seq}`);
    const entry = JSON.parse(row.text) as { type?: string; time: string; data?: { bundle?: unknown } };
    if (entry.type !== 'decision') throw new AppError('not_found', `ledger entry ${seq} is not a decision`);
    const bundle = SigstoreBundleJsonSchema.parse(entry.data?.bundle);
    await this.waitForCheckpoint(seq + 1);
    const checkpoint = this.latestCheckpoint()!;
    const entryBytes = utf8(row.text);
    const integratedTime = Math.floor(Date.parse(entry.time) / 1000);
    const proof = await this.inclusionProof(seq, checkpoint.treeSize);
    const setPayload = signedEntryTimestampPayload({ canonicalizedBody: entryBytes, integratedTime, logIndex: seq, logId: this.key.logId });
    return bundleWithTlogEntry(bundle, {
      entryBytes,
      seq,
      integratedTime,
      logId: this.key.logId,
      treeSize: checkpoint.treeSize,
      rootHash: checkpoint.rootHash,
      inclusionProof: proof.hashes,
      checkpointNote: checkpoint.note,
      signedEntryTimestamp: this.signRaw(setPayload),
    });
  }

  private signRaw(message: Uint8Array): Uint8Array {
    return this.key.signer.sign(message);
  }

  /** Stop following the store; waits for a checkpoint in progress. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribe();
    this.closing = true;
    // Sign what was appended before closing, so a clean shutdown leaves nothing unsigned.
    await this.checkpointNow().catch((error: unknown) => fallbackStoreLogger().error({ err: error }, 'ledger checkpoint on close failed'));
    this.closed = true;
    await this.tables.close();
  }
}
