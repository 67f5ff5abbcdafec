import { bytesEqual, toHex } from '../../shared/bytes';
import { parseCheckpoint } from '../../shared/ledger/checkpoint';
import { CompactRange, frontierNodes } from '../../shared/ledger/compact-range';
import type { EntryBinder } from '../../shared/ledger/entry-binding';
import { parseSignedNote, verifyNote, type NoteVerifier } from '../../shared/ledger/signed-note';
import { AppError } from '../../shared/errors';
import { EVALUATION_SUFFIX, emptyProjection, projectEntry, type StateProjection } from '../../shared/ledger/state-projection';
import { leafOfText, type TreeHasher } from '../../shared/ledger/tree-hasher';
import { TILE_HEIGHT } from '../../shared/ledger/tlog-tiles';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { SignedCheckpoint } from '../storage/log-tables';

/**
 * The start-up check of the ledger, before the store answers anything: every row is hashed and
 * the tree rebuilt; the rows under the latest checkpoint must reproduce its signed root (and the
 * stored leaf hashes, which proofs are served from); every row past it must carry a valid
 * binding (the log key's MAC made when it was appended); and the entries are replayed
 * into the state projection the tables are then compared with. Anything else is a halt naming
 * the first bad seq: rows inserted or edited behind the store's back, a wiped checkpoint or
 * node table, a deleted last row. Nothing is signed on top of a ledger that failed this.
 */

/** One stored ledger row: the canonical entry text (the leaf) and the binding kept with it. */
export interface LedgerRow {
  seq: number;
  text: string;
  binding: Uint8Array | null;
}

export interface LedgerCheckSource {
  /** Rows seq from..from+limit-1 in order (fewer at the end). */
  rows(from: number, limit: number): Promise<LedgerRow[]>;
  /**
   * Only the texts of the rows with seq from..from+count-1, in order, missing rows left out
   * (the rows under the checkpoint are read this way: their bindings are not needed).
   */
  texts(from: number, count: number): Promise<string[]>;
  /**
   * The stored hashes of tree level `level` (ledger_nodes; level 0: the leaf hashes) at indices
   * from..from+n-1 against `hashes`, the n recomputed ones packed 32 bytes each: how many of them
   * are stored, and the first index whose stored hash differs (null: none). The database compares
   * them, nothing is read row by row.
   */
  compareStored(level: number, from: number, hashes: Uint8Array): Promise<{ stored: number; firstDifference: number | null }>;
  /** Number of stored leaf hashes. */
  storedLeafCount(): number | Promise<number>;
  /** A stored perfect-subtree hash, if any (the frontier the log will extend). */
  storedNode(level: number, index: number): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  latestCheckpoint(): SignedCheckpoint | undefined;
}

/** Why the log refuses to go on: the first bad seq (when one can be named), which table, and why. */
export interface LedgerHalt {
  seq: number | null;
  table: string;
  reason: string;
}

export interface LedgerCheckResult {
  /** Rows in ledger_entries. */
  size: number;
  checkpointSize: number;
  halt: LedgerHalt | null;
  projection: StateProjection;
  /** The tree over every row, when they all hashed (the log goes on from it). */
  range: CompactRange;
  /** Rows past the latest checkpoint whose binding verified. */
  boundRows: number;
}

export interface LedgerCheckOptions {
  hasher: TreeHasher;
  logKey: NoteVerifier;
  binder: EntryBinder;
  /**
   * The log key's verifier under another name: a latest checkpoint this same key signed for
   * another origin is a data dir configured with the wrong log-origin, not tampering (whoever
   * wrote the rows cannot sign with the key), so start-up stops with what to fix instead of halting.
   */
  verifierFor?: (origin: string) => NoteVerifier;
  /** Rows read per query. */
  page?: number;
}

/**
 * Rows a page (a power of two, so pages start on a subtree boundary). Measured at 1M entries, CPU
 * of the check, 3 rounds each, load 10–12: 4,096 rows 4.97 / 5.43 / 5.62 s, 8,192 5.35 / 5.36 /
 * 5.59 s, 16,384 5.53 / 5.56 / 5.69 s (a smaller page's strings die young: less to scavenge).
 */
const DEFAULT_PAGE = 4_096;
const LEAF_SIZE = 32;

/**
 * Throws (a configuration error, not a halt) when `latest` verifies with this log key under the
 * origin its own text names, which differs from the one this store was given.
 */
function assertSameOrigin(latest: SignedCheckpoint, opts: LedgerCheckOptions): void {
  if (!opts.verifierFor) return;
  let origin: string;
  try {
    origin = parseSignedNote(latest.note).text.split('\n', 1)[0]!;
  } catch {
    return; // not a note at all: the caller halts naming the row
  }
  if (!origin || origin === opts.logKey.name) return;
  try {
    verifyNote(latest.note, [opts.verifierFor(origin)]);
  } catch {
    return; // not signed by this key under that name either: tampering, the caller halts
  }
  throw new AppError(
    'invalid_input',
    `this store names its log "${opts.logKey.name}", but the database's log is "${origin}" (its checkpoint ${latest.id} is signed with this same log key under that name): ` +
      `every instance needs the log-origin file of the data dir that ran \`breakglass admin init\` beside its log-key.pem (or write "${origin}" to <data-dir>/log-origin). Nothing was written.`,
  );
}

export async function checkLedgerAtStart(source: LedgerCheckSource, opts: LedgerCheckOptions): Promise<LedgerCheckResult> {
  const { hasher } = opts;
  const page = opts.page ?? DEFAULT_PAGE;
  const projection = emptyProjection();
  const range = new CompactRange(hasher);
  let halt: LedgerHalt | null = null;
  const stop = (h: LedgerHalt) => {
    halt ??= h;
  };

  const latest = source.latestCheckpoint();
  let checkpointSize = 0;
  let checkpointRoot: Uint8Array | undefined;
  if (latest) {
    try {
      const cp = parseCheckpoint(verifyNote(latest.note, [opts.logKey]).text);
      if (cp.origin !== opts.logKey.name) throw new Error(`it is for log "${cp.origin}"`);
      if (cp.size !== latest.treeSize || !bytesEqual(cp.rootHash, latest.rootHash)) throw new Error('its note does not match its row (size or root)');
      checkpointSize = cp.size;
      checkpointRoot = cp.rootHash;
    } catch (error) {
      assertSameOrigin(latest, opts);
      stop({ seq: null, table: 'ledger_checkpoints', reason: `checkpoint ${latest.id} is not a checkpoint this log signed: ${(error as Error).message}` });
    }
  }

  const storedLeafCount = await source.storedLeafCount();
  let seq = 0;
  let boundRows = 0;
  let firstLeafDiff: number | null = null;
  /** The first page whose leaf hashes are not all stored (ledger_nodes never loses one below its count). */
  let missingLeaves: { from: number; to: number; stored: number } | null = null;
  /** The first tile-level node (level 8, 16, …) whose stored hash differs or is missing. */
  let nodeDiff: { level: number; index: number; missing: boolean } | null = null;
  let gap = false;
  const packed = new Uint8Array(page * LEAF_SIZE);
  // The nodes of the tile levels the page completes (tiles and proofs are served from those
  // levels and level 0): compared with the stored ones at the end of the page, like its leaves.
  const tileNodes = new Map<number, { from: number; hashes: Uint8Array[] }>();
  const onNode = (level: number, index: number, hash: Uint8Array) => {
    if (level % TILE_HEIGHT !== 0) return;
    let nodes = tileNodes.get(level);
    if (!nodes) tileNodes.set(level, (nodes = { from: index, hashes: [] }));
    nodes.hashes.push(hash);
  };
  while (!gap) {
    // Under the checkpoint only the texts are read, in pages that end at the checkpoint (its
    // root is checked there); when fewer come back than asked (a gap, or the end), the rows
    // with their seqs say which. Past it every row comes with its binding.
    const pageStart = seq;
    const under = seq < checkpointSize;
    const want = under ? Math.min(page, checkpointSize - seq) : page;
    let texts: string[] | undefined = under ? await source.texts(seq, want) : undefined;
    let rows: LedgerRow[] | undefined;
    if (!texts || texts.length < want) {
      rows = await source.rows(seq, want);
      texts = undefined;
    }
    const count = texts ? texts.length : rows!.length;
    for (let i = 0; i < count; i++) {
      let text: string;
      let binding: Uint8Array | null = null;
      if (texts) text = texts[i]!;
      else {
        const row = rows![i]!;
        if (row.seq !== seq) {
          stop({ seq, table: 'ledger_entries', reason: row.seq > seq ? `row ${seq} is missing (the next row is ${row.seq}): deleted behind the store's back` : `row ${row.seq} appears where ${seq} was expected` });
          gap = true;
          break;
        }
        text = row.text;
        binding = row.binding;
      }
      const leaf = leafOfText(hasher, text);
      range.append(leaf, onNode);
      packed.set(leaf, i * LEAF_SIZE);
      if (seq >= checkpointSize) {
        if (opts.binder.verify(seq, leaf, binding)) boundRows++;
        else stop({ seq, table: 'ledger_entries', reason: unboundReason(seq, checkpointSize, binding) });
      }
      if (!halt) project(projection, text, seq, stop);
      seq++;
    }
    // The page's leaves against the stored ones, in one query.
    const storedHere = Math.max(0, Math.min(seq, storedLeafCount) - pageStart);
    if (storedHere > 0 && (firstLeafDiff === null || missingLeaves === null)) {
      const { stored, firstDifference } = await source.compareStored(0, pageStart, packed.subarray(0, storedHere * LEAF_SIZE));
      if (firstLeafDiff === null) firstLeafDiff = firstDifference;
      if (stored < storedHere) missingLeaves ??= { from: pageStart, to: pageStart + storedHere, stored };
    }
    for (const [level, nodes] of tileNodes) {
      // Only the nodes over stored leaves are stored (the log persists a node when it completes it).
      const count = Math.min(nodes.hashes.length, Math.floor(storedLeafCount / 2 ** level) - nodes.from);
      if (count > 0 && !nodeDiff) {
        const { stored, firstDifference } = await source.compareStored(level, nodes.from, packHashes(nodes.hashes, count));
        if (firstDifference !== null) nodeDiff = { level, index: firstDifference, missing: false };
        else if (stored < count) {
          // A crash between two slices of the log's node writes (transparency-log.ts) can leave a
          // node past the latest checkpoint unwritten over leaves that were: the log writes it
          // again when it integrates those rows. Only the nodes a checkpoint covers must be there.
          const covered = Math.min(count, Math.floor(checkpointSize / 2 ** level) - nodes.from);
          if (covered > 0 && (covered === count || (await source.compareStored(level, nodes.from, packHashes(nodes.hashes, covered))).stored < covered)) nodeDiff = { level, index: nodes.from, missing: true };
        }
      }
    }
    tileNodes.clear();
    if (seq === checkpointSize && seq > pageStart && checkpointRoot && !bytesEqual(range.root(), checkpointRoot)) {
      const where = firstLeafDiff !== null ? `row ${firstLeafDiff} differs from the leaf the log stored when it appended it` : `a row among 0..${checkpointSize - 1} was edited, inserted or removed (and its stored leaf hash rewritten to match)`;
      stop({ seq: firstLeafDiff, table: 'ledger_entries', reason: `the first ${checkpointSize} rows hash to ${toHex(range.root())}, but checkpoint ${latest!.id} (signed ${latest!.signedAt}) says ${toHex(checkpointRoot)}: ${where}` });
    }
    if (count < want) break;
  }
  const size = seq;
  if (latest && checkpointSize > size) {
    stop({ seq: size, table: 'ledger_entries', reason: `checkpoint ${latest.id} (signed ${latest.signedAt}) covers ${checkpointSize} entries but the table holds ${size}: rows ${size}..${checkpointSize - 1} were deleted` });
  }
  if (!latest && size > 0) {
    stop({ seq: 0, table: 'ledger_checkpoints', reason: `ledger_checkpoints is empty but ledger_entries holds ${size} rows: the checkpoint table was wiped (a store signs a checkpoint before its first entry is served)` });
  }
  if (storedLeafCount < Math.min(checkpointSize, size)) {
    stop({ seq: storedLeafCount, table: 'ledger_nodes', reason: `ledger_nodes holds ${storedLeafCount} leaf hashes but the latest checkpoint covers ${checkpointSize}: the node table was wiped or truncated` });
  } else if (firstLeafDiff !== null && firstLeafDiff < checkpointSize) {
    stop({ seq: firstLeafDiff, table: 'ledger_nodes', reason: `the stored leaf hash of row ${firstLeafDiff} is not the hash of the row: the node table or the row was rewritten` });
  } else if (missingLeaves) {
    const { from, to, stored } = missingLeaves;
    stop({ seq: from, table: 'ledger_nodes', reason: `ledger_nodes holds ${stored} of the ${to - from} leaf hashes of rows ${from}..${to - 1} (and ${storedLeafCount} in all): leaf hashes were deleted from the node table` });
  } else if (nodeDiff) {
    const { level, index, missing } = nodeDiff;
    const width = 2 ** level;
    stop({
      seq: null,
      table: 'ledger_nodes',
      reason: missing
        ? `ledger_nodes lacks hashes of tree level ${level} from index ${index} on (rows ${index * width}.. are complete): nodes were deleted from the node table`
        : `the stored hash of tree level ${level}, index ${index} (rows ${index * width}..${(index + 1) * width - 1}) is not the hash of those rows: the node table was edited`,
    });
  } else if (checkpointSize > 0) {
    // The stored frontier at the checkpoint is what the log extends: it must give the signed root.
    const stored = await Promise.all(frontierNodes(checkpointSize).map(({ level, index }) => source.storedNode(level, index)));
    if (stored.some((h) => h === undefined) || !bytesEqual(new CompactRange(hasher, checkpointSize, stored as Uint8Array[]).root(), checkpointRoot!)) {
      stop({ seq: null, table: 'ledger_nodes', reason: `the stored subtree hashes do not give checkpoint ${latest!.id}'s root: the node table was rebuilt or edited` });
    }
  }
  return { size, checkpointSize, halt, projection, range, boundRows };
}

/** The first `count` hashes packed 32 bytes each, as compareStored takes them. */
function packHashes(hashes: readonly Uint8Array[], count: number): Uint8Array {
  const out = new Uint8Array(count * LEAF_SIZE);
  for (let i = 0; i < count; i++) out.set(hashes[i]!, i * LEAF_SIZE);
  return out;
}

function unboundReason(seq: number, checkpointSize: number, binding: Uint8Array | null): string {
  return `row ${seq} is past the last checkpoint (${checkpointSize}) and ${binding ? 'its binding does not verify: edited, or written without the log key' : "carries no binding: written behind the store's back"}`;
}

function project(projection: StateProjection, text: string, seq: number, stop: (h: LedgerHalt) => void): void {
  // Evaluations change no state: skip the parse (the canonical text ends with its type).
  if (text.endsWith(EVALUATION_SUFFIX)) {
    projection.size++;
    return;
  }
  let entry: LedgerEntry;
  try {
    entry = JSON.parse(text) as LedgerEntry;
  } catch {
    stop({ seq, table: 'ledger_entries', reason: `row ${seq} is not JSON` });
    return;
  }
  if (entry.seq !== seq) {
    stop({ seq, table: 'ledger_entries', reason: `row ${seq} holds entry ${String(entry.seq)}` });
    return;
  }
  projectEntry(projection, entry);
}
