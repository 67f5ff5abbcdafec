import type { EmergencyCredential } from '../../shared/domain/emergency';
import type { Incident } from '../../shared/domain/incident';
import type { ColumnCodec } from './row-mapping';

/**
 * Rows of the tables behind sealed emergency credentials, incidents (and the receipts that
 * refuse replayed webhooks) and the weekly digest's one-sender-per-week election. Same columns on
 * SQLite and PostgreSQL; `doc` columns hold the domain object as JSON.
 */

export interface DocOnlyRow {
  doc: unknown;
}

export const EMERGENCY_COLUMNS = ['id', 'credential_digest', 'gate', 'state', 'sealed_at', 'doc'] as const;

export function emergencyValues(c: EmergencyCredential): unknown[] {
  return [c.id, c.credentialDigest, c.gate, c.state, c.sealedAt, JSON.stringify(c)];
}

export function emergencyFromRow(codec: ColumnCodec, row: DocOnlyRow): EmergencyCredential {
  return codec.readJson(row.doc) as EmergencyCredential;
}

export const INCIDENT_COLUMNS = ['source', 'incident_id', 'status', 'updated_at', 'doc'] as const;

export function incidentValues(i: Incident): unknown[] {
  return [i.source, i.incidentId, i.status, i.updatedAt, JSON.stringify(i)];
}

export function incidentFromRow(codec: ColumnCodec, row: DocOnlyRow): Incident {
  return codec.readJson(row.doc) as Incident;
}

/** A verified incident webhook delivery, kept so the same event is acted on once. */
export interface IncidentReceipt {
  source: string;
  eventId: string;
  payloadDigest: string;
  receivedAt: string;
  /** The incident_event ledger entry it produced (null when it was ignored). */
  seq: number | null;
}

export interface IncidentReceiptRow {
  source: string;
  event_id: string;
  payload_digest: string;
  received_at: string;
  seq: number | string | null;
}

export const RECEIPT_COLUMNS = ['source', 'event_id', 'payload_digest', 'received_at', 'seq'] as const;

export function receiptValues(r: IncidentReceipt): unknown[] {
  return [r.source, r.eventId, r.payloadDigest, r.receivedAt, r.seq];
}

export function receiptFromRow(row: IncidentReceiptRow): IncidentReceipt {
  return { source: row.source, eventId: row.event_id, payloadDigest: row.payload_digest, receivedAt: row.received_at, seq: row.seq === null ? null : Number(row.seq) };
}

/** The weekly digest's send for one ISO week: claimed by one instance under a lease, then sent. */
export interface DigestRun {
  week: string;
  instance: string;
  claimedAt: string;
  leaseUntil: string;
  sentAt: string | null;
  attempts: number;
  lastError: string | null;
}

export interface DigestRunRow {
  week: string;
  instance: string;
  claimed_at: string;
  lease_until: string;
  sent_at: string | null;
  attempts: number | string;
  last_error: string | null;
}

export function digestRunFromRow(row: DigestRunRow): DigestRun {
  return { week: row.week, instance: row.instance, claimedAt: row.claimed_at, leaseUntil: row.lease_until, sentAt: row.sent_at, attempts: Number(row.attempts), lastError: row.last_error };
}

/**
 * Take the week's send: insert it, or take it over when nobody sent it and the last claim's
 * lease has run out (an instance that died mid-send). One statement, so two instances racing
 * on PostgreSQL get one winner from the database itself; RETURNING says whether we won.
 * Parameters: week, instance, now, leaseUntil (ISO texts compare in time order).
 */
export const CLAIM_DIGEST_RUN_SQL = (p: (n: number) => string) => `
  INSERT INTO digest_runs (week, instance, claimed_at, lease_until, sent_at, attempts, last_error)
  VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, NULL, 1, NULL)
  ON CONFLICT (week) DO UPDATE SET instance = excluded.instance, claimed_at = excluded.claimed_at, lease_until = excluded.lease_until, attempts = digest_runs.attempts + 1
  WHERE digest_runs.sent_at IS NULL AND digest_runs.lease_until <= excluded.claimed_at
  RETURNING week`;
