import { canonicalJson } from '../../../shared/canonical-json';
import type { EnrolledKey } from '../../../shared/domain/identity';
import type { LedgerEntry } from '../../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../../shared/domain/request';
import type { Review } from '../../../shared/domain/review';
import { AppError } from '../../../shared/errors';
import { leafHash } from '../leaf-hash';
import type { NewLedgerEntry, StoreTx, StoredDecision, StoredToken } from '../store';
import { SqliteReader } from './sqlite-reader';

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

  async insertRequest(r: BypassRequest): Promise<void> {
    this.stmt(
      'INSERT INTO requests (id, state, requester, team, gate, created_at, activated_at, expires_at, lapses_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(r.id, r.state, r.requester, r.team, r.gate, r.createdAt, r.activatedAt, r.expiresAt, r.lapsesAt, JSON.stringify(r));
  }

  async updateRequest(r: BypassRequest): Promise<void> {
    const result = this.stmt('UPDATE requests SET state = ?, activated_at = ?, expires_at = ?, lapses_at = ?, doc = ? WHERE id = ?').run(
      r.state,
      r.activatedAt,
      r.expiresAt,
      r.lapsesAt,
      JSON.stringify(r),
      r.id,
    );
    if (result.changes !== 1) throw new AppError('not_found', `request ${r.id} not found`);
  }

  async insertDecision(d: StoredDecision): Promise<void> {
    try {
      this.stmt(
        'INSERT INTO decisions (seq, request_id, decision, approver, key_id, comment, ttl, at, signature_digest, nonce, bundle) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(d.seq, d.requestId, d.decision, d.approver, d.keyId, d.comment, d.ttl, d.at, d.signatureDigest, d.nonce, JSON.stringify(d.bundle));
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('conflict', 'this decision bundle (signature or nonce) was already submitted: replays are refused');
      throw error;
    }
  }

  async insertToken(t: StoredToken): Promise<void> {
    this.stmt('INSERT INTO tokens (id, token_hash, principal, roles, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      t.id,
      t.tokenHash,
      t.principal,
      JSON.stringify(t.roles),
      t.createdAt,
      t.expiresAt,
      t.revokedAt,
    );
  }

  async revokeToken(id: string, at: string): Promise<void> {
    this.stmt('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
  }

  async insertKey(k: EnrolledKey): Promise<void> {
    try {
      this.stmt('INSERT INTO keys (key_id, principal, public_key_pem, hardware_backed, label, enrolled_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        k.keyId,
        k.principal,
        k.publicKeyPem,
        k.hardwareBacked ? 1 : 0,
        k.label,
        k.enrolledAt,
        k.revokedAt,
      );
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
      this.stmt('INSERT INTO reviews (id, request_id, state, opened_at, doc) VALUES (?, ?, ?, ?, ?)').run(r.id, r.requestId, r.state, r.openedAt, JSON.stringify(r));
    } catch (error) {
      if (isUniqueViolation(error) || isPrimaryKeyViolation(error)) throw new AppError('conflict', `request ${r.requestId} already has a review`);
      throw error;
    }
  }

  async updateReview(r: Review): Promise<void> {
    this.stmt('UPDATE reviews SET state = ?, doc = ? WHERE id = ?').run(r.state, JSON.stringify(r), r.id);
  }

  async incrementGateBlocks(gate: string, at: string, count = 1): Promise<void> {
    this.stmt('INSERT INTO gate_blocks (gate, count, last_at) VALUES (?, ?, ?) ON CONFLICT(gate) DO UPDATE SET count = count + excluded.count, last_at = excluded.last_at').run(gate, count, at);
  }

  async appendLedger(entries: readonly NewLedgerEntry[]): Promise<LedgerEntry[]> {
    // seq is assigned here, inside the writer's transaction, so it is dense and gap-free.
    let next = (this.stmt('SELECT COALESCE(MAX(seq), -1) + 1 AS next FROM ledger_entries').get() as { next: number }).next;
    const insert = this.stmt('INSERT INTO ledger_entries (seq, time, type, target, entry_json, leaf_hash) VALUES (?, ?, ?, ?, ?, ?)');
    const out: LedgerEntry[] = [];
    for (const draft of entries) {
      const entry = { ...draft, seq: next } as LedgerEntry;
      const text = canonicalJson(entry);
      insert.run(next, entry.time, entry.type, entry.target, text, leafHash(Buffer.from(text, 'utf8')));
      // Hand out exactly what was hashed (canonical form, undefined fields dropped).
      out.push(JSON.parse(text) as LedgerEntry);
      next++;
    }
    this.appended.push(...out);
    return out;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }
}
