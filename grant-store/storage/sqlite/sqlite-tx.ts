import type Database from 'better-sqlite3';
import { canonicalJson } from '../../../shared/canonical-json';
import type { EntryBinder } from '../../../shared/ledger/entry-binding';
import type { EnrolledKey } from '../../../shared/domain/identity';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../../shared/domain/request';
import type { Review } from '../../../shared/domain/review';
import { AppError } from '../../../shared/errors';
import { leafHashOfText } from '../leaf-hash';
import { DECISION_COLUMNS, KEY_COLUMNS, REQUEST_COLUMNS, REQUEST_UPDATE_COLUMNS, REVIEW_COLUMNS, TOKEN_COLUMNS, insertSql, updateSql } from '../row-mapping';
import type { NewLedgerEntry, StoreTx, StoredDecision, StoredToken } from '../store';
import type { StoredSession } from '../../identity/stored-session';
import { SESSION_COLUMNS, sessionValues } from '../session-rows';
import type { EmergencyCredential, EmergencyCredentialState } from '../../../shared/domain/emergency';
import type { Incident } from '../../../shared/domain/incident';
import { CLAIM_DIGEST_RUN_SQL, EMERGENCY_COLUMNS, INCIDENT_COLUMNS, RECEIPT_COLUMNS, type IncidentReceipt, emergencyValues, incidentValues, receiptValues } from '../emergency-rows';
import { SQLITE_ROWS, SqliteReader, sqliteParam } from './sqlite-reader';
import { type CounterFilter, type CounterRow, blockCounter, counterValues, diffCounters, requestCounters, reviewCounters, upsertCounterSql, upsertWarnSql, warnGroups } from '../counters';
import type { DocRow } from '../row-mapping';

const UPSERT_COUNTER = upsertCounterSql(sqliteParam, 'MIN', 'MAX');
const UPSERT_WARN = upsertWarnSql(sqliteParam, 'MIN', 'MAX');

const INSERT_REQUEST = insertSql('requests', REQUEST_COLUMNS, sqliteParam);
const UPDATE_REQUEST = updateSql('requests', REQUEST_UPDATE_COLUMNS, 'id', sqliteParam);
const INSERT_DECISION = insertSql('decisions', DECISION_COLUMNS, sqliteParam);
const INSERT_TOKEN = insertSql('tokens', TOKEN_COLUMNS, sqliteParam);
const INSERT_KEY = insertSql('keys', KEY_COLUMNS, sqliteParam);
const INSERT_REVIEW = insertSql('reviews', REVIEW_COLUMNS, sqliteParam);
const INSERT_SESSION = insertSql('sessions', SESSION_COLUMNS, sqliteParam);
const INSERT_EMERGENCY = insertSql('emergency_credentials', EMERGENCY_COLUMNS, sqliteParam);
const UPSERT_INCIDENT = `${insertSql('incidents', INCIDENT_COLUMNS, sqliteParam)} ON CONFLICT (source, incident_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, doc = excluded.doc`;
const INSERT_RECEIPT = `${insertSql('incident_receipts', RECEIPT_COLUMNS, sqliteParam)} ON CONFLICT DO NOTHING`;
const CLAIM_DIGEST_RUN = CLAIM_DIGEST_RUN_SQL(sqliteParam);

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}
function isPrimaryKeyViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Writes on the writer handle; only valid between BEGIN and COMMIT run by SqliteStore. */
export class SqliteTx extends SqliteReader implements StoreTx {
  /** Entries appended in this transaction, handed to listeners after commit. */
  readonly appended: LedgerEntry[] = [];

  constructor(
    db: Database.Database,
    /** The log key's entry binder; without it rows are stored unbound (tests of storage alone). */
    private readonly binder?: EntryBinder,
  ) {
    super(db);
  }

  /** Counter changes go in with the row change, in this transaction (see counters.ts). */
  private applyCounters(rows: readonly CounterRow[]): void {
    for (const row of rows) this.stmt(UPSERT_COUNTER).run(...counterValues(row));
  }

  async insertRequest(r: BypassRequest): Promise<void> {
    this.stmt(INSERT_REQUEST).run(...SQLITE_ROWS.requestValues(r));
    this.applyCounters(requestCounters(r));
  }

  /** One writer: nothing else can change them before this transaction ends, so a read is the lock. */
  async lockForAppend(ids: readonly string[]): Promise<BypassRequest[]> {
    return this.getRequests(ids);
  }

  async updateRequest(r: BypassRequest): Promise<void> {
    const before = this.stmt('SELECT doc FROM requests WHERE id = ?').get(r.id) as DocRow | undefined;
    if (!before) throw new AppError('not_found', `request ${r.id} not found`);
    this.stmt(UPDATE_REQUEST).run(...SQLITE_ROWS.requestUpdateValues(r));
    this.applyCounters(diffCounters(requestCounters(SQLITE_ROWS.request(before)), requestCounters(r)));
  }

  async insertDecision(d: StoredDecision): Promise<void> {
    try {
      this.stmt(INSERT_DECISION).run(...SQLITE_ROWS.decisionValues(d));
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('conflict', 'this decision bundle (signature or nonce) was already submitted: replays are refused');
      throw error;
    }
  }

  async insertToken(t: StoredToken): Promise<void> {
    this.stmt(INSERT_TOKEN).run(...SQLITE_ROWS.tokenValues(t));
  }

  async revokeToken(id: string, at: string): Promise<void> {
    this.stmt('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
  }

  async insertSession(s: StoredSession): Promise<void> {
    try {
      this.stmt(INSERT_SESSION).run(...sessionValues(s));
    } catch (error) {
      if (isUniqueViolation(error) || isPrimaryKeyViolation(error)) throw new AppError('conflict', 'this ID token was already exchanged for a session: sign in again');
      throw error;
    }
  }

  async insertEmergencyCredential(c: EmergencyCredential): Promise<void> {
    try {
      this.stmt(INSERT_EMERGENCY).run(...emergencyValues(c));
    } catch (error) {
      if (isUniqueViolation(error) || isPrimaryKeyViolation(error)) throw new AppError('conflict', `emergency credential ${c.id} (or one with the same secret) already exists`);
      throw error;
    }
  }

  async updateEmergencyCredential(c: EmergencyCredential, expectedState: EmergencyCredentialState): Promise<boolean> {
    const result = this.stmt('UPDATE emergency_credentials SET state = ?, doc = ? WHERE id = ? AND state = ?').run(c.state, JSON.stringify(c), c.id, expectedState);
    return result.changes === 1;
  }

  async putIncident(i: Incident): Promise<void> {
    this.stmt(UPSERT_INCIDENT).run(...incidentValues(i));
  }

  async insertIncidentReceipt(r: IncidentReceipt): Promise<boolean> {
    return this.stmt(INSERT_RECEIPT).run(...receiptValues(r)).changes === 1;
  }

  async claimDigestRun(week: string, instance: string, now: string, leaseUntil: string): Promise<boolean> {
    return this.stmt(CLAIM_DIGEST_RUN).get(week, instance, now, leaseUntil) !== undefined;
  }

  async completeDigestRun(week: string, instance: string, sentAt: string): Promise<boolean> {
    return this.stmt('UPDATE digest_runs SET sent_at = ?, last_error = NULL WHERE week = ? AND instance = ? AND sent_at IS NULL').run(sentAt, week, instance).changes === 1;
  }

  async failDigestRun(week: string, instance: string, error: string, retryAt: string): Promise<void> {
    this.stmt('UPDATE digest_runs SET last_error = ?, lease_until = ? WHERE week = ? AND instance = ? AND sent_at IS NULL').run(error, retryAt, week, instance);
  }

  async endSession(id: string, at: string): Promise<void> {
    this.stmt('UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL').run(at, id);
  }

  async insertKey(k: EnrolledKey): Promise<void> {
    try {
      this.stmt(INSERT_KEY).run(...SQLITE_ROWS.keyValues(k));
    } catch (error) {
      if (isPrimaryKeyViolation(error) || isUniqueViolation(error)) throw new AppError('conflict', `key ${k.keyId} is already enrolled`);
      throw error;
    }
  }

  async revokeKey(keyId: string, at: string): Promise<void> {
    this.stmt('UPDATE keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL').run(at, keyId);
  }

  async insertReview(r: Review): Promise<void> {
    try {
      this.stmt(INSERT_REVIEW).run(...SQLITE_ROWS.reviewValues(r));
    } catch (error) {
      if (isUniqueViolation(error) || isPrimaryKeyViolation(error)) throw new AppError('conflict', `request ${r.requestId} already has a review`);
      throw error;
    }
    this.applyCounters(reviewCounters(r));
  }

  async updateReview(r: Review): Promise<void> {
    const before = this.stmt('SELECT doc FROM reviews WHERE id = ?').get(r.id) as DocRow | undefined;
    const result = this.stmt('UPDATE reviews SET state = ?, doc = ? WHERE id = ?').run(r.state, JSON.stringify(r), r.id);
    if (before && result.changes === 1) this.applyCounters(diffCounters(reviewCounters(SQLITE_ROWS.review(before)), reviewCounters(r)));
  }

  async incrementGateBlocks(gate: string, at: string, count = 1): Promise<void> {
    this.stmt('INSERT INTO gate_blocks (gate, count, last_at) VALUES (?, ?, ?) ON CONFLICT(gate) DO UPDATE SET count = count + excluded.count, last_at = excluded.last_at').run(gate, count, at);
    this.applyCounters([blockCounter(gate, at, count)]);
  }

  /** The next seq once this transaction has appended (it holds the write lock, so nobody else appends meanwhile). */
  private nextSeq: number | undefined;
  /** Evaluation entries whose warn counters are not written yet (one upsert per group at commit, see flushCounters). */
  private readonly uncounted: LedgerEntry[] = [];

  async appendLedger(entries: readonly NewLedgerEntry[]): Promise<LedgerEntry[]> {
    // seq is assigned here, inside the writer's transaction, so it is dense and gap-free; read
    // once per transaction (a group-commit batch appends once per warn).
    let next = this.nextSeq ?? (this.stmt('SELECT COALESCE(MAX(seq), -1) + 1 AS next FROM ledger_entries').get() as { next: number }).next;
    const insert = this.stmt('INSERT INTO ledger_entries (seq, time, type, target, entry_json, leaf_hash, binding) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const out: LedgerEntry[] = [];
    for (const draft of entries) {
      const entry = { ...draft, seq: next } as LedgerEntry;
      const text = canonicalJson(entry);
      const leaf = leafHashOfText(text);
      // Bound as it is written (shared/ledger/entry-binding.ts): a row without it is refused at start.
      const binding = this.binder ? Buffer.from(this.binder.bind(next, leaf)) : null;
      insert.run(next, entry.time, entry.type, entry.target, text, leaf, binding);
      // Past the insert only: a failed insert leaves the seq to the next append.
      this.nextSeq = ++next;
      // Hand out exactly what was hashed (canonical form, undefined fields dropped).
      const stored = JSON.parse(text) as LedgerEntry;
      out.push(stored);
      if (stored.type === 'evaluation_under_bypass') this.uncounted.push(stored);
    }
    this.appended.push(...out);
    return out;
  }

  /**
   * The warn counters of the evaluations appended so far, grouped per day, gate and request: a
   * batch of N warns on one bypass is one upsert, not N. Run before COMMIT (SqliteStore) and
   * before this transaction reads the counters, so they always count its own entries.
   */
  flushCounters(): void {
    if (this.uncounted.length === 0) return;
    for (const g of warnGroups(this.uncounted.splice(0))) this.stmt(UPSERT_WARN).run(g.day, g.gate, g.target, g.count, g.firstAt, g.lastAt);
  }

  override async counterRows(filter: CounterFilter): Promise<CounterRow[]> {
    this.flushCounters();
    return super.counterRows(filter);
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  async deleteMeta(keys: readonly string[]): Promise<void> {
    const remove = this.stmt('DELETE FROM meta WHERE key = ?');
    for (const key of keys) remove.run(key);
  }

  async lockMeta(_key: string): Promise<void> {
    // Nothing to take: a SQLite transaction is BEGIN IMMEDIATE (one writer at a time) and one
    // process holds the data directory's lock, so no other writer can interleave.
  }

  async claimMeta(key: string, value: string): Promise<boolean> {
    return this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING').run(key, value).changes === 1;
  }
}
