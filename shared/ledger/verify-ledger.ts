import { isCanonicalJsonText } from '../canonical-json';
import { SigstoreBundleJsonSchema } from '../domain/decision';
import { RedactedLedgerEntrySchema, safeParseLedgerEntry, type LedgerEntry } from '../domain/ledger-entry';
import { AppError } from '../errors';
import { bytesEqual, fromBase64, toHex } from '../bytes';
import { parseCheckpoint, type Checkpoint } from './checkpoint';
import { CompactRange } from './compact-range';
import { fastEvaluationEntry } from './entry-fast-check';
import { decisionEntryFieldsMismatch } from './rekor-dsse';
import type { AuditReport, SemanticAuditor } from './semantic-audit';
import { verifyNote, type NoteVerifier } from './signed-note';
import { leafOfText, type TreeHasher } from './tree-hasher';

/**
 * The verifier of a whole ledger, streaming: entries arrive one at a time (a page from the
 * store, a line of an export) and nothing per entry is kept, so memory does not grow with the
 * ledger. It recomputes every leaf from the entry bytes, checks seq contiguity, every
 * decision's signature against the keys enrolled at that point of the ledger itself, the root
 * against the signed checkpoint, that the log extends the checkpoint the client trusted before
 * and (when given an auditor) replays every entry through the semantic audit. Pure: hashing,
 * note and signature checks are injected.
 */

/** Verifies one decision bundle; must throw (any error) when the signature is bad. */
export type DecisionVerifier = (
  bundle: unknown,
  keys: (keyId: string) => { publicKeyPem: string } | undefined,
) => Promise<{ statement: { requestId: string; approver: string }; keyId: string }>;

export interface LedgerToVerify {
  /** The entries' canonical JSON texts, seq 0 upward (entries.jsonl lines). */
  entryTexts: readonly string[];
  /** The latest signed checkpoint (signed note); must cover exactly these entries. */
  checkpoint: string;
  /** Earlier signed checkpoints (any order): used to locate an altered entry more precisely. */
  history?: readonly string[];
  /** Leaf hashes as recorded by the log (aligned with entryTexts), if available: trusted only once they reproduce the signed root. */
  recordedLeafHashes?: readonly Uint8Array[];
  /**
   * Incremental verification: the state this client saved after verifying the first
   * `resume.size` entries (then `entryTexts` start at seq resume.size). The caller must also
   * pass that checkpoint as `trustedCheckpoint`; the frontier must reproduce its root.
   */
  resume?: LedgerResumeState;
}

/** What a client keeps to verify only new entries next time: the frontier and the keys enrolled so far. */
export interface LedgerResumeState {
  size: number;
  /** CompactRange frontier of the first `size` leaves (perfect-subtree roots, left to right). */
  frontier: Uint8Array[];
  keys: Array<{ keyId: string; principal: string; publicKeyPem: string; revoked: boolean }>;
}

/**
 * A checkpoint whose signed note the caller already verified with the log key (the console's
 * store source does, with the key it pinned), given as its parsed content.
 */
export interface VerifiedCheckpoint {
  verified: Checkpoint;
}

export interface VerifyLedgerOptions {
  hasher: TreeHasher;
  /** The log key (note key name = origin); needed for every checkpoint given as a signed note. */
  logKey?: NoteVerifier;
  verifyDecision: DecisionVerifier;
  /** The last checkpoint this client verified (signed note); the log must extend it. */
  trustedCheckpoint?: string | VerifiedCheckpoint;
  /** How many decision signatures to check concurrently (default 32). */
  concurrency?: number;
  /** Replays every well-formed entry through the semantic audit; its violations fail the verdict. */
  auditor?: SemanticAuditor;
}

export type LedgerProblemCode =
  | 'bad_checkpoint'
  | 'entry_malformed'
  | 'entry_not_canonical'
  | 'seq_mismatch'
  | 'missing_entries'
  | 'extra_entries'
  | 'leaf_mismatch'
  | 'root_mismatch'
  | 'bad_signature'
  | 'key_not_enrolled'
  | 'decision_mismatch'
  | 'rolled_back'
  | 'inconsistent_history'
  | 'semantic_violation';

export interface LedgerProblem {
  code: LedgerProblemCode;
  /** The first bad entry, when one can be named (null for a bad checkpoint that no entry explains). */
  seq: number | null;
  message: string;
}

export type LedgerVerdict =
  | {
      ok: true;
      treeSize: number;
      rootHash: string;
      checkpoint: Checkpoint;
      decisionsVerified: number;
      keysSeen: number;
      entriesVerified: number;
      /** Entries served redacted (outside the reader's tiers): proven by their leaf hash only, not read. */
      redacted: number;
      state: LedgerResumeState;
      audit?: AuditReport;
    }
  | { ok: false; problem: LedgerProblem; problems: LedgerProblem[]; audit?: AuditReport };

interface KeyState {
  principal: string;
  publicKeyPem: string;
  revoked: boolean;
}

const DEFAULT_CONCURRENCY = 32;

function problem(code: LedgerProblemCode, seq: number | null, message: string): LedgerProblem {
  return { code, seq, message };
}

function verifyCheckpointNote(note: string | VerifiedCheckpoint, logKey: NoteVerifier | undefined, what: string): Checkpoint {
  if (typeof note !== 'string') return note.verified;
  if (!logKey) throw new AppError('invalid_input', `${what} is a signed note, but no log key was given to verify it`);
  const { text } = verifyNote(note, [logKey]);
  const cp = parseCheckpoint(text);
  if (cp.origin !== logKey.name) throw new AppError('verification_failed', `${what} is for log "${cp.origin}", not "${logKey.name}"`);
  return cp;
}

/** A root comparison that failed, resolved to an entry once the recorded leaves are known to be honest. */
interface PendingMismatch {
  code: 'root_mismatch' | 'inconsistent_history';
  /** The first seq that may be bad, from the last checkpoint that matched. */
  from: number;
  size: number;
  message: (where: string) => string;
  fallbackSeq: number | null;
}

export interface LedgerStart {
  /** The latest signed checkpoint: the entries must be exactly its tree. */
  checkpoint: string | VerifiedCheckpoint;
  /** Earlier checkpoints the log published (they narrow down where an altered entry is). */
  history?: readonly string[];
  /** Earlier checkpoints this client verified (besides the trusted one): a mismatch is a split view. */
  verifiedBefore?: readonly string[];
  resume?: LedgerResumeState;
}

/**
 * The streaming verifier. `add` each entry text in seq order (with the log's recorded leaf hash
 * when the source serves it), `await drain()` now and then to bound the decision signatures in
 * flight, then `await finish()`.
 */
export class LedgerVerifier {
  private readonly problems: LedgerProblem[] = [];
  private readonly checkpoint: Checkpoint | undefined;
  private readonly trusted: Checkpoint | undefined;
  private readonly checkpointsAt = new Map<number, Checkpoint[]>();
  /** Checkpoints this client verified before: they must hold, or the log showed two histories. */
  private readonly anchors = new Set<Checkpoint>();
  private readonly range: CompactRange;
  /**
   * The same tree over the leaf hashes the log says it recorded: where the two first differ is
   * the first altered entry. Until a recorded leaf differs from the computed one it IS `range`,
   * so it is only hashed on its own (a copy of `range` at that point) once one differs.
   */
  private recordedRange: CompactRange | undefined;
  private recordedComplete = true;
  /** The recorded tree's root once it reached the checkpoint's size. */
  private recordedRootAtCheckpoint: Uint8Array | undefined;
  private firstLeafDiff: number | null = null;
  private readonly keys: Map<string, KeyState>;
  private readonly base: number;
  private next: number;
  private lastGoodCheckpointSize: number;
  private rootMismatchReported = false;
  private readonly anchorsChecked = new Set<Checkpoint>();
  private splitReported = false;
  private readonly mismatches: PendingMismatch[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private decisionsVerified = 0;
  private redacted = 0;
  private readonly concurrency: number;
  private readonly fatal: boolean;

  constructor(
    private readonly options: VerifyLedgerOptions,
    start: LedgerStart,
  ) {
    const { hasher, logKey } = options;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    const resume = start.resume;
    this.base = resume?.size ?? 0;
    this.next = this.base;
    this.lastGoodCheckpointSize = this.base;
    this.keys = new Map((resume?.keys ?? []).map((k) => [k.keyId, { principal: k.principal, publicKeyPem: k.publicKeyPem, revoked: k.revoked }]));
    this.range = new CompactRange(hasher, this.base, resume?.frontier ?? []);
    let fatal = false;
    // 1. The signed checkpoint (and the one trusted before) must be signed by the log key.
    try {
      this.checkpoint = verifyCheckpointNote(start.checkpoint, logKey, 'the checkpoint');
    } catch (e) {
      this.problems.push(problem('bad_checkpoint', null, `checkpoint rejected: ${(e as Error).message}`));
      fatal = true;
    }
    if (!fatal && options.trustedCheckpoint) {
      try {
        this.trusted = verifyCheckpointNote(options.trustedCheckpoint, logKey, 'the trusted checkpoint');
      } catch (e) {
        this.problems.push(problem('bad_checkpoint', null, `previously trusted checkpoint rejected: ${(e as Error).message}`));
        fatal = true;
      }
      if (this.trusted && this.checkpoint && this.trusted.size > this.checkpoint.size) {
        this.problems.push(problem('rolled_back', this.checkpoint.size, `log rolled back: it now has ${this.checkpoint.size} entries, but a checkpoint for ${this.trusted.size} entries was verified before (entries from ${this.checkpoint.size} on are gone)`));
      }
    }
    this.fatal = fatal;
    if (resume && (!this.trusted || this.trusted.size !== this.base)) {
      if (!fatal) throw new AppError('invalid_input', `incremental verification from size ${this.base} needs the checkpoint of that size as the trusted checkpoint`);
    }
    if (fatal || !this.checkpoint) return;
    const history: Checkpoint[] = [];
    for (const note of start.history ?? []) {
      try {
        const cp = verifyCheckpointNote(note, logKey, 'a historical checkpoint');
        if (cp.size <= this.checkpoint.size) history.push(cp);
      } catch {
        // An unverifiable historical checkpoint only costs precision; the latest one decides.
      }
    }
    for (const note of start.verifiedBefore ?? []) {
      try {
        const cp = verifyCheckpointNote(note, logKey, 'a checkpoint verified before');
        if (cp.size <= this.checkpoint.size) {
          history.push(cp);
          this.anchors.add(cp);
        }
      } catch {
        // Not this log's (another key, corrupted state): it anchors nothing.
      }
    }
    if (this.trusted) this.anchors.add(this.trusted);
    for (const cp of [...history, ...(this.trusted ? [this.trusted] : []), this.checkpoint]) {
      const list = this.checkpointsAt.get(cp.size) ?? [];
      list.push(cp);
      this.checkpointsAt.set(cp.size, list);
    }
    this.checkRootAt(this.base);
  }

  /** Entries added so far (the next seq expected). */
  get size(): number {
    return this.next;
  }

  /** Whether the checkpoints themselves failed: no entry can be verified against them. */
  get failedEarly(): boolean {
    return this.fatal;
  }

  private checkRootAt(size: number): void {
    const cps = this.checkpointsAt.get(size);
    if (!cps) return;
    const root = this.range.root();
    for (const cp of cps) {
      if (this.anchors.has(cp)) {
        if (this.anchorsChecked.has(cp)) continue;
        this.anchorsChecked.add(cp);
        if (bytesEqual(root, cp.rootHash)) continue;
        // The first anchor that fails bounds the split; later ones only repeat it.
        if (this.splitReported) continue;
        this.splitReported = true;
        // The largest checkpoint below that still matched bounds where the histories part.
        const from = this.lastGoodCheckpointSize;
        this.mismatches.push({
          code: 'inconsistent_history',
          from,
          size,
          fallbackSeq: from,
          message: (where) =>
            `split view or rewritten history: the first ${size} entries hash to ${toHex(root)}, but the checkpoint verified before says ${toHex(cp.rootHash)} for that size (${where || `an entry among seq ${from}..${size - 1} differs from what was verified before`})`,
        });
        continue;
      }
      if (this.rootMismatchReported) continue;
      if (bytesEqual(root, cp.rootHash)) {
        this.lastGoodCheckpointSize = Math.max(this.lastGoodCheckpointSize, size);
        continue;
      }
      // Only the first mismatch matters: it bounds where the first altered entry is.
      this.rootMismatchReported = true;
      const from = this.lastGoodCheckpointSize;
      this.mismatches.push({
        code: 'root_mismatch',
        from,
        size,
        fallbackSeq: from,
        message: (where) => `Merkle root of the first ${size} entries is ${toHex(root)}, the signed checkpoint says ${toHex(cp.rootHash)}: ${where || `an entry among seq ${from}..${size - 1} was altered, inserted or removed`}`,
      });
    }
  }

  /** Verify the next entry (seq = this.size); `recordedLeaf` is the leaf hash the log says it recorded for it. */
  add(text: string, recordedLeaf?: Uint8Array): void {
    if (this.fatal) return;
    this.addChecked(checkEntryText(text, this.next, this.options.hasher), recordedLeaf);
  }

  /**
   * The next entry, already checked on its own by checkEntryText (in a worker thread, say) for
   * seq = this.size: here only what needs the ledger before it (the tree, the keys enrolled so
   * far, the audit) is done.
   */
  addChecked(checked: CheckedEntry, recordedLeaf?: Uint8Array): void {
    if (this.fatal) return;
    const seq = this.next++;
    const leaf = checked.leaf;
    if (recordedLeaf) {
      if (!this.recordedRange && !bytesEqual(leaf, recordedLeaf)) {
        if (this.firstLeafDiff === null) this.firstLeafDiff = seq;
        // From here on the recorded tree differs from the computed one: hash it on its own.
        this.splitRecorded();
      }
      if (this.recordedRange) this.appendRecorded(recordedLeaf);
    } else if (this.recordedRootAtCheckpoint === undefined) {
      this.recordedComplete = false;
    }
    this.range.append(leaf);
    if (!this.recordedRange && this.recordedComplete && this.recordedRootAtCheckpoint === undefined && this.range.size === this.checkpoint?.size) {
      this.recordedRootAtCheckpoint = this.range.root();
    }
    const entryProblem = checked.kind === 'bad' ? checked.problem : checked.kind === 'redacted' ? this.checkRedacted(seq, checked.seq) : this.applyEntry(checked.entry);
    if (entryProblem) this.problems.push(entryProblem);
    this.checkRootAt(seq + 1);
  }

  /**
   * A leaf hash the log recorded past the entries given (a truncated export still lists the
   * leaves it was cut from): it only helps name the first missing or altered entry.
   */
  addRecordedLeaf(leaf: Uint8Array): void {
    this.splitRecorded();
    this.appendRecorded(leaf);
  }

  /** Start hashing the recorded tree on its own, from the computed tree as it is now. */
  private splitRecorded(): void {
    if (!this.recordedRange && this.recordedComplete && this.recordedRootAtCheckpoint === undefined) this.recordedRange = this.range.clone();
  }

  private appendRecorded(leaf: Uint8Array): void {
    if (!this.recordedRange || !this.recordedComplete || !this.checkpoint || this.recordedRootAtCheckpoint !== undefined) return;
    this.recordedRange.append(leaf);
    if (this.recordedRange.size === this.checkpoint.size) this.recordedRootAtCheckpoint = this.recordedRange.root();
  }

  /** Wait until fewer than `concurrency` decision signatures are being checked. */
  async drain(limit = this.concurrency): Promise<void> {
    while (this.inFlight.size >= Math.max(1, limit)) await Promise.race(this.inFlight);
  }

  async finish(): Promise<LedgerVerdict> {
    await this.drain(1);
    const audit = this.options.auditor?.finish();
    const done = (): LedgerVerdict => {
      this.problems.sort((a, b) => (a.seq ?? -1) - (b.seq ?? -1));
      return { ok: false, problem: this.problems[0]!, problems: this.problems, ...(audit ? { audit } : {}) };
    };
    if (this.fatal || !this.checkpoint) return done();
    const total = this.next;
    const checkpoint = this.checkpoint;
    // The recorded leaves are what the log committed to only if they reproduce its signed root.
    const recordedHonest = this.recordedRootAtCheckpoint !== undefined && bytesEqual(this.recordedRootAtCheckpoint, checkpoint.rootHash);
    for (const m of this.mismatches) {
      const at = recordedHonest && this.firstLeafDiff !== null && this.firstLeafDiff >= m.from && this.firstLeafDiff < m.size ? this.firstLeafDiff : null;
      const where = at !== null ? `entry ${at} differs from the leaf the log signed` : '';
      this.problems.push(problem(m.code, at ?? m.fallbackSeq, m.message(where)));
    }
    if (total < checkpoint.size) {
      this.problems.push(problem('missing_entries', total, `the ledger has ${total} entries but its signed checkpoint covers ${checkpoint.size}: entries ${total}..${checkpoint.size - 1} are missing (truncated or deleted)`));
    } else if (total > checkpoint.size) {
      this.problems.push(problem('extra_entries', checkpoint.size, `entries ${checkpoint.size}..${total - 1} are not covered by the signed checkpoint (size ${checkpoint.size}): inserted or not yet checkpointed`));
    }
    if (this.trusted && this.trusted.size > total) {
      this.problems.push(problem('rolled_back', total, `the ledger has ${total} entries but ${this.trusted.size} were verified before: it was rolled back`));
    }
    // The audit's findings count once the bytes are proven: on a tampered ledger they would only
    // echo the tampering (they stay in `audit` for whoever wants them).
    if (this.problems.length === 0) for (const v of audit?.violations ?? []) this.problems.push(problem('semantic_violation', v.seq, `${v.kind}: ${v.message}`));
    if (this.problems.length > 0) return done();
    return {
      ok: true,
      treeSize: total,
      rootHash: toHex(this.range.root()),
      checkpoint,
      decisionsVerified: this.decisionsVerified,
      keysSeen: this.keys.size,
      entriesVerified: total - this.base,
      redacted: this.redacted,
      state: { size: total, frontier: this.range.frontier, keys: [...this.keys].map(([keyId, k]) => ({ keyId, principal: k.principal, publicKeyPem: k.publicKeyPem, revoked: k.revoked })) },
      ...(audit ? { audit } : {}),
    };
  }

  /** A well-formed entry at its place: the audit, the keys and the decision signatures. */
  private applyEntry(entry: LedgerEntry): LedgerProblem | null {
    const index = entry.seq;
    this.options.auditor?.add(entry);
    switch (entry.type) {
      case 'key_enrolled':
        return enrollKey(entry, this.keys);
      case 'key_revoked': {
        const keyId = keyIdOf(entry);
        const key = this.keys.get(keyId);
        if (!key) return problem('key_not_enrolled', index, `entry ${index} revokes key ${keyId}, which was never enrolled`);
        key.revoked = true;
        return null;
      }
      case 'decision':
        return this.queueDecision(entry);
      default:
        return null;
    }
  }

  /** A redacted entry: only its position can be checked here (its leaf goes into every root check); the audit skips it. */
  private checkRedacted(index: number, seq: number): LedgerProblem | null {
    if (seq !== index) return problem('seq_mismatch', index, `redacted entry at position ${index} has seq ${seq}: entries were reordered or deleted`);
    this.redacted++;
    this.options.auditor?.skipRedacted(seq);
    return null;
  }

  private queueDecision(entry: LedgerEntry): LedgerProblem | null {
    const seq = entry.seq;
    const parsedBundle = SigstoreBundleJsonSchema.safeParse(entry.data.bundle);
    if (!parsedBundle.success) return problem('entry_malformed', seq, `decision ${seq} has no well-formed data.bundle`);
    const bundle = parsedBundle.data;
    const hint = (bundle.verificationMaterial as { publicKey?: { hint?: unknown } }).publicKey?.hint;
    if (typeof hint !== 'string') return problem('entry_malformed', seq, `decision ${seq}: its bundle has no public-key hint`);
    const key = this.keys.get(hint);
    if (!key) return problem('key_not_enrolled', seq, `decision ${seq} is signed with key ${hint}, which is not enrolled at that point of the ledger`);
    if (key.revoked) return problem('key_not_enrolled', seq, `decision ${seq} is signed with key ${hint}, which was revoked before it`);
    const mismatch = decisionEntryFieldsMismatch(entry, bundle, key.publicKeyPem, this.options.hasher.sha256);
    if (mismatch) return problem('decision_mismatch', seq, `decision ${seq}: ${mismatch}`);
    // Snapshot the key now: the ledger's own history says which keys were valid at this seq.
    const snapshot = { keyId: hint, publicKeyPem: key.publicKeyPem, principal: key.principal };
    const check = async (): Promise<LedgerProblem | null> => {
      try {
        const verified = await this.options.verifyDecision(bundle, (keyId) => (keyId === snapshot.keyId ? { publicKeyPem: snapshot.publicKeyPem } : undefined));
        if (verified.statement.requestId !== entry.target) return problem('decision_mismatch', seq, `decision ${seq} is recorded for ${entry.target} but its signed statement is for ${verified.statement.requestId}`);
        if (verified.statement.approver !== snapshot.principal) return problem('decision_mismatch', seq, `decision ${seq} is signed by ${snapshot.principal}'s key but names approver ${verified.statement.approver}`);
        if (entry.actor !== snapshot.principal) return problem('decision_mismatch', seq, `decision ${seq} is recorded as by ${entry.actor} but signed by ${snapshot.principal}`);
        return null;
      } catch (e) {
        return problem('bad_signature', seq, `decision ${seq}: signature does not verify (${(e as Error).message})`);
      }
    };
    const run: Promise<void> = check().then((p) => {
      this.inFlight.delete(run);
      if (p) this.problems.push(p);
      else this.decisionsVerified++;
    });
    this.inFlight.add(run);
    return null;
  }
}

/**
 * What one entry's text shows on its own, at position `index`: its leaf hash, and either the
 * entry (valid JSON in canonical form, a ledger entry, seq = index), the redacted stand-in's
 * seq, or the problem. Needs nothing of the ledger before it, so a verifier can run it for
 * many entries at once in worker threads and hand the results to LedgerVerifier.addChecked
 * in seq order.
 */
export type CheckedEntry =
  /** `entry` may be cut to what the verifier and the audit read (auditView): evaluations under a bypass are. */
  | { kind: 'entry'; leaf: Uint8Array; entry: LedgerEntry }
  | { kind: 'redacted'; leaf: Uint8Array; seq: number }
  | { kind: 'bad'; leaf: Uint8Array; problem: LedgerProblem };

export function checkEntryText(text: string, index: number, hasher: TreeHasher): CheckedEntry {
  // A redacted entry (shared/policy/visibility.ts) brings its leaf hash instead of its bytes.
  const redacted = redactedLeaf(text);
  if (redacted) return { kind: 'redacted', leaf: redacted.leaf, seq: redacted.seq };
  return checkEntry(text, leafOfText(hasher, text), index);
}

/**
 * An entry given as its exact bytes (an entry bundle of the tlog tiles), with `leaf` the hash of
 * those bytes: `text` is their UTF-8 decoding, or null when they are not valid UTF-8 (then no
 * text has these bytes as its canonical form). Nothing here is a redacted stand-in: a bundle
 * holds the entries themselves, so a stand-in's text is checked as an entry, and fails.
 */
export function checkEntryBytes(text: string | null, leaf: Uint8Array, index: number): CheckedEntry {
  if (text === null) return badEntry(leaf, 'entry_malformed', index, `entry at position ${index} is not valid UTF-8`);
  return checkEntry(text, leaf, index);
}

function checkEntry(text: string, leaf: Uint8Array, index: number): CheckedEntry {
  // Nearly every entry: decided in one scan of its text (entry-fast-check.ts), the rest below.
  const fast = fastEvaluationEntry(text, index);
  if (fast) return { kind: 'entry', leaf, entry: fast };
  return checkEntryParsed(text, leaf, index);
}

/**
 * The full check of one entry's text: JSON.parse, the canonical form, the entry schema, the seq.
 * What it decides is what the fast path must agree with (test/unit/shared/ledger/entry-fast-check.test.ts).
 */
export function checkEntryParsed(text: string, leaf: Uint8Array, index: number): CheckedEntry {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return badEntry(leaf, 'entry_malformed', index, `entry at position ${index} is not valid JSON`);
  }
  let canonical: boolean;
  try {
    canonical = isCanonicalJsonText(text, json);
  } catch (e) {
    return badEntry(leaf, 'entry_malformed', index, `entry at position ${index}: ${(e as Error).message}`);
  }
  if (!canonical) return badEntry(leaf, 'entry_not_canonical', index, `entry at position ${index} is not in canonical JSON form`);
  const parsed = safeParseLedgerEntry(json, true);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return badEntry(leaf, 'entry_malformed', index, `entry at position ${index} is not a ledger entry (${first?.path.join('.') || '(root)'}: ${first?.message})`);
  }
  const entry = parsed.data;
  if (entry.seq !== index) {
    const why = entry.seq < index ? 'a duplicate or reordered entry' : 'an entry before it was deleted, or entries were reordered';
    return badEntry(leaf, 'seq_mismatch', index, `entry at position ${index} has seq ${entry.seq}: ${why}`);
  }
  return { kind: 'entry', leaf, entry };
}

function badEntry(leaf: Uint8Array, code: LedgerProblemCode, index: number, message: string): CheckedEntry {
  return { kind: 'bad', leaf, problem: problem(code, index, message) };
}

/** Verify a ledger held in memory (exports, tests); the CLI streams pages through LedgerVerifier. */
export async function verifyLedger(ledger: LedgerToVerify, options: VerifyLedgerOptions): Promise<LedgerVerdict> {
  const verifier = new LedgerVerifier(options, { checkpoint: ledger.checkpoint, history: ledger.history, resume: ledger.resume });
  const recorded = ledger.recordedLeafHashes;
  for (let i = 0; i < ledger.entryTexts.length; i++) {
    verifier.add(ledger.entryTexts[i]!, recorded?.[i]);
    if (i % 256 === 255) await verifier.drain();
  }
  for (let i = ledger.entryTexts.length; recorded && i < recorded.length; i++) verifier.addRecordedLeaf(recorded[i]!);
  return verifier.finish();
}

/** The seq and leaf hash of a redacted entry's text (canonical JSON of RedactedLedgerEntrySchema), or null for any other text. */
function redactedLeaf(text: string): { seq: number; leaf: Uint8Array } | null {
  // Canonical JSON sorts keys: a redacted entry starts with "leafHash", a ledger entry never does.
  if (!text.startsWith('{"leafHash":')) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = RedactedLedgerEntrySchema.safeParse(json);
  if (!parsed.success || !isCanonicalJsonText(text, json)) return null;
  return { seq: parsed.data.seq, leaf: fromBase64(parsed.data.leafHash) };
}

function keyIdOf(entry: LedgerEntry): string {
  const fromData = entry.data.keyId;
  return typeof fromData === 'string' ? fromData : entry.target;
}

function enrollKey(entry: LedgerEntry, keys: Map<string, KeyState>): LedgerProblem | null {
  const keyId = keyIdOf(entry);
  const pem = entry.data.publicKeyPem;
  const principal = typeof entry.data.principal === 'string' ? entry.data.principal : entry.approver;
  if (typeof pem !== 'string' || typeof principal !== 'string') {
    return problem('entry_malformed', entry.seq, `key enrollment ${entry.seq} lacks data.publicKeyPem or the principal`);
  }
  keys.set(keyId, { principal, publicKeyPem: pem, revoked: false });
  return null;
}
