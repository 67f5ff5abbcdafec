import { canonicalJson } from '../../../shared/canonical-json';
import type { EnrolledKey } from '../../../shared/domain/identity';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../../shared/domain/request';
import type { Review } from '../../../shared/domain/review';
import { AppError } from '../../../shared/errors';
import { leafHashOfText } from '../leaf-hash';
import { DECISION_COLUMNS, KEY_COLUMNS, REQUEST_COLUMNS, REQUEST_UPDATE_COLUMNS, REVIEW_COLUMNS, TOKEN_COLUMNS, insertSql, updateSql } from '../row-mapping';
import type { NotificationScope } from '../ledger-filter-sql';
import type { LedgerFilter, LedgerRun, NewLedgerEntry, StoreTx, StoredDecision, StoredLedgerRow, StoredToken } from '../store';
import type { EntryBinder } from '../../../shared/ledger/entry-binding';
import type { Queryable } from './connection';
import { LEDGER_CHANNEL } from './ledger-feed';
import type { StoredSession } from '../../identity/stored-session';
import { SESSION_COLUMNS, sessionValues } from '../session-rows';
import type { EmergencyCredential, EmergencyCredentialState } from '../../../shared/domain/emergency';
import type { Incident } from '../../../shared/domain/incident';
import { CLAIM_DIGEST_RUN_SQL, EMERGENCY_COLUMNS, INCIDENT_COLUMNS, RECEIPT_COLUMNS, type IncidentReceipt, emergencyValues, incidentValues, receiptValues } from '../emergency-rows';
import { PgReader, PG_ROWS, pgParam } from './pg-reader';
import { type CounterFilter, type CounterRow, blockCounter, counterMatches, diffCounters, mergeCounters, requestCounters, reviewCounters, sortCounters, warnGroups } from '../counters';
import type { DocRow } from '../row-mapping';

/**
 * A transaction's counter changes, all in one statement at commit, rows in key order (see
 * PgTx.applyCounters for why the order and the moment matter).
 */
const UPSERT_COUNTERS = {
  name: 'bg_upsert_counters',
  text: `INSERT INTO counters (metric, day, gate, team, subject, count, total, first_at, last_at)
    SELECT metric, day, gate, team, subject, count, total, first_at, last_at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::text[])
      WITH ORDINALITY AS c(metric, day, gate, team, subject, count, total, first_at, last_at, n)
    ORDER BY n
    ON CONFLICT (metric, day, gate, team, subject) DO UPDATE SET count = counters.count + excluded.count, total = counters.total + excluded.total,
      first_at = LEAST(counters.first_at, excluded.first_at), last_at = GREATEST(counters.last_at, excluded.last_at)`,
};

/** One array per field, in `fields` order: the parameters of a statement that unnests them into rows. */
function columns<T>(rows: readonly T[], fields: readonly (keyof T)[]): unknown[][] {
  return fields.map((field) => rows.map((row) => row[field]));
}

// ON CONFLICT DO NOTHING where a duplicate is a refusal, not a bug: see PgTx.
const INSERT_REQUEST = insertSql('requests', REQUEST_COLUMNS, pgParam);
const UPDATE_REQUEST = updateSql('requests', REQUEST_UPDATE_COLUMNS, 'id', pgParam);
const INSERT_DECISION = `${insertSql('decisions', DECISION_COLUMNS, pgParam)} ON CONFLICT DO NOTHING`;
const INSERT_TOKEN = insertSql('tokens', TOKEN_COLUMNS, pgParam);
const INSERT_KEY = `${insertSql('keys', KEY_COLUMNS, pgParam)} ON CONFLICT DO NOTHING`;
const INSERT_REVIEW = `${insertSql('reviews', REVIEW_COLUMNS, pgParam)} ON CONFLICT DO NOTHING`;
const INSERT_SESSION = `${insertSql('sessions', SESSION_COLUMNS, pgParam)} ON CONFLICT DO NOTHING`;
const INSERT_EMERGENCY = `${insertSql('emergency_credentials', EMERGENCY_COLUMNS, pgParam)} ON CONFLICT DO NOTHING`;
const UPSERT_INCIDENT = `${insertSql('incidents', INCIDENT_COLUMNS, pgParam)} ON CONFLICT (source, incident_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, doc = excluded.doc`;
const INSERT_RECEIPT = `${insertSql('incident_receipts', RECEIPT_COLUMNS, pgParam)} ON CONFLICT DO NOTHING`;
const CLAIM_DIGEST_RUN = CLAIM_DIGEST_RUN_SQL(pgParam);

/**
 * The warn path's statements are named (prepared once per pooled connection, then only bound
 * and executed): a group commit sends them every few milliseconds, and parsing and planning
 * the flush's CTE each time was PostgreSQL CPU spent per batch.
 */
const TAKE_SEQS = { name: 'bg_take_seqs', text: 'UPDATE ledger_head SET next_seq = next_seq + $1 RETURNING next_seq - $1 AS first' };
/**
 * lockForAppend: the requests FOR UPDATE in id order (LockRows above the Sort), then the ledger
 * head FOR UPDATE. The head's one-time filter reads all of r first, so every request is locked
 * before the head is (the lock order batches and decisions share). FOR UPDATE returns the
 * newest committed version of each row, whatever the statement's snapshot.
 */
const LOCK_FOR_APPEND = {
  name: 'bg_lock_for_append',
  text: `WITH r AS (SELECT doc FROM requests WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE),
       h AS (SELECT next_seq FROM ledger_head WHERE (SELECT count(*) FROM r) >= 0 FOR UPDATE)
     SELECT h.next_seq, r.doc FROM h LEFT JOIN r ON true`,
};
/**
 * One statement per flush: the numbered rows, the warns counters (grouped per day, gate and the
 * request's team, so no key is upserted twice), the head's move when later appends numbered
 * locally ($14, null when not), and the wake-up NOTIFY carrying the last seq ($15).
 */
const FLUSH_LEDGER = `WITH head AS (UPDATE ledger_head SET next_seq = $14::bigint WHERE $14::bigint IS NOT NULL),
       inserted AS (
         INSERT INTO ledger_entries (seq, time, type, target, entry_json, leaf_hash, binding)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $13::bytea[])),
       warns AS (
         INSERT INTO counters (metric, day, gate, team, subject, count, total, first_at, last_at)
         SELECT 'warns', w.day, w.gate, COALESCE(r.team, ''), '', sum(w.n), 0, min(w.first_at), max(w.last_at)
         FROM unnest($7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[], $12::text[]) AS w(day, gate, target, n, first_at, last_at)
         LEFT JOIN requests r ON r.id = w.target
         GROUP BY w.day, w.gate, COALESCE(r.team, '')
         ON CONFLICT (metric, day, gate, team, subject) DO UPDATE SET count = counters.count + excluded.count,
           first_at = LEAST(counters.first_at, excluded.first_at), last_at = GREATEST(counters.last_at, excluded.last_at))
       SELECT pg_notify('${LEDGER_CHANNEL}', $15::text)`;

/**
 * Writes inside one PostgreSQL transaction (opened and committed by PgStore). Uniqueness
 * conflicts use ON CONFLICT DO NOTHING and are reported as AppError('conflict') without a
 * failed statement, because a failed statement would abort the whole PostgreSQL transaction
 * (SQLite lets the caller carry on; the service may rely on that).
 */
/** The advisory-lock space (first of the two int keys) of lockMeta: "bg" + 0x6d65 ("me"). */
const META_LOCK_SPACE = 0x62676d65;

export class PgTx extends PgReader implements StoreTx {
  /** Entries appended in this transaction, in seq order (the store hands them to the local listeners after COMMIT). */
  readonly appended: LedgerEntry[] = [];
  /** The payloads (last seq of each insert) of the NOTIFYs this transaction queued: its own, for PgLedgerFeed.expectOwn. */
  readonly notified: number[] = [];

  constructor(
    db: Queryable,
    /** The log key's entry binder; without it rows are stored unbound (tests of storage alone). */
    private readonly binder?: EntryBinder,
  ) {
    super(db, true);
  }

  /** Counter changes not yet written (merged per key when written or read). */
  private readonly pendingCounters: CounterRow[] = [];

  /**
   * Counter changes go in with the row change, in this transaction (see counters.ts), but are
   * written only at commit (flushCounters), after the ledger head, in key order. Written at
   * once, a request's counters locked their rows before its entry took the head, while a
   * transaction that had appended first (holding the head) waited for the same counter row:
   * a deadlock, one second of every writer stalled, and warns shed with 503 under concurrent
   * filings. Now every transaction takes the requests it changes, then the head, then its
   * counter rows in one order, so no two can wait on each other in a cycle. Reads of the
   * counters inside the transaction add what is pending (counterRows).
   */
  private applyCounters(rows: readonly CounterRow[]): void {
    this.pendingCounters.push(...rows);
  }

  /** The pending counter changes in one statement, in key order; issued before this returns. */
  private flushCounters(): Promise<void> {
    if (this.pendingCounters.length === 0) return Promise.resolve();
    const rows = sortCounters(mergeCounters(this.pendingCounters.splice(0)));
    return this.db
      .query({
        ...UPSERT_COUNTERS,
        values: columns(rows, ['metric', 'day', 'gate', 'team', 'subject', 'count', 'total', 'firstAt', 'lastAt']),
      })
      .then(() => undefined);
  }

  /** The counters as this transaction will leave them: the stored rows plus its pending changes. */
  override async counterRows(filter: CounterFilter): Promise<CounterRow[]> {
    const stored = await super.counterRows(filter);
    const pending = this.pendingCounters.filter((r) => counterMatches(filter, r));
    return pending.length === 0 ? stored : sortCounters(mergeCounters([...stored, ...pending]));
  }

  async insertRequest(r: BypassRequest): Promise<void> {
    await this.db.query(INSERT_REQUEST, PG_ROWS.requestValues(r));
    this.applyCounters(requestCounters(r));
  }

  async updateRequest(r: BypassRequest): Promise<void> {
    const before = (await this.db.query<DocRow>('SELECT doc FROM requests WHERE id = $1 FOR UPDATE', [r.id])).rows[0];
    if (!before) throw new AppError('not_found', `request ${r.id} not found`);
    const result = await this.db.query(UPDATE_REQUEST, PG_ROWS.requestUpdateValues(r));
    if (result.rowCount !== 1) throw new AppError('not_found', `request ${r.id} not found`);
    this.applyCounters(diffCounters(requestCounters(PG_ROWS.request(before)), requestCounters(r)));
  }

  async insertDecision(d: StoredDecision): Promise<void> {
    const result = await this.db.query(INSERT_DECISION, PG_ROWS.decisionValues(d));
    if (result.rowCount !== 1) throw new AppError('conflict', 'this decision bundle (signature or nonce) was already submitted: replays are refused');
  }

  async insertToken(t: StoredToken): Promise<void> {
    await this.db.query(INSERT_TOKEN, PG_ROWS.tokenValues(t));
  }

  async revokeToken(id: string, at: string): Promise<void> {
    await this.db.query('UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]);
  }

  async insertSession(s: StoredSession): Promise<void> {
    const result = await this.db.query(INSERT_SESSION, sessionValues(s));
    if (result.rowCount !== 1) throw new AppError('conflict', 'this ID token was already exchanged for a session: sign in again');
  }

  async insertEmergencyCredential(c: EmergencyCredential): Promise<void> {
    const result = await this.db.query(INSERT_EMERGENCY, emergencyValues(c));
    if (result.rowCount !== 1) throw new AppError('conflict', `emergency credential ${c.id} (or one with the same secret) already exists`);
  }

  async updateEmergencyCredential(c: EmergencyCredential, expectedState: EmergencyCredentialState): Promise<boolean> {
    const result = await this.db.query('UPDATE emergency_credentials SET state = $1, doc = $2 WHERE id = $3 AND state = $4', [c.state, JSON.stringify(c), c.id, expectedState]);
    return result.rowCount === 1;
  }

  async putIncident(i: Incident): Promise<void> {
    await this.db.query(UPSERT_INCIDENT, incidentValues(i));
  }

  async insertIncidentReceipt(r: IncidentReceipt): Promise<boolean> {
    return (await this.db.query(INSERT_RECEIPT, receiptValues(r))).rowCount === 1;
  }

  async claimDigestRun(week: string, instance: string, now: string, leaseUntil: string): Promise<boolean> {
    return (await this.db.query(CLAIM_DIGEST_RUN, [week, instance, now, leaseUntil])).rowCount === 1;
  }

  async completeDigestRun(week: string, instance: string, sentAt: string): Promise<boolean> {
    return (await this.db.query('UPDATE digest_runs SET sent_at = $1, last_error = NULL WHERE week = $2 AND instance = $3 AND sent_at IS NULL', [sentAt, week, instance])).rowCount === 1;
  }

  async failDigestRun(week: string, instance: string, error: string, retryAt: string): Promise<void> {
    await this.db.query('UPDATE digest_runs SET last_error = $1, lease_until = $2 WHERE week = $3 AND instance = $4 AND sent_at IS NULL', [error, retryAt, week, instance]);
  }

  async endSession(id: string, at: string): Promise<void> {
    await this.db.query('UPDATE sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL', [at, id]);
  }

  async insertKey(k: EnrolledKey): Promise<void> {
    const result = await this.db.query(INSERT_KEY, PG_ROWS.keyValues(k));
    if (result.rowCount !== 1) throw new AppError('conflict', `key ${k.keyId} is already enrolled`);
  }

  async revokeKey(keyId: string, at: string): Promise<void> {
    await this.db.query('UPDATE keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL', [at, keyId]);
  }

  async insertReview(r: Review): Promise<void> {
    const result = await this.db.query(INSERT_REVIEW, PG_ROWS.reviewValues(r));
    if (result.rowCount !== 1) throw new AppError('conflict', `request ${r.requestId} already has a review`);
    this.applyCounters(reviewCounters(r));
  }

  async updateReview(r: Review): Promise<void> {
    const before = (await this.db.query<DocRow>('SELECT doc FROM reviews WHERE id = $1 FOR UPDATE', [r.id])).rows[0];
    const result = await this.db.query('UPDATE reviews SET state = $1, doc = $2 WHERE id = $3', [r.state, JSON.stringify(r), r.id]);
    if (before && result.rowCount === 1) this.applyCounters(diffCounters(reviewCounters(PG_ROWS.review(before)), reviewCounters(r)));
  }

  async incrementGateBlocks(gate: string, at: string, count = 1): Promise<void> {
    await this.db.query(
      'INSERT INTO gate_blocks (gate, count, last_at) VALUES ($1, $2, $3) ON CONFLICT (gate) DO UPDATE SET count = gate_blocks.count + excluded.count, last_at = GREATEST(gate_blocks.last_at, excluded.last_at)',
      [gate, count, at],
    );
    this.applyCounters([blockCounter(gate, at, count)]);
  }

  /** Next seq while this transaction holds the head row (after its first append). */
  private nextSeq: number | undefined;
  /** The head row still needs `next_seq = nextSeq` written before commit. */
  private headDirty = false;
  /** Numbered entries not yet inserted (written in one statement, see flushLedger). */
  private readonly buffered: { seq: number; time: string; type: string; target: string; gate: string | null; text: string; hash: Buffer; binding: Buffer | null }[] = [];

  async lockForAppend(ids: readonly string[]): Promise<BypassRequest[]> {
    const rows = (await this.db.query<{ next_seq: number; doc: DocRow['doc'] | null }>({ ...LOCK_FOR_APPEND, values: [[...ids]] })).rows;
    // We hold the head now: appends number from it locally, and the flush moves it.
    if (this.nextSeq === undefined) this.nextSeq = rows[0]!.next_seq;
    return rows.flatMap((row) => (row.doc === null ? [] : [PG_ROWS.request({ doc: row.doc })]));
  }

  async appendLedger(entries: readonly NewLedgerEntry[]): Promise<LedgerEntry[]> {
    if (entries.length === 0) return [];
    // Take the next seqs by moving the head. The row lock is held until this transaction
    // commits, so appenders on every instance are numbered in commit order, densely: a
    // rolled-back transaction also rolls back its head move and leaves no gap. Later appends
    // in the same transaction (and all of them after lockForAppend, which took the lock) number
    // locally, and the rows are inserted in
    // one statement before the next ledger read or the commit: a group commit of N warns
    // costs one head lock and one insert, not 2N round trips.
    if (this.nextSeq === undefined) {
      const head = await this.db.query<{ first: number }>({ ...TAKE_SEQS, values: [entries.length] });
      this.nextSeq = head.rows[0]!.first;
    } else {
      this.headDirty = true;
    }
    const out: LedgerEntry[] = [];
    for (const draft of entries) {
      const seq = this.nextSeq++;
      const entry = { ...draft, seq } as LedgerEntry;
      const text = canonicalJson(entry);
      const hash = leafHashOfText(text);
      // Bound as it is written (shared/ledger/entry-binding.ts): a row without it is refused at start.
      const binding = this.binder ? Buffer.from(this.binder.bind(seq, hash)) : null;
      this.buffered.push({ seq, time: entry.time, type: entry.type, target: entry.target, gate: entry.gate, text, hash, binding });
      out.push(JSON.parse(text) as LedgerEntry);
    }
    this.appended.push(...out);
    return out;
  }

  /**
   * Insert the buffered entries and queue the wake-up NOTIFY (delivered only on commit), in one
   * statement (FLUSH_LEDGER): a group commit's ledger work is one round trip.
   */
  private flushLedger(): Promise<void> {
    if (this.buffered.length === 0) return Promise.resolve();
    const rows = this.buffered.splice(0);
    const warns = warnGroups(rows);
    // We hold the head's row lock (taken by the first append), so setting it is safe here.
    const head = this.headDirty ? this.nextSeq! : null;
    this.headDirty = false;
    const last = rows[rows.length - 1]!.seq;
    this.notified.push(last);
    return this.db.query({
      name: 'bg_ledger_flush',
      text: FLUSH_LEDGER,
      values: [
        ...columns(rows, ['seq', 'time', 'type', 'target', 'text', 'hash']),
        ...columns(warns, ['day', 'gate', 'target', 'count', 'firstAt', 'lastAt']),
        ...columns(rows, ['binding']),
        head,
        String(last),
      ],
    }).then(() => undefined);
  }

  /**
   * PgStore calls this right before COMMIT: buffered entries in, head moved to match (one
   * statement). The statement is issued, and `notified` updated, before this returns (so that
   * COMMIT can be written right behind it); the promise is its answer.
   */
  beforeCommit(): Promise<void> {
    // Both issued now, in this order (pipelined: one round trip with COMMIT): the entries (and
    // the warns counters, under the head this transaction holds), then the other counters.
    const flushed = this.flushLedger();
    const counted = this.flushCounters();
    return Promise.all([flushed, counted]).then(() => undefined);
  }

  // Ledger reads inside the transaction see its own appends.
  override async ledgerSize(): Promise<number> {
    await this.flushLedger();
    return super.ledgerSize();
  }

  override async getLedgerEntries(from: number, limit: number): Promise<LedgerEntry[]> {
    await this.flushLedger();
    return super.getLedgerEntries(from, limit);
  }

  override async ledgerEntriesForTarget(target: string): Promise<LedgerEntry[]> {
    await this.flushLedger();
    return super.ledgerEntriesForTarget(target);
  }

  override async ledgerRunsForTarget(target: string, except: readonly string[], keepUpTo: number, afterSeq = -1, limit?: number): Promise<LedgerRun[]> {
    await this.flushLedger();
    return super.ledgerRunsForTarget(target, except, keepUpTo, afterSeq, limit);
  }

  override async auditEntries(filter: LedgerFilter, afterSeq: number, limit: number): Promise<LedgerEntry[]> {
    await this.flushLedger();
    return super.auditEntries(filter, afterSeq, limit);
  }

  override async lifecycleEntries(afterSeq: number, limit: number): Promise<LedgerEntry[]> {
    await this.flushLedger();
    return super.lifecycleEntries(afterSeq, limit);
  }

  override async notificationEntries(principal: string, scope: NotificationScope, afterSeq: number, limit: number): Promise<LedgerEntry[]> {
    await this.flushLedger();
    return super.notificationEntries(principal, scope, afterSeq, limit);
  }

  override async getLeafHashes(from: number, limit: number): Promise<Uint8Array[]> {
    await this.flushLedger();
    return super.getLeafHashes(from, limit);
  }

  override async getLedgerEntryTexts(from: number, limit: number): Promise<{ seq: number; text: string }[]> {
    await this.flushLedger();
    return super.getLedgerEntryTexts(from, limit);
  }

  override async getLedgerRows(from: number, limit: number): Promise<StoredLedgerRow[]> {
    await this.flushLedger();
    return super.getLedgerRows(from, limit);
  }

  override async getLedgerTextRange(from: number, count: number): Promise<string[]> {
    await this.flushLedger();
    return super.getLedgerTextRange(from, count);
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async deleteMeta(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.db.query('DELETE FROM meta WHERE key = ANY($1::text[])', [keys]);
  }

  async lockMeta(key: string): Promise<void> {
    // A transaction-level advisory lock in its own two-key space (the migration lock uses the
    // one-key space, so they never collide): released at COMMIT or ROLLBACK, even on a crash.
    await this.db.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [META_LOCK_SPACE, key]);
  }

  async claimMeta(key: string, value: string): Promise<boolean> {
    // A concurrent claim of the same key waits on the unique index and then inserts nothing.
    return ((await this.db.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value])).rowCount ?? 0) === 1;
  }
}
