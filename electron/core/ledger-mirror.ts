import { appendFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { canonicalJson } from '../../shared/canonical-json';
import { AppError } from '../../shared/errors';
import { isRedactedEntry, ServedLedgerEntrySchema, type LedgerEntry, type ServedLedgerEntry } from '../../shared/domain/ledger-entry';
import { LedgerVerifier, type LedgerResumeState, type LedgerVerdict } from '../../shared/ledger/verify-ledger';
import { nodeTreeHasher } from '../../shared/node/ledger/node-crypto';
import { verifyDecisionBundle } from '../../shared/node/signing/verify-decision';
import { fromHex, toHex } from '../../shared/bytes';
import type { ChannelOutput, ParsedChannelInput, VerificationState } from '../../shared/ipc/contract';
import { readTextIfExists, writeJsonAtomic } from './files';

/** Entries fetched per page while syncing. */
export const LEDGER_SYNC_PAGE_SIZE = 1000;


/** A checkpoint as the store publishes it, already checked for a valid log signature by the source. */
export interface PublishedCheckpoint {
  size: number;
  rootHash: Uint8Array;
  /** The signed note text (kept so an auditor can re-check it), null when the store has none. */
  note: string | null;
  /** The log key the note verified under (pinned by the mirror on first use). */
  logKey: { origin: string; publicKeyPem: string } | null;
}

/** Where the mirror gets entries and checkpoints: the grant store, through the store client. */
export interface LedgerSource {
  entries(from: number, limit: number): Promise<{ entries: ServedLedgerEntry[]; treeSize: number }>;
  /** The latest signed checkpoint, or null when the store does not publish one yet. */
  latestCheckpoint(): Promise<PublishedCheckpoint | null>;
}

const MirrorStateSchema = z.strictObject({
  size: z.number().int().nonnegative(),
  verifiedTreeSize: z.number().int().nonnegative(),
  /** Compact range (hex hashes) of the verified prefix: enough to extend verification later. */
  verifiedFrontier: z.array(z.string()),
  /**
   * The approver keys the ledger enrolled up to verifiedTreeSize (the verifier's resume state):
   * new decisions are checked against them. Absent in mirrors saved before it was kept: their
   * next sync verifies from the first entry again.
   */
  verifiedKeys: z.array(z.strictObject({ keyId: z.string(), principal: z.string(), publicKeyPem: z.string(), revoked: z.boolean() })).optional(),
  /** The log's note key, pinned on first use: a store presenting another key is refused. */
  logKey: z.strictObject({ origin: z.string(), publicKeyPem: z.string() }).nullable(),
  checkpoint: z.strictObject({ treeSize: z.number().int(), rootHash: z.string(), note: z.string().nullable(), verifiedAt: z.string() }).nullable(),
  lastSyncAt: z.string().nullable(),
  /** Set when the store served a log that does not match a checkpoint: entries past verifiedTreeSize are `failed`. */
  failure: z.strictObject({ at: z.string(), message: z.string(), treeSize: z.number().int() }).nullable(),
});
type MirrorState = z.infer<typeof MirrorStateSchema>;

const EMPTY_STATE: MirrorState = { size: 0, verifiedTreeSize: 0, verifiedFrontier: [], logKey: null, checkpoint: null, lastSyncAt: null, failure: null };

type LedgerQuery = ParsedChannelInput<'console:main:query-ledger'>;
type LedgerQueryResult = ChannelOutput<'console:main:query-ledger'>;

/**
 * A local, verified copy of the ledger in the console data dir (entries.jsonl + state.json).
 * Synced incrementally. The verified prefix is kept as a compact range; each new signed checkpoint
 * (note signature checked by the source, log key pinned here) must have the root obtained by
 * extending that range with the leaf hashes (SHA-256(0x00 ‖ canonical entry)) of the mirrored
 * entries. Because old entries are never re-downloaded, a store that rewrote history cannot
 * produce a matching root: the mirror refuses it (consistency by construction). Entries past the
 * latest checkpoint are kept as `unverified` until a later checkpoint covers them.
 * Queries are answered from the mirror, so the ledger stays readable with the store unreachable.
 * Entries the user may not see arrive redacted (seq and leaf hash: shared/policy/visibility.ts):
 * their leaf takes part in every root check like any other, and queries skip them.
 */
export class LedgerMirror {
  private entries: ServedLedgerEntry[] = [];
  private state: MirrorState = structuredClone(EMPTY_STATE);
  private loaded = false;
  private syncing: Promise<{ added: number }> | undefined;

  constructor(private readonly dir: string) {}

  private get entriesPath(): string {
    return join(this.dir, 'entries.jsonl');
  }

  private get statePath(): string {
    return join(this.dir, 'state.json');
  }

  async load(): Promise<void> {
    if (this.loaded) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const stateText = await readTextIfExists(this.statePath);
    const entriesText = (await readTextIfExists(this.entriesPath)) ?? '';
    if (stateText !== undefined) {
      this.state = MirrorStateSchema.parse(JSON.parse(stateText));
      const lines = entriesText.split('\n').filter((l) => l.length > 0);
      // A crash between appending entries and saving state leaves extra lines: drop them, re-sync.
      this.entries = lines.slice(0, this.state.size).map((l) => ServedLedgerEntrySchema.parse(JSON.parse(l)));
      if (this.entries.length !== this.state.size) throw new AppError('verification_failed', `the ledger mirror in ${this.dir} is truncated; delete it to re-sync`);
      if (lines.length !== this.state.size) await this.rewriteEntries();
    }
    this.loaded = true;
  }

  get size(): number {
    return this.state.size;
  }

  get verifiedTreeSize(): number {
    return this.state.verifiedTreeSize;
  }

  get lastSyncAt(): string | null {
    return this.state.lastSyncAt;
  }

  /** The latest checkpoint the mirror verified its entries against (what the console cosigns). */
  get verifiedCheckpoint(): MirrorState['checkpoint'] {
    return this.state.checkpoint;
  }

  get failure(): MirrorState['failure'] {
    return this.state.failure;
  }

  /** Fetch and verify everything new; concurrent calls share one sync. */
  sync(source: LedgerSource, now: () => Date = () => new Date()): Promise<{ added: number }> {
    this.syncing ??= this.doSync(source, now).finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async doSync(source: LedgerSource, now: () => Date): Promise<{ added: number }> {
    await this.load();
    let checkpoint = await source.latestCheckpoint();
    const refusal = this.refusalOf(checkpoint);
    if (refusal) return this.fail(now, refusal);
    // Fetch everything new (also past the latest checkpoint: those entries stay `unverified`
    // until a later checkpoint covers them).
    const pending: ServedLedgerEntry[] = [];
    for (;;) {
      const from = this.state.size + pending.length;
      const page = await source.entries(from, LEDGER_SYNC_PAGE_SIZE);
      let progressed = false;
      for (const entry of page.entries) {
        const expected = this.state.size + pending.length;
        if (entry.seq !== expected) return this.fail(now, `the store sent entry seq ${entry.seq} where ${expected} was expected`);
        if (expected >= page.treeSize) break;
        pending.push(entry);
        progressed = true;
      }
      if (!progressed || this.state.size + pending.length >= page.treeSize) break;
    }
    // A long fetch (100,000 entries while checks keep arriving) outlives the checkpoint read at
    // the start: read it again so the entries just fetched are verified now, not at the next sync.
    if (!checkpoint || checkpoint.size < this.state.size + pending.length) {
      const later = await source.latestCheckpoint();
      const laterRefusal = this.refusalOf(later);
      if (laterRefusal) return this.fail(now, laterRefusal);
      // Only one the fetched entries reach: a checkpoint past them cannot be checked this round.
      if (later && later.size >= (checkpoint?.size ?? 0) && later.size <= this.state.size + pending.length) checkpoint = later;
    }
    let verifiedTreeSize = this.state.verifiedTreeSize;
    let verifiedFrontier = this.state.verifiedFrontier;
    let checkpointState = this.state.checkpoint;
    const all = this.entries.length + pending.length;
    let verifiedKeys = this.state.verifiedKeys;
    if (checkpoint && checkpoint.size > verifiedTreeSize && checkpoint.size <= all) {
      // Extend the verified prefix with the shared streaming verifier (the one `breakglass ledger
      // verify` runs): from the saved frontier, every new entry's leaf, form and decision
      // signature, up to the signed root. Old entries are never re-downloaded, so a rewritten
      // history cannot match the signed root.
      const verdict = await this.verifyUpTo(checkpoint, pending);
      if (!verdict.ok) {
        const p = verdict.problem;
        if (p.code === 'root_mismatch' || p.code === 'inconsistent_history') {
          return this.fail(now, `the ledger does not match the store's signed checkpoint at size ${checkpoint.size}: history was rewritten or an entry was altered (${p.message})`);
        }
        return this.fail(now, `the ledger does not verify${p.seq === null ? '' : ` at entry ${p.seq}`}: ${p.message}`);
      }
      verifiedTreeSize = checkpoint.size;
      verifiedFrontier = verdict.state.frontier.map(toHex);
      verifiedKeys = verdict.state.keys;
      checkpointState = { treeSize: checkpoint.size, rootHash: toHex(checkpoint.rootHash), note: checkpoint.note, verifiedAt: now().toISOString() };
    } else if (checkpoint && checkpoint.size === verifiedTreeSize && checkpointState && checkpointState.rootHash !== toHex(checkpoint.rootHash)) {
      return this.fail(now, `the store's checkpoint at size ${checkpoint.size} has a different root than the one verified before: split view`);
    }
    if (pending.length > 0) await appendFile(this.entriesPath, pending.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
    this.entries.push(...pending);
    this.state = {
      size: this.entries.length,
      verifiedFrontier,
      verifiedTreeSize,
      ...(verifiedKeys ? { verifiedKeys } : {}),
      checkpoint: checkpointState,
      logKey: this.state.logKey ?? checkpoint?.logKey ?? null,
      lastSyncAt: now().toISOString(),
      failure: null,
    };
    await writeJsonAtomic(this.statePath, this.state);
    return { added: pending.length };
  }

  /**
   * Verify the mirrored and the pending entries up to `checkpoint` (its note already verified by
   * the source) from the saved verified prefix: its frontier and enrolled keys, or from the first
   * entry when the saved state has no keys yet.
   */
  private async verifyUpTo(checkpoint: PublishedCheckpoint, pending: readonly ServedLedgerEntry[]): Promise<LedgerVerdict> {
    const origin = checkpoint.logKey?.origin ?? this.state.logKey?.origin ?? 'the store log';
    const saved = this.state.checkpoint;
    const canResume = this.state.verifiedTreeSize > 0 && this.state.verifiedKeys !== undefined && saved !== null && saved.treeSize === this.state.verifiedTreeSize;
    const resume: LedgerResumeState | undefined = canResume ? { size: this.state.verifiedTreeSize, frontier: this.state.verifiedFrontier.map(fromHex), keys: this.state.verifiedKeys! } : undefined;
    const verifier = new LedgerVerifier(
      {
        hasher: nodeTreeHasher,
        verifyDecision: verifyDecisionBundle,
        ...(resume ? { trustedCheckpoint: { verified: { origin, size: resume.size, rootHash: fromHex(saved!.rootHash), extensions: [] } } } : {}),
      },
      { checkpoint: { verified: { origin, size: checkpoint.size, rootHash: checkpoint.rootHash, extensions: [] } }, resume },
    );
    for (let seq = resume?.size ?? 0; seq < checkpoint.size; seq++) {
      const entry = seq < this.entries.length ? this.entries[seq]! : pending[seq - this.entries.length]!;
      verifier.add(canonicalJson(entry));
      if ((seq & 255) === 255) await verifier.drain();
    }
    return verifier.finish();
  }

  /** Why a published checkpoint must be refused before any entry is compared with it, or null. */
  private refusalOf(checkpoint: PublishedCheckpoint | null): string | null {
    if (!checkpoint) return null;
    if (this.state.logKey && checkpoint.logKey && (this.state.logKey.publicKeyPem !== checkpoint.logKey.publicKeyPem || this.state.logKey.origin !== checkpoint.logKey.origin)) {
      return `the store's log key changed (was ${this.state.logKey.origin}, now ${checkpoint.logKey.origin}): refusing its checkpoints`;
    }
    if (checkpoint.size < this.state.verifiedTreeSize) {
      return `the store's checkpoint (size ${checkpoint.size}) is smaller than the ${this.state.verifiedTreeSize} entries already verified: the log shrank`;
    }
    return null;
  }

  private async fail(now: () => Date, message: string): Promise<never> {
    this.state = { ...this.state, failure: { at: now().toISOString(), message, treeSize: this.state.size } };
    await writeJsonAtomic(this.statePath, this.state);
    throw new AppError('verification_failed', message);
  }

  private async rewriteEntries(): Promise<void> {
    await rm(this.entriesPath, { force: true });
    await appendFile(this.entriesPath, this.entries.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
  }

  /** Lower-cased searchable text per entry, built on first search (keeps 100k-entry searches fast). */
  private readonly searchCache: string[] = [];

  private searchText(index: number, entry: LedgerEntry): string {
    return (this.searchCache[index] ??= searchableText(entry));
  }

  verificationOf(seq: number): VerificationState {
    if (seq < this.state.verifiedTreeSize) return 'verified';
    return this.state.failure ? 'failed' : 'unverified';
  }

  /** All mirrored entries about one target (request id, review id…), oldest first. */
  entriesFor(target: string): LedgerEntry[] {
    return this.visibleEntries().filter((e) => e.target === target || (e.data as Record<string, unknown>).requestId === target);
  }

  /** The mirrored entries in full (redacted ones left out), oldest first. */
  visibleEntries(): LedgerEntry[] {
    return this.entries.filter((e): e is LedgerEntry => !isRedactedEntry(e));
  }

  /** Every mirrored entry, redacted ones included (their seq and leaf hash only). */
  allEntries(): readonly ServedLedgerEntry[] {
    return this.entries;
  }

  /** How many mirrored entries came redacted (outside the user's tiers). */
  get redactedCount(): number {
    return this.entries.reduce((n, e) => n + (isRedactedEntry(e) ? 1 : 0), 0);
  }

  query(query: LedgerQuery): LedgerQueryResult {
    const search = query.search?.trim().toLowerCase();
    const matches: LedgerEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const served = this.entries[i] as ServedLedgerEntry;
      if (isRedactedEntry(served)) continue;
      const entry = served;
      if (query.type && entry.type !== query.type) continue;
      if (query.gate && entry.gate !== query.gate) continue;
      if (query.actor && entry.actor !== query.actor && entry.approver !== query.actor) continue;
      if (query.team && (entry.data as Record<string, unknown>).team !== query.team) continue;
      if (search && !this.searchText(i, entry).includes(search)) continue;
      matches.push(entry);
    }
    return {
      entries: matches.slice(query.offset, query.offset + query.limit).map((entry) => ({ entry, verification: this.verificationOf(entry.seq) })),
      total: matches.length,
      mirrorSize: this.state.size,
      verifiedTreeSize: this.state.verifiedTreeSize,
      checkpoint: this.state.checkpoint,
      lastSyncAt: this.state.lastSyncAt,
    };
  }
}

function searchableText(entry: LedgerEntry): string {
  const data = entry.data as Record<string, unknown>;
  return [entry.target, entry.actor, entry.gate, entry.reason, entry.incidentRef, entry.approver, entry.type, data.requester, data.team]
    .filter((v) => typeof v === 'string')
    .join(' ')
    .toLowerCase();
}
