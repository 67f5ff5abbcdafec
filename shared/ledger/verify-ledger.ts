import { canonicalJson } from '../canonical-json';
import { SigstoreBundleJsonSchema } from '../domain/decision';
import { LedgerEntrySchema, type LedgerEntry } from '../domain/ledger-entry';
import { AppError } from '../errors';
import { bytesEqual, toHex, utf8 } from '../bytes';
import { parseCheckpoint, type Checkpoint } from './checkpoint';
import { CompactRange } from './compact-range';
import { decisionEntryFieldsMismatch } from './rekor-dsse';
import { verifyNote, type NoteVerifier } from './signed-note';
import type { TreeHasher } from './tree-hasher';

/**
 * The offline verifier of a whole ledger: recompute every leaf from the entry bytes, check seq
 * contiguity, every decision's signature against the keys enrolled at that point of the ledger
 * itself, the root against the signed checkpoint, and that the log extends the checkpoint the
 * client trusted before. Pure: hashing, note and signature checks are injected.
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

export interface VerifyLedgerOptions {
  hasher: TreeHasher;
  /** The log key (note key name = origin). */
  logKey: NoteVerifier;
  verifyDecision: DecisionVerifier;
  /** The last checkpoint this client verified (signed note); the log must extend it. */
  trustedCheckpoint?: string;
  /** How many decision signatures to check concurrently (default 32). */
  concurrency?: number;
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
  | 'inconsistent_history';

export interface LedgerProblem {
  code: LedgerProblemCode;
  /** The first bad entry, when one can be named (null for a bad checkpoint or a short log). */
  seq: number | null;
  message: string;
}

export type LedgerVerdict =
  | { ok: true; treeSize: number; rootHash: string; checkpoint: Checkpoint; decisionsVerified: number; keysSeen: number; entriesVerified: number; state: LedgerResumeState }
  | { ok: false; problem: LedgerProblem; problems: LedgerProblem[] };

interface KeyState {
  principal: string;
  publicKeyPem: string;
  revoked: boolean;
}

const DEFAULT_CONCURRENCY = 32;

function problem(code: LedgerProblemCode, seq: number | null, message: string): LedgerProblem {
  return { code, seq, message };
}

function verifyCheckpointNote(note: string, logKey: NoteVerifier, what: string): Checkpoint {
  const { text } = verifyNote(note, [logKey]);
  const cp = parseCheckpoint(text);
  if (cp.origin !== logKey.name) throw new AppError('verification_failed', `${what} is for log "${cp.origin}", not "${logKey.name}"`);
  return cp;
}

export async function verifyLedger(ledger: LedgerToVerify, options: VerifyLedgerOptions): Promise<LedgerVerdict> {
  const { hasher, logKey } = options;
  const problems: LedgerProblem[] = [];
  const done = (): LedgerVerdict => {
    problems.sort((a, b) => (a.seq ?? -1) - (b.seq ?? -1));
    return { ok: false, problem: problems[0]!, problems };
  };

  // 1. The signed checkpoint (and the one trusted before) must be signed by the log key.
  let checkpoint: Checkpoint;
  try {
    checkpoint = verifyCheckpointNote(ledger.checkpoint, logKey, 'the checkpoint');
  } catch (e) {
    problems.push(problem('bad_checkpoint', null, `checkpoint rejected: ${(e as Error).message}`));
    return done();
  }
  let trusted: Checkpoint | undefined;
  if (options.trustedCheckpoint) {
    try {
      trusted = verifyCheckpointNote(options.trustedCheckpoint, logKey, 'the trusted checkpoint');
    } catch (e) {
      problems.push(problem('bad_checkpoint', null, `previously trusted checkpoint rejected: ${(e as Error).message}`));
      return done();
    }
    if (trusted.size > checkpoint.size) {
      problems.push(problem('rolled_back', null, `log rolled back: it now has ${checkpoint.size} entries, but a checkpoint for ${trusted.size} entries was verified before`));
    }
  }
  const history: Checkpoint[] = [];
  for (const note of ledger.history ?? []) {
    try {
      const cp = verifyCheckpointNote(note, logKey, 'a historical checkpoint');
      if (cp.size <= checkpoint.size) history.push(cp);
    } catch {
      // An unverifiable historical checkpoint only costs precision; the latest one decides.
    }
  }
  const checkpointsAt = new Map<number, Checkpoint[]>();
  for (const cp of [...history, ...(trusted ? [trusted] : []), checkpoint]) {
    const list = checkpointsAt.get(cp.size) ?? [];
    list.push(cp);
    checkpointsAt.set(cp.size, list);
  }

  // 2. Entries: structure, contiguity, leaves, keys, decisions; roots at every known checkpoint.
  const resume = ledger.resume;
  const base = resume?.size ?? 0;
  if (resume && (!trusted || trusted.size !== base)) {
    throw new AppError('invalid_input', `incremental verification from size ${base} needs the checkpoint of that size as the trusted checkpoint`);
  }
  const range = new CompactRange(hasher, base, resume?.frontier ?? []);
  /** leaves[i] is the leaf of seq base + i. */
  const leaves: Uint8Array[] = [];
  const keys = new Map<string, KeyState>((resume?.keys ?? []).map((k) => [k.keyId, { principal: k.principal, publicKeyPem: k.publicKeyPem, revoked: k.revoked }]));
  const pendingDecisions: Array<() => Promise<LedgerProblem | null>> = [];
  let lastGoodCheckpointSize = base;
  const n = ledger.entryTexts.length;
  const total = base + n;

  // The log's recorded leaf hashes, trusted only if they reproduce the signed root (checked once).
  let recordedOk: boolean | undefined;
  const locate = (from: number, to: number): number | null => {
    recordedOk ??= recordedLeavesMatch(ledger.recordedLeafHashes, hasher, checkpoint, resume);
    if (!recordedOk) return null;
    for (let seq = Math.max(from, base); seq < to && seq < total; seq++) {
      if (!bytesEqual(leaves[seq - base]!, ledger.recordedLeafHashes![seq - base]!)) return seq;
    }
    return null;
  };
  let rootMismatchReported = false;
  let trustedChecked = false;

  const checkRootAt = (size: number) => {
    const cps = checkpointsAt.get(size);
    if (!cps) return;
    const root = range.root();
    for (const cp of cps) {
      if (cp === trusted) {
        if (trustedChecked) continue;
        trustedChecked = true;
        if (bytesEqual(root, cp.rootHash)) continue;
        const at = locate(0, size);
        problems.push(
          problem(
            'inconsistent_history',
            at,
            `split view or rewritten history: the first ${size} entries hash to ${toHex(root)}, but the checkpoint verified before says ${toHex(cp.rootHash)} for that size` +
              (at !== null ? ` (entry ${at} differs from the leaf the log signed)` : ''),
          ),
        );
        continue;
      }
      if (rootMismatchReported) continue;
      if (bytesEqual(root, cp.rootHash)) {
        lastGoodCheckpointSize = Math.max(lastGoodCheckpointSize, size);
        continue;
      }
      // Only the first mismatch matters: it bounds where the first altered entry is.
      rootMismatchReported = true;
      const at = locate(lastGoodCheckpointSize, size);
      const where = at !== null ? `entry ${at} differs from the leaf the log signed` : `an entry among seq ${lastGoodCheckpointSize}..${size - 1} was altered, inserted or removed`;
      problems.push(problem('root_mismatch', at ?? lastGoodCheckpointSize, `Merkle root of the first ${size} entries is ${toHex(root)}, the signed checkpoint says ${toHex(cp.rootHash)}: ${where}`));
    }
  };

  checkRootAt(base);
  for (let i = 0; i < n; i++) {
    const seq = base + i;
    const text = ledger.entryTexts[i]!;
    const leaf = hasher.leaf(utf8(text));
    leaves.push(leaf);
    range.append(leaf);
    const entryProblem = checkEntry(seq, text, keys, pendingDecisions, options);
    if (entryProblem) problems.push(entryProblem);
    checkRootAt(seq + 1);
  }
  if (total < checkpoint.size) {
    problems.push(problem('missing_entries', total, `the ledger has ${total} entries but its signed checkpoint covers ${checkpoint.size}: entries ${total}..${checkpoint.size - 1} are missing (truncated or deleted)`));
  } else if (total > checkpoint.size) {
    problems.push(problem('extra_entries', checkpoint.size, `entries ${checkpoint.size}..${total - 1} are not covered by the signed checkpoint (size ${checkpoint.size}): inserted or not yet checkpointed`));
  }
  if (trusted && trusted.size > total) {
    problems.push(problem('rolled_back', total, `the ledger has ${total} entries but ${trusted.size} were verified before: it was rolled back`));
  }

  // 3. Decision signatures (the expensive part) run concurrently; the lowest failing seq wins.
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  let decisionsVerified = 0;
  for (let start = 0; start < pendingDecisions.length; start += concurrency) {
    const results = await Promise.all(pendingDecisions.slice(start, start + concurrency).map((run) => run()));
    for (const r of results) {
      if (r) problems.push(r);
      else decisionsVerified++;
    }
  }

  if (problems.length > 0) return done();
  return {
    ok: true,
    treeSize: total,
    rootHash: toHex(range.root()),
    checkpoint,
    decisionsVerified,
    keysSeen: keys.size,
    entriesVerified: n,
    state: { size: total, frontier: range.frontier, keys: [...keys].map(([keyId, k]) => ({ keyId, principal: k.principal, publicKeyPem: k.publicKeyPem, revoked: k.revoked })) },
  };
}

/** Whether the log's recorded leaf hashes exist and reproduce the signed root (then they are what it committed to). */
function recordedLeavesMatch(recorded: readonly Uint8Array[] | undefined, hasher: TreeHasher, checkpoint: Checkpoint, resume: LedgerResumeState | undefined): boolean {
  const base = resume?.size ?? 0;
  if (!recorded || base + recorded.length < checkpoint.size) return false;
  const range = new CompactRange(hasher, base, resume?.frontier ?? []);
  for (let i = 0; base + i < checkpoint.size; i++) range.append(recorded[i]!);
  return bytesEqual(range.root(), checkpoint.rootHash);
}

function checkEntry(
  index: number,
  text: string,
  keys: Map<string, KeyState>,
  pendingDecisions: Array<() => Promise<LedgerProblem | null>>,
  options: VerifyLedgerOptions,
): LedgerProblem | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return problem('entry_malformed', index, `entry at position ${index} is not valid JSON`);
  }
  let canonical: string;
  try {
    canonical = canonicalJson(json);
  } catch (e) {
    return problem('entry_malformed', index, `entry at position ${index}: ${(e as Error).message}`);
  }
  if (canonical !== text) return problem('entry_not_canonical', index, `entry at position ${index} is not in canonical JSON form`);
  const parsed = LedgerEntrySchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return problem('entry_malformed', index, `entry at position ${index} is not a ledger entry (${first?.path.join('.') || '(root)'}: ${first?.message})`);
  }
  const entry = parsed.data;
  if (entry.seq !== index) {
    const why = entry.seq < index ? 'a duplicate or reordered entry' : 'an entry before it was deleted, or entries were reordered';
    return problem('seq_mismatch', index, `entry at position ${index} has seq ${entry.seq}: ${why}`);
  }
  switch (entry.type) {
    case 'key_enrolled':
      return enrollKey(entry, keys);
    case 'key_revoked': {
      const keyId = keyIdOf(entry);
      const key = keys.get(keyId);
      if (!key) return problem('key_not_enrolled', index, `entry ${index} revokes key ${keyId}, which was never enrolled`);
      key.revoked = true;
      return null;
    }
    case 'decision':
      return queueDecision(entry, keys, pendingDecisions, options);
    default:
      return null;
  }
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

function queueDecision(
  entry: LedgerEntry,
  keys: Map<string, KeyState>,
  pending: Array<() => Promise<LedgerProblem | null>>,
  options: VerifyLedgerOptions,
): LedgerProblem | null {
  const seq = entry.seq;
  const parsedBundle = SigstoreBundleJsonSchema.safeParse(entry.data.bundle);
  if (!parsedBundle.success) return problem('entry_malformed', seq, `decision ${seq} has no well-formed data.bundle`);
  const bundle = parsedBundle.data;
  const hint = (bundle.verificationMaterial as { publicKey?: { hint?: unknown } }).publicKey?.hint;
  if (typeof hint !== 'string') return problem('entry_malformed', seq, `decision ${seq}: its bundle has no public-key hint`);
  const key = keys.get(hint);
  if (!key) return problem('key_not_enrolled', seq, `decision ${seq} is signed with key ${hint}, which is not enrolled at that point of the ledger`);
  if (key.revoked) return problem('key_not_enrolled', seq, `decision ${seq} is signed with key ${hint}, which was revoked before it`);
  const mismatch = decisionEntryFieldsMismatch(entry, bundle, key.publicKeyPem, options.hasher.sha256);
  if (mismatch) return problem('decision_mismatch', seq, `decision ${seq}: ${mismatch}`);
  // Snapshot the key now: the ledger's own history says which keys were valid at this seq.
  const snapshot = { keyId: hint, publicKeyPem: key.publicKeyPem, principal: key.principal };
  pending.push(async () => {
    try {
      const verified = await options.verifyDecision(bundle, (keyId) => (keyId === snapshot.keyId ? { publicKeyPem: snapshot.publicKeyPem } : undefined));
      if (verified.statement.requestId !== entry.target) return problem('decision_mismatch', seq, `decision ${seq} is recorded for ${entry.target} but its signed statement is for ${verified.statement.requestId}`);
      if (verified.statement.approver !== snapshot.principal) return problem('decision_mismatch', seq, `decision ${seq} is signed by ${snapshot.principal}'s key but names approver ${verified.statement.approver}`);
      if (entry.actor !== snapshot.principal) return problem('decision_mismatch', seq, `decision ${seq} is recorded as by ${entry.actor} but signed by ${snapshot.principal}`);
      return null;
    } catch (e) {
      return problem('bad_signature', seq, `decision ${seq}: signature does not verify (${(e as Error).message})`);
    }
  });
  return null;
}
