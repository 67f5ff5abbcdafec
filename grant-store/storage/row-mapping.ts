import type { EnrolledKey } from '../../shared/domain/identity';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../shared/domain/request';
import type { Review } from '../../shared/domain/review';
import type { GateBlockCount, LedgerRun, StoredDecision, StoredLedgerRow, StoredRequestRow, StoredToken } from './store';

/**
 * Rows <-> domain objects, for every backend. The SQLite and PostgreSQL schemas have the same
 * tables, column names and column order (postgres/migrations.ts mirrors sqlite/migrations.ts);
 * the drivers differ only in how two kinds of column come back and are bound, which each
 * backend states once in its ColumnCodec:
 * - JSON columns (roles, bundle, doc): PostgreSQL jsonb arrives parsed, SQLite TEXT as a string.
 *   Both bind JSON.stringify text.
 * - boolean columns (hardware_backed): PostgreSQL boolean vs SQLite INTEGER 0/1 (better-sqlite3
 *   refuses to bind a JS boolean).
 * The SQL stays per backend (placeholders, locking and conflict handling differ); only the
 * column lists below are shared, so a column and its value cannot drift apart.
 */
export interface ColumnCodec {
  /** A JSON column's value as the driver returns it -> the parsed value. */
  readJson(value: unknown): unknown;
  /** A boolean column's value as the driver returns it -> the boolean. */
  readBoolean(value: unknown): boolean;
  /** A boolean -> what the driver binds for a boolean column. */
  bindBoolean(value: boolean): unknown;
}

export interface TokenRow {
  id: string;
  token_hash: string;
  principal: string;
  /** JSON column. */
  roles: unknown;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}
export interface KeyRow {
  key_id: string;
  principal: string;
  public_key_pem: string;
  /** Boolean column. */
  hardware_backed: unknown;
  label: string | null;
  enrolled_at: string;
  revoked_at: string | null;
  /** JSON of the verified attestation (migration 8), or null. */
  attestation: string | null;
}
export interface DecisionRow {
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
  /** JSON column. */
  bundle: unknown;
}
/** requests.doc / reviews.doc: the whole domain object as a JSON column. */
export interface DocRow {
  doc: unknown;
}
/** requests with its indexed columns, as the tamper check reads it. */
export interface RequestColumnsRow {
  id: string;
  state: string;
  requester: string;
  team: string;
  gate: string;
  created_at: string;
  activated_at: string | null;
  expires_at: string | null;
  doc: unknown;
}
export const REQUEST_ROW_SELECT = 'SELECT id, state, requester, team, gate, created_at, activated_at, expires_at, doc FROM requests';
/** ledger_entries with its binding. */
export interface LedgerBindingRow {
  seq: number | string;
  entry_json: string;
  binding: Buffer | null;
}
export function ledgerRowFromRow(row: LedgerBindingRow): StoredLedgerRow {
  return { seq: Number(row.seq), text: row.entry_json, binding: row.binding ? new Uint8Array(row.binding) : null };
}
export interface GateBlockRow {
  gate: string;
  count: number;
  last_at: string;
}
export interface LedgerTextRow {
  seq: number;
  entry_json: string;
}
export interface LeafHashRow {
  leaf_hash: Buffer;
}

// Column lists in the order the *Values functions below produce their values.
export const REQUEST_COLUMNS = ['id', 'state', 'requester', 'team', 'gate', 'created_at', 'activated_at', 'expires_at', 'lapses_at', 'doc'] as const;
/** What updateRequest rewrites (a request's id, requester, team, gate and created_at never change). */
export const REQUEST_UPDATE_COLUMNS = ['state', 'activated_at', 'expires_at', 'lapses_at', 'doc'] as const;
export const DECISION_COLUMNS = ['seq', 'request_id', 'decision', 'approver', 'key_id', 'comment', 'ttl', 'at', 'signature_digest', 'nonce', 'bundle'] as const;
export const TOKEN_COLUMNS = ['id', 'token_hash', 'principal', 'roles', 'created_at', 'expires_at', 'revoked_at'] as const;
export const KEY_COLUMNS = ['key_id', 'principal', 'public_key_pem', 'hardware_backed', 'label', 'enrolled_at', 'revoked_at', 'attestation'] as const;
export const REVIEW_COLUMNS = ['id', 'request_id', 'state', 'opened_at', 'doc'] as const;

/** `INSERT INTO table (a, b) VALUES (p1, p2)`, `placeholder(n)` being the dialect's n-th (1-based) parameter. */
export function insertSql(table: string, columns: readonly string[], placeholder: (n: number) => string): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => placeholder(i + 1)).join(', ')})`;
}

/** `UPDATE table SET a = p1, b = p2 WHERE key = p3`: the values are the columns', then the key's. */
export function updateSql(table: string, columns: readonly string[], keyColumn: string, placeholder: (n: number) => string): string {
  const set = columns.map((column, i) => `${column} = ${placeholder(i + 1)}`).join(', ');
  return `UPDATE ${table} SET ${set} WHERE ${keyColumn} = ${placeholder(columns.length + 1)}`;
}

/** Ledger entry JSON is plain text on both backends: exactly the canonical bytes that were hashed. */
export function ledgerEntryFromText(text: string): LedgerEntry {
  return JSON.parse(text) as LedgerEntry;
}

/** ledgerRunsSql's rows (in seq order) as runs. */
export function ledgerRunsFromRows(rows: readonly { run: number; n: number; entry_json: string }[]): LedgerRun[] {
  const runs: LedgerRun[] = [];
  let at: number | undefined;
  for (const row of rows) {
    if (row.run !== at) runs.push({ count: Number(row.n), entries: [] });
    at = row.run;
    runs.at(-1)!.entries.push(ledgerEntryFromText(row.entry_json));
  }
  return runs;
}

export function ledgerTextFromRow(row: LedgerTextRow): { seq: number; text: string } {
  return { seq: row.seq, text: row.entry_json };
}

export function leafHashFromRow(row: LeafHashRow): Uint8Array {
  return new Uint8Array(row.leaf_hash);
}

export function gateBlockFromRow(row: GateBlockRow): GateBlockCount {
  return { gate: row.gate, count: row.count, lastAt: row.last_at };
}

export interface RowMapping {
  request(row: DocRow): BypassRequest;
  requestRow(row: RequestColumnsRow): StoredRequestRow;
  review(row: DocRow): Review;
  token(row: TokenRow): StoredToken;
  key(row: KeyRow): EnrolledKey;
  decision(row: DecisionRow): StoredDecision;
  /** Values for REQUEST_COLUMNS. */
  requestValues(request: BypassRequest): unknown[];
  /** Values for REQUEST_UPDATE_COLUMNS, then the id. */
  requestUpdateValues(request: BypassRequest): unknown[];
  /** Values for DECISION_COLUMNS. */
  decisionValues(decision: StoredDecision): unknown[];
  /** Values for TOKEN_COLUMNS. */
  tokenValues(token: StoredToken): unknown[];
  /** Values for KEY_COLUMNS. */
  keyValues(key: EnrolledKey): unknown[];
  /** Values for REVIEW_COLUMNS. */
  reviewValues(review: Review): unknown[];
}

/** The mapping for one backend. Arrow functions, so `rows.map(mapping.token)` works. */
export function createRowMapping(codec: ColumnCodec): RowMapping {
  return {
    request: (row) => codec.readJson(row.doc) as BypassRequest,
    requestRow: (row) => ({
      doc: codec.readJson(row.doc) as Record<string, unknown>,
      columns: { id: row.id, state: row.state, requester: row.requester, team: row.team, gate: row.gate, createdAt: row.created_at, activatedAt: row.activated_at, expiresAt: row.expires_at },
    }),
    review: (row) => codec.readJson(row.doc) as Review,
    token: (row) => ({
      id: row.id,
      tokenHash: row.token_hash,
      principal: row.principal,
      roles: codec.readJson(row.roles) as StoredToken['roles'],
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
    }),
    key: (row) => ({
      keyId: row.key_id,
      principal: row.principal,
      publicKeyPem: row.public_key_pem,
      hardwareBacked: codec.readBoolean(row.hardware_backed),
      attestation: row.attestation ? (JSON.parse(row.attestation) as EnrolledKey['attestation']) : null,
      label: row.label,
      enrolledAt: row.enrolled_at,
      revokedAt: row.revoked_at,
    }),
    decision: (row) => ({
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
      bundle: codec.readJson(row.bundle) as StoredDecision['bundle'],
    }),
    requestValues: (r) => [r.id, r.state, r.requester, r.team, r.gate, r.createdAt, r.activatedAt, r.expiresAt, r.lapsesAt, JSON.stringify(r)],
    requestUpdateValues: (r) => [r.state, r.activatedAt, r.expiresAt, r.lapsesAt, JSON.stringify(r), r.id],
    decisionValues: (d) => [d.seq, d.requestId, d.decision, d.approver, d.keyId, d.comment, d.ttl, d.at, d.signatureDigest, d.nonce, JSON.stringify(d.bundle)],
    tokenValues: (t) => [t.id, t.tokenHash, t.principal, JSON.stringify(t.roles), t.createdAt, t.expiresAt, t.revokedAt],
    keyValues: (k) => [k.keyId, k.principal, k.publicKeyPem, codec.bindBoolean(k.hardwareBacked), k.label, k.enrolledAt, k.revokedAt, k.attestation ? JSON.stringify(k.attestation) : null],
    reviewValues: (r) => [r.id, r.requestId, r.state, r.openedAt, JSON.stringify(r)],
  };
}
