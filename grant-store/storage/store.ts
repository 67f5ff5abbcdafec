import type { Role } from '../../shared/domain/common';
import type { DecisionRecord, SigstoreBundleJson } from '../../shared/domain/decision';
import type { EnrolledKey } from '../../shared/domain/identity';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { BypassRequest, RequestState } from '../../shared/domain/request';
import type { Review } from '../../shared/domain/review';
import type { PageKey } from '../../shared/domain/page-cursor';
import type { StoredSession } from '../identity/stored-session';
import type { EmergencyCredential, EmergencyCredentialState } from '../../shared/domain/emergency';
import type { Incident } from '../../shared/domain/incident';
import type { DigestRun, IncidentReceipt } from './emergency-rows';
import type { NotificationScope } from './ledger-filter-sql';
import type { CounterFilter, CounterItem, CounterRow, ItemizedMetric } from './counters';
import type { EntryBinder } from '../../shared/ledger/entry-binding';
import type { RequestRow } from '../../shared/ledger/state-projection';
import type { LogTables } from './log-tables';

/**
 * The grant store's persistence, one interface for every backend (SQLite embedded,
 * PostgreSQL for several instances; one conformance suite for both). Everything is async so a networked
 * backend fits. Writes happen only inside `transaction`: a state change and its ledger entries
 * commit together or not at all.
 */

/** A bearer token as stored: only the SHA-256 of the secret, never the secret itself. */
export interface StoredToken {
  id: string;
  /** Lowercase hex SHA-256 of the token string. */
  tokenHash: string;
  principal: string;
  roles: Role[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** A decision as stored: the record plus what refuses replays and the signed bundle itself. */
export interface StoredDecision extends DecisionRecord {
  /** `sha256:<hex>` of the DSSE signature bytes; UNIQUE, so a replayed bundle is refused. */
  signatureDigest: string;
  /** The statement's nonce; UNIQUE as well. */
  nonce: string;
  bundle: SigstoreBundleJson;
}

/** A ledger entry before the store numbers it: seq is assigned inside the transaction. */
export type NewLedgerEntry = Omit<LedgerEntry, 'seq'>;

/** One ledger row as stored: the canonical text (the leaf) and the binding kept with it. */
export interface StoredLedgerRow {
  seq: number;
  text: string;
  /** The log key's binding made at append; null for rows from before bindings or written behind the store's back. */
  binding: Uint8Array | null;
}

/** A requests row as stored: its JSON document and its indexed columns (what the tamper check compares). */
export type StoredRequestRow = RequestRow;

/** What a backend needs to bind entries as it appends them (the log key's binder). */
export interface StoreOpenBinding {
  /** Signs each appended entry with the log key; without it rows are stored unbound. */
  binder?: EntryBinder;
}

export interface RequestFilter {
  states?: readonly RequestState[];
  requester?: string;
  team?: string;
  gate?: string;
  /** createdAt >= this timestamp. */
  createdSince?: string;
  /** activatedAt >= this timestamp (so only requests that became bypasses). */
  activatedSince?: string;
  /** Keyset paging: only the requests after this one in the list's order (createdAt, then id, descending). */
  after?: PageKey;
  /** Newest first; defaults to all. */
  limit?: number;
}

/** Which reviews StoreReader.listReviews reads, newest opened first (openedAt, then id, descending). */
export interface ReviewFilter {
  state?: Review['state'];
  /** Keyset paging: only the reviews after this one in that order. */
  after?: PageKey;
  /** Defaults to all. */
  limit?: number;
}

/** What the audit filters on, all pushed into SQL (see StoreReader.auditEntries). */
export interface LedgerFilter {
  /** time >= from. */
  from?: string;
  /** time < to. */
  to?: string;
  /** The entry's gate (every entry about a request carries its request's gate). */
  gate?: string;
  actor?: string;
  /** Entries about a request of this team, plus every entry not about a request (the caller checks those). */
  team?: string;
  types?: readonly LedgerEntry['type'][];
  /**
   * Inclusive seq bounds that enclose every entry the time filter can match (from
   * StoreReader.ledgerSeqRange): pushed into SQL as a range on seq, so a time-filtered page reads
   * only its window, whatever the entries' clock order. The caller must derive them from the same
   * from/to.
   */
  minSeq?: number;
  maxSeq?: number;
}

/** A run of a target's ledger entries (StoreReader.ledgerRunsForTarget). */
export interface LedgerRun {
  /** How many entries the run holds. */
  count: number;
  /** Every entry of the run (count ≤ keepUpTo), or its first and last. */
  entries: LedgerEntry[];
}

export interface GateBlockCount {
  gate: string;
  count: number;
  lastAt: string;
}

/** Reads: available on the store (committed data) and inside a transaction (its own writes too). */
export interface StoreReader {
  getRequest(id: string): Promise<BypassRequest | undefined>;
  /** Requests matching `filter`, newest first; each filter's order is an index range (migration 14). */
  listRequests(filter: RequestFilter): Promise<BypassRequest[]>;
  countRequests(filter: RequestFilter): Promise<number>;
  /** Active requests on `gate` whose window has not ended at `now` (ISO time). */
  findActiveBypasses(gate: string, now: string): Promise<BypassRequest[]>;
  /** Active requests whose expiresAt <= now. */
  dueForExpiry(now: string): Promise<BypassRequest[]>;
  /** Pending / needs_info requests whose lapsesAt <= now. */
  dueForLapse(now: string): Promise<BypassRequest[]>;
  /** Earliest future expiresAt / lapsesAt of an open request, to arm a precise timer. */
  nextDeadline(): Promise<string | undefined>;

  listDecisions(requestId: string): Promise<StoredDecision[]>;
  /** Whether a decision with this signature digest or this nonce was already accepted. */
  decisionReplayed(signatureDigest: string, nonce: string): Promise<boolean>;

  getTokenByHash(tokenHash: string): Promise<StoredToken | undefined>;
  getToken(id: string): Promise<StoredToken | undefined>;
  listTokens(): Promise<StoredToken[]>;

  getSession(id: string): Promise<StoredSession | undefined>;
  getSessionByHash(tokenHash: string): Promise<StoredSession | undefined>;
  /** Each principal's newest session, ended and expired ones included (what the IdP last said about them). */
  latestSessions(): Promise<StoredSession[]>;

  getKey(keyId: string): Promise<EnrolledKey | undefined>;
  listKeys(principal?: string): Promise<EnrolledKey[]>;

  getEmergencyCredential(id: string): Promise<EmergencyCredential | undefined>;
  /** The credential whose secret has this digest (`sha256:<hex>`), whatever its state. */
  getEmergencyCredentialByDigest(digest: string): Promise<EmergencyCredential | undefined>;
  /** Newest sealed first. */
  listEmergencyCredentials(): Promise<EmergencyCredential[]>;

  getIncident(source: string, incidentId: string): Promise<Incident | undefined>;
  /** Incidents not resolved, most recently updated first. */
  listOpenIncidents(): Promise<Incident[]>;
  getIncidentReceipt(source: string, eventId: string): Promise<IncidentReceipt | undefined>;

  getDigestRun(week: string): Promise<DigestRun | undefined>;

  getReview(id: string): Promise<Review | undefined>;
  getReviewByRequest(requestId: string): Promise<Review | undefined>;
  /** Reviews matching `filter` (default: all), newest opened first; indexed on (state?, opened_at, id) (migration 14). */
  listReviews(filter?: ReviewFilter): Promise<Review[]>;

  gateBlockCounts(): Promise<GateBlockCount[]>;

  /**
   * Per-day counters (see counters.ts), kept in the same transaction as the changes they count;
   * reports read these instead of the ledger. Ordered by metric, day, gate, team, subject.
   */
  counterRows(filter: CounterFilter): Promise<CounterRow[]>;
  /**
   * The individual events counted by `metric` for `gate` in [from, to) (ISO timestamps), oldest
   * first, with the team each counts for: what a reader needs for a counter row that straddles a
   * window boundary.
   */
  counterItems(metric: ItemizedMetric, gate: string, from: string, to: string): Promise<CounterItem[]>;

  /**
   * The requests the decision reports read (approvers, decision times): every request with a
   * signed decision at or after `decidedSince` (indexed: decisions_at), and every request
   * pending, needing information or lapsed. Standing-scope traffic never appears here, so the
   * set grows with people's decisions, not with CI checks.
   */
  requestsForDecisionReports(decidedSince: string): Promise<BypassRequest[]>;
  /**
   * Reviews open now and opened at or before `now`: how many opened before `overdueBefore`, how
   * many since, and the `limit` oldest (indexed: reviews_open).
   */
  openReviews(now: string, overdueBefore: string, limit: number): Promise<{ overdue: number; withinDeadline: number; oldest: Review[] }>;
  /** The latest `limit` bypasses of `gate` and `team` activated in [from, to], newest first (indexed on activated_at). */
  latestBypasses(gate: string, team: string, from: string, to: string, limit: number): Promise<{ id: string; activatedAt: string }[]>;
  /** Requests per gate and state, for the states given (the /metrics pending and active gauges). */
  requestStateCounts(states: readonly BypassRequest['state'][]): Promise<{ gate: string; state: BypassRequest['state']; count: number }[]>;

  /** Number of ledger entries (= the Merkle tree size; seq runs 0..size-1). */
  ledgerSize(): Promise<number>;
  getLedgerEntries(from: number, limit: number): Promise<LedgerEntry[]>;
  /** Every entry whose target is `target`, in seq order (a request's timeline). */
  ledgerEntriesForTarget(target: string): Promise<LedgerEntry[]>;
  /**
   * The entries of `target` after `afterSeq` (default: all; at most `limit`, the first in seq
   * order) but those of a type in `except`, as runs: each maximal run of
   * consecutive entries (in seq order) of one type by one actor, with its entries in full when it
   * has at most `keepUpTo`, else only its first and last. The entries between are counted in SQL,
   * never read: a bypass evaluated a million times costs its review the runs, not the million
   * (a request's timeline, shared/domain/review-timeline.ts).
   */
  ledgerRunsForTarget(target: string, except: readonly string[], keepUpTo: number, afterSeq?: number, limit?: number): Promise<LedgerRun[]>;
  /**
   * Entries matching `filter` with seq > afterSeq, in seq order, at most `limit` (keyset paging:
   * pass the last seq seen). Every filter is in SQL, on indexes (time, type, gate, actor, target).
   */
  auditEntries(filter: LedgerFilter, afterSeq: number, limit: number): Promise<LedgerEntry[]>;
  /**
   * The lowest and highest seq of the entries with from <= time < to (to: none), null when there
   * are none; read from the time index (ledger_entries_time), so exact whatever the order of
   * times across seqs and costing the window's entries, never the ledger's.
   */
  ledgerSeqRange(from: string, to?: string): Promise<{ first: number; last: number } | null>;
  /** Entries other than evaluation_under_bypass with seq > afterSeq, in seq order, at most `limit` (a partial index: notifications, inboxes). */
  lifecycleEntries(afterSeq: number, limit: number): Promise<LedgerEntry[]>;
  /**
   * The entries that may notify `principal`, seq > afterSeq, in seq order, at most `limit`: those
   * of the kinds a requester is told of about requests they filed, the notify-list kinds on
   * `scope.notifyGates`, and emergency uses and refusals (all, or their own). Indexed ranges only
   * (migration 12): the cost follows `limit`, not the ledger. The caller applies the rule.
   */
  notificationEntries(principal: string, scope: NotificationScope, afterSeq: number, limit: number): Promise<LedgerEntry[]>;
  /** The requests with these ids (missing ids are left out). */
  getRequests(ids: readonly string[]): Promise<BypassRequest[]>;
  /** The reviews of these requests (at most one each). */
  getReviewsByRequests(requestIds: readonly string[]): Promise<Review[]>;
  /** RFC 6962 leaf hashes SHA-256(0x00 || canonical entry bytes), seq from..from+limit-1. */
  getLeafHashes(from: number, limit: number): Promise<Uint8Array[]>;
  /** Canonical JSON text of entries from..from+limit-1 exactly as hashed. */
  getLedgerEntryTexts(from: number, limit: number): Promise<{ seq: number; text: string }[]>;

  /** Ledger rows from..from+limit-1 with the binding kept at append (the start-up check reads these past the checkpoint). */
  getLedgerRows(from: number, limit: number): Promise<StoredLedgerRow[]>;
  /**
   * Only the canonical texts of the rows with seq from..from+count-1, in seq order, missing rows
   * left out (fewer than `count`: a gap or the end). The start-up check reads the rows under the
   * checkpoint this way: one string a row, no per-row object (a third of the check's time was
   * spent reading rows as objects with their bindings).
   */
  getLedgerTextRange(from: number, count: number): Promise<string[]>;
  /** Every requests row as stored (document and indexed columns), by id. */
  listRequestRows(): Promise<StoredRequestRow[]>;
  getRequestRow(id: string): Promise<StoredRequestRow | undefined>;
  /** Every decision, in seq order. */
  listAllDecisions(): Promise<StoredDecision[]>;
  /** Every sign-in session, in creation order. */
  listSessions(): Promise<StoredSession[]>;

  getMeta(key: string): Promise<string | undefined>;
  /** Every meta entry whose key starts with `prefix` (taken literally), in key order. */
  listMeta(prefix: string): Promise<Array<{ key: string; value: string }>>;
}

/** Writes, only inside `Store.transaction`. */
export interface StoreTx extends StoreReader {
  insertRequest(request: BypassRequest): Promise<void>;
  /** Replace the stored request with this version (same id). */
  updateRequest(request: BypassRequest): Promise<void>;
  /** Throws AppError('conflict') when the signature digest or nonce was seen before. */
  insertDecision(decision: StoredDecision): Promise<void>;
  insertToken(token: StoredToken): Promise<void>;
  revokeToken(id: string, at: string): Promise<void>;
  /** Throws AppError('conflict') when the ID token (idTokenHash) was already exchanged for a session. */
  insertSession(session: StoredSession): Promise<void>;
  endSession(id: string, at: string): Promise<void>;
  /** Throws AppError('conflict') when a credential with this id or secret digest exists. */
  insertEmergencyCredential(credential: EmergencyCredential): Promise<void>;
  /**
   * Replace the credential with this version only if it is still in `expectedState`; false when
   * another writer changed it first (a second use racing the first: exactly one wins).
   */
  updateEmergencyCredential(credential: EmergencyCredential, expectedState: EmergencyCredentialState): Promise<boolean>;
  /** Insert or replace the incident's state. */
  putIncident(incident: Incident): Promise<void>;
  /** False when (source, eventId) was received before: the caller treats it as a replay. */
  insertIncidentReceipt(receipt: IncidentReceipt): Promise<boolean>;
  /**
   * Claim the digest send for `week` (see CLAIM_DIGEST_RUN_SQL): true when this instance may
   * send it now; false when it was sent, or another instance holds an unexpired lease.
   */
  claimDigestRun(week: string, instance: string, now: string, leaseUntil: string): Promise<boolean>;
  /** Mark the week sent by `instance`; false when its claim was taken over meanwhile. */
  completeDigestRun(week: string, instance: string, sentAt: string): Promise<boolean>;
  /** Record a failed attempt; the lease ends at `retryAt`, when any instance may try again. */
  failDigestRun(week: string, instance: string, error: string, retryAt: string): Promise<void>;
  /** Throws AppError('conflict') when the key id is already enrolled. */
  insertKey(key: EnrolledKey): Promise<void>;
  revokeKey(keyId: string, at: string): Promise<void>;
  /** Throws AppError('conflict') when the request already has a review (one per closure). */
  insertReview(review: Review): Promise<void>;
  updateReview(review: Review): Promise<void>;
  /** Add `count` (default 1) blocks on `gate`; the check hot path batches them per second. */
  incrementGateBlocks(gate: string, at: string, count?: number): Promise<void>;
  /**
   * Before appending: lock the requests with these ids (in id order) and then the ledger head,
   * and return those requests (missing ids left out), as of the lock. A group commit of warns
   * starts with it (grant-store/checks/group-commit.ts), so batches and decisions lock in one
   * order. PostgreSQL: one statement (FOR UPDATE), and the appends that follow are numbered from
   * the locked head without another round trip. SQLite: a read (its one writer excludes the rest).
   */
  lockForAppend(ids: readonly string[]): Promise<BypassRequest[]>;
  /** Number the entries (next seq upward), store their canonical bytes and leaf hashes. */
  appendLedger(entries: readonly NewLedgerEntry[]): Promise<LedgerEntry[]>;
  setMeta(key: string, value: string): Promise<void>;
  /** Remove these meta entries (keys not there are skipped). */
  deleteMeta(keys: readonly string[]): Promise<void>;
  /**
   * Insert `key` unless it exists; true when this call inserted it. A durable once-only claim:
   * of several transactions (instances) claiming the same key, exactly one gets true.
   */
  claimMeta(key: string, value: string): Promise<boolean>;
  /**
   * Hold an exclusive lock named `key` until this transaction ends, across every instance on
   * the database: a read-modify-write of a meta value (the alert outbox, its cursor) that starts
   * with it cannot interleave with another's. Taking it again in the same transaction is free.
   * The caller must take it before reading what it protects.
   */
  lockMeta(key: string): Promise<void>;
}

export type LedgerListener = (entries: readonly LedgerEntry[]) => void;

export interface Store extends StoreReader {
  readonly backend: 'sqlite' | 'postgres';
  /**
   * Run `fn` in one serializable transaction: commit when it resolves, roll back when it
   * throws (the error is rethrown). The caller must not do slow I/O inside `fn`: other writers
   * wait for it.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * Called after each commit that appended ledger entries, with those entries in seq order
   * (the Merkle tree / checkpoints and the event stream hang off this). Returns unsubscribe.
   * A throwing listener is logged and does not affect the commit or other listeners.
   */
  onLedgerAppended(listener: LedgerListener): () => void;
  /**
   * The transparency log's tables (ledger_nodes, ledger_checkpoints) in this store's own
   * database, on its own connections: the log and the ledger guard read and write them here.
   */
  openLogTables(): Promise<LogTables>;
  close(): Promise<void>;
}
