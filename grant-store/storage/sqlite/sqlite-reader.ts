import type Database from 'better-sqlite3';
import type { EnrolledKey } from '../../../shared/domain/identity';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../../shared/domain/request';
import type { Review } from '../../../shared/domain/review';
import type { GateBlockCount, RequestFilter, StoreReader, StoredDecision, StoredToken } from '../store';

interface TokenRow {
  id: string;
  token_hash: string;
  principal: string;
  roles: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}
interface KeyRow {
  key_id: string;
  principal: string;
  public_key_pem: string;
  hardware_backed: number;
  label: string | null;
  enrolled_at: string;
  revoked_at: string | null;
}
interface DecisionRow {
  seq: number;
  request_id: string;
  decision: StoredDecision['decision'];
  approver: string;
  key_id: string;
  comment: string;
  ttl: string | null;
  at: string;
  signature_digest: string;
  nonce: string;
  bundle: string;
}

export function tokenFromRow(row: TokenRow): StoredToken {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    principal: row.principal,
    roles: JSON.parse(row.roles) as StoredToken['roles'],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

export function keyFromRow(row: KeyRow): EnrolledKey {
  return {
    keyId: row.key_id,
    principal: row.principal,
    publicKeyPem: row.public_key_pem,
    hardwareBacked: row.hardware_backed === 1,
    label: row.label,
    enrolledAt: row.enrolled_at,
    revokedAt: row.revoked_at,
  };
}

function decisionFromRow(row: DecisionRow): StoredDecision {
  return {
    requestId: row.request_id,
    decision: row.decision,
    approver: row.approver,
    keyId: row.key_id,
    comment: row.comment,
    ttl: row.ttl,
    at: row.at,
    seq: row.seq,
    signatureDigest: row.signature_digest,
    nonce: row.nonce,
    bundle: JSON.parse(row.bundle) as StoredDecision['bundle'],
  };
}

/** Build a WHERE clause for a request filter. */
function requestWhere(filter: RequestFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.states && filter.states.length > 0) {
    clauses.push(`state IN (${filter.states.map(() => '?').join(',')})`);
    params.push(...filter.states);
  }
  if (filter.requester) {
    clauses.push('requester = ?');
    params.push(filter.requester);
  }
  if (filter.team) {
    clauses.push('team = ?');
    params.push(filter.team);
  }
  if (filter.gate) {
    clauses.push('gate = ?');
    params.push(filter.gate);
  }
  if (filter.createdSince) {
    clauses.push('created_at >= ?');
    params.push(filter.createdSince);
  }
  if (filter.activatedSince) {
    clauses.push('activated_at >= ?');
    params.push(filter.activatedSince);
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

const STATEMENTS = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** StoreReader over one better-sqlite3 handle (the read connection, or the writer inside a tx). */
export class SqliteReader implements StoreReader {
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
    const row = this.stmt('SELECT doc FROM requests WHERE id = ?').get(id) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as BypassRequest) : undefined;
  }

  async listRequests(filter: RequestFilter): Promise<BypassRequest[]> {
    const where = requestWhere(filter);
    const limit = filter.limit ? ` LIMIT ${Math.floor(filter.limit)}` : '';
    const rows = this.stmt(`SELECT doc FROM requests ${where.sql} ORDER BY created_at DESC, id DESC${limit}`).all(...where.params) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as BypassRequest);
  }

  async countRequests(filter: RequestFilter): Promise<number> {
    const where = requestWhere(filter);
    const row = this.stmt(`SELECT COUNT(*) AS n FROM requests ${where.sql}`).get(...where.params) as { n: number };
    return row.n;
  }

  async findActiveBypasses(gate: string, now: string): Promise<BypassRequest[]> {
    const rows = this.db
      .prepare("SELECT doc FROM requests WHERE gate = ? AND state = 'active' AND expires_at > ? ORDER BY expires_at DESC")
      .all(gate, now) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as BypassRequest);
  }

  async dueForExpiry(now: string): Promise<BypassRequest[]> {
    const rows = this.stmt("SELECT doc FROM requests WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at").all(now) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as BypassRequest);
  }

  async dueForLapse(now: string): Promise<BypassRequest[]> {
    const rows = this.db
      .prepare("SELECT doc FROM requests WHERE state IN ('pending', 'needs_info') AND lapses_at <= ? ORDER BY lapses_at")
      .all(now) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as BypassRequest);
  }

  async nextDeadline(): Promise<string | undefined> {
    const row = this.db
      .prepare(
        `SELECT MIN(t) AS t FROM (
           SELECT MIN(expires_at) AS t FROM requests WHERE state = 'active'
           UNION ALL SELECT MIN(lapses_at) AS t FROM requests WHERE state IN ('pending', 'needs_info'))`,
      )
      .get() as { t: string | null };
    return row.t ?? undefined;
  }

  async listDecisions(requestId: string): Promise<StoredDecision[]> {
    const rows = this.stmt('SELECT * FROM decisions WHERE request_id = ? ORDER BY seq').all(requestId) as DecisionRow[];
    return rows.map(decisionFromRow);
  }

  async decisionReplayed(signatureDigest: string, nonce: string): Promise<boolean> {
    return this.stmt('SELECT 1 FROM decisions WHERE signature_digest = ? OR nonce = ?').get(signatureDigest, nonce) !== undefined;
  }

  async getTokenByHash(tokenHash: string): Promise<StoredToken | undefined> {
    const row = this.stmt('SELECT * FROM tokens WHERE token_hash = ?').get(tokenHash) as TokenRow | undefined;
    return row ? tokenFromRow(row) : undefined;
  }

  async getToken(id: string): Promise<StoredToken | undefined> {
    const row = this.stmt('SELECT * FROM tokens WHERE id = ?').get(id) as TokenRow | undefined;
    return row ? tokenFromRow(row) : undefined;
  }

  async listTokens(): Promise<StoredToken[]> {
    return (this.stmt('SELECT * FROM tokens ORDER BY created_at, id').all() as TokenRow[]).map(tokenFromRow);
  }

  async getKey(keyId: string): Promise<EnrolledKey | undefined> {
    const row = this.stmt('SELECT * FROM keys WHERE key_id = ?').get(keyId) as KeyRow | undefined;
    return row ? keyFromRow(row) : undefined;
  }

  async listKeys(principal?: string): Promise<EnrolledKey[]> {
    const rows = principal
      ? (this.stmt('SELECT * FROM keys WHERE principal = ? ORDER BY enrolled_at, key_id').all(principal) as KeyRow[])
      : (this.stmt('SELECT * FROM keys ORDER BY enrolled_at, key_id').all() as KeyRow[]);
    return rows.map(keyFromRow);
  }

  async getReview(id: string): Promise<Review | undefined> {
    const row = this.stmt('SELECT doc FROM reviews WHERE id = ?').get(id) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as Review) : undefined;
  }

  async getReviewByRequest(requestId: string): Promise<Review | undefined> {
    const row = this.stmt('SELECT doc FROM reviews WHERE request_id = ?').get(requestId) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as Review) : undefined;
  }

  async listReviews(state?: Review['state']): Promise<Review[]> {
    const rows = state
      ? (this.stmt('SELECT doc FROM reviews WHERE state = ? ORDER BY opened_at DESC').all(state) as { doc: string }[])
      : (this.stmt('SELECT doc FROM reviews ORDER BY opened_at DESC').all() as { doc: string }[]);
    return rows.map((r) => JSON.parse(r.doc) as Review);
  }

  async gateBlockCounts(): Promise<GateBlockCount[]> {
    const rows = this.stmt('SELECT gate, count, last_at FROM gate_blocks ORDER BY gate').all() as { gate: string; count: number; last_at: string }[];
    return rows.map((r) => ({ gate: r.gate, count: r.count, lastAt: r.last_at }));
  }

  async ledgerSize(): Promise<number> {
    return (this.stmt('SELECT COUNT(*) AS n FROM ledger_entries').get() as { n: number }).n;
  }

  async getLedgerEntries(from: number, limit: number): Promise<LedgerEntry[]> {
    return (await this.getLedgerEntryTexts(from, limit)).map((r) => JSON.parse(r.text) as LedgerEntry);
  }

  async ledgerEntriesForTarget(target: string): Promise<LedgerEntry[]> {
    const rows = this.stmt('SELECT entry_json FROM ledger_entries WHERE target = ? ORDER BY seq').all(target) as { entry_json: string }[];
    return rows.map((r) => JSON.parse(r.entry_json) as LedgerEntry);
  }

  async getLeafHashes(from: number, limit: number): Promise<Uint8Array[]> {
    const rows = this.stmt('SELECT leaf_hash FROM ledger_entries WHERE seq >= ? ORDER BY seq LIMIT ?').all(from, limit) as { leaf_hash: Buffer }[];
    return rows.map((r) => new Uint8Array(r.leaf_hash));
  }

  async getLedgerEntryTexts(from: number, limit: number): Promise<{ seq: number; text: string }[]> {
    const rows = this.stmt('SELECT seq, entry_json FROM ledger_entries WHERE seq >= ? ORDER BY seq LIMIT ?').all(from, limit) as { seq: number; entry_json: string }[];
    return rows.map((r) => ({ seq: r.seq, text: r.entry_json }));
  }

  async getMeta(key: string): Promise<string | undefined> {
    const row = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }
}
