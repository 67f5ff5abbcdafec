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
import type { Queryable } from './connection';
import { requestListSql, requestWhereSql, reviewListSql } from '../list-page-sql';
import { type CounterDbRow, type CounterFilter, type CounterItem, type CounterRow, type ItemizedMetric, counterFromRow, counterWhere } from '../counters';

/** The expressions migration 6 indexes (ledger_entries_gate / _actor). */
const PG_LEDGER: LedgerDialect = {
  param: (n) => `$${n}`,
  gateExpr: "((entry_json::jsonb) ->> 'gate')",
  actorExpr: "((entry_json::jsonb) ->> 'actor')",
  // json, not jsonb: read once and dropped, the text parse costs a third of building a jsonb (100k entries: 0.25 s against 0.79 s).
  actorValueExpr: "((entry_json::json) ->> 'actor')",
  indexedBy: () => '',
};
const LIFECYCLE_SQL = lifecycleEntriesSql((n) => `$${n}`);

/** Where the times each itemized counter counts live (see StoreReader.counterItemTimes). */
const ITEM_SQL: Record<ItemizedMetric, string> = {
  warns:
    "SELECT l.time AS t, COALESCE(r.team, '') AS team FROM ledger_entries l LEFT JOIN requests r ON r.id = l.target WHERE l.type = 'evaluation_under_bypass' AND l.time >= $1 AND l.time < $2 AND l.entry_json::jsonb->>'gate' = $3 ORDER BY l.time",
  bypasses: 'SELECT activated_at AS t, team FROM requests WHERE activated_at >= $1 AND activated_at < $2 AND gate = $3 ORDER BY activated_at',
  requests: 'SELECT created_at AS t, team FROM requests WHERE created_at >= $1 AND created_at < $2 AND gate = $3 ORDER BY created_at',
};

/** pg parses jsonb into values and returns booleans as booleans; JSON is bound as text. */
export const PG_CODEC = {
  readJson: (value: unknown) => value,
  readBoolean: (value: unknown) => value === true,
  bindBoolean: (value: boolean) => value,
};
export const PG_ROWS = createRowMapping(PG_CODEC);

const GET_REQUEST = { name: 'bg_request', text: 'SELECT doc FROM requests WHERE id = $1' };
const GET_REQUEST_FOR_UPDATE = { name: 'bg_request_for_update', text: 'SELECT doc FROM requests WHERE id = $1 FOR UPDATE' };

/** PostgreSQL's numbered parameters: $1, $2, ... */
export const pgParam = (n: number): string => `$${n}`;

/**
 * StoreReader over a pool (committed data) or over a transaction's client. Inside a
 * transaction (`locking`), a request read is `FOR UPDATE`: two instances deciding on the same
 * request queue on its row, and the second one sees the first one's committed state (READ
 * COMMITTED takes a fresh snapshot per statement). The sweeper's due lists are `FOR UPDATE
 * SKIP LOCKED`, so every instance sweeps, with no leader, and no row is expired or lapsed twice.
 */
export class PgReader implements StoreReader {
  constructor(
    protected readonly db: Queryable,
    private readonly locking: boolean,
  ) {}

  private get forUpdate(): string {
    return this.locking ? ' FOR UPDATE' : '';
  }

  private get forUpdateSkipLocked(): string {
    return this.locking ? ' FOR UPDATE SKIP LOCKED' : '';
  }

  private async requests(sql: string, params: unknown[]): Promise<BypassRequest[]> {
    return (await this.db.query<DocRow>(sql, params)).rows.map(PG_ROWS.request);
  }

  private async reviews(sql: string, params: unknown[]): Promise<Review[]> {
    return (await this.db.query<DocRow>(sql, params)).rows.map(PG_ROWS.review);
  }

  async getRequest(id: string): Promise<BypassRequest | undefined> {
    // Named (prepared once per connection): decisions, closures and reviews read (and in a
    // transaction lock) their request with it; warn batches lock theirs with lockForAppend.
    const query = this.locking ? GET_REQUEST_FOR_UPDATE : GET_REQUEST;
    return (await this.db.query<DocRow>({ ...query, values: [id] })).rows.map(PG_ROWS.request)[0];
  }

  async listRequests(filter: RequestFilter): Promise<BypassRequest[]> {
    const q = requestListSql(pgParam, filter);
    return this.requests(q.sql, q.params);
  }

  async countRequests(filter: RequestFilter): Promise<number> {
    const where = requestWhereSql(pgParam, filter);
    return (await this.db.query<{ n: number }>(`SELECT count(*) AS n FROM requests ${where.sql}`, where.params)).rows[0]!.n;
  }

  async findActiveBypasses(gate: string, now: string): Promise<BypassRequest[]> {
    return this.requests("SELECT doc FROM requests WHERE gate = $1 AND state = 'active' AND expires_at > $2 ORDER BY expires_at DESC", [gate, now]);
  }

  async dueForExpiry(now: string): Promise<BypassRequest[]> {
    return this.requests(`SELECT doc FROM requests WHERE state = 'active' AND expires_at <= $1 ORDER BY expires_at${this.forUpdateSkipLocked}`, [now]);
  }

  async dueForLapse(now: string): Promise<BypassRequest[]> {
    return this.requests(`SELECT doc FROM requests WHERE state IN ('pending', 'needs_info') AND lapses_at <= $1 ORDER BY lapses_at${this.forUpdateSkipLocked}`, [now]);
  }

  async nextDeadline(): Promise<string | undefined> {
    const row = (
      await this.db.query<{ t: string | null }>(
        `SELECT least(
           (SELECT min(expires_at) FROM requests WHERE state = 'active'),
           (SELECT min(lapses_at) FROM requests WHERE state IN ('pending', 'needs_info'))) AS t`,
      )
    ).rows[0];
    return row?.t ?? undefined;
  }

  async listDecisions(requestId: string): Promise<StoredDecision[]> {
    return (await this.db.query<DecisionRow>('SELECT * FROM decisions WHERE request_id = $1 ORDER BY seq', [requestId])).rows.map(PG_ROWS.decision);
  }

  async decisionReplayed(signatureDigest: string, nonce: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM decisions WHERE signature_digest = $1 OR nonce = $2 LIMIT 1', [signatureDigest, nonce])).rows.length > 0;
  }

  async getEmergencyCredential(id: string): Promise<EmergencyCredential | undefined> {
    const row = (await this.db.query<DocOnlyRow>(`SELECT doc FROM emergency_credentials WHERE id = $1${this.forUpdate}`, [id])).rows[0];
    return row ? emergencyFromRow(PG_CODEC, row) : undefined;
  }

  async getEmergencyCredentialByDigest(digest: string): Promise<EmergencyCredential | undefined> {
    const row = (await this.db.query<DocOnlyRow>(`SELECT doc FROM emergency_credentials WHERE credential_digest = $1${this.forUpdate}`, [digest])).rows[0];
    return row ? emergencyFromRow(PG_CODEC, row) : undefined;
  }

  async listEmergencyCredentials(): Promise<EmergencyCredential[]> {
    return (await this.db.query<DocOnlyRow>('SELECT doc FROM emergency_credentials ORDER BY sealed_at DESC, id')).rows.map((row) => emergencyFromRow(PG_CODEC, row));
  }

  async getIncident(source: string, incidentId: string): Promise<Incident | undefined> {
    const row = (await this.db.query<DocOnlyRow>(`SELECT doc FROM incidents WHERE source = $1 AND incident_id = $2${this.forUpdate}`, [source, incidentId])).rows[0];
    return row ? incidentFromRow(PG_CODEC, row) : undefined;
  }

  async listOpenIncidents(): Promise<Incident[]> {
    return (await this.db.query<DocOnlyRow>("SELECT doc FROM incidents WHERE status <> 'resolved' ORDER BY updated_at DESC, source, incident_id")).rows.map((row) => incidentFromRow(PG_CODEC, row));
  }

  async getIncidentReceipt(source: string, eventId: string): Promise<IncidentReceipt | undefined> {
    const row = (await this.db.query<IncidentReceiptRow>('SELECT * FROM incident_receipts WHERE source = $1 AND event_id = $2', [source, eventId])).rows[0];
    return row ? receiptFromRow(row) : undefined;
  }

  async getDigestRun(week: string): Promise<DigestRun | undefined> {
    const row = (await this.db.query<DigestRunRow>('SELECT * FROM digest_runs WHERE week = $1', [week])).rows[0];
    return row ? digestRunFromRow(row) : undefined;
  }

  async getSession(id: string): Promise<StoredSession | undefined> {
    const row = (await this.db.query<SessionRow>('SELECT * FROM sessions WHERE id = $1', [id])).rows[0];
    return row ? sessionFromRow(PG_CODEC, row) : undefined;
  }

  async getSessionByHash(tokenHash: string): Promise<StoredSession | undefined> {
    const row = (await this.db.query<SessionRow>('SELECT * FROM sessions WHERE token_hash = $1', [tokenHash])).rows[0];
    return row ? sessionFromRow(PG_CODEC, row) : undefined;
  }

  async latestSessions(): Promise<StoredSession[]> {
    return (await this.db.query<SessionRow>(LATEST_SESSIONS_SQL)).rows.map((row) => sessionFromRow(PG_CODEC, row));
  }

  async getTokenByHash(tokenHash: string): Promise<StoredToken | undefined> {
    const row = (await this.db.query<TokenRow>('SELECT * FROM tokens WHERE token_hash = $1', [tokenHash])).rows[0];
    return row ? PG_ROWS.token(row) : undefined;
  }

  async getToken(id: string): Promise<StoredToken | undefined> {
    const row = (await this.db.query<TokenRow>('SELECT * FROM tokens WHERE id = $1', [id])).rows[0];
    return row ? PG_ROWS.token(row) : undefined;
  }

  async listTokens(): Promise<StoredToken[]> {
    return (await this.db.query<TokenRow>('SELECT * FROM tokens ORDER BY created_at, id')).rows.map(PG_ROWS.token);
  }

  async getKey(keyId: string): Promise<EnrolledKey | undefined> {
    const row = (await this.db.query<KeyRow>('SELECT * FROM keys WHERE key_id = $1', [keyId])).rows[0];
    return row ? PG_ROWS.key(row) : undefined;
  }

  async listKeys(principal?: string): Promise<EnrolledKey[]> {
    const result = principal
      ? await this.db.query<KeyRow>('SELECT * FROM keys WHERE principal = $1 ORDER BY enrolled_at, key_id', [principal])
      : await this.db.query<KeyRow>('SELECT * FROM keys ORDER BY enrolled_at, key_id');
    return result.rows.map(PG_ROWS.key);
  }

  async getReview(id: string): Promise<Review | undefined> {
    return (await this.reviews(`SELECT doc FROM reviews WHERE id = $1${this.forUpdate}`, [id]))[0];
  }

  async getReviewByRequest(requestId: string): Promise<Review | undefined> {
    return (await this.reviews('SELECT doc FROM reviews WHERE request_id = $1', [requestId]))[0];
  }

  async listReviews(filter: ReviewFilter = {}): Promise<Review[]> {
    const q = reviewListSql(pgParam, filter);
    return this.reviews(q.sql, q.params);
  }

  async gateBlockCounts(): Promise<GateBlockCount[]> {
    const rows = (await this.db.query<GateBlockRow>('SELECT gate, count, last_at FROM gate_blocks ORDER BY gate')).rows;
    return rows.map(gateBlockFromRow);
  }

  async counterRows(filter: CounterFilter): Promise<CounterRow[]> {
    const where = counterWhere(filter, pgParam);
    const rows = (await this.db.query<CounterDbRow>(`SELECT * FROM counters ${where.sql} ORDER BY metric, day, gate, team, subject`, where.params)).rows;
    return rows.map(counterFromRow);
  }

  async counterItems(metric: ItemizedMetric, gate: string, from: string, to: string): Promise<CounterItem[]> {
    return (await this.db.query<{ t: string; team: string }>(ITEM_SQL[metric], [from, to, gate])).rows.map((r) => ({ time: r.t, team: r.team }));
  }

  async requestsForDecisionReports(decidedSince: string): Promise<BypassRequest[]> {
    const sql = `SELECT doc FROM requests WHERE id IN (SELECT request_id FROM decisions WHERE at >= $1)
      UNION ALL SELECT doc FROM requests WHERE state IN ('pending', 'needs_info', 'lapsed') AND id NOT IN (SELECT request_id FROM decisions WHERE at >= $1)`;
    return (await this.db.query<DocRow>(sql, [decidedSince])).rows.map(PG_ROWS.request);
  }

  async openReviews(now: string, overdueBefore: string, limit: number): Promise<{ overdue: number; withinDeadline: number; oldest: Review[] }> {
    const counts = (
      await this.db.query<{ overdue: string; within: string }>(
        "SELECT COUNT(*) FILTER (WHERE opened_at < $2) AS overdue, COUNT(*) FILTER (WHERE opened_at >= $2) AS within FROM reviews WHERE state = 'review_open' AND opened_at <= $1",
        [now, overdueBefore],
      )
    ).rows[0]!;
    const oldest = await this.reviews("SELECT doc FROM reviews WHERE state = 'review_open' AND opened_at <= $1 ORDER BY opened_at, id LIMIT $2", [now, limit]);
    return { overdue: Number(counts.overdue), withinDeadline: Number(counts.within), oldest };
  }

  async latestBypasses(gate: string, team: string, from: string, to: string, limit: number): Promise<{ id: string; activatedAt: string }[]> {
    const rows = (await this.db.query<{ id: string; activated_at: string }>('SELECT id, activated_at FROM requests WHERE activated_at >= $1 AND activated_at <= $2 AND gate = $3 AND team = $4 ORDER BY activated_at DESC, id DESC LIMIT $5', [from, to, gate, team, limit])).rows;
    return rows.map((r) => ({ id: r.id, activatedAt: r.activated_at }));
  }

  async requestStateCounts(states: readonly BypassRequest['state'][]): Promise<{ gate: string; state: BypassRequest['state']; count: number }[]> {
    const rows = (await this.db.query<{ gate: string; state: BypassRequest['state']; count: string }>('SELECT gate, state, COUNT(*) AS count FROM requests WHERE state = ANY($1::text[]) GROUP BY gate, state ORDER BY gate, state', [[...states]])).rows;
    return rows.map((r) => ({ gate: r.gate, state: r.state, count: Number(r.count) }));
  }

  async auditEntries(filter: LedgerFilter, afterSeq: number, limit: number): Promise<LedgerEntry[]> {
    const q = auditEntriesSql(PG_LEDGER, filter, afterSeq, limit);
    return (await this.db.query<{ entry_json: string }>(q.sql, q.params)).rows.map((r) => ledgerEntryFromText(r.entry_json));
  }

  async ledgerSeqRange(from: string, to?: string): Promise<{ first: number; last: number } | null> {
    const q = ledgerSeqRangeSql(PG_LEDGER, from, to);
    const row = (await this.db.query<{ first: string | number | null; last: string | number | null }>(q.sql, q.params)).rows[0];
    return !row || row.first === null || row.last === null ? null : { first: Number(row.first), last: Number(row.last) };
  }

  async lifecycleEntries(afterSeq: number, limit: number): Promise<LedgerEntry[]> {
    return (await this.db.query<{ entry_json: string }>(LIFECYCLE_SQL, [afterSeq, limit])).rows.map((r) => ledgerEntryFromText(r.entry_json));
  }

  async notificationEntries(principal: string, scope: NotificationScope, afterSeq: number, limit: number): Promise<LedgerEntry[]> {
    const q = notificationEntriesSql(PG_LEDGER, principal, scope, afterSeq, limit);
    return (await this.db.query<{ entry_json: string }>(q.sql, q.params)).rows.map((r) => ledgerEntryFromText(r.entry_json));
  }

  async getRequests(ids: readonly string[]): Promise<BypassRequest[]> {
    if (ids.length === 0) return [];
    return (await this.db.query<DocRow>('SELECT doc FROM requests WHERE id = ANY($1::text[])', [[...ids]])).rows.map(PG_ROWS.request);
  }

  async getReviewsByRequests(requestIds: readonly string[]): Promise<Review[]> {
    if (requestIds.length === 0) return [];
    return (await this.db.query<DocRow>('SELECT doc FROM reviews WHERE request_id = ANY($1::text[])', [[...requestIds]])).rows.map(PG_ROWS.review);
  }

  async ledgerSize(): Promise<number> {
    // Committed seqs are dense from 0, so the size is max(seq) + 1 (an index lookup, not a count).
    return (await this.db.query<{ n: number }>('SELECT COALESCE(max(seq), -1) + 1 AS n FROM ledger_entries')).rows[0]!.n;
  }

  async getLedgerEntries(from: number, limit: number): Promise<LedgerEntry[]> {
    return (await this.getLedgerEntryTexts(from, limit)).map((r) => ledgerEntryFromText(r.text));
  }

  async ledgerEntriesForTarget(target: string): Promise<LedgerEntry[]> {
    const rows = (await this.db.query<{ entry_json: string }>('SELECT entry_json FROM ledger_entries WHERE target = $1 ORDER BY seq', [target])).rows;
    return rows.map((r) => ledgerEntryFromText(r.entry_json));
  }

  async ledgerRunsForTarget(target: string, except: readonly string[], keepUpTo: number, afterSeq = -1, limit?: number): Promise<LedgerRun[]> {
    const q = ledgerRunsSql(PG_LEDGER, target, except, keepUpTo, afterSeq, limit);
    return ledgerRunsFromRows((await this.db.query<LedgerRunRow>(q.sql, q.params)).rows);
  }

  async getLeafHashes(from: number, limit: number): Promise<Uint8Array[]> {
    const rows = (await this.db.query<LeafHashRow>('SELECT leaf_hash FROM ledger_entries WHERE seq >= $1 ORDER BY seq LIMIT $2', [from, limit])).rows;
    return rows.map(leafHashFromRow);
  }

  async getLedgerRows(from: number, limit: number): Promise<StoredLedgerRow[]> {
    const rows = (await this.db.query<LedgerBindingRow>('SELECT seq, entry_json, binding FROM ledger_entries WHERE seq >= $1 ORDER BY seq LIMIT $2', [from, limit])).rows;
    return rows.map(ledgerRowFromRow);
  }

  async getLedgerTextRange(from: number, count: number): Promise<string[]> {
    // rowMode array: one array a row instead of an object keyed by column.
    const result = await this.db.query<[string]>({ text: 'SELECT entry_json FROM ledger_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq', values: [from, from + count], rowMode: 'array' });
    return result.rows.map((r) => r[0]);
  }

  async listRequestRows(): Promise<StoredRequestRow[]> {
    return (await this.db.query<RequestColumnsRow>(`${REQUEST_ROW_SELECT} ORDER BY id`)).rows.map(PG_ROWS.requestRow);
  }

  async getRequestRow(id: string): Promise<StoredRequestRow | undefined> {
    const row = (await this.db.query<RequestColumnsRow>(`${REQUEST_ROW_SELECT} WHERE id = $1`, [id])).rows[0];
    return row ? PG_ROWS.requestRow(row) : undefined;
  }

  async listAllDecisions(): Promise<StoredDecision[]> {
    return (await this.db.query<DecisionRow>('SELECT * FROM decisions ORDER BY seq')).rows.map(PG_ROWS.decision);
  }

  async listSessions(): Promise<StoredSession[]> {
    return (await this.db.query<SessionRow>('SELECT * FROM sessions ORDER BY created_at, id')).rows.map((row) => sessionFromRow(PG_CODEC, row));
  }

  async getLedgerEntryTexts(from: number, limit: number): Promise<{ seq: number; text: string }[]> {
    const rows = (await this.db.query<LedgerTextRow>('SELECT seq, entry_json FROM ledger_entries WHERE seq >= $1 ORDER BY seq LIMIT $2', [from, limit])).rows;
    return rows.map(ledgerTextFromRow);
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
  }

  async listMeta(prefix: string): Promise<Array<{ key: string; value: string }>> {
    // starts_with, not LIKE: a prefix holding % or _ is taken literally. COLLATE "C": key order is byte order, as in SQLite.
    return (await this.db.query<{ key: string; value: string }>('SELECT key, value FROM meta WHERE starts_with(key, $1) ORDER BY key COLLATE "C"', [prefix])).rows;
  }
}
