import type Database from 'better-sqlite3';
import type { EnrolledKey } from '../../../shared/domain/identity';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../../shared/domain/request';
import type { Review } from '../../../shared/domain/review';
import { type DecisionRow, type DocRow, type LedgerBindingRow, type RequestColumnsRow, REQUEST_ROW_SELECT, ledgerRowFromRow, type GateBlockRow, type KeyRow, type LeafHashRow, type LedgerTextRow, type TokenRow, createRowMapping, gateBlockFromRow, leafHashFromRow, ledgerEntryFromText, ledgerRunsFromRows, ledgerTextFromRow } from '../row-mapping';
import type { StoredSession } from '../../identity/stored-session';
import { LATEST_SESSIONS_SQL, sessionFromRow, type SessionRow } from '../session-rows';
import type { EmergencyCredential } from '../../../shared/domain/emergency';
import type { Incident } from '../../../shared/domain/incident';
import { type DigestRun, type DigestRunRow, type DocOnlyRow, type IncidentReceipt, type IncidentReceiptRow, digestRunFromRow, emergencyFromRow, incidentFromRow, receiptFromRow } from '../emergency-rows';
import type { GateBlockCount, LedgerFilter, LedgerRun, RequestFilter, ReviewFilter, StoreReader, StoredDecision, StoredLedgerRow, StoredRequestRow, StoredToken } from '../store';
import { type LedgerDialect, type NotificationScope, auditEntriesSql, ledgerRunsSql, type LedgerRunRow, ledgerSeqRangeSql, lifecycleEntriesSql, notificationEntriesSql } from '../ledger-filter-sql';
import { requestListSql, requestWhereSql, reviewListSql } from '../list-page-sql';

/** The expressions migration 6 indexes (ledger_entries_gate / _actor). */
export const SQLITE_LEDGER: LedgerDialect = { param: () => '?', gateExpr: "json_extract(entry_json, '$.gate')", actorExpr: "json_extract(entry_json, '$.actor')", actorValueExpr: "json_extract(entry_json, '$.actor')", indexedBy: (index) => ` INDEXED BY ${index}` };
import { type CounterDbRow, type CounterFilter, type CounterItem, type CounterRow, type ItemizedMetric, counterFromRow, counterWhere } from '../counters';

/** Where the times each itemized counter counts live (see StoreReader.counterItemTimes). */
const ITEM_SQL: Record<ItemizedMetric, string> = {
  warns:
    "SELECT l.time AS t, COALESCE(r.team, '') AS team FROM ledger_entries l LEFT JOIN requests r ON r.id = l.target WHERE l.type = 'evaluation_under_bypass' AND l.time >= ? AND l.time < ? AND json_extract(l.entry_json, '$.gate') = ? ORDER BY l.time",
  bypasses: 'SELECT activated_at AS t, team FROM requests WHERE activated_at >= ? AND activated_at < ? AND gate = ? ORDER BY activated_at',
  requests: 'SELECT created_at AS t, team FROM requests WHERE created_at >= ? AND created_at < ? AND gate = ? ORDER BY created_at',
};

/** SQLite keeps JSON in TEXT columns and booleans as INTEGER 0/1. */
export const SQLITE_CODEC = {
  readJson: (value: unknown) => JSON.parse(value as string) as unknown,
  readBoolean: (value: unknown) => value === 1,
  bindBoolean: (value: boolean) => (value ? 1 : 0),
};
export const SQLITE_ROWS = createRowMapping(SQLITE_CODEC);

/** SQLite's positional parameter. */
export const sqliteParam = (): string => '?';

/** getRequests caches its statement for lists up to this long (one statement per length). */
const CACHED_ID_LISTS = 8;

const STATEMENTS = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** StoreReader over one better-sqlite3 handle (the read connection, or the writer inside a tx). */
export class SqliteReader implements StoreReader {
  private textRange: Database.Statement | undefined;

  constructor(protected readonly db: Database.Database) {}

  /** Prepared statements are cached per handle (shared by every transaction on the writer): preparing dominates small queries. */
  protected stmt(sql: string): Database.Statement {
    let cache = STATEMENTS.get(this.db);
    if (!cache) {
      cache = new Map();
      STATEMENTS.set(this.db, cache);
    }
    let statement = cache.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  }

  async getRequest(id: string): Promise<BypassRequest | undefined> {
    const row = this.stmt('SELECT doc FROM requests WHERE id = ?').get(id) as DocRow | undefined;
    return row ? SQLITE_ROWS.request(row) : undefined;
  }

  async listRequests(filter: RequestFilter): Promise<BypassRequest[]> {
    const q = requestListSql(sqliteParam, filter);
    return (this.stmt(q.sql).all(...q.params) as DocRow[]).map(SQLITE_ROWS.request);
  }

  async countRequests(filter: RequestFilter): Promise<number> {
    const where = requestWhereSql(sqliteParam, filter);
    const row = this.stmt(`SELECT COUNT(*) AS n FROM requests ${where.sql}`).get(...where.params) as { n: number };
    return row.n;
  }

  async findActiveBypasses(gate: string, now: string): Promise<BypassRequest[]> {
    const rows = this.db
      .prepare("SELECT doc FROM requests WHERE gate = ? AND state = 'active' AND expires_at > ? ORDER BY expires_at DESC")
      .all(gate, now) as DocRow[];
    return rows.map(SQLITE_ROWS.request);
  }

  // The sweeper runs these every 250 ms: INDEXED BY pins the partial deadline indexes (migration 2),
  // which the planner, having no statistics, would otherwise pass over for requests_state.
  async dueForExpiry(now: string): Promise<BypassRequest[]> {
    const rows = this.stmt("SELECT doc FROM requests INDEXED BY requests_active_expiry WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at").all(now) as DocRow[];
    return rows.map(SQLITE_ROWS.request);
  }

  async dueForLapse(now: string): Promise<BypassRequest[]> {
    const rows = this.stmt("SELECT doc FROM requests INDEXED BY requests_open_lapse WHERE state IN ('pending', 'needs_info') AND lapses_at <= ? ORDER BY lapses_at").all(now) as DocRow[];
    return rows.map(SQLITE_ROWS.request);
  }

  async nextDeadline(): Promise<string | undefined> {
    const row = this.stmt(
      `SELECT MIN(t) AS t FROM (
         SELECT MIN(expires_at) AS t FROM requests INDEXED BY requests_active_expiry WHERE state = 'active'
         UNION ALL SELECT MIN(lapses_at) AS t FROM requests INDEXED BY requests_open_lapse WHERE state IN ('pending', 'needs_info'))`,
    ).get() as { t: string | null };
    return row.t ?? undefined;
  }

  async listDecisions(requestId: string): Promise<StoredDecision[]> {
    const rows = this.stmt('SELECT * FROM decisions WHERE request_id = ? ORDER BY seq').all(requestId) as DecisionRow[];
    return rows.map(SQLITE_ROWS.decision);
  }

  async decisionReplayed(signatureDigest: string, nonce: string): Promise<boolean> {
    return this.stmt('SELECT 1 FROM decisions WHERE signature_digest = ? OR nonce = ?').get(signatureDigest, nonce) !== undefined;
  }

  async getEmergencyCredential(id: string): Promise<EmergencyCredential | undefined> {
    const row = this.stmt('SELECT doc FROM emergency_credentials WHERE id = ?').get(id) as DocOnlyRow | undefined;
    return row ? emergencyFromRow(SQLITE_CODEC, row) : undefined;
  }

  async getEmergencyCredentialByDigest(digest: string): Promise<EmergencyCredential | undefined> {
    const row = this.stmt('SELECT doc FROM emergency_credentials WHERE credential_digest = ?').get(digest) as DocOnlyRow | undefined;
    return row ? emergencyFromRow(SQLITE_CODEC, row) : undefined;
  }

  async listEmergencyCredentials(): Promise<EmergencyCredential[]> {
    return (this.stmt('SELECT doc FROM emergency_credentials ORDER BY sealed_at DESC, id').all() as DocOnlyRow[]).map((row) => emergencyFromRow(SQLITE_CODEC, row));
  }

  async getIncident(source: string, incidentId: string): Promise<Incident | undefined> {
    const row = this.stmt('SELECT doc FROM incidents WHERE source = ? AND incident_id = ?').get(source, incidentId) as DocOnlyRow | undefined;
    return row ? incidentFromRow(SQLITE_CODEC, row) : undefined;
  }

  async listOpenIncidents(): Promise<Incident[]> {
    return (this.stmt("SELECT doc FROM incidents WHERE status <> 'resolved' ORDER BY updated_at DESC, source, incident_id").all() as DocOnlyRow[]).map((row) => incidentFromRow(SQLITE_CODEC, row));
  }

  async getIncidentReceipt(source: string, eventId: string): Promise<IncidentReceipt | undefined> {
    const row = this.stmt('SELECT * FROM incident_receipts WHERE source = ? AND event_id = ?').get(source, eventId) as IncidentReceiptRow | undefined;
    return row ? receiptFromRow(row) : undefined;
  }

  async getDigestRun(week: string): Promise<DigestRun | undefined> {
    const row = this.stmt('SELECT * FROM digest_runs WHERE week = ?').get(week) as DigestRunRow | undefined;
    return row ? digestRunFromRow(row) : undefined;
  }

  async getSession(id: string): Promise<StoredSession | undefined> {
    const row = this.stmt('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
    return row ? sessionFromRow(SQLITE_CODEC, row) : undefined;
  }

  async getSessionByHash(tokenHash: string): Promise<StoredSession | undefined> {
    const row = this.stmt('SELECT * FROM sessions WHERE token_hash = ?').get(tokenHash) as SessionRow | undefined;
    return row ? sessionFromRow(SQLITE_CODEC, row) : undefined;
  }

  async latestSessions(): Promise<StoredSession[]> {
    return (this.stmt(LATEST_SESSIONS_SQL).all() as SessionRow[]).map((row) => sessionFromRow(SQLITE_CODEC, row));
  }

  async getTokenByHash(tokenHash: string): Promise<StoredToken | undefined> {
    const row = this.stmt('SELECT * FROM tokens WHERE token_hash = ?').get(tokenHash) as TokenRow | undefined;
    return row ? SQLITE_ROWS.token(row) : undefined;
  }

  async getToken(id: string): Promise<StoredToken | undefined> {
    const row = this.stmt('SELECT * FROM tokens WHERE id = ?').get(id) as TokenRow | undefined;
    return row ? SQLITE_ROWS.token(row) : undefined;
  }

  async listTokens(): Promise<StoredToken[]> {
    return (this.stmt('SELECT * FROM tokens ORDER BY created_at, id').all() as TokenRow[]).map(SQLITE_ROWS.token);
  }

  async getKey(keyId: string): Promise<EnrolledKey | undefined> {
    const row = this.stmt('SELECT * FROM keys WHERE key_id = ?').get(keyId) as KeyRow | undefined;
    return row ? SQLITE_ROWS.key(row) : undefined;
  }

  async listKeys(principal?: string): Promise<EnrolledKey[]> {
    const rows = principal
      ? (this.stmt('SELECT * FROM keys WHERE principal = ? ORDER BY enrolled_at, key_id').all(principal) as KeyRow[])
      : (this.stmt('SELECT * FROM keys ORDER BY enrolled_at, key_id').all() as KeyRow[]);
    return rows.map(SQLITE_ROWS.key);
  }

  async getReview(id: string): Promise<Review | undefined> {
    const row = this.stmt('SELECT doc FROM reviews WHERE id = ?').get(id) as DocRow | undefined;
    return row ? SQLITE_ROWS.review(row) : undefined;
  }

  async getReviewByRequest(requestId: string): Promise<Review | undefined> {
    const row = this.stmt('SELECT doc FROM reviews WHERE request_id = ?').get(requestId) as DocRow | undefined;
    return row ? SQLITE_ROWS.review(row) : undefined;
  }

  async listReviews(filter: ReviewFilter = {}): Promise<Review[]> {
    const q = reviewListSql(sqliteParam, filter);
    return (this.stmt(q.sql).all(...q.params) as DocRow[]).map(SQLITE_ROWS.review);
  }

  async gateBlockCounts(): Promise<GateBlockCount[]> {
    const rows = this.stmt('SELECT gate, count, last_at FROM gate_blocks ORDER BY gate').all() as GateBlockRow[];
    return rows.map(gateBlockFromRow);
  }

  async counterRows(filter: CounterFilter): Promise<CounterRow[]> {
    const where = counterWhere(filter, () => '?');
    const rows = this.stmt(`SELECT * FROM counters ${where.sql} ORDER BY metric, day, gate, team, subject`).all(...where.params) as CounterDbRow[];
    return rows.map(counterFromRow);
  }

  async counterItems(metric: ItemizedMetric, gate: string, from: string, to: string): Promise<CounterItem[]> {
    return (this.stmt(ITEM_SQL[metric]).all(from, to, gate) as { t: string; team: string }[]).map((r) => ({ time: r.t, team: r.team }));
  }

  async requestsForDecisionReports(decidedSince: string): Promise<BypassRequest[]> {
    const rows = this.stmt(
      `SELECT doc FROM requests WHERE id IN (SELECT request_id FROM decisions WHERE at >= ?)
       UNION SELECT doc FROM requests WHERE state IN ('pending', 'needs_info', 'lapsed')`,
    ).all(decidedSince) as DocRow[];
    return rows.map(SQLITE_ROWS.request);
  }

  async openReviews(now: string, overdueBefore: string, limit: number): Promise<{ overdue: number; withinDeadline: number; oldest: Review[] }> {
    const count = (sql: string, ...params: string[]) => (this.stmt(`SELECT COUNT(*) AS n FROM reviews WHERE state = 'review_open' AND ${sql}`).get(...params) as { n: number }).n;
    const oldest = this.stmt("SELECT doc FROM reviews WHERE state = 'review_open' AND opened_at <= ? ORDER BY opened_at, id LIMIT ?").all(now, limit) as DocRow[];
    return { overdue: count('opened_at < ?', overdueBefore), withinDeadline: count('opened_at >= ? AND opened_at <= ?', overdueBefore, now), oldest: oldest.map(SQLITE_ROWS.review) };
  }

  async latestBypasses(gate: string, team: string, from: string, to: string, limit: number): Promise<{ id: string; activatedAt: string }[]> {
    const rows = this.stmt('SELECT id, activated_at FROM requests WHERE activated_at >= ? AND activated_at <= ? AND gate = ? AND team = ? ORDER BY activated_at DESC, id DESC LIMIT ?').all(from, to, gate, team, limit) as { id: string; activated_at: string }[];
    return rows.map((r) => ({ id: r.id, activatedAt: r.activated_at }));
  }

  async requestStateCounts(states: readonly BypassRequest['state'][]): Promise<{ gate: string; state: BypassRequest['state']; count: number }[]> {
    if (states.length === 0) return [];
    return this.db.prepare(`SELECT gate, state, COUNT(*) AS count FROM requests WHERE state IN (${states.map(() => '?').join(', ')}) GROUP BY gate, state ORDER BY gate, state`).all(...states) as { gate: string; state: BypassRequest['state']; count: number }[];
  }

  async auditEntries(filter: LedgerFilter, afterSeq: number, limit: number): Promise<LedgerEntry[]> {
    const q = auditEntriesSql(SQLITE_LEDGER, filter, afterSeq, limit);
    return (this.stmt(q.sql).all(...q.params) as { entry_json: string }[]).map((r) => ledgerEntryFromText(r.entry_json));
  }

  async ledgerSeqRange(from: string, to?: string): Promise<{ first: number; last: number } | null> {
    const q = ledgerSeqRangeSql(SQLITE_LEDGER, from, to);
    const row = this.stmt(q.sql).get(...q.params) as { first: number | null; last: number | null };
    return row.first === null || row.last === null ? null : { first: row.first, last: row.last };
  }

  async lifecycleEntries(afterSeq: number, limit: number): Promise<LedgerEntry[]> {
    return (this.stmt(lifecycleEntriesSql(() => '?')).all(afterSeq, limit) as { entry_json: string }[]).map((r) => ledgerEntryFromText(r.entry_json));
  }

  async notificationEntries(principal: string, scope: NotificationScope, afterSeq: number, limit: number): Promise<LedgerEntry[]> {
    const q = notificationEntriesSql(SQLITE_LEDGER, principal, scope, afterSeq, limit);
    return (this.stmt(q.sql).all(...q.params) as { entry_json: string }[]).map((r) => ledgerEntryFromText(r.entry_json));
  }

  async getRequests(ids: readonly string[]): Promise<BypassRequest[]> {
    if (ids.length === 0) return [];
    // A warn batch reads the one or few bypasses it confirms (lockForAppend): those statements
    // are cached (preparing one was ~2 % of a warn's CPU); a long list is prepared once and dropped.
    const sql = `SELECT doc FROM requests WHERE id IN (${ids.map(() => '?').join(', ')})`;
    const statement = ids.length <= CACHED_ID_LISTS ? this.stmt(sql) : this.db.prepare(sql);
    return (statement.all(...ids) as DocRow[]).map(SQLITE_ROWS.request);
  }

  async getReviewsByRequests(requestIds: readonly string[]): Promise<Review[]> {
    if (requestIds.length === 0) return [];
    return (this.db.prepare(`SELECT doc FROM reviews WHERE request_id IN (${requestIds.map(() => '?').join(', ')})`).all(...requestIds) as DocRow[]).map(SQLITE_ROWS.review);
  }

  async ledgerSize(): Promise<number> {
    // seq is dense from 0: the size is max(seq) + 1, an index lookup (COUNT(*) scans the table).
    return (this.stmt('SELECT COALESCE(MAX(seq), -1) + 1 AS n FROM ledger_entries').get() as { n: number }).n;
  }

  async getLedgerEntries(from: number, limit: number): Promise<LedgerEntry[]> {
    return (await this.getLedgerEntryTexts(from, limit)).map((r) => ledgerEntryFromText(r.text));
  }

  async ledgerEntriesForTarget(target: string): Promise<LedgerEntry[]> {
    const rows = this.stmt('SELECT entry_json FROM ledger_entries WHERE target = ? ORDER BY seq').all(target) as { entry_json: string }[];
    return rows.map((r) => ledgerEntryFromText(r.entry_json));
  }

  async ledgerRunsForTarget(target: string, except: readonly string[], keepUpTo: number, afterSeq = -1, limit?: number): Promise<LedgerRun[]> {
    const q = ledgerRunsSql(SQLITE_LEDGER, target, except, keepUpTo, afterSeq, limit);
    return ledgerRunsFromRows(this.stmt(q.sql).all(...q.params) as LedgerRunRow[]);
  }

  async getLeafHashes(from: number, limit: number): Promise<Uint8Array[]> {
    const rows = this.stmt('SELECT leaf_hash FROM ledger_entries WHERE seq >= ? ORDER BY seq LIMIT ?').all(from, limit) as LeafHashRow[];
    return rows.map(leafHashFromRow);
  }

  async getLedgerEntryTexts(from: number, limit: number): Promise<{ seq: number; text: string }[]> {
    const rows = this.stmt('SELECT seq, entry_json FROM ledger_entries WHERE seq >= ? ORDER BY seq LIMIT ?').all(from, limit) as LedgerTextRow[];
    return rows.map(ledgerTextFromRow);
  }

  async getLedgerRows(from: number, limit: number): Promise<StoredLedgerRow[]> {
    const rows = this.stmt('SELECT seq, entry_json, binding FROM ledger_entries WHERE seq >= ? ORDER BY seq LIMIT ?').all(from, limit) as LedgerBindingRow[];
    return rows.map(ledgerRowFromRow);
  }

  async getLedgerTextRange(from: number, count: number): Promise<string[]> {
    // A statement of its own: pluck() is a property of the statement (the cache shares them).
    let statement = this.textRange;
    if (!statement) this.textRange = statement = this.db.prepare('SELECT entry_json FROM ledger_entries WHERE seq >= ? AND seq < ? ORDER BY seq').pluck();
    return statement.all(from, from + count) as string[];
  }

  async listRequestRows(): Promise<StoredRequestRow[]> {
    return (this.stmt(`${REQUEST_ROW_SELECT} ORDER BY id`).all() as RequestColumnsRow[]).map(SQLITE_ROWS.requestRow);
  }

  async getRequestRow(id: string): Promise<StoredRequestRow | undefined> {
    const row = this.stmt(`${REQUEST_ROW_SELECT} WHERE id = ?`).get(id) as RequestColumnsRow | undefined;
    return row ? SQLITE_ROWS.requestRow(row) : undefined;
  }

  async listAllDecisions(): Promise<StoredDecision[]> {
    return (this.stmt('SELECT * FROM decisions ORDER BY seq').all() as DecisionRow[]).map(SQLITE_ROWS.decision);
  }

  async listSessions(): Promise<StoredSession[]> {
    return (this.stmt('SELECT * FROM sessions ORDER BY created_at, id').all() as SessionRow[]).map((row) => sessionFromRow(SQLITE_CODEC, row));
  }

  async getMeta(key: string): Promise<string | undefined> {
    const row = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  async listMeta(prefix: string): Promise<Array<{ key: string; value: string }>> {
    // substr, not LIKE: a prefix holding % or _ is taken literally.
    return this.stmt('SELECT key, value FROM meta WHERE substr(key, 1, length(?)) = ? ORDER BY key').all(prefix, prefix) as Array<{ key: string; value: string }>;
  }
}
