import type { StoredSession } from '../identity/stored-session';
import type { ColumnCodec } from './row-mapping';

/** A row of `sessions` (same columns on SQLite and PostgreSQL). */
export interface SessionRow {
  id: string;
  token_hash: string;
  id_token_hash: string;
  principal: string;
  /** JSON column. */
  roles: unknown;
  team: string | null;
  /** JSON column. */
  approver_groups: unknown;
  issuer: string;
  subject: string;
  created_at: string;
  expires_at: string;
  ended_at: string | null;
}

export const SESSION_COLUMNS = ['id', 'token_hash', 'id_token_hash', 'principal', 'roles', 'team', 'approver_groups', 'issuer', 'subject', 'created_at', 'expires_at', 'ended_at'] as const;

/** Each principal's newest session (ties on created_at broken by id). */
export const LATEST_SESSIONS_SQL = `
  SELECT * FROM sessions s
  WHERE NOT EXISTS (
    SELECT 1 FROM sessions n WHERE n.principal = s.principal AND (n.created_at > s.created_at OR (n.created_at = s.created_at AND n.id > s.id))
  )
  ORDER BY principal`;

export function sessionFromRow(codec: ColumnCodec, row: SessionRow): StoredSession {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    idTokenHash: row.id_token_hash,
    principal: row.principal,
    roles: codec.readJson(row.roles) as StoredSession['roles'],
    team: row.team,
    approverGroups: codec.readJson(row.approver_groups) as string[],
    issuer: row.issuer,
    subject: row.subject,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    endedAt: row.ended_at,
  };
}

/** Values for SESSION_COLUMNS. */
export function sessionValues(s: StoredSession): unknown[] {
  return [s.id, s.tokenHash, s.idTokenHash, s.principal, JSON.stringify(s.roles), s.team, JSON.stringify(s.approverGroups), s.issuer, s.subject, s.createdAt, s.expiresAt, s.endedAt];
}
