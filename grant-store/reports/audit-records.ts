import { canonicalJson } from '../../shared/canonical-json';
import type { AuditQuery, AuditRecord } from '../../shared/domain/audit';
import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../shared/domain/request';
import type { Review } from '../../shared/domain/review';

/** Keys left out of `details`: the signed bundle and the Rekor body are in the ledger export. */
const HEAVY_KEYS = new Set(['bundle', 'kind', 'apiVersion', 'spec']);
const LEDGER_FIELDS = new Set(['seq', 'time', 'type', 'actor', 'actorRole', 'target', 'gate', 'reason', 'incidentRef', 'approver', 'expiresAt', 'sourceAddress', 'data']);

/** The request an entry belongs to: its target when that is a request id, else data.requestId. */
export function requestIdOf(entry: LedgerEntry): string | null {
  if (entry.target.startsWith('req_')) return entry.target;
  const fromData = entry.data['requestId'];
  return typeof fromData === 'string' ? fromData : null;
}

export interface AuditJoin {
  requests: ReadonlyMap<string, BypassRequest>;
  /** Reviews by request id. */
  reviews: ReadonlyMap<string, Review>;
}

/** One audit record for one ledger entry, joined with its request and review. */
export function auditRecord(entry: LedgerEntry, join: AuditJoin): AuditRecord {
  const requestId = requestIdOf(entry);
  const request = requestId ? join.requests.get(requestId) : undefined;
  const review = requestId ? join.reviews.get(requestId) : undefined;
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry.data)) if (!HEAVY_KEYS.has(k)) details[k] = v;
  // Fields the looseObject entry carries beyond the audit columns (none today) stay visible.
  for (const [k, v] of Object.entries(entry)) if (!LEDGER_FIELDS.has(k) && !HEAVY_KEYS.has(k)) details[k] = v;
  const decision = entry.type === 'decision' && typeof entry.data['decision'] === 'string' ? entry.data['decision'] : null;
  const requestApprovers = request && request.approvals.length > 0 ? request.approvals.map((a) => a.approver).join(',') : null;
  return {
    seq: entry.seq,
    time: entry.time,
    actor: entry.actor,
    actorRole: entry.actorRole,
    action: entry.type,
    target: entry.target,
    requestId,
    team: request?.team ?? null,
    gate: entry.gate ?? request?.gate ?? null,
    reason: entry.reason,
    incidentRef: entry.incidentRef ?? request?.incidentRef ?? null,
    severity: request?.severity ?? null,
    decision,
    approvers: entry.approver ?? requestApprovers,
    expiresAt: entry.expiresAt ?? request?.expiresAt ?? null,
    sourceAddress: entry.sourceAddress,
    reviewId: review?.id ?? null,
    reviewStatus: review?.state ?? null,
    reviewFinding: review?.finding ?? null,
    details: canonicalJson(details),
  };
}

/** Whether a record passes the query's filters (time range [from, to), gate, team, actor). */
export function auditRecordMatches(record: AuditRecord, query: Pick<AuditQuery, 'from' | 'to' | 'gate' | 'team' | 'actor'>): boolean {
  if (query.from && record.time < query.from) return false;
  if (query.to && record.time >= query.to) return false;
  if (query.gate && record.gate !== query.gate) return false;
  if (query.team && record.team !== query.team) return false;
  if (query.actor && record.actor !== query.actor) return false;
  return true;
}
