import { constants, createReadStream } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AppError } from '../../../shared/errors';
import { fromBase64 } from '../../../shared/bytes';
import { checkpointTime, parseCheckpoint, type Checkpoint } from '../../../shared/ledger/checkpoint';
import { readsAuditSnapshotVersion, SemanticAuditor, type AuditReport } from '../../../shared/ledger/semantic-audit';
import { parseSignedNote, type NoteVerifier } from '../../../shared/ledger/signed-note';
import { parseVerifierKey } from '../../../shared/ledger/verifier-key';
import { checkEntryBytes, LedgerVerifier, type LedgerProblem, type LedgerStart, type LedgerVerdict, type VerifyLedgerOptions } from '../../../shared/ledger/verify-ledger';
import { tilePath, TILE_WIDTH } from '../../../shared/ledger/tlog-tiles';
import { EntryBundleCursor } from '../../../shared/node/ledger/entry-bundle-reader';
import { witnessAddCheckpoint, type WitnessRecord } from '../../../shared/ledger/witness-core';
import { ed25519NoteVerifier, ed25519VerifierKeyFromPem, nodeEd25519Verify, nodeSha256, nodeTreeHasher } from '../../../shared/node/ledger/node-crypto';
import { decisionVerifierPool } from '../../../shared/node/ledger/decision-verify-pool';
import { exportPageWorkers, parseExportPageBytes, recordedLeafAt, type CheckedPage } from '../../../shared/node/ledger/export-page-pool';
import { LEDGER_ROUTES, MAX_ENTRY_BUNDLES_PER_READ, type LedgerExportPage } from '../../../shared/http/ledger-routes';
import { pageEntry } from '../../../shared/ledger/export-page-check';
import { EXPORT_FILES } from '../../ledger/export-bundle';
import type { Policy } from '../../../shared/domain/policy';
import { loadOrCreateWitnessKey } from '../../witness/witness-key-file';
import type { StoreClient } from '../../../shared/node/http/store-client';
import { cliWitnessDir, readLogState, saveVerified, type SavedLogState } from '../ledger-client-state';
import { defaultWitnessName } from './witness';

/** Entries per export page (the store's maximum). */
const PAGE = 5000;
/**
 * Past how many remaining entries the pages go to worker threads: below it their start-up (each
 * loads the schemas) cost more CPU than they saved on this 2-core machine (an 11k-entry verify:
 * 3.8-5.6 s in one thread, 5.8-7.6 s with workers, both at load 9-11).
 */
const WORKERS_FROM_ENTRIES = 4 * PAGE;
/**
 * Page workers only on machines with at least this many cores. Measured on 2 cores (load 7-10),
 * 120k entries: in this thread 14.4-16.5 s, 4.4 s CPU, 260-276 MB peak RSS; with the workers
 * 20.0-21.6 s, 6.3-6.5 s CPU, 442-474 MB (the pages in flight and the workers' own heaps). With
 * more cores the workers are expected to pay off; that is not measured yet.
 */
const MIN_CORES_FOR_WORKERS = 4;
/**
 * Decision signatures are checked beside this thread, which is busy with everything sequential:
 * one worker per other core (each holds the Sigstore libraries, ~25 MB; on 2 cores a second one
 * only added memory).
 */
const SIGNATURE_THREADS = Math.max(1, availableParallelism() - 1);
/**
 * Past how many entries to verify every decision goes to the signature workers from the first:
 * the pool otherwise checks the first 32 on this thread, which then loads the Sigstore libraries
 * too (~70 ms of CPU on the thread everything else waits on) for a ledger that will start the
 * workers anyway (CI traffic: a decision every ~1,000 entries).
 */
const DECISIONS_IN_WORKERS_FROM_ENTRIES = 100_000;
/** Pages fetched and checked ahead of the one being verified (two per worker keeps each busy). */
const WORKER_PAGES_IN_FLIGHT = 2 * availableParallelism();
/**
 * Pages fetched ahead when they are checked on this thread, kept as the bytes the store sent
 * until their turn: the store reads and sends them while this thread checks (both run at once,
 * which on a busy machine is most of the gain), three pages (~9 MB) at most.
 */
const PAGES_AHEAD_IN_THREAD = 3;

export interface VerifyOutcome {
  verdict: LedgerVerdict;
  origin: string;
  vkey: string | null;
  source: string;
  trustedSize?: number;
  checkpointTime?: string | null;
  /** The signed checkpoint the entries were verified against, as served (cosignatures included). */
  checkpointNote?: string;
  halted?: string | null;
  cosigned?: { name: string; vkey: string; size: number; line: string } | null;
  /** Why nothing was cosigned (a refusal by this client's own witness record is a failure). */
  cosignNote?: string;
}

/**
 * The policy parser (YAML) is loaded only when a policy entry is about to be audited: it is a
 * good part of the command's start-up, and an incremental run rarely meets a policy entry.
 */
let policyParser: ((text: string) => Policy) | undefined;

async function policyParserFor(): Promise<void> {
  if (policyParser) return;
  const { parsePolicy } = await import('../../policy/load-policy');
  policyParser = (text) => parsePolicy(Buffer.from(text), 'policy.yaml', { recorded: true }).policy;
}

const auditOptions = {
  sha256: nodeSha256,
  parsePolicySource: (text: string): Policy => {
    // policyParserFor() runs before a batch of entries with a policy entry reaches the auditor.
    if (!policyParser) throw new Error('internal error: the policy parser was not loaded before a policy entry');
    return policyParser(text);
  },
};

/** The semantic audit with the checks only Node can do: the policy text parsed as YAML. */
function newAuditor(): SemanticAuditor {
  return new SemanticAuditor(auditOptions);
}

function fail(code: LedgerProblem['code'], message: string, seq: number | null = null): LedgerVerdict {
  const problem: LedgerProblem = { code, seq, message };
  return { ok: false, problem, problems: [problem] };
}

/**
 * The first read of the log did not reproduce the signed root and a second read (entry pages,
 * with the log's history to locate the mismatch) did: the same log served two ways. Each read
 * is what some reader trusts (tile readers and CDNs the bundles), so this fails.
 */
function twoHistories(first: Extract<LedgerVerdict, { ok: false }>, firstRead: string, treeSize: number): LedgerVerdict {
  const problem: LedgerProblem = {
    code: first.problem.code,
    seq: first.problem.seq,
    message: `the store's ${firstRead} do not reproduce its signed checkpoint at size ${treeSize}, but a second read of its entry pages does: the log is served with two different histories. The tiles or the store's rows are corrupt, or something between this client and the store (a proxy, a cache, a CDN) serves other bytes; readers of the ${firstRead} cannot trust this log until that is found. The first read: ${first.problem.message}`,
  };
  return { ok: false, problem, problems: [problem, ...first.problems], ...(first.audit ? { audit: first.audit } : {}) };
}

/** A log key given as a PEM public key or as a C2SP vkey (type 0x01); its name must be the checkpoint's origin. */
export function logKeyFrom(text: string, origin: string): { verifier: NoteVerifier; vkey: string } {
  const trimmed = text.trim();
  if (trimmed.includes('BEGIN PUBLIC KEY')) {
    try {
      return { verifier: ed25519NoteVerifier(origin, trimmed), vkey: ed25519VerifierKeyFromPem(origin, trimmed) };
    } catch (error) {
      throw new AppError('invalid_input', `the log public key is not an Ed25519 PEM public key: ${(error as Error).message}`);
    }
  }
  const key = parseVerifierKey(trimmed, nodeSha256, 'ed25519');
  if (key.name !== origin) throw new AppError('verification_failed', `the pinned log key is for "${key.name}", but the checkpoint is for "${origin}"`);
  return { verifier: { name: key.name, keyHint: key.keyHint, verify: (m, s) => nodeEd25519Verify(key.publicKey, m, s) }, vkey: trimmed };
}

function originOf(note: string): string {
  try {
    return parseCheckpoint(parseSignedNote(note).text).origin;
  } catch {
    const first = note.split('\n')[0];
    return first && !/\s/.test(first) ? first : 'unknown-origin';
  }
}

function sizeOf(note: string | undefined): number | undefined {
  const line = note?.split('\n')[1];
  return line && /^\d+$/.test(line) ? Number(line) : undefined;
}

function timeOf(note: string): string | null {
  try {
    return checkpointTime(parseCheckpoint(parseSignedNote(note).text))?.toISOString() ?? null;
  } catch {
    return null;
  }
}

/** "log halted since … at seq N: why", from the store's halted report (structured or a sentence). */
export function haltedText(halted: unknown): string | null {
  if (!halted) return null;
  if (typeof halted === 'string') return `log halted: ${halted}`;
  const h = halted as { since?: string; seq?: number; reason?: string };
  return `log halted since ${h.since ?? '?'} at seq ${h.seq ?? '?'}: ${h.reason ?? 'no reason given'}`;
}

export interface OnlineOptions {
  client: StoreClient;
  env: NodeJS.ProcessEnv;
  storeUrl: string;
  pinnedKeyText?: string;
  trustedCheckpoint?: string;
  incremental: boolean;
  save: boolean;
  note: (text: string) => void;
}

/**
 * `ledger verify` against the store: stream the entries page by page through the verifier and
 * the semantic audit, anchored on what this client saved for the log's origin; on success save
 * the new anchor and cosign the checkpoint as this client's witness.
 */
export async function verifyOnline(opts: OnlineOptions): Promise<VerifyOutcome> {
  const { client } = opts;
  // Round trips are most of an incremental run's fixed cost: the two independent ones at once.
  const [info, published] = await Promise.all([client.callRoute('ledgerCheckpoint', LEDGER_ROUTES.ledgerCheckpoint), client.callRoute('ledgerPublicKey', LEDGER_ROUTES.ledgerPublicKey)]);
  const origin = info.origin;
  const state = await readLogState(opts.env, origin, opts.storeUrl);
  const halted = haltedText(info.halted);
  // The proof this client's witness needs to cosign the latest checkpoint, asked for while the
  // entries are verified (used only if that is the checkpoint verified; see cosign()).
  const witnessProof = opts.save ? prefetchWitnessProof(client, state.witness?.size ?? 0, info.treeSize) : undefined;
  const storeVkey = ed25519VerifierKeyFromPem(published.origin, published.publicKeyPem);
  const pinned = opts.pinnedKeyText ?? state.pinnedVkey;
  let logKey: { verifier: NoteVerifier; vkey: string };
  try {
    logKey = logKeyFrom(pinned ?? published.publicKeyPem, published.origin);
  } catch (error) {
    return { verdict: fail('bad_checkpoint', (error as Error).message), origin, vkey: storeVkey, source: opts.storeUrl, halted };
  }
  if (pinned && logKey.vkey !== storeVkey) {
    const where = opts.pinnedKeyText ? 'the key given with --log-key' : `the key pinned in ${join(state.dir, 'log.vkey')}`;
    return { verdict: fail('bad_checkpoint', `the store's log key for ${origin} is ${storeVkey}, not ${where} (${logKey.vkey}): a different log under the same name, or a forged one`), origin, vkey: storeVkey, source: opts.storeUrl, halted };
  }
  const trusted = opts.trustedCheckpoint ?? state.checkpoint;
  const saved = opts.incremental && !opts.trustedCheckpoint ? state.resume : undefined;
  const restoring = saved?.audit ? restoreAudit(saved.audit) : undefined;
  const restored = restoring instanceof SemanticAuditor ? restoring : undefined;
  // Audit state saved by an older breakglass cannot judge the entries since: start over rather than audit less.
  const resume = saved?.audit && !restored ? undefined : saved;
  if (saved?.audit && !resume) {
    opts.note(
      readsAuditSnapshotVersion(saved.audit.version)
        ? `The saved semantic-audit state cannot be resumed from (${(restoring as Error).message}): verifying everything this time.`
        : 'The saved semantic-audit state is from an older version of breakglass: verifying everything this time.',
    );
  } else if (opts.incremental && state.damaged) opts.note(`The saved tree state for this log cannot be read (${state.damaged}): verifying everything this time.`);
  else if (opts.incremental && !resume) opts.note('No saved tree state for this log yet: verifying everything this time.');
  // A fresh auditor per pass (a second pass replays from the same start): the one restored
  // above serves the first (restoring thousands of open requests is not free), a second is restored again.
  let unused = restored;
  const restoredOnce = () => {
    const auditor = unused ?? (restoreAudit(resume!.audit!) as SemanticAuditor);
    unused = undefined;
    return auditor;
  };
  const auditor = restored ? restoredOnce : resume ? undefined : newAuditor;
  if (resume && !restored) opts.note('The saved state has no semantic audit state: this run checks the hashes and signatures of the new entries only.');

  const signatures = decisionVerifierPool({ threads: SIGNATURE_THREADS, ...(info.treeSize - (resume?.size ?? 0) > DECISIONS_IN_WORKERS_FROM_ENTRIES ? { inThreadFirst: 0 } : {}) });
  // Entry bundles while the store serves them to this caller (auditors and admins); else pages.
  let bundles = info.checkpoint !== null;
  const pass = async (locate: boolean): Promise<PassResult> => {
    const options: VerifyLedgerOptions = { hasher: nodeTreeHasher, logKey: logKey.verifier, verifyDecision: signatures.verify, trustedCheckpoint: trusted, ...(auditor ? { auditor: auditor() } : {}) };
    const start = { verifiedBefore: state.ladder, resume };
    if (!locate && bundles && info.checkpoint !== null) {
      const done = await verifyBundles(client, options, start, info.checkpoint, info.treeSize);
      if (done) return done;
      bundles = false;
    }
    return verifyPages(client, options, start, locate);
  };
  let result: PassResult;
  try {
    // Only the latest checkpoint (and this client's own) is needed to verify; the log's history
    // of checkpoints and the leaf hashes it recorded only narrow down where a mismatch is, so
    // they are fetched once one is found, for a second pass.
    result = await pass(false);
    if (!result.verdict.ok && result.verdict.problems.some((p) => p.code === 'root_mismatch' || p.code === 'inconsistent_history')) {
      const first = result.verdict;
      const firstRead = bundles ? 'entry bundles (the C2SP tiles)' : 'entry pages';
      result = await pass(true);
      // The second pass reads entry pages. If they verify where the first read did not, the
      // store (or something between) serves two histories: never a pass.
      if (result.verdict.ok) result = { ...result, verdict: twoHistories(first, firstRead, result.verdict.treeSize) };
    }
  } finally {
    await signatures.close();
  }
  const { verdict, checkpoint, audit } = result;
  const outcome: VerifyOutcome = {
    verdict,
    origin,
    vkey: storeVkey,
    source: resume ? `${opts.storeUrl}, incremental from entry ${resume.size}` : opts.storeUrl,
    trustedSize: sizeOf(trusted),
    checkpointTime: timeOf(checkpoint),
    checkpointNote: checkpoint,
    halted,
  };
  if (!verdict.ok || !opts.save) return outcome;
  const witnessed = await cosign(opts, state, logKey.verifier, checkpoint, verdict.checkpoint, outcome, witnessProof);
  if (!outcome.verdict.ok) return outcome;
  // Only after everything passed: a failed run must never move this client's anchor.
  await saveVerified(state, { vkey: storeVkey, checkpoint, resume: verdict.state, ...(audit ? { audit: audit.snapshot() } : {}), ...(witnessed ? { witness: witnessed } : {}) });
  return outcome;
}

/** One pass's verdict, the signed checkpoint (as served) it verified against, and the audit it ran. */
interface PassResult {
  verdict: LedgerVerdict;
  checkpoint: string;
  audit: SemanticAuditor | undefined;
}

/** Entry bundles fetched ahead of the one being verified (~150 KB each), one a request. */
const BUNDLES_IN_FLIGHT = 8;
/**
 * Full bundles asked for in one request (`/v1/ledger/entry-bundles`: 4,096 entries, ~2 MB), and
 * how many such reads are in flight ahead of the one being verified. Each request costs the client
 * and the store a fixed share of CPU (the socket round on both sides, routing, the token): read
 * one bundle at a time it was a good part of a fresh verify's CPU (docs/ledger.md, Speed).
 */
const BUNDLES_A_READ = MAX_ENTRY_BUNDLES_PER_READ;
const READS_IN_FLIGHT = 2;

/** What one request fetches: bundle `index` (of `width` entries), or `bundles` full ones from it (`several`: by /v1/ledger/entry-bundles). */
interface BundleRead {
  index: number;
  bundles: number;
  width: number;
  several: boolean;
  body: Promise<Uint8Array>;
}

/**
 * Buffers the reads are received into, reused once their entries are verified: ~2 MB a read
 * made new each time outlive V8's young collections while in flight and are freed only by full
 * ones, which V8 starts as such memory (outside its heap) grows: ~30 full collections in a 1M
 * verify, most of its garbage-collection time.
 */
class ReadBuffers {
  private readonly spare: ArrayBuffer[] = [];
  private readonly ours = new WeakSet<ArrayBuffer>();

  /** A place of `length` bytes for an answer (nodeFetch copies it there as it arrives). */
  readonly into = (length: number): Uint8Array => {
    const at = this.spare.findIndex((b) => b.byteLength >= length);
    const buffer = at >= 0 ? this.spare.splice(at, 1)[0]! : new ArrayBuffer(Math.max(length, 2 * 1024 * 1024 + 64 * 1024));
    this.ours.add(buffer);
    return new Uint8Array(buffer, 0, length);
  };

  /** The bytes of a read are no longer used (nothing verified keeps a view of them): its buffer serves the next. */
  release(body: Uint8Array): void {
    if (this.ours.has(body.buffer as ArrayBuffer) && this.spare.length < READS_IN_FLIGHT + 1) this.spare.push(body.buffer as ArrayBuffer);
  }
}

/**
 * One pass over the log's entry bundles (C2SP tlog-tiles, tile/entries/N) for the tree of the
 * signed checkpoint `checkpoint` (size `total`): each bundle is the exact bytes of 256 entries,
 * hashed as they came (entry-bundle-reader.ts), with no JSON page around them to parse and no
 * text to encode again. Full bundles are read BUNDLES_A_READ at a time where the store serves
 * several at once (`/v1/ledger/entry-bundles`), else one a request as C2SP serves them; the
 * partial last bundle always from its C2SP path. Undefined when the store serves no bundles to
 * this caller (they are for auditors and admins; a reader who gets some entries redacted reads
 * pages) or none at all (a store from before tiles): nothing was fed, the caller reads pages instead.
 */
async function verifyBundles(
  client: StoreClient,
  options: VerifyLedgerOptions,
  start: Omit<LedgerStart, 'checkpoint' | 'history'>,
  checkpoint: string,
  total: number,
): Promise<PassResult | undefined> {
  const from = start.resume?.size ?? 0;
  const buffers = new ReadBuffers();
  const fetchBundle = (index: number, width: number): Promise<Uint8Array> => {
    const [level, a, b, c, d, ...more] = tilePath({ level: 'entries', index, width: width === TILE_WIDTH ? null : width }).slice('tile/'.length).split('/') as [string, string, ...string[]];
    if (d !== undefined && more.length === 0) return client.callRouteInto(LEDGER_ROUTES.tlogTile4, { params: { level, a, b: b!, c: c!, d } }, buffers.into);
    if (c !== undefined && d === undefined) return client.callRouteInto(LEDGER_ROUTES.tlogTile3, { params: { level, a, b: b!, c } }, buffers.into);
    if (b !== undefined && c === undefined) return client.callRouteInto(LEDGER_ROUTES.tlogTile2, { params: { level, a, b } }, buffers.into);
    if (b === undefined) return client.callRouteInto(LEDGER_ROUTES.tlogTile1, { params: { level, a } }, buffers.into);
    // Past 4 index segments (a billion entries) the contract has no route: pages serve that far.
    return Promise.reject(new AppError('not_found', `no tile route for ${tilePath({ level: 'entries', index, width: null })}`));
  };
  const first = Math.floor(from / TILE_WIDTH);
  const end = Math.ceil(total / TILE_WIDTH);
  const fullEnd = Math.floor(total / TILE_WIDTH);
  // Several full bundles a request unless the store shows it has no such route (older than it):
  // until its first answer, nothing else is asked for (a fallback then wastes no request).
  let several = true;
  let probing = true;
  let queue: BundleRead[] = [];
  let next = first;
  const launch = () => {
    while (queue.length < (probing ? 1 : several ? READS_IN_FLIGHT : BUNDLES_IN_FLIGHT) && next < end) {
      let read: BundleRead;
      if (several && next < fullEnd) {
        const bundles = Math.min(BUNDLES_A_READ, fullEnd - next);
        read = { index: next, bundles, width: bundles * TILE_WIDTH, several: true, body: client.callRouteInto(LEDGER_ROUTES.entryBundles, { query: { start: next, count: bundles } }, buffers.into) };
      } else {
        const width = Math.min(TILE_WIDTH, total - next * TILE_WIDTH);
        read = { index: next, bundles: 1, width, several: false, body: fetchBundle(next, width) };
      }
      // A failed read must not go unhandled while earlier ones are verified: it is awaited below.
      read.body.catch((_awaitedBelow: unknown) => undefined);
      queue.push(read);
      next += read.bundles;
    }
  };
  launch();
  if (queue[0]?.several) {
    try {
      await queue[0].body;
    } catch (error) {
      // Bundles are not for this caller: it reads pages.
      if (error instanceof AppError && error.code === 'forbidden') return undefined;
      // A store from before /v1/ledger/entry-bundles: 404 (no such route); one that allows fewer
      // bundles a read: 400. Either way, its C2SP paths one bundle at a time.
      if (!(error instanceof AppError && (error.code === 'not_found' || error.code === 'invalid_input'))) throw error;
      several = false;
      queue = [];
      next = first;
    }
  }
  probing = false;
  launch();
  if (queue.length > 0) {
    try {
      await queue[0]!.body;
    } catch (error) {
      if (error instanceof AppError && (error.code === 'forbidden' || error.code === 'not_found')) return undefined;
      throw error;
    }
  }
  const verifier = new LedgerVerifier(options, { ...start, checkpoint, history: [] });
  while (queue.length > 0 && !verifier.failedEarly) {
    const read = queue.shift()!;
    const body = await read.body;
    launch();
    if (!policyParser && Buffer.from(body.buffer, body.byteOffset, body.byteLength).indexOf(POLICY_TYPE) >= 0) await policyParserFor();
    const entries = new EntryBundleCursor(body, read.index, read.width, read.bundles);
    let seq = read.index * TILE_WIDTH;
    while (entries.next()) {
      if (seq >= from) verifier.addChecked(checkEntryBytes(entries.text, entries.leaf, seq));
      seq++;
      if (seq % TILE_WIDTH === 0 || entries.read === read.width) {
        await verifier.drain();
        // Let the reads in flight arrive while this one is checked (an awaited read that is
        // already here does not give the event loop a turn).
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    buffers.release(body);
  }
  return { verdict: await verifier.finish(), checkpoint, audit: options.auditor };
}

/**
 * A page ready to feed to the verifier: checked in a worker thread (entries checked, leaves
 * packed), or the bytes the store sent (parsed when its turn comes), or parsed (its entry texts
 * are checked as they are fed, nothing is packed).
 */
type ReadyPage = { kind: 'checked'; page: CheckedPage } | { kind: 'raw'; body: ArrayBuffer } | { kind: 'parsed'; page: LedgerExportPage };

type PageMeta = CheckedPage['meta'];

function metaOf(ready: { kind: 'parsed'; page: LedgerExportPage }): PageMeta {
  const { entries: _entries, leafHashes: _leafHashes, ...meta } = ready.page;
  return meta;
}

/** Canonical JSON sorts keys, so a policy entry's text says so after `"target"`; a false hit only loads the parser early. */
const POLICY_TYPE = '"type":"policy_loaded"';

/**
 * One pass over the store's pages, streamed through the verifier, the next pages fetched while
 * one is verified. On 2 or 3 cores each page is parsed on this thread and its entry texts are
 * fed straight to the verifier; with 4 or more, past the first page the pages are checked in
 * worker threads (export-page-pool.ts: parse, leaf hashes, canonical form, entry schema) and the
 * results fed in seq order to the one LedgerVerifier (tree, keys, decision signatures, audit).
 * Memory holds the pages in flight, never the ledger.
 */
async function verifyPages(
  client: StoreClient,
  options: VerifyLedgerOptions,
  start: Omit<LedgerStart, 'checkpoint' | 'history'>,
  locate: boolean,
): Promise<PassResult> {
  const from = start.resume?.size ?? 0;
  const extras = locate ? ({ history: 'include', leaves: 'include' } as const) : ({ history: 'omit', leaves: 'omit' } as const);
  // A store from before `history` or `leaves` refuses the field: it always sends both.
  let leaves: { leaves?: 'include' | 'omit' } = { leaves: extras.leaves };
  const first: ReadyPage = {
    kind: 'parsed',
    page: parseExportPageBytes(
      await client.callRouteBytes(LEDGER_ROUTES.ledgerExport, { query: { from, limit: PAGE, ...extras } }).catch((error: unknown) => {
        if (!(error instanceof AppError && error.code === 'invalid_input' && /\b(history|leaves)\b/.test(error.message))) throw error;
        leaves = {};
        return client.callRouteBytes(LEDGER_ROUTES.ledgerExport, { query: { from, limit: PAGE } });
      }),
    ),
  };
  const meta = metaOf(first);
  const verifier = new LedgerVerifier(options, { ...start, checkpoint: meta.checkpoint, history: meta.checkpoints ?? [] });
  const total = meta.treeSize;
  // Starting the workers (each loads the schemas) costs more than checking a few pages here,
  // and on two cores they lost to this thread at any size (see MIN_CORES_FOR_WORKERS).
  const workers = availableParallelism() >= MIN_CORES_FOR_WORKERS && total - (from + first.page.entries.length) > WORKERS_FROM_ENTRIES ? exportPageWorkers() : undefined;
  const window = workers ? WORKER_PAGES_IN_FLIGHT : PAGES_AHEAD_IN_THREAD;
  const queue: Array<{ from: number; page: Promise<ReadyPage> }> = [];
  let nextFrom = from + first.page.entries.length;
  const launch = () => {
    while (queue.length < window && nextFrom < total && !verifier.failedEarly) {
      const at = nextFrom;
      nextFrom = Math.min(total, at + PAGE);
      const body = client.callRouteBytes(LEDGER_ROUTES.ledgerExport, { query: { treeSize: total, from: at, limit: PAGE, ...leaves } });
      const page: Promise<ReadyPage> = workers ? body.then(async (b) => ({ kind: 'checked', page: await workers.check(b) })) : body.then((b) => ({ kind: 'raw', body: b }));
      // A failed page must not go unhandled while earlier ones are verified: it is awaited below.
      page.catch((_awaitedBelow: unknown) => undefined);
      queue.push({ from: at, page });
    }
  };
  try {
    launch();
    let ready: ReadyPage | undefined = first;
    while (ready) {
      const count = await feedPage(verifier, ready, total);
      if (verifier.failedEarly || verifier.size >= total) break;
      if (count === 0) break;
      let next = queue.shift();
      if (next && next.from !== verifier.size) {
        // A page came back shorter than asked: what was queued after it starts in the wrong place.
        queue.length = 0;
        next = undefined;
      }
      if (!next) {
        nextFrom = verifier.size;
        launch();
        next = queue.shift();
      }
      if (!next) break;
      launch();
      ready = await next.page;
    }
  } finally {
    await workers?.close();
  }
  return { verdict: await verifier.finish(), checkpoint: meta.checkpoint, audit: options.auditor };
}

/** Feed one page's entries to the verifier in seq order; returns how many it had. */
async function feedPage(verifier: LedgerVerifier, queued: ReadyPage, total: number): Promise<number> {
  const ready = queued.kind === 'raw' ? ({ kind: 'parsed', page: parseExportPageBytes(queued.body) } as const) : queued;
  const treeSize = ready.kind === 'checked' ? ready.page.meta.treeSize : ready.page.treeSize;
  const pageFrom = ready.kind === 'checked' ? ready.page.meta.from : ready.page.from;
  if (treeSize !== total) throw new AppError('verification_failed', `the store served page ${pageFrom} for tree size ${treeSize}, not the ${total} it was asked for`);
  if (ready.kind === 'checked') {
    const page = ready.page;
    if (page.hasPolicy) await policyParserFor();
    for (let i = 0; i < page.count; i++) {
      const { checked, recordedLeaf } = pageEntry(page, i);
      verifier.addChecked(checked, recordedLeaf);
      if ((i & 255) === 255) await verifier.drain();
    }
    await verifier.drain();
    return page.count;
  }
  const page = ready.page;
  const { entries } = page;
  if (!policyParser && entries.some((text) => text.includes(POLICY_TYPE))) await policyParserFor();
  for (let i = 0; i < entries.length; i++) {
    verifier.add(entries[i]!, recordedLeafAt(page, i));
    if ((i & 1023) === 1023) {
      await verifier.drain();
      // Let the next pages' bytes in while this one is checked (a page takes longer than 1,024 entries).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  await verifier.drain();
  return entries.length;
}

function leafOf(b64: string | undefined): Uint8Array | undefined {
  if (!b64) return undefined;
  try {
    return fromBase64(b64);
  } catch {
    return undefined;
  }
}

/** The auditor a saved snapshot resumes, or why it cannot (an older version, a damaged file). */
function restoreAudit(snapshot: NonNullable<NonNullable<SavedLogState['resume']>['audit']>): SemanticAuditor | Error {
  try {
    return SemanticAuditor.restore(snapshot, auditOptions);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

interface PrefetchedProof {
  from: number;
  to: number;
  /** The proof's hashes; undefined when asking failed (cosign() asks again and reports that). */
  hashes: Promise<string[] | undefined>;
}

/** Ask for the consistency proof from this client's last cosigned size to `to`, if cosigning will need one. */
function prefetchWitnessProof(client: StoreClient, from: number, to: number): PrefetchedProof | undefined {
  if (from <= 0 || from >= to) return undefined;
  return {
    from,
    to,
    hashes: client.callRoute('consistencyProof', LEDGER_ROUTES.consistencyProof, { query: { from, to } }).then(
      (r) => r.hashes,
      (_askedAgainInCosign: unknown) => undefined,
    ),
  };
}

/**
 * This client as a witness (C2SP tlog-cosignature): cosign the checkpoint it just verified,
 * but only if it extends the one it cosigned before for this origin. A refusal here means the
 * store showed this client two histories: the run fails.
 */
async function cosign(opts: OnlineOptions, state: SavedLogState, logKey: NoteVerifier, note: string, checkpoint: Checkpoint, outcome: VerifyOutcome, prefetched?: PrefetchedProof): Promise<WitnessRecord | undefined> {
  const identity = await loadOrCreateWitnessKey(cliWitnessDir(opts.env), defaultWitnessName().replace(/\/witness$/, '/cli'));
  const record = state.witness;
  let proof: Uint8Array[] = [];
  if (record && record.size > 0 && record.size < checkpoint.size) {
    const asked = prefetched && prefetched.from === record.size && prefetched.to === checkpoint.size ? prefetched.hashes : undefined;
    const hashes = (await asked) ?? (await opts.client.callRoute('consistencyProof', LEDGER_ROUTES.consistencyProof, { query: { from: record.size, to: checkpoint.size } })).hashes;
    proof = hashes.map(fromBase64);
  }
  const result = witnessAddCheckpoint(
    { oldSize: Math.min(record?.size ?? 0, checkpoint.size), proof, note },
    {
      hasher: nodeTreeHasher,
      logKeys: (origin) => (origin === logKey.name ? [logKey] : undefined),
      latest: () => record,
      cosigner: identity.cosigner,
      nowSeconds: () => Math.floor(Date.now() / 1000),
    },
  );
  if (result.status !== 200) {
    const why = result.reason;
    outcome.verdict = fail(result.status === 409 && record && record.size > checkpoint.size ? 'rolled_back' : 'inconsistent_history', `this client cosigned ${record?.size ?? 0} entries of ${checkpoint.origin} before; the checkpoint verified now does not extend it: ${why}`, Math.min(record?.size ?? 0, checkpoint.size));
    outcome.cosigned = null;
    return undefined;
  }
  outcome.cosigned = { name: identity.cosigner.key.name, vkey: identity.vkey, size: checkpoint.size, line: result.lines[0]! };
  return result.record;
}

/** Stream an export directory (entries.jsonl with leaf-hashes.txt alongside) through the verifier. */
export async function verifyOffline(dir: string, options: { pinnedKeyText?: string; trustedCheckpoint?: string } = {}): Promise<VerifyOutcome> {
  const checkpoint = (await readRequired(dir, EXPORT_FILES.checkpoint)).toString('utf8');
  const origin = originOf(checkpoint);
  const keyText = options.pinnedKeyText ?? (await readRequired(dir, EXPORT_FILES.logKey)).toString('utf8');
  const logKey = logKeyFrom(keyText, origin);
  // No checkpoint history file in the export: verified against the latest checkpoint alone (as
  // before). Any other read failure (permissions, a directory in its place) is the user's to see.
  const historyText = await readFile(join(dir, EXPORT_FILES.checkpoints), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw new AppError('invalid_input', `${join(dir, EXPORT_FILES.checkpoints)}: cannot read the export's checkpoint history: ${error.message}`);
  });
  const history = historyText.split('\n').flatMap((line) => {
    try {
      return line ? [JSON.parse(line) as string] : [];
    } catch {
      return [];
    }
  });
  const auditor = newAuditor();
  const signatures = decisionVerifierPool({ threads: SIGNATURE_THREADS });
  let verdict: LedgerVerdict;
  try {
    const verifier = new LedgerVerifier({ hasher: nodeTreeHasher, logKey: logKey.verifier, verifyDecision: signatures.verify, trustedCheckpoint: options.trustedCheckpoint, auditor }, { checkpoint, history });
    await requireFile(dir, EXPORT_FILES.entries);
    const entries = lines(join(dir, EXPORT_FILES.entries));
    const leaves = await optionalLines(join(dir, EXPORT_FILES.leafHashes));
    let count = 0;
    for await (const text of entries) {
      if (!policyParser && text.includes('"type":"policy_loaded"')) await policyParserFor();
      const leaf = leaves ? await leaves.next() : undefined;
      verifier.add(text, leaf && !leaf.done ? leafOf(leaf.value) : undefined);
      if (++count % 1024 === 0) await verifier.drain();
    }
    // A truncated export still lists the leaves it was cut from: they name the first missing entry.
    if (leaves) for (let leaf = await leaves.next(); !leaf.done; leaf = await leaves.next()) verifier.addRecordedLeaf(leafOf(leaf.value) ?? new Uint8Array(32));
    verdict = await verifier.finish();
  } finally {
    await signatures.close();
  }
  return { verdict, origin, vkey: logKey.vkey, source: `offline export ${dir}`, trustedSize: sizeOf(options.trustedCheckpoint), checkpointTime: timeOf(checkpoint), checkpointNote: checkpoint };
}

async function readRequired(dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, name));
  } catch {
    throw missingFromExport(dir, name);
  }
}

/** That the file is there and readable, without reading it (entries.jsonl is streamed: ~600 MB at a million entries). */
async function requireFile(dir: string, name: string): Promise<void> {
  try {
    await access(join(dir, name), constants.R_OK);
    if ((await stat(join(dir, name))).isFile()) return;
  } catch {
    // missing or unreadable: below
  }
  throw missingFromExport(dir, name);
}

function missingFromExport(dir: string, name: string): AppError {
  return new AppError('invalid_input', `${join(dir, name)} is missing: not a ledger export directory (run \`breakglass ledger export --out DIR\`)`, {
    fieldErrors: [{ path: '--offline', message: `no ${name} in ${dir}` }],
  });
}

/** The lines of a file, streamed (a corrupted byte is kept as U+FFFD and reported by the verifier). */
function lines(path: string): AsyncIterableIterator<string> {
  return createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity })[Symbol.asyncIterator]();
}

async function optionalLines(path: string): Promise<AsyncIterableIterator<string> | undefined> {
  try {
    await access(path);
  } catch {
    return undefined;
  }
  return lines(path);
}

/** The human verdict: what was checked, or the first bad entry and why. */
export function renderOutcome(o: VerifyOutcome): string {
  const { verdict } = o;
  const auditLine = (audit: AuditReport | undefined) => {
    if (!audit) return [];
    const c = audit.counts;
    const what = `${c.entries} entries replayed through the state machine and the policy in force: ${c.requests} requests, ${c.decisions} decisions (keys: ${c.signedWith.attested} attested, ${c.signedWith.claimed} claimed, not attested, ${c.signedWith.software} software), ${c.activations} activations, ${c.evaluations} evaluations under a bypass, ${c.expiries} expiries, ${c.revocations} revocations, ${c.reviewsCompleted} reviews`;
    const notes = [c.withoutPolicy > 0 ? `${c.withoutPolicy} entries predate policy entries carrying the policy (checked on the state machine alone)` : '', c.lateAfterDowntime > 0 ? `${c.lateAfterDowntime} expiries late because the store was down` : ''].filter(Boolean);
    return [`  audit:      ${what}: ${audit.violations.length === 0 ? 'no violations' : `${audit.violations.length} violation(s)`}${notes.length ? ` (${notes.join('; ')})` : ''}`];
  };
  if (verdict.ok) {
    const lines = [
      `OK: ledger verified (${o.source})`,
      `  log:        ${o.origin}`,
      verdict.entriesVerified === verdict.treeSize
        ? `  entries:    ${verdict.treeSize} (seq 0..${verdict.treeSize - 1}), ${verdict.redacted > 0 ? `every leaf recomputed but the ${verdict.redacted} redacted ones` : 'every leaf recomputed'}`
        : `  entries:    ${verdict.treeSize}; the ${verdict.entriesVerified} new ones (seq ${verdict.treeSize - verdict.entriesVerified}..${verdict.treeSize - 1}) recomputed, the rest proven by the saved tree state`,
      ...(verdict.redacted > 0 ? [`  redacted:   ${verdict.redacted} entries redacted for your role (outside your tiers): their leaf hashes are in every root checked; the audit skipped them`] : []),
      `  root:       ${verdict.rootHash} matches the signed checkpoint${o.checkpointTime ? ` (signed ${o.checkpointTime})` : ''}`,
      `  decisions:  ${verdict.decisionsVerified} signatures verified against the keys enrolled at the time (${verdict.keysSeen} keys seen)`,
      ...auditLine(verdict.audit),
      o.trustedSize !== undefined ? `  history:    consistent with the checkpoint verified before (size ${o.trustedSize})` : '  history:    no earlier checkpoint to compare with (first verification)',
    ];
    if (o.cosigned) lines.push(`  witness:    cosigned size ${o.cosigned.size} as ${o.cosigned.name}`);
    if (o.halted) lines.push(`FAILED: ${o.halted}`);
    return `${lines.join('\n')}\n`;
  }
  const where = verdict.problem.seq === null ? '' : ` at entry ${verdict.problem.seq}`;
  const rest = verdict.problems.length - 1;
  const more = rest > 0 ? `\n  (${rest} more problem${rest > 1 ? 's' : ''} after it)` : '';
  const violations = verdict.problem.code === 'semantic_violation' ? verdict.problems.slice(1, 20).map((p) => `\n  also at entry ${p.seq}: ${p.message}`).join('') : '';
  return `FAILED: ledger verification failed${where}\n  first bad: ${verdict.problem.message} [${verdict.problem.code}]${violations}${more}${o.halted ? `\n  ${o.halted}` : ''}\n`;
}

export function outcomeJson(o: VerifyOutcome): unknown {
  const { verdict } = o;
  const common = {
    origin: o.origin,
    vkey: o.vkey,
    checkpointTime: o.checkpointTime ?? null,
    halted: o.halted ?? null,
    audit: verdict.audit ? { counts: verdict.audit.counts, violations: verdict.audit.violations } : null,
  };
  if (verdict.ok) {
    return { ok: !o.halted, ...common, treeSize: verdict.treeSize, entriesVerified: verdict.entriesVerified, redacted: verdict.redacted, rootHash: verdict.rootHash, decisionsVerified: verdict.decisionsVerified, trustedSize: o.trustedSize ?? null, cosigned: o.cosigned ?? null };
  }
  return { ok: false, ...common, firstBadSeq: verdict.problem.seq, code: verdict.problem.code, reason: verdict.problem.message, problems: verdict.problems };
}

